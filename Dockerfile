# The trainer image: `agentcore-trainer` (GRPO in PyTorch; EXTRAS=trainer,hf adds Hugging Face
# policies). The packages are exactly uv.lock's, so the same lock gives the same image.
#   laptop:  docker build -t ghcr.io/agentcore/grpo-trainer:0.1.0 .
#   here:    tools/images/build.sh trainer   (buildah, a base from Debian's packages, no registry)
# uv.lock pins PyPI's torch, the CUDA build for Linux: the image is several GB.
# TORCH_DEVICE=cpu (tools/images/build.sh trainer-cpu) leaves out uv.lock's nvidia-*, cuda-* and
# triton packages (4 GB) and puts small stand-ins for the CUDA libraries torch links against
# (tools/images/cuda_stubs.py): the same torch, on CPU only, in an image a third of the size.
ARG BASE=python:3.11-slim-bookworm
ARG RUNTIME_BASE=gcr.io/distroless/python3-debian12:nonroot

# Build stage: the locked dependencies into /opt/deps (one layer, reused while uv.lock stays),
# the project itself into /opt/app. Debian 12's Python is 3.11 in both bases, so wheels match.
FROM ${BASE} AS build
ARG EXTRAS=trainer
ARG TORCH_DEVICE=cuda
ARG UV_VERSION=0.13.9
# tools/images/build.sh points this at the host's uv cache (mounted; UV_OFFLINE=1: no wheel is
# downloaded twice) and SSL_CERT_FILE/PIP_CERT at the host's CA bundle (mounted, not copied).
ARG UV_CACHE_DIR=/root/.cache/uv
ARG UV_OFFLINE
ARG SSL_CERT_FILE
ARG PIP_CERT
ENV UV_CACHE_DIR=${UV_CACHE_DIR} UV_LINK_MODE=copy UV_PYTHON_DOWNLOADS=never
RUN python3 -m pip install --no-cache-dir --break-system-packages --target /opt/uv "uv==${UV_VERSION}"
WORKDIR /src
# README.md (pyproject's readme) only with the project below: editing it rebuilds no dependency.
COPY pyproject.toml uv.lock ./
COPY tools/images/cuda_stubs.py /opt/cuda_stubs.py
# `uv sync --frozen` installs from the lock itself (no index lookup: works offline from a cache);
# its site-packages becomes /opt/deps. The cpu flavour's list of packages to leave out comes
# from uv.lock, and its CUDA stand-ins need binutils (as, ld, objdump, readelf).
RUN --mount=type=cache,target=/root/.cache/uv \
    set -e; \
    extras=$(echo "${EXTRAS}" | tr ',' '\n' | sed 's/^/--extra /'); skip=; \
    case "${TORCH_DEVICE}" in \
      cuda) ;; \
      cpu) skip=$(python3 -c 'import re, tomllib; lock = tomllib.load(open("uv.lock", "rb")); print(" ".join("--no-install-package " + p["name"] for p in lock["package"] if re.match(r"(nvidia-|cuda-|triton$)", p["name"])))'); \
           command -v objdump >/dev/null || { apt-get update -qq && apt-get install -y -qq --no-install-recommends binutils; } ;; \
      *) echo "TORCH_DEVICE must be cuda or cpu, not ${TORCH_DEVICE}" >&2; exit 2 ;; \
    esac; \
    UV_PROJECT_ENVIRONMENT=/opt/venv /opt/uv/bin/uv sync --frozen --no-dev --no-install-project \
      --python python3 $extras $skip; \
    mv /opt/venv/lib/python3.11/site-packages /opt/deps; rm -rf /opt/venv; \
    if [ "${TORCH_DEVICE}" = cpu ]; then python3 /opt/cuda_stubs.py /opt/deps; fi
COPY README.md ./
COPY operator ./operator
RUN python3 -m pip install --no-cache-dir --break-system-packages --no-deps --no-compile --target /opt/app .

# Runtime: Python and the packages (distroless: no shell, no package manager), non-root uid 65532.
FROM ${RUNTIME_BASE}
COPY --from=build /opt/deps /opt/deps
COPY --from=build /opt/app /opt/app
ENV PYTHONPATH=/opt/app:/opt/deps \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    OMP_NUM_THREADS=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1
USER 65532:65532
WORKDIR /tmp
# The image's smoke test (exec form: the runtime base may have no shell): torch and the trainer load.
RUN ["python3", "-c", "import torch, agentcore_training.trainer.main; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())"]
# Exit codes: 0 completed/budget exhausted/cancelled, 1 runtime failure, 2 bad input,
# 143 interrupted by SIGTERM (resumable). See docs/trainer.md.
ENTRYPOINT ["python3", "-m", "agentcore_training.trainer.main"]
