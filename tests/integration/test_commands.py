"""The commands as a user runs them: help with an example, the embedded default, masked secrets."""

import os
import re
import uuid
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import pytest
from conftest import ROOT, run_cli

COMMANDS = sorted(p.name for p in (ROOT / "bin").iterdir() if p.is_file() and not p.name.startswith("."))


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_has_help_with_an_example_and_an_entry_in_the_commands_table(command, tmp_path):
    proc = run_cli(command, {"PATH": "/usr/bin:/bin", "ENV_FILE": os.devnull, "PYTHONPATH": str(ROOT)},
                   "--help")
    assert "example" in proc.stdout
    page = (ROOT / "docs" / "commands.md").read_text()
    table = page[:page.index("## Each command's `--help`")]  # the table, not the generated help below it
    assert f"`bin/{command}" in table


def test_every_make_target_has_a_help_line():
    makefile = (ROOT / "Makefile").read_text()
    targets = set(re.findall(r"^([a-z][a-z-]*):", makefile, re.M))
    documented = set(re.findall(r"^([a-z][a-z-]*):.*## ", makefile, re.M))
    assert targets == documented


@pytest.mark.integration
def test_load_with_nothing_configured_uses_the_embedded_server_and_demo_data(tmp_path):
    env = {"PATH": "/usr/bin:/bin", "ENV_FILE": os.devnull, "PYTHONPATH": str(ROOT),
           "PGDATA_DIR": str(tmp_path / "pgdata"), "DEMO_DIR": str(tmp_path / "demo"), "HOME": str(tmp_path)}
    try:
        out = run_cli("load", env).stdout
        assert "songplays" in out
        assert (tmp_path / "pgdata" / "PG_VERSION").exists()
        assert run_cli("verify", env).returncode == 0
        assert run_cli("db", env, "url").stdout.strip().endswith(f"host={tmp_path / 'pgdata'}")
    finally:
        stopped = run_cli("db", env, "stop").stdout
    assert "stopped the embedded PostgreSQL" in stopped


CANARY = "Canary-" + uuid.uuid4().hex[:12]  # made at run time, so no file holds it beforehand


@pytest.mark.integration
def test_a_password_never_reaches_output_on_a_failed_connection(tmp_path):
    url = f"postgresql://loader:{CANARY}@127.0.0.1:1/dwh"
    env = {"PATH": "/usr/bin:/bin", "ENV_FILE": os.devnull, "PYTHONPATH": str(ROOT),
           "DATABASE_URL": url, "DEMO_DIR": str(tmp_path / "demo"), "RETRY_WAIT": "0"}
    for command in ("load", "verify", "migrate"):
        proc = run_cli(command, env, check=False)
        assert proc.returncode == 75  # unreachable: transient, after the retries (each said, masked too)
        assert "cannot connect to postgresql://loader:***@127.0.0.1:1/dwh" in proc.stderr
        assert CANARY not in proc.stdout + proc.stderr


@pytest.fixture
def canary_url(pg_server, database):
    """This test's database, reached as a role whose password is the canary."""
    admin = psycopg2.connect(pg_server)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute("DROP ROLE IF EXISTS canary_loader")
        cur.execute(f"CREATE ROLE canary_loader LOGIN SUPERUSER PASSWORD '{CANARY}'")
    parts = urlsplit(database)
    netloc = f"canary_loader:{CANARY}@{parts.hostname or ''}" + (f":{parts.port}" if parts.port else "")
    yield urlunsplit(parts._replace(netloc=netloc))
    with admin.cursor() as cur:
        # the role owns the tables of this test's database: drop the database first
        cur.execute(f'DROP DATABASE IF EXISTS "{urlsplit(database).path.lstrip("/")}" WITH (FORCE)')
        cur.execute("DROP ROLE canary_loader")
    admin.close()


