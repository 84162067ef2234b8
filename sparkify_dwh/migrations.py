"""Schema changes as ordered, numbered SQL files under `sql/schema/`, each applied once.

Every applied file is recorded in `schema_history` with a checksum; a file that was edited after it
was applied is refused, naming it, rather than silently skipped or applied twice.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from . import sqlfiles

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


def migrate(conn, dialect: str = "postgres") -> list[Applied]:
    """Apply every pending file in order, each in its own transaction with its history row.

    Each transaction opens with LOCK TABLE schema_history (Redshift has no advisory locks) and checks the
    file again, so two runs at once apply each file once: the second waits, then skips it.
    """
    done: list[Applied] = []
    with conn.cursor() as cur:
        cur.execute(HISTORY_DDL)
        conn.commit()
        todo = pending(cur, dialect)
        conn.commit()  # no lock held between the files: each transaction takes its own
        for f in todo:
            cur.execute(LOCK)
            cur.execute(APPLIED, (f.number,))
            if cur.fetchone()[0]:
                conn.commit()
                continue
            statements = f.statements
            for statement in statements:
                cur.execute(statement)
            cur.execute(RECORD, (f.number, f.name, f.checksum, datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")))
            conn.commit()
            done.append(Applied(f.path.name, len(statements)))
    conn.commit()
    return done


_CREATE_TABLE = re.compile(r"^\s*CREATE TABLE (\w+)", re.M | re.I)


def tables(dialect: str = "postgres") -> list[str]:
    """Every table the schema files create, in the order they create them."""
    names = [name for f in sqlfiles.files("schema", dialect) for name in _CREATE_TABLE.findall(f.text)]
    return list(dict.fromkeys(names))  # a table a later file makes again (a deep copy) counts once


def reset(conn, dialect: str = "postgres") -> list[str]:
    """Drop every table of the schema and its history: staging, bookkeeping and star are rebuilt from the
    sources by the next load. Returns the tables dropped."""
    dropped = []
    with conn.cursor() as cur:
        for table in reversed(["schema_history"] + tables(dialect)):
            cur.execute(f"DROP TABLE IF EXISTS {table}")
            dropped.append(table)
    conn.commit()
    return dropped
