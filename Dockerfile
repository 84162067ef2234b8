# One image with bin/, sql/ and the package: `docker run IMAGE load`, `docker run IMAGE verify`, ...
# The same install as the README (an editable pip install of this project, so bin/ and sql/ stay beside it), on a slim Python, as a non-root user.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN useradd --create-home --uid 10001 sparkify
WORKDIR /app

COPY pyproject.toml README.md ./
COPY sparkify_dwh/ sparkify_dwh/
COPY bin/ bin/
COPY sql/ sql/
RUN pip install -e . && chown -R sparkify /app

USER sparkify
# The embedded server keeps its data here when DATABASE_URL is unset; mount a volume to keep it.
ENV PGDATA_DIR=/home/sparkify/pgdata DEMO_DIR=/home/sparkify/demo
ENTRYPOINT ["python", "-m", "sparkify_dwh"]
CMD ["load"]
