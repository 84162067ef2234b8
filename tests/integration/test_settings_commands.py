"""Settings as the commands take them: a typo never runs the real load, `--help` always works, the
settings file must exist when named, PGDATA_DIR reaches no shell, and a failure is one line."""

import os
import subprocess
import sys

import pytest
from conftest import ROOT, run_cli, table_digest

pytestmark = pytest.mark.integration

COMMANDS = sorted(p.name for p in (ROOT / "bin").iterdir() if p.is_file() and not p.name.startswith("."))


def one_error_line(proc) -> str:
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), proc.stderr
    return lines[0]


@pytest.mark.parametrize("raw", ["2", "y", "1 2", "maybe"])
def test_a_typo_in_dry_run_never_writes(env, conn, tmp_path, raw):
    proc = run_cli("load", dict(env, DRY_RUN=raw), check=False)
    assert proc.returncode == 2 and proc.stdout == ""
    assert one_error_line(proc).startswith(f"error: DRY_RUN={raw!r}: expected 1 or 0")
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM information_schema.tables WHERE table_schema NOT IN "
                    "('pg_catalog', 'information_schema')")
        assert cur.fetchone()[0] == 0  # not even the schema
    assert not (tmp_path / "demo").exists()  # nor the demo dataset


@pytest.mark.parametrize("command", COMMANDS)
def test_help_works_whatever_the_settings_say(command, tmp_path):
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "ENV_FILE": str(tmp_path / "missing.env"),
           "DRY_RUN": "2", "STATEMENT_TIMEOUT": "nan", "READ_WORKERS": "0", "DATABASE_URL": "not a url"}
    proc = run_cli(command, env, "--help", check=False)
    assert proc.returncode == 0, proc.stderr
    assert "example" in proc.stdout and proc.stderr == ""


def test_without_help_the_same_settings_are_refused_in_one_line(tmp_path):
    missing = tmp_path / "missing.env"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "ENV_FILE": str(missing)}
    proc = run_cli("verify", env, check=False)
    assert proc.returncode == 2
    assert one_error_line(proc).startswith(f"error: ENV_FILE={missing}: no such file")
    proc = run_cli("verify", dict(env, ENV_FILE=os.devnull, STATEMENT_TIMEOUT="inf"), check=False)
    assert one_error_line(proc).startswith("error: STATEMENT_TIMEOUT='inf'")


def test_provision_may_start_without_the_settings_file_it_writes(tmp_path):
    """bin/provision (and teardown) write ENV_FILE: a missing one is no error for them. The run stops at
    the next check, on the settings, before any AWS call (the whole provision: test_aws.py)."""
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "ENV_FILE": str(tmp_path / "new.env"),
           "WAREHOUSE": "redshift", "PUBLICLY_ACCESSIBLE": "1", "ALLOWED_CIDR": "0.0.0.0/0"}
    for command in ("provision", "teardown"):
        proc = run_cli(command, env, *(["--yes"] if command == "teardown" else []), check=False)
        line = one_error_line(proc)
        assert "ENV_FILE" not in line and "ALLOWED_CIDR='0.0.0.0/0'" in line


# --- PGDATA_DIR -------------------------------------------------------------------------------------

@pytest.fixture
def hostile(tmp_path):
    """A folder anyone may write to (the server runs as another user when root), and a marker a shell
    running a piece of a folder's name would create there."""
    tmp_path.chmod(0o777)
    return tmp_path, tmp_path / "MARKER"


def names(root, marker):
    return [root / f"back`touch {marker}`ticks $(touch {marker}) it's \"quoted\"; touch {marker}",
            root / "a comma, a | pipe & a % sign"]  # a comma: the socket goes elsewhere (libpq reads a list)


def own_env(tmp_path, **extra):
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SONG_DATA", "LOG_DATA"}}
    env.update({"ENV_FILE": os.devnull, "PYTHONPATH": str(ROOT), "DEMO_DIR": str(tmp_path / "demo"),
                "DEMO_EVENTS": "300", "DEMO_SONGS": "20", **extra})
    return env


def test_pgdata_dir_reaches_no_shell_and_any_name_works(hostile):
    root, marker = hostile
    for pgdata in names(root, marker):
        env = own_env(root, PGDATA_DIR=str(pgdata))
        try:
            run_cli("db", env, "url")
            psql = subprocess.run([sys.executable, str(ROOT / "bin" / "db"), "psql"], env=env, text=True,
                                  capture_output=True, timeout=60,
                                  input="SELECT 'dir=' || current_setting('data_directory');\n")
            assert f"dir={pgdata}" in psql.stdout, psql.stderr
        finally:
            assert "stopped the embedded PostgreSQL" in run_cli("db", env, "stop").stdout
        assert (pgdata / "PG_VERSION").is_file() and not marker.exists(), pgdata


def test_pgdata_dir_from_the_settings_file_reaches_no_shell_either(hostile):
    root, marker = hostile
    pgdata = root / f"from env `touch {marker}` $(touch {marker})"
    env_file = root / "settings.env"
    env_file.write_text(f"PGDATA_DIR='{pgdata}'\n")
    env = own_env(root, ENV_FILE=str(env_file))
    try:
        assert "songplays" in run_cli("load", env).stdout
        assert "0 failed" in run_cli("verify", env).stdout
    finally:
        run_cli("db", env, "stop", check=False)
    assert (pgdata / "PG_VERSION").is_file() and not marker.exists()