@pytest.mark.integration
def test_a_password_never_reaches_output_files_or_tables_on_a_failed_load(tmp_path, env, conn, canary_url):
    secret = CANARY
    env.update(DATABASE_URL=canary_url)
    run_cli("load", env)  # connects with the password
    bad = tmp_path / "bad" / "log_data"
    bad.mkdir(parents=True)
    (bad / "x.json").write_text('{"ts": "not a number"}\n')
    proc = run_cli("load", dict(env, LOG_DATA=str(bad)), check=False)
    assert proc.returncode == 3 and "over MAX_ERRORS=0" in proc.stderr
    missing = run_cli("load", dict(env, LOG_DATA=str(tmp_path / "missing")), check=False)
    assert "missing: no such folder" in missing.stderr and "Traceback" not in missing.stderr
    for text in (proc.stdout, proc.stderr, missing.stdout, missing.stderr):
        assert secret not in text
    skip = {".git", ".venv", ".pgdata", "data"}
    for path in ROOT.rglob("*"):
        if path.is_file() and not skip & set(path.relative_to(ROOT).parts) and path.stat().st_size < 5_000_000:
            assert secret.encode() not in path.read_bytes(), path
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM load_errors WHERE reason LIKE %s OR raw_line LIKE %s",
                    (f"%{secret}%", f"%{secret}%"))
        assert cur.fetchone()[0] == 0


@pytest.mark.integration
def test_load_json_summary_reconciles(env, conn):
    import json

    from sparkify_dwh.transform import STAR_TABLES

    summary = json.loads(run_cli("load", env, "--json").stdout)
    assert {s["kind"] for s in summary["sources"]} == {"songs", "events"}
    for s in summary["sources"]:
        assert s["records_read"] == s["rows_staged"] + s["records_rejected"] > 0
    events = next(s for s in summary["sources"] if s["kind"] == "events")
    assert summary["tables"]["staging_events"] == events["rows_staged"]
    assert set(summary["steps"]) == {"prepare", "migrate", "stage", "transform", "maintain"}
    # the star is counted in the transform's transaction, before it commits: the counts are the committed star's
    assert {"gate", "count", "analyze"} <= set(summary["transform"])
    assert {t: summary["tables"][t] for t in STAR_TABLES} == {t: _count(conn, f"SELECT COUNT(*) FROM {t}")
                                                              for t in STAR_TABLES}
    assert summary["tables"]["songplays"] > 0
    # and analyzed there: the planner's row count is the star's, with statistics for its columns
    for table in ("songplays", "time", "page_events"):
        assert _count(conn, f"SELECT reltuples FROM pg_class WHERE oid = CAST('{table}' AS REGCLASS)") == \
            summary["tables"][table]
        assert _count(conn, f"SELECT COUNT(*) FROM pg_statistic WHERE starelid = CAST('{table}' AS REGCLASS)") > 0


def test_output_piped_into_a_closed_pipe_ends_quietly(tmp_path):
    import subprocess
    import sys

    env = {"PATH": "/usr/bin:/bin", "ENV_FILE": os.devnull, "PYTHONPATH": str(ROOT)}
    big = "from sparkify_dwh import cli; cli.run(lambda settings: print('x' * 5_000_000))"
    proc = subprocess.run(f'{sys.executable} -c "{big}" | head -c 5', shell=True, env=env, capture_output=True,
                          text=True)
    assert proc.stdout == "xxxxx"
    assert proc.stderr == ""


@pytest.mark.integration
def test_psql_opens_on_the_current_database(env):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, str(ROOT / "bin" / "db"), "psql"], env=env, input="SELECT 40 + 2;\n",
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "42" in proc.stdout


@pytest.mark.integration
def test_an_unexpected_error_is_one_line_and_traceback_1_shows_where_masked(env, canary_url):
    env.update(DATABASE_URL=canary_url)
    with psycopg2.connect(canary_url) as planted, planted.cursor() as cur:
        cur.execute(f"CREATE VIEW load_lock AS SELECT '{CANARY}' AS held_by")  # the schema cannot be made
    proc = run_cli("load", env, check=False)
    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()
    assert line.startswith("error: DuplicateTable:") and line.endswith("(TRACEBACK=1 shows where it happened)")
    traced = run_cli("load", dict(env, TRACEBACK="1"), check=False)
    assert traced.returncode == 1
    assert "Traceback (most recent call last)" in traced.stderr and "migrations.py" in traced.stderr
    assert traced.stderr.strip().splitlines()[-1].startswith("error: DuplicateTable:")
    assert CANARY not in proc.stderr + traced.stderr + proc.stdout + traced.stdout


