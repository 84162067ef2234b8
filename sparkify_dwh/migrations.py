"""Schema changes as ordered, numbered SQL files under `sql/schema/`, each applied once.

Every applied file is recorded in `schema_history` with a checksum; a file that was edited after it
was applied is refused, naming it, rather than silently skipped or applied twice.

The files before MOVED (400_schemas.sql) were written when every table was in public: until MOVED is
applied, files run with search_path public (on a fresh warehouse too), and MOVED takes the tables to etl
and analytics. From then on every file runs with the connection's search_path (etl, analytics, public): a
table it creates unqualified lands in etl, a star table names analytics. Where schema_history is (etl, or
public before the move) tells the two apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

import psycopg2.errors

from . import catalog, db, sqlfiles

HISTORY_DDL = """
CREATE TABLE IF NOT EXISTS schema_history (
    version INTEGER NOT NULL,
    name VARCHAR(200) NOT NULL,
    checksum VARCHAR(64) NOT NULL,
    applied_at TIMESTAMP NOT NULL
)
"""


# applied_at from here: CURRENT_TIMESTAMP is a leader-node-only function on Redshift
RECORD = "INSERT INTO schema_history (version, name, checksum, applied_at) VALUES (%s, %s, %s, %s)"
PENDING = "SELECT version, name, checksum FROM schema_history ORDER BY version"
APPLIED = "SELECT COUNT(*) FROM schema_history WHERE version = %s"
LOCK = "LOCK TABLE schema_history"
MOVED = 400  # the file that moved every table out of public
FLAT = "SET search_path TO public"
HISTORY_MOVED = "SELECT COUNT(*) FROM pg_tables WHERE schemaname = 'etl' AND tablename = 'schema_history'"


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Applied:
    file: str
    statements: int


def pending(cur, dialect: str = "postgres") -> list[sqlfiles.SqlFile]:
    """Files not yet applied; raises MigrationError when an applied file has changed or is missing."""
    cur.execute(PENDING)
    applied = {version: (name, checksum) for version, name, checksum in cur.fetchall()}
    todo = []
    files = sqlfiles.files("schema", dialect)
    names = {f.number: f.name for f in files}
    for version, (name, _) in applied.items():
        if names.get(version) != name:
            raise MigrationError(
                f"schema_history records {version:03d}_{name}.sql as applied but no such file is here: restore it "
                "(applied migrations are never removed; add a new one instead). A database made by an earlier "
                "release with another schema layout holds only what the sources rebuild: `bin/db reset` drops "
                "its tables, and the next load builds them again"
            )
    for f in files:
        if f.number not in applied:
            todo.append(f)
            continue
        name, checksum = applied[f.number]
        if checksum != f.checksum:
            raise MigrationError(
                f"{f.path.relative_to(f.path.parent.parent.parent)} was edited after it was applied "
                f"(recorded checksum {checksum[:12]}, file now {f.checksum[:12]}): "
                "revert it and put the change in a new numbered file"
            )
    return todo


def search(cur) -> bool:
    """Search where schema_history is: etl once the tables were moved, else public. Whether they were."""
    cur.execute(HISTORY_MOVED)
    moved = bool(cur.fetchone()[0])
    if moved:
        db.use_schemas(cur)
    else:
        cur.execute(FLAT)
    return moved


def pending_files(conn, dialect: str = "postgres") -> list[sqlfiles.SqlFile]:
    """The files still to apply, read in a transaction rolled back after: nothing is made, not even
    schema_history (bin/migrate --list, a dry run)."""
    with conn.cursor() as cur:
        history(cur)
        todo = pending(cur, dialect)
    conn.rollback()
    return todo


def history(cur) -> bool:
    """Find (or create) schema_history and search where it is; whether the tables were moved already."""
    moved = search(cur)
    cur.execute(HISTORY_DDL)
    return moved


def _lock(conn, cur) -> None:
    """LOCK TABLE schema_history where it is. A run that waited for the lock while another moved the table
    finds the name gone once it gets it ("does not exist"): it looks again, once."""
    for attempt in (1, 2):
        search(cur)
        try:
            cur.execute(LOCK)
            break
        except psycopg2.errors.UndefinedTable:
            conn.rollback()
            if attempt == 2:
                raise
    search(cur)


def migrate(conn, dialect: str = "postgres") -> list[Applied]:
    """Apply every pending file in order, each in its own transaction with its history row.

    Each transaction opens with LOCK TABLE schema_history (Redshift has no advisory locks) and checks the
    file again, so two runs at once apply each file once: the second waits, then skips it. It looks again
    where schema_history is once it holds the lock: the first run may have moved it meanwhile.
    """
    done: list[Applied] = []
    with conn.cursor() as cur:
        history(cur)
        conn.commit()
        todo = pending(cur, dialect)
        conn.commit()  # no lock held between the files: each transaction takes its own
        for f in todo:
            _lock(conn, cur)
            cur.execute(APPLIED, (f.number,))
            if cur.fetchone()[0]:
                conn.commit()
                continue
            statements = f.statements
            for statement in statements:
                cur.execute(statement)
            db.use_schemas(cur)  # schema_history may have moved
            cur.execute(RECORD, (f.number, f.name, f.checksum, datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")))
            conn.commit()
            done.append(Applied(f.path.name, len(statements)))
        db.use_schemas(cur)
    conn.commit()
    catalog.describe(conn)  # every table's and star column's description, as sql/tables.toml words it now
    return done


_CREATE_TABLE = re.compile(r"^\s*CREATE TABLE (?:\w+\.)?(\w+) \((?!LIKE)", re.M | re.I)


def tables(dialect: str = "postgres") -> list[str]:
    """Every table the schema files create, in the order they create them."""
    names = [name for f in sqlfiles.files("schema", dialect) for name in _CREATE_TABLE.findall(f.text)]
    return list(dict.fromkeys(names))  # a table a later file makes again (a deep copy) counts once


def reset(conn, dialect: str = "postgres") -> list[str]:
    """Drop every table of the schema and its history: staging, bookkeeping and star are rebuilt from the
    sources by the next load. Returns the tables dropped."""
    dropped = []
    with conn.cursor() as cur:
        for statement in reset_statements(dialect):
            cur.execute(statement)
            dropped.append(statement.rsplit(" ", 1)[1])
    conn.commit()
    return dropped


def reset_statements(dialect: str = "postgres") -> list[str]:
    """What `reset` runs, in order."""
    return [f"DROP TABLE IF EXISTS {table}" for table in reversed(["schema_history"] + tables(dialect))]
