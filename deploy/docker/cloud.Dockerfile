# syntax=docker/dockerfile:1
# The bohsense cloud image: one image, two commands.
#   bohsense cloud run       (the default) ingest worker, BOH core and HTTP API in one process
#   bohsense cloud migrate   the one-shot schema step: run it to completion before `run`
#
# Build from the repository root (the context must be the whole checkout; what is sent is
# cut down by cloud.Dockerfile.dockerignore beside this file, BuildKit reads it):
#   docker build -f deploy/docker/cloud.Dockerfile -t bohsense-cloud:0.1.0 .
#
# Only the cloud's distributions are installed (bohsense-cloud with its postgres extra, and
# the bohsense-contracts and bohsense-models it depends on), at exactly the versions of
# uv.lock (`uv sync --frozen`): no gateway, simulator, demo, benchmark or dev packages.
# docs/containers.md describes the image, its settings and its limits.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: a self-contained virtual environment in /opt/bohsense ------------------------
FROM ${PYTHON_IMAGE} AS build
# uv at the version the lock names, hashes checked (scripts/uv-requirements.txt)
COPY scripts/uv-requirements.txt /tmp/uv-requirements.txt
RUN python -m pip install --no-cache-dir --disable-pip-version-check --require-hashes --no-deps \
      -r /tmp/uv-requirements.txt
ENV UV_PROJECT_ENVIRONMENT=/opt/bohsense \
    UV_PYTHON_DOWNLOADS=never \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1
WORKDIR /src
# The workspace's manifests first, so the third-party layer is rebuilt only when the lock
# or a manifest changes. uv reads every member's pyproject.toml to read the lock.
COPY pyproject.toml uv.lock ./
COPY contracts/pyproject.toml contracts/
COPY firmware_bridge/pyproject.toml firmware_bridge/
COPY llrp/pyproject.toml llrp/
COPY models/pyproject.toml models/
COPY edge/pyproject.toml edge/
COPY cloud/pyproject.toml cloud/
COPY simulators/pyproject.toml simulators/
COPY demo/pyproject.toml demo/
COPY bench/pyproject.toml bench/
RUN uv sync --frozen --no-dev --package bohsense-cloud --extra postgres --no-install-workspace
# Then the three distributions the cloud is made of, installed as wheels (not editable),
# so /opt/bohsense needs nothing from /src.
COPY contracts/bohsense contracts/bohsense
COPY models/bohsense models/bohsense
COPY cloud/bohsense cloud/bohsense
RUN uv sync --frozen --no-dev --package bohsense-cloud --extra postgres --no-editable

# --- runtime ------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="bohsense-cloud" \
      org.opencontainers.image.description="bohsense cloud: ingest, time-series storage, BOH core, HTTP API" \
      org.opencontainers.image.licenses="GPL-3.0-or-later"
# A fixed, unprivileged uid/gid (Kubernetes' runAsNonRoot checks the numeric USER below).
RUN groupadd --system --gid 10001 bohsense \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/bohsense --no-create-home \
      --shell /usr/sbin/nologin bohsense \
 && install -d -o 10001 -g 10001 -m 0750 /var/lib/bohsense
COPY --from=build /opt/bohsense /opt/bohsense
COPY deploy/docker/entrypoint.sh /usr/local/bin/bohsense-entrypoint
COPY deploy/docker/healthcheck.py /usr/local/bin/bohsense-healthcheck
ENV PATH=/opt/bohsense/bin:${PATH} \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    BOHSENSE_CLOUD_API_HOST=0.0.0.0 \
    BOHSENSE_CLOUD_API_PORT=8080
# the relative default SQLite paths (var/…) land here; mount a volume or use PostgreSQL
WORKDIR /var/lib/bohsense
USER 10001:10001
EXPOSE 8080
# Liveness only: 200 whenever the process serves requests, also while it still waits for
# its database or broker (readiness, /api/v1/readyz, is for the orchestrator to route by).
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["python", "/usr/local/bin/bohsense-healthcheck", "/api/v1/healthz"]
STOPSIGNAL SIGTERM
ENTRYPOINT ["/usr/local/bin/bohsense-entrypoint"]
CMD ["bohsense", "--log-format", "json", "cloud", "run"]