@pytest.mark.integration
def test_db_reset_drops_every_table_and_the_next_load_builds_them_again(env, conn):
    run_cli("load", env)
    out = run_cli("db", env, "reset", "--yes").stdout
    assert "songplays" in out and "schema_history" in out
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.tables "
                    "WHERE table_schema IN ('public', 'etl', 'analytics')")
        assert cur.fetchone()[0] == 0
    conn.rollback()
    assert "songplays" in run_cli("load", env).stdout


def _count(conn, sql):
    with conn.cursor() as cur:
        cur.execute(sql)
        value = cur.fetchone()[0]
    conn.rollback()
    return value


@pytest.mark.integration
def test_stage_only_events_then_only_songs_stages_one_source_at_a_time_and_builds_no_star(env, conn, small_dataset):
    env.update(SONG_DATA=str(small_dataset / "song_data"), LOG_DATA=str(small_dataset / "log_data"))
    lines = sum(1 for p in (small_dataset / "log_data").rglob("*.json") for line in p.read_bytes().splitlines()
                if line.strip())
    songs = len(list((small_dataset / "song_data").rglob("*.json")))
    out = run_cli("stage", env, "--only", "events").stdout
    staged = [line.split()[:2] for line in out.splitlines() if str(small_dataset) in line]  # the sources' rows
    assert staged == [["events", str(small_dataset / "log_data")]]
    assert _count(conn, "SELECT COUNT(*) FROM staging_events") == lines
    assert _count(conn, "SELECT COUNT(*) FROM staging_songs") == 0
    assert _count(conn, "SELECT COUNT(DISTINCT kind) FROM load_files") == 1
    assert _count(conn, "SELECT COUNT(*) FROM songplays") == 0  # staging only: no transform
    run_cli("stage", env, "--only", "songs")
    assert _count(conn, "SELECT COUNT(*) FROM staging_songs") == songs
    assert _count(conn, "SELECT COUNT(*) FROM staging_events") == lines  # the events were not read again
    assert _count(conn, "SELECT COUNT(*) FROM songplays") == 0
    run_cli("transform", env)
    assert _count(conn, "SELECT COUNT(*) FROM songplays") > 0


@pytest.mark.integration
@pytest.mark.parametrize("refresh", ["0", "1"])
def test_transform_dry_run_prints_each_file_s_statements_in_order_and_runs_none(refresh, env, conn, small_dataset):
    from sparkify_dwh import lookups, sqlfiles

    env.update(SONG_DATA=str(small_dataset / "song_data"), LOG_DATA=str(small_dataset / "log_data"))
    run_cli("stage", env)
    out = run_cli("transform", dict(env, FULL_REFRESH=refresh), "--dry-run").stdout
    shown = [block.split("\n", 1) for block in out.strip().split(";\n\n")]
    expected = [("transaction", "LOCK TABLE load_lock"), ("transaction", "SET LOCAL work_mem = '512MB'")]
    expected += [("transaction", "DELETE FROM star_loads")] if refresh == "1" else []
    # the lookup tables' reads, then one row shown for the rows each would add, before the files
    expected += [("transaction", s) for s in lookups.STATEMENTS]
    expected += [("transaction", f"INSERT INTO {table} ({', '.join(columns)}) VALUES ("
                  + ", ".join(f"'<{c}>'" for c in columns) + ")") for table, columns in lookups.COLUMNS.items()]
    expected += [(f.path.name, s) for f in sqlfiles.files("transform") for s in f.statements]
    assert [(head.removeprefix("-- "), sql.rstrip(";")) for head, sql in shown] == expected
    for table in ("songplays", "users", "songs", "artists", "time", "user_levels", "star_loads"):
        assert _count(conn, f"SELECT COUNT(*) FROM {table}") == 0, table
