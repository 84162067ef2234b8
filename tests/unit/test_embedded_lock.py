"""A postmaster killed with -9 and not yet reaped is a zombie: its PID still exists. The embedded server's
lock must take it for what it is, a server that ended, so the next command starts a new one at once
instead of trying to connect to nothing."""

import subprocess
import time

import psutil

from sparkify_dwh import embedded


def _zombie() -> subprocess.Popen:
    child = subprocess.Popen(["true"])
    deadline = time.monotonic() + 10
    while psutil.Process(child.pid).status() != psutil.STATUS_ZOMBIE:  # ended; not waited for
        assert time.monotonic() < deadline
        time.sleep(0.01)
    return child


def _lock(pgdata, pid: int) -> None:
    # postmaster.pid as PostgreSQL writes it: PID, data folder, start time, port, socket folder, listen
    # address, shared memory key and id, status
    pgdata.mkdir(exist_ok=True)
    (pgdata / "postmaster.pid").write_text(
        f"{pid}\n{pgdata}\n1700000000\n5432\n{pgdata}\n\n  5432001   1\nready   \n")


def test_a_lock_naming_a_server_that_ended_unreaped_is_stale_and_not_taken_for_running(tmp_path):
    pgdata = tmp_path / "pgdata"
    child = _zombie()
    try:
        _lock(pgdata, child.pid)
        assert embedded._ready(pgdata) is None
        assert "not yet reaped" in embedded.stale_lock(pgdata)
    finally:
        child.wait()


def test_a_lock_naming_a_live_process_of_another_program_is_stale_and_one_of_no_process_is_left(tmp_path):
    pgdata = tmp_path / "pgdata"
    live = subprocess.Popen(["sleep", "30"])
    try:
        _lock(pgdata, live.pid)
        assert "not its server" in embedded.stale_lock(pgdata)
    finally:
        live.kill()
        live.wait()
    _lock(pgdata, live.pid)  # reaped: no process has it, PostgreSQL clears such a lock itself
    assert embedded.stale_lock(pgdata) is None
