"""Connections (psycopg2, for PostgreSQL and Redshift alike) and messages that never carry a secret."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from urllib.parse import urlsplit, urlunsplit

import psycopg2
import psycopg2.extensions

APPLICATION = "sparkify-dwh"

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


# TCP keepalives: a long COPY or transform sends nothing for minutes, and a NAT gateway or firewall on
# the way may drop a connection it thinks idle; probes every 30 s keep it open, and a peer that is
# really gone is noticed after about two minutes instead of never. Ignored on a Unix socket.
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 60, "keepalives_interval": 30, "keepalives_count": 4}


def connect(where: str, *, secrets: Sequence[str | None] = (), statement_timeout_ms: int = 0, dsn: str | None = None,
            **params) -> psycopg2.extensions.connection:
    """A connection with keepalives and the statement timeout set; `where` names it in messages."""
    try:
        conn = psycopg2.connect(dsn, application_name=APPLICATION, connect_timeout=15, **KEEPALIVES, **params)
    except psycopg2.Error as err:
        raise DatabaseError(f"cannot connect to {where}: {mask(str(err).strip(), *secrets)}") from None
    try:
        with conn.cursor() as cur:
            # milliseconds on both warehouses; 0 means no limit
            cur.execute("SET statement_timeout TO %s", (int(statement_timeout_ms),))
        conn.commit()
    except BaseException:
        conn.close()
        raise
    return conn


def connect_url(url: str, **kwargs) -> psycopg2.extensions.connection:
    """A connection to a PostgreSQL URL; its password only ever shown masked."""
    return connect(display_url(url), secrets=(password_of(url),), dsn=url, **kwargs)


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


def insert_sql(table: str, columns: Sequence[str], rows: int) -> str:
    """A multi-row INSERT of `rows` rows, every value a bind parameter (both warehouses run it)."""
    one = "(" + ", ".join(["%s"] * len(columns)) + ")"
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES " + ", ".join([one] * rows)


INSERT_PAGE = 500  # rows a statement: a few hundred kB of SQL, far under Redshift's 16 MB statement limit


def insert(cur, table: str, columns: Sequence[str], rows: Sequence[Sequence]) -> None:
    """Insert `rows` with multi-row INSERTs of bind parameters: the bookkeeping tables' few rows."""
    for start in range(0, len(rows), INSERT_PAGE):
        page = rows[start:start + INSERT_PAGE]
        cur.execute(insert_sql(table, columns, len(page)), [value for row in page for value in row])


def fresh_database(admin_url: str, name: str) -> str:
    """Create database `name` afresh (dropping one of that name) on the server of `admin_url`; its URL."""
    from urllib.parse import urlsplit, urlunsplit

    conn = connect_url(admin_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return urlunsplit(urlsplit(admin_url)._replace(path="/" + name))
