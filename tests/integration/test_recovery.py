"""The embedded server after an unclean stop: killed with SIGKILL, its postmaster.pid naming a live process
that is not it (as after a reboot, or in a new container where PIDs start again at 1). The next commands
recover instead of failing with "connection refused"; verify says what happened before the reload; the
load restages what the crash emptied and the star comes back the same."""

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from conftest import ROOT, run_cli

from sparkify_dwh import embedded

pytestmark = pytest.mark.integration


@pytest.fixture
def own_server(tmp_path):
    """Commands on an embedded server of their own, in a folder of this test's."""
    pgdata = tmp_path / "pgdata"
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "SONG_DATA", "LOG_DATA", "MAX_ERRORS",
                                                             "FULL_REFRESH"}}
    env.update(PGDATA_DIR=str(pgdata), ENV_FILE=os.devnull, DEMO_DIR=str(tmp_path / "demo"),
               DEMO_EVENTS="3000", DEMO_SONGS="200", PYTHONPATH=str(ROOT))
    yield env, pgdata
    run_cli("db", env, "stop", check=False)


def kill_uncleanly(pgdata: Path) -> int:
    """SIGKILL the postmaster, wait for its backends to leave its shared memory; returns the old PID."""
    lines = (pgdata / "postmaster.pid").read_text().splitlines()
    pid, shmid = int(lines[0]), lines[6].split()[1]
    os.kill(pid, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while embedded._attached(shmid) or _alive(pid):
        assert time.monotonic() < deadline, "the killed server's processes did not go"
        time.sleep(0.2)
    return pid


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}/status").exists() and "zombie" not in Path(f"/proc/{pid}/status").read_text()


@pytest.mark.parametrize("verify_first", [False, True], ids=["load-then-verify", "verify-first"])
def test_a_server_killed_with_a_foreign_pid_in_its_lock_is_recovered(own_server, verify_first):
    env, pgdata = own_server
    first = json.loads(run_cli("load", env, "--json").stdout)["tables"]
    assert first["songplays"] > 0
    assert "0 failed" in run_cli("verify", env).stdout
    kill_uncleanly(pgdata)
    # a live process that is not the server now holds the PID the lock file names
    squatter = subprocess.Popen(["sleep", "300"])
    try:
        lock = (pgdata / "postmaster.pid").read_text().splitlines()
        (pgdata / "postmaster.pid").write_text("\n".join([str(squatter.pid)] + lock[1:]) + "\n")
        assert "not its server" in embedded.stale_lock(pgdata)

        if verify_first:  # it starts the server, then says plainly why staging is empty and what to run
            lost = run_cli("verify", env, check=False)
            assert lost.returncode == 1
            assert "stopped uncleanly" in lost.stderr  # the stale lock, cleared
            assert "staging is empty and so is its ledger" in lost.stderr and "Run make load" in lost.stderr
            assert "connection refused" not in (lost.stdout + lost.stderr).lower()

        load = run_cli("load", env, "--json")  # the next load: restages every file the crash emptied
        assert ("stopped uncleanly" in load.stderr) is not verify_first
        assert json.loads(load.stdout)["tables"] == first  # staging, ledger and star as before the crash
        assert "0 failed" in run_cli("verify", env).stdout  # and the next verify
        assert squatter.poll() is None  # the unrelated process was left alone
    finally:
        squatter.kill()


def test_a_live_server_of_this_folder_is_never_taken_for_stale(own_server):
    env, pgdata = own_server
    run_cli("db", env, "url")
    assert embedded.stale_lock(pgdata) is None
