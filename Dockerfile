# The service's image: `docker build -t ticketing .` (docker-compose.yml builds it too).
#
# One image, two commands: `ticketing serve` (the default: the API under gunicorn) and
# `ticketing worker`. Nothing is installed when a container starts. The embedded PostgreSQL
# and broker of `ticketing dev` are not in it (the `embedded` extra): production runs
# against real servers. Pin the base by digest where you build (`python:3.11.14-slim-bookworm@
# sha256:...`); this machine cannot reach a container registry to read the digest.
ARG PYTHON_IMAGE=python:3.11.14-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1
WORKDIR /src
RUN python -m venv /opt/ticketing
# Dependencies first, from the constraints file, so that a change of code alone reuses them.
COPY pyproject.toml constraints.txt ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > requirements.txt \
    && /opt/ticketing/bin/pip install -c constraints.txt -r requirements.txt
COPY README.md ./
COPY domain/ domain/
COPY application/ application/
COPY projections/ projections/
COPY api/ api/
COPY workers/ workers/
RUN /opt/ticketing/bin/pip install --no-deps -c constraints.txt . \
    && /opt/ticketing/bin/pip check

FROM ${PYTHON_IMAGE}
ENV PATH=/opt/ticketing/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    TICKETING_BIND=0.0.0.0:8000 \
    TICKETING_WORKER_HEARTBEAT_FILE=/tmp/ticketing-worker.alive
RUN useradd --system --uid 10001 --user-group --home-dir /nonexistent --shell /usr/sbin/nologin ticketing
COPY --from=build /opt/ticketing /opt/ticketing
USER ticketing
WORKDIR /tmp
EXPOSE 8000
# The API's health; the worker's service overrides it with `ticketing health worker`.
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["ticketing", "health", "api", "--url", "http://127.0.0.1:8000/healthz"]
ENTRYPOINT ["ticketing"]
CMD ["serve", "--workers", "4"]
