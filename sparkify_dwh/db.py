"""Connections (psycopg2, for PostgreSQL and Redshift alike) and messages that never carry a secret."""

from __future__ import annotations

import configparser
import json
import os
import re
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote, unquote

import psycopg2
import psycopg2.errors
import psycopg2.extensions

APPLICATION = "sparkify-dwh"

# A password in a URL runs to the last @ of its word (a raw @ in it is common), one in a DSN to its end
_PASSWORD_IN_URL = re.compile(r"(://[^:/@\s]*:)(\S+)(@)")
_PASSWORD_IN_DSN = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|(?:\\.|\S)+)", re.IGNORECASE)
_URL = re.compile(r"(postgres(?:ql)?://)(.*)", re.IGNORECASE | re.DOTALL)
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_PLAIN = re.compile(r"[A-Za-z0-9_./:+@-]+")
# Settings that hold a secret besides the database password: masked in every message
SECRET_SETTINGS = ("DB_PASSWORD", "PGPASSWORD", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "READER_PASSWORD",
                   "ALERT_WEBHOOK_URL")


class DatabaseError(RuntimeError):
    """A connection or statement failed; the message is safe to print (no secrets)."""


class Unreachable(DatabaseError):
    """The warehouse did not answer (refused, timed out, starting up, shutting down, out of connection slots):
    a later attempt may succeed. A refused password or a database that does not exist is not this."""


# What libpq says when a server cannot be reached for now, as opposed to one that answered "no"
_UNREACHABLE = re.compile(
    r"connection refused|timeout expired|timed out|temporary failure in name resolution|no route to host|"
    r"network is unreachable|connection reset|server closed the connection|could not receive data|"
    r"could not send data|the database system is (starting up|shutting down|in recovery mode)|too many clients|"
    r"remaining connection slots|ssl syscall error|eof detected", re.IGNORECASE)
# SQLSTATEs of a failure a new attempt may not meet: serialization_failure, deadlock_detected, the connection
# exceptions (class 08) and an operator's intervention (admin_shutdown, crash_shutdown, cannot_connect_now)
_TRANSIENT_STATES = {"40001", "40P01", "57P01", "57P02", "57P03"}
# Redshift's serializable isolation error: "ERROR: 1023 DETAIL: Serializable isolation violation on table ..."
# "To address a serializable isolation error, you can try the following methods: Retry the canceled transaction"
# (https://docs.aws.amazon.com/redshift/latest/dg/c_serial_isolation-serializable-isolation-troubleshooting.html).
# It is told by its number and words: the page gives it no SQLSTATE.
_REDSHIFT_SERIALIZATION = re.compile(r"^\s*(ERROR:\s*)?1023\b|serializable isolation violation", re.IGNORECASE)


def transient(err: BaseException) -> bool:
    """Whether `err` is a failure that a new attempt on a new connection may not meet: the warehouse was
    unreachable, the connection was lost mid-run, or a serialization failure (PostgreSQL's SQLSTATE 40001,
    Redshift's error 1023). A statement timeout, a constraint, a syntax error or a refused login is not."""
    if isinstance(err, Unreachable):
        return True
    if not isinstance(err, psycopg2.Error) or isinstance(err, psycopg2.errors.QueryCanceled):
        return False  # a statement timeout (57014) would strike again
    code = getattr(err, "pgcode", None)
    if code in _TRANSIENT_STATES or (code or "").startswith("08"):
        return True
    if _REDSHIFT_SERIALIZATION.search(str(err)):
        return True
    # a connection lost on the client's side carries no SQLSTATE: psycopg2 raises OperationalError (the server
    # closed it) or InterfaceError (it was closed already)
    return code is None and isinstance(err, psycopg2.OperationalError | psycopg2.InterfaceError)


def transient_or_caused(err: BaseException) -> bool:
    """`err` is transient, or was raised from one (`raise ... from err`; never an error it only replaced:
    a refused login is wrapped `from None` around an OperationalError that carries no SQLSTATE)."""
    return transient(err) or (err.__cause__ is not None and transient(err.__cause__))


def mask(text: str, *secrets: str | None) -> str:
    """`text` with every password in a URL or DSN, and every given secret, replaced by `***`."""
    out = text
    for secret in sorted({s for s in secrets if s and len(s) >= 3}, key=len, reverse=True):
        out = out.replace(secret, "***")
    out = _PASSWORD_IN_URL.sub(r"\1***\3", out)
    return _PASSWORD_IN_DSN.sub(r"\1***", out)


