# syntax=docker/dockerfile:1.7
# mlsmith image: the whole workspace (core, local + AWS adapters, server, CLI) installed from uv.lock.
#
#   docker build -t mlsmith .
#   docker run -p 8000:8000 -v mlsmith-data:/data mlsmith            # = compose.yml
#
# Two stages: `builder` has uv and resolves nothing (the lock is authoritative: --locked fails if
# uv.lock is out of date); `runtime` gets only the virtualenv, runs as an unprivileged user and keeps
# all state in /data (the SQLite database, artifacts and the Fernet key, created by the entrypoint).

ARG PYTHON_IMAGE=python:3.11-slim-bookworm
ARG UV_VERSION=0.13.9

FROM ghcr.io/astral-sh/uv:${UV_VERSION} AS uv

# --- builder --------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder
COPY --from=uv /uv /usr/local/bin/uv
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PYTHON=/usr/local/bin/python3 \
    UV_PROJECT_ENVIRONMENT=/app/.venv
WORKDIR /src

# Third-party dependencies first, from the lock and the members' pyproject files only, so that
# editing source code does not invalidate this (slow) layer.
#   --no-dev           no test tools in the image
#   --all-packages     every workspace member (core, local, aws, server, cli)
#   --extra postgres   psycopg, for MLSMITH_DATABASE_URL=postgresql+psycopg://... (compose.prod.yml, RDS)
COPY uv.lock pyproject.toml ./
COPY packages/core/pyproject.toml packages/core/
COPY packages/backends-local/pyproject.toml packages/backends-local/
COPY packages/backends-aws/pyproject.toml packages/backends-aws/
COPY packages/server/pyproject.toml packages/server/
COPY packages/cli/pyproject.toml packages/cli/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --all-packages --extra postgres --no-install-workspace

# Then our own packages, installed as regular (non-editable) wheels: the venv must not point at /src.
COPY packages/ packages/
RUN --mount=type=cache,target=/root/.cache/uv \
    uv sync --locked --no-dev --all-packages --extra postgres --no-editable

# --- runtime --------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="mlsmith" \
      org.opencontainers.image.description="Self-hosted tabular AutoML (API, workers, CLI)"

# libgomp: OpenMP runtime that the LightGBM and scikit-learn wheels load.
RUN apt-get update \
    && apt-get install -y --no-install-recommends libgomp1 \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 mlsmith \
    && useradd --system --uid 10001 --gid mlsmith --home-dir /app --no-create-home \
       --shell /usr/sbin/nologin mlsmith \
    && mkdir -p /data \
    && chown mlsmith:mlsmith /data \
    && chmod 0700 /data

# Owned by root and read-only for the app user: the code cannot be modified at run time.
COPY --from=builder /app/.venv /app/.venv
COPY --chmod=0755 docker/entrypoint.sh /app/docker/entrypoint.sh

ENV PATH=/app/.venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    MLSMITH_DATA_DIR=/data \
    MLSMITH_LOG_JSON=true

WORKDIR /app
VOLUME ["/data"]
USER mlsmith:mlsmith
EXPOSE 8000

# Liveness only (no I/O in /healthz); there is no curl in the slim image, so Python asks.
# 127.0.0.1 is in the default MLSMITH_TRUSTED_HOSTS. Worker containers override this check.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]

ENTRYPOINT ["/app/docker/entrypoint.sh"]
CMD ["serve", "--host", "0.0.0.0"]
