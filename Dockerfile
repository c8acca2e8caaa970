# The trainer image: `agentcore-trainer` (GRPO on CPU torch; add EXTRAS=trainer,hf for
# Hugging Face policies). Build: docker build -t ghcr.io/agentcore/grpo-trainer:0.1.0 .
ARG EXTRAS=trainer

# Build stage: resolve the package and its trainer extra into one folder. Debian 12's
# Python is 3.11, like the distroless runtime below, so the wheels match it.
FROM python:3.11-slim-bookworm AS build
ARG EXTRAS
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator ./operator
# The CPU index first: its torch wheels are ~200 MB, PyPI's Linux torch pulls CUDA (GBs).
RUN pip install --no-cache-dir --no-compile --target /opt/site \
        --index-url https://download.pytorch.org/whl/cpu \
        --extra-index-url https://pypi.org/simple \
        ".[${EXTRAS}]"

# Runtime: Python and nothing else (no shell, no package manager), non-root uid 65532.
FROM gcr.io/distroless/python3-debian12:nonroot
COPY --from=build /opt/site /opt/site
ENV PYTHONPATH=/opt/site \
    PYTHONUNBUFFERED=1 \
    OMP_NUM_THREADS=1 \
    HF_HUB_OFFLINE=1 \
    TRANSFORMERS_OFFLINE=1
USER 65532:65532
WORKDIR /tmp
# Exit codes: 0 completed/budget exhausted/cancelled, 1 runtime failure, 2 bad input,
# 143 interrupted by SIGTERM (resumable). See docs/trainer.md.
ENTRYPOINT ["python3", "-m", "agentcore_training.trainer.main"]