def _encoded(part: str) -> str:
    """A URL's user or password percent-encoded, its valid escapes kept (libpq decodes them)."""
    pieces = _ESCAPE.split(part)
    escapes = _ESCAPE.findall(part)
    out = quote(pieces[0], safe="")
    for escape, piece in zip(escapes, pieces[1:]):
        out += escape + quote(piece, safe="")
    return out


def _userinfo(url: str) -> tuple[str, str, str | None, str] | None:
    """(scheme://, user, password as written or None, the rest after the @) of a URL that has user info.
    The user info ends at the URL's last @, so a password holding raw @ / : ? # or quotes stays whole."""
    match = _URL.fullmatch(url)
    if not match or "@" not in match[2]:
        return None
    userinfo, _, rest = match[2].rpartition("@")
    user, colon, password = userinfo.partition(":")
    return match[1], user, password if colon else None, rest


def normalized(conninfo: str) -> str:
    """DATABASE_URL as libpq must read it: in a URL, the user and password percent-encoded (their valid
    escapes kept), so that libpq takes the whole password and no piece of it for a host or a database (which
    its messages would print); a key=value string as it is. ValueError, which repeats nothing of the value,
    when libpq cannot read it."""
    parts = _userinfo(conninfo)
    if parts is not None:
        scheme, user, password, rest = parts
        conninfo = f"{scheme}{_encoded(user)}{'' if password is None else ':' + _encoded(password)}@{rest}"
    try:
        psycopg2.extensions.parse_dsn(conninfo)
    except psycopg2.Error:
        raise ValueError("not a connection string libpq reads") from None
    return conninfo


def password_of(url: str | None) -> str | None:
    """The password a URL or key=value string gives libpq (decoded), or None."""
    if not url:
        return None
    try:
        return psycopg2.extensions.parse_dsn(url).get("password") or None
    except psycopg2.Error:
        return None


def _service_password(conninfo: str, environ: Mapping[str, str]) -> str | None:
    """The password a pg_service.conf gives the service that `conninfo` names, if any."""
    try:
        service = psycopg2.extensions.parse_dsn(conninfo).get("service") or environ.get("PGSERVICE")
    except psycopg2.Error:
        service = environ.get("PGSERVICE")
    if not service:
        return None
    files = [environ.get("PGSERVICEFILE") or Path(environ.get("HOME") or "~").expanduser() / ".pg_service.conf"]
    if environ.get("PGSYSCONFDIR"):
        files.append(Path(environ["PGSYSCONFDIR"]) / "pg_service.conf")
    for path in files:
        parser = configparser.ConfigParser(interpolation=None)
        try:
            parser.read(path, encoding="utf-8")
        except (OSError, configparser.Error, UnicodeDecodeError):
            continue
        if parser.has_option(service, "password"):
            return parser.get(service, "password")
    return None


def secrets_of(conninfo: str | None, environ: Mapping[str, str] = os.environ) -> tuple[str, ...]:
    """Every form of every secret the settings hold, for `mask`: the database password as written (a raw
    one, or percent-encoded), decoded and encoded; a service file's password; PGPASSWORD, DB_PASSWORD, the
    AWS secret key and session token."""
    found = [environ.get(name) for name in SECRET_SETTINGS]
    if conninfo:
        parts = _userinfo(conninfo)
        if parts is not None and parts[2]:
            found += [parts[2], unquote(parts[2])]
        found += [password_of(conninfo), password_of(_safe_normalized(conninfo)), _service_password(conninfo, environ)]
    return tuple(dict.fromkeys(form for s in found if s for form in _forms(s)))


def _forms(secret: str) -> tuple[str, ...]:
    """`secret` as messages may show it: as is, percent-encoded, in a Python repr, JSON, a SQL literal, a
    libpq key=value string."""
    return (secret, quote(secret, safe=""), _encoded(secret), repr(secret)[1:-1], json.dumps(secret)[1:-1],
            secret.replace("'", "''"), secret.replace("\\", "\\\\").replace("'", "\\'"))


def _safe_normalized(conninfo: str) -> str:
    try:
        return normalized(conninfo)
    except ValueError:
        return conninfo


def quoted(value: str) -> str:
    """A value in a key=value connection string, quoted when it must be."""
    return _quoted(value)


