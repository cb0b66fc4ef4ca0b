# Kefu's container image: one image for every role (docs/deployment.md).
#
#   docker build -t kefu:0.1.0 .
#   docker run --rm kefu:0.1.0 migrate                      # schema first (a Job in Kubernetes)
#   docker run -p 8000:8000 kefu:0.1.0                      # web node (the default command)
#   docker run --no-healthcheck kefu:0.1.0 worker           # outbox worker
#   docker run --no-healthcheck -p 25:2525 kefu:0.1.0 smtp --host 0.0.0.0 --port 2525
#
# Dependencies come only from requirements.lock, every file checked against its hash. The base image
# is pinned to a patch release; pin it by digest too (FROM python:3.11.11-slim-bookworm@sha256:...)
# in a build pipeline that records what it pulled.

FROM python:3.11.11-slim-bookworm AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/kefu
COPY requirements.lock /tmp/requirements.lock
RUN /opt/kefu/bin/pip install --require-hashes --no-deps -r /tmp/requirements.lock

FROM python:3.11.11-slim-bookworm
# A fixed, unprivileged uid/gid: Kubernetes' runAsUser and file ownership on volumes match it.
RUN groupadd --system --gid 10001 kefu \
    && useradd --system --uid 10001 --gid kefu --home-dir /var/lib/kefu --shell /usr/sbin/nologin kefu \
    && install -d -o kefu -g kefu -m 0750 /var/lib/kefu
COPY --from=build /opt/kefu /opt/kefu
# The source tree itself (not a wheel): `kefu migrate` finds migrations/ next to the kefu package.
WORKDIR /app
COPY kefu /app/kefu
COPY migrations /app/migrations
COPY alembic.ini pyproject.toml /app/
# The `kefu` command, and bytecode compiled at build time so a read-only root file system costs nothing.
RUN printf '#!/opt/kefu/bin/python\nfrom kefu.cli import app\n\napp()\n' > /opt/kefu/bin/kefu \
    && chmod 0755 /opt/kefu/bin/kefu \
    && /opt/kefu/bin/python -m compileall -q /app/kefu /app/migrations
ENV PATH=/opt/kefu/bin:$PATH \
    PYTHONPATH=/app \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    KEFU_DATA_DIR=/var/lib/kefu \
    KEFU_LOG_FORMAT=json
USER 10001:10001
# 8000: HTTP and WebSockets (`kefu serve`); 2525: inbound SMTP (`kefu smtp`, or serve's own listener).
EXPOSE 8000 2525
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
ENTRYPOINT ["kefu"]
CMD ["serve", "--host", "0.0.0.0", "--port", "8000", "--no-worker"]
