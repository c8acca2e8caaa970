# The trainer image: `agentcore-trainer` (GRPO in PyTorch; EXTRAS=trainer,hf adds Hugging Face
# policies). The packages are exactly uv.lock's, so the same lock gives the same image.
#   laptop:  docker build -t ghcr.io/agentcore/grpo-trainer:0.1.0 .
#   here:    tools/images/build.sh trainer   (buildah, a base from Debian's packages, no registry)
# uv.lock pins PyPI's torch, the CUDA build for Linux: the image is several GB.
ARG BASE=python:3.11-slim-bookworm
ARG RUNTIME_BASE=gcr.io/distroless/python3-debian12:nonroot

# Build stage: the locked dependencies into /opt/deps (one layer, reused while uv.lock stays),
# the project itself into /opt/app. Debian 12's Python is 3.11 in both bases, so wheels match.
FROM ${BASE} AS build
ARG EXTRAS=trainer
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
COPY pyproject.toml uv.lock README.md ./
RUN --mount=type=cache,target=/root/.cache/uv \
    extras=$(echo "${EXTRAS}" | tr ',' '\n' | sed 's/^/--extra /') && \
    /opt/uv/bin/uv export --frozen --no-dev --no-emit-project --no-hashes $extras -o /tmp/requirements.txt && \
    /opt/uv/bin/uv pip install --python python3 --no-deps --no-compile --target /opt/deps -r /tmp/requirements.txt
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
# Exit codes: 0 completed/budget exhausted/cancelled, 1 runtime failure, 2 bad input,
# 143 interrupted by SIGTERM (resumable). See docs/trainer.md.
ENTRYPOINT ["python3", "-m", "agentcore_training.trainer.main"]