def test_a_bad_pgdata_dir_is_refused_in_one_line(tmp_path):
    afile = tmp_path / "a-file"
    afile.write_text("x")
    full = tmp_path / "full"
    full.mkdir()
    (full / "notes.txt").write_text("mine")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "PG_VERSION").write_text("99\n")
    cases = {str(afile): "is not a folder", str(full): "holds files but no PostgreSQL data",
             str(broken): "did not start", "/proc/1/not/here": "No such file or directory",
             str(tmp_path / "new\nline"): "holds a control character"}
    for pgdata, says in cases.items():
        proc = run_cli("db", own_env(tmp_path, PGDATA_DIR=pgdata), "url", check=False)
        # a setting refused exits 2; a folder the server cannot use, 1
        code = 2 if "control" in says else 1
        assert proc.returncode == code and says in one_error_line(proc), (pgdata, proc.stderr)
    assert (full / "notes.txt").read_text() == "mine" and sorted(p.name for p in full.iterdir()) == ["notes.txt"]


# --- failures of several lines ----------------------------------------------------------------------

FAILING = """
import psycopg2
from sparkify_dwh import cli

def main(settings):
    conn = psycopg2.connect(settings.database_url)
    with conn.cursor() as cur:
        cur.execute({statement!r})

cli.run(main)
"""


@pytest.mark.parametrize("statement", [
    # a server killed under a statement: "terminating connection ...", "server closed the connection ..."
    "SELECT pg_terminate_backend(pg_backend_pid())",
    # a full disk: the error, its DETAIL, HINT ("Check free disk space.") and CONTEXT lines
    "DO $$ BEGIN RAISE EXCEPTION 'could not extend file: No space left on device' USING DETAIL = 'a detail', "
    "HINT = 'Check free disk space.'; END $$",
], ids=["server-gone", "disk-full"])
def test_a_server_error_of_several_lines_is_printed_on_one(env, tmp_path, statement):
    script = tmp_path / "failing.py"
    script.write_text(FAILING.format(statement=statement))
    proc = subprocess.run([sys.executable, str(script)], env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == (75 if "terminate" in statement else 1)  # the connection lost: transient
    line = one_error_line(proc)
    assert line.endswith("(TRACEBACK=1 shows where it happened)")
    if "RAISE" in statement:
        words = " ".join(line.split())
        assert "No space left on device DETAIL: a detail HINT: Check free disk space. CONTEXT:" in words
    else:
        assert "server closed the connection unexpectedly This probably means" in line


# every command under DRY_RUN=1: one with a dry run of its own prints and sends nothing; one that only reads runs;
# one that would change something without a dry run is refused (exit 2) before it connects
DRY_RUNS = {
    "load": ((), "dry"), "transform": ((), "dry"), "backfill": (("--from", "2018-11-01", "--to", "2018-11-01"), "dry"),
    "migrate": ((), "dry"), "db reset": (("reset", "--yes"), "dry"), "verify": ((), "reads"),
    "history": ((), "reads"), "db url": (("url",), "reads"),
    "stage": ((), "refused"), "reader": (("grant",), "refused"), "db stop": (("stop",), "refused"),
    "docs": ((), "refused"), "provision": ((), "refused"), "teardown": (("--yes",), "refused"),
    "acceptance": ((), "refused"),
}
# not here: bench (fresh databases of its own), generate (files it is told to write), report (reads; its page
# is the file it is told to write), status (reads AWS's description of the warehouse)


def _state(conn) -> dict:
    with conn.cursor() as cur:
        cur.execute("SELECT table_schema, table_name FROM information_schema.tables WHERE table_schema NOT IN "
                    "('pg_catalog', 'information_schema') ORDER BY 1, 2")
        tables = cur.fetchall()
        cur.execute("SELECT rolname FROM pg_roles ORDER BY 1")
        roles = cur.fetchall()
    conn.rollback()
    return {"roles": roles, **{f"{s}.{t}": table_digest(conn, f"{s}.{t}") for s, t in tables}}


def test_every_command_said_dry_run_lists_it_reads_or_refuses_and_changes_nothing(env, conn, tmp_path):
    decided = {n.split()[0] for n in DRY_RUNS} | {"bench", "generate", "report", "status"}
    assert decided >= set(COMMANDS), "a command not decided here"
    settings_file = tmp_path / "settings.env"
    settings_file.write_text("MAX_ERRORS=10\n")
    env = dict(env, ENV_FILE=str(settings_file))
    run_cli("load", env)
    before, kept = _state(conn), settings_file.read_text()
    for name, (args, kind) in DRY_RUNS.items():
        proc = run_cli(name.split()[0], dict(env, DRY_RUN="1"), *args, check=False)
        if kind == "refused":
            assert proc.returncode == 2, (name, proc.stdout, proc.stderr)
            assert one_error_line(proc).startswith(f"error: DRY_RUN=1: bin/{name.split()[0]} has no dry run"), name
        else:
            assert proc.returncode == 0, (name, proc.stdout, proc.stderr)
        assert _state(conn) == before, name
        assert settings_file.read_text() == kept, name
    assert "DROP TABLE IF EXISTS songplays;" in run_cli("db", dict(env, DRY_RUN="1"), "reset").stdout
    assert "0 pending" in run_cli("migrate", dict(env, DRY_RUN="1")).stdout