def _quoted(value: str) -> str:
    """A value in a key=value connection string."""
    if value and _PLAIN.fullmatch(value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def display_url(url: str) -> str:
    """The URL (or key=value string) without its password, for messages."""
    parts = _userinfo(url)
    if parts is not None:
        scheme, user, password, rest = parts
        return mask(f"{scheme}{user}{'' if password is None else ':***' if password else ':'}@{rest}")
    if _URL.fullmatch(url):
        return mask(url)  # a password may also be in the query (?password=...)
    try:
        params = psycopg2.extensions.parse_dsn(url)
    except psycopg2.Error:
        return mask(url)
    return " ".join(f"{k}={'***' if k == 'password' else _quoted(v)}" for k, v in params.items())


def without_password(conninfo: str) -> tuple[str, str | None]:
    """(a key=value connection string without the password, the password decoded): psql gets the first on
    its command line and the second in PGPASSWORD, never in argv (/proc/*/cmdline is readable by all)."""
    params = psycopg2.extensions.parse_dsn(conninfo)
    password = params.pop("password", None)
    return " ".join(f"{k}={_quoted(v)}" for k, v in params.items()), password


# TCP keepalives: a long COPY or transform sends nothing for minutes, and a NAT gateway or firewall on
# the way may drop a connection it thinks idle; probes every 30 s keep it open, and a peer that is
# really gone is noticed after about two minutes instead of never. Ignored on a Unix socket.
KEEPALIVES = {"keepalives": 1, "keepalives_idle": 60, "keepalives_interval": 30, "keepalives_count": 4}


# The star is analytics, the loader's tables etl (sql/schema/400_schemas.sql). Every connection searches etl,
# analytics, then public, so the SQL names tables unqualified and an unqualified CREATE TABLE lands in etl. Only
# the schemas that exist are named: Redshift's search_path is "a comma-separated list of existing schema names"
# (https://docs.aws.amazon.com/redshift/latest/dg/r_search_path.html); before the move there are none.
LOADER_SCHEMA, STAR_SCHEMA = "etl", "analytics"
SCHEMAS = (LOADER_SCHEMA, STAR_SCHEMA)
EXISTING_SCHEMAS = "SELECT nspname FROM pg_namespace WHERE nspname IN ('etl', 'analytics')"


def search_path(existing) -> str:
    """The SET statement for the schemas of SCHEMAS that exist, then public."""
    found = set(existing)
    return "SET search_path TO " + ", ".join([s for s in SCHEMAS if s in found] + ["public"])


def use_schemas(cur) -> str:
    """Set the connection's search_path to the project's schemas that exist, then public; the statement sent."""
    cur.execute(EXISTING_SCHEMAS)
    statement = search_path(row[0] for row in cur.fetchall())
    cur.execute(statement)
    return statement


def connect(where: str, *, secrets: Sequence[str | None] = (), statement_timeout_ms: int = 0, dsn: str | None = None,
            **params) -> psycopg2.extensions.connection:
    """A connection with keepalives and the statement timeout set; `where` names it in messages."""
    try:
        conn = psycopg2.connect(dsn, application_name=APPLICATION, connect_timeout=15, **KEEPALIVES, **params)
    except psycopg2.Error as err:
        kind = Unreachable if _UNREACHABLE.search(str(err)) else DatabaseError
        raise kind(f"cannot connect to {where}: {mask(str(err).strip(), *secrets)}") from None
    try:
        with conn.cursor() as cur:
            # milliseconds on both warehouses; 0 means no limit
            cur.execute("SET statement_timeout TO %s", (int(statement_timeout_ms),))
            use_schemas(cur)
        conn.commit()
    except BaseException:
        conn.close()
        raise
    return conn


def connect_url(url: str, **kwargs) -> psycopg2.extensions.connection:
    """A connection to a PostgreSQL URL; its password only ever shown masked."""
    return connect(display_url(url), secrets=secrets_of(url), dsn=url, **kwargs)


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


def with_database(conninfo: str, name: str) -> str:
    """`conninfo` (a URL or a key=value string) naming database `name` instead."""
    if _URL.fullmatch(conninfo):
        from urllib.parse import urlsplit, urlunsplit

        return urlunsplit(urlsplit(conninfo)._replace(path="/" + name))
    params = {**psycopg2.extensions.parse_dsn(conninfo), "dbname": name}
    return " ".join(f"{k}={_quoted(v)}" for k, v in params.items())


def fresh_database(admin_url: str, name: str) -> str:
    """Create database `name` afresh (dropping one of that name) on the server of `admin_url`; its URL."""
    conn = connect_url(admin_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()
    return with_database(admin_url, name)
