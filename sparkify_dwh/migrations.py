"""Schema changes as ordered, numbered SQL files under `sql/schema/`, each applied once.

Every applied file is recorded in `schema_history` with a checksum; a file that was edited after it
was applied is refused, naming it, rather than silently skipped or applied twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from . import sqlfiles

HISTORY_DDL = """
CREATE TABLE IF NOT EXISTS schema_history (
    version INTEGER NOT NULL,
    name VARCHAR(200) NOT NULL,
    checksum VARCHAR(64) NOT NULL,
    applied_at TIMESTAMP NOT NULL
)
"""


class MigrationError(RuntimeError):
    pass


@dataclass(frozen=True)
class Applied:
    file: str
    statements: int


def pending(cur, dialect: str = "postgres") -> list[sqlfiles.SqlFile]:
    """Files not yet applied; raises MigrationError when an applied file has changed or is missing."""
    cur.execute("SELECT version, name, checksum FROM schema_history ORDER BY version")
    applied = {version: (name, checksum) for version, name, checksum in cur.fetchall()}
    todo = []
    files = sqlfiles.files("schema", dialect)
    on_disk = {f.number for f in files}
    for version, (name, _) in applied.items():
        if version not in on_disk:
            raise MigrationError(
                f"schema_history records {version:03d}_{name}.sql as applied but the file is gone: "
                "restore it (applied migrations are never removed; add a new one instead)"
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

    Each transaction opens with LOCK schema_history (Redshift has no advisory locks) and checks the
    file again, so two runs at once apply each file once: the second waits, then skips it.
    """
    done: list[Applied] = []
    with conn.cursor() as cur:
        cur.execute(HISTORY_DDL)
        conn.commit()
        todo = pending(cur, dialect)
        conn.commit()  # no lock held between the files: each transaction takes its own
        for f in todo:
            cur.execute("LOCK schema_history")
            cur.execute("SELECT COUNT(*) FROM schema_history WHERE version = %s", (f.number,))
            if cur.fetchone()[0]:
                conn.commit()
                continue
            statements = f.statements
            for statement in statements:
                cur.execute(statement)
            cur.execute(
                "INSERT INTO schema_history (version, name, checksum, applied_at) "
                "VALUES (%s, %s, %s, CURRENT_TIMESTAMP)",
                (f.number, f.name, f.checksum),
            )
            conn.commit()
            done.append(Applied(f.path.name, len(statements)))
    conn.commit()
    return done
