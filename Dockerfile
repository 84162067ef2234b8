# The product's main form: `docker run IMAGE load`, then `... IMAGE verify`, `... IMAGE report`.
# Stage 1 installs uv.lock's runtime set and the package, built as a wheel with sql/ and bin/ inside it
# (package data), into a virtualenv; stage 2 is the base image, that virtualenv and a non-root user.
# BASE: any Debian-like image with python (3.11+) and its venv module; make image passes none.
ARG BASE=python:3.11-slim

FROM ${BASE} AS build
# uv at the Makefile's version; it installs the runtime set of uv.lock (no extras), versions and hashes
ARG UV_VERSION=0.13.9
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1 \
    UV_PROJECT_ENVIRONMENT=/opt/sparkify UV_PYTHON_DOWNLOADS=never UV_NO_CACHE=1 UV_SYSTEM_CERTS=1
RUN python -m venv /opt/uv && /opt/uv/bin/python -m pip install --quiet uv==${UV_VERSION}
WORKDIR /src
COPY pyproject.toml uv.lock README.md ./
COPY sparkify_dwh/ sparkify_dwh/
COPY sql/ sparkify_dwh/sql/
COPY bin/ sparkify_dwh/bin/
RUN /opt/uv/bin/uv sync --frozen --no-editable --python "$(command -v python)" \
    && find /opt/sparkify -name __pycache__ -type d -prune -exec rm -rf {} + \
    && find /opt/sparkify -path '*/site-packages/*/tests' -type d -prune -exec rm -rf {} +

FROM ${BASE}
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PATH=/opt/sparkify/bin:$PATH
RUN useradd --create-home --uid 10001 sparkify \
    && mkdir /home/sparkify/pgdata && chown sparkify:sparkify /home/sparkify/pgdata
COPY --from=build /opt/sparkify /opt/sparkify
USER sparkify
WORKDIR /home/sparkify
# With DATABASE_URL unset, the embedded PostgreSQL keeps its data under /home/sparkify/pgdata, and the demo
# dataset beside it: mount a volume there (docker run -v sparkify-data:/home/sparkify/pgdata ...) to keep
# both from one container to the next. EMBEDDED_STOP=1 stops the server cleanly as each command ends, as a
# container's end would otherwise kill it (and PostgreSQL empties unlogged staging after such a stop).
ENV PGDATA_DIR=/home/sparkify/pgdata/server DEMO_DIR=/home/sparkify/pgdata/demo \
    REPORT_OUT=/home/sparkify/pgdata/report.html EMBEDDED_STOP=1
ENTRYPOINT ["python", "-m", "sparkify_dwh"]
CMD ["load"]
