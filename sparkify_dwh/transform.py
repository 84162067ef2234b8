"""The transform: the numbered files of `sql/transform/`, in order, in one transaction.

Each file rebuilds one star table from staging with DELETE then INSERT ... SELECT (no TRUNCATE:
on Redshift it commits), so a failure anywhere leaves the previous star schema as it was and a
rerun on the same input gives the same rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from . import db, sqlfiles


@dataclass(frozen=True)
class StepResult:
    file: str
    rows: int
    seconds: float


def statements(dialect: str = "postgres") -> list[tuple[sqlfiles.SqlFile, str]]:
    return [(f, s) for f in sqlfiles.files("transform", dialect) for s in f.statements]


# Memory for each sort and hash of the transform, for this transaction only (SET LOCAL), on
# PostgreSQL: the songplays numbering sorts every play, the time table hashes every start time,
# and at the server's default (4MB) both spill to disk from a few hundred thousand plays on.
WORK_MEM = "256MB"


def run(conn, dialect: str = "postgres") -> list[StepResult]:
    """Run every transform file; commit only when all succeeded."""
    results = []
    with db.transaction(conn) as cur:
        if dialect == "postgres":
            cur.execute("SET LOCAL work_mem = %s", (WORK_MEM,))
        for f in sqlfiles.files("transform", dialect):
            started = time.perf_counter()
            rows = 0
            for statement in f.statements:
                cur.execute(statement)
                if statement.lstrip().upper().startswith("INSERT"):
                    rows += max(cur.rowcount, 0)
            results.append(StepResult(f.path.name, rows, time.perf_counter() - started))
        conn.commit()
    return results
