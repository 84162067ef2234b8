"""The transform: the numbered files of `sql/transform/`, in order, in one transaction under the load lock.

Each file rebuilds one star table from staging with DELETE then INSERT ... SELECT (no TRUNCATE:
on Redshift it commits), so a failure anywhere leaves the previous star schema as it was and a
rerun on the same input gives the same rows.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from . import db, lock, sqlfiles
from .warehouses.base import Capabilities


@dataclass(frozen=True)
class StepResult:
    file: str
    rows: int
    seconds: float


def statements(caps: Capabilities) -> list[tuple[sqlfiles.SqlFile | None, str]]:
    """(file, statement) in the order `run` sends them, the transaction's opening ones with no file."""
    opening = [(None, lock.LOCK)] + [(None, s) for s in caps.transform_setup]
    return opening + [(f, s) for f in sqlfiles.files("transform", caps.dialect) for s in f.statements]


def run(conn, caps: Capabilities, say=print) -> list[StepResult]:
    """Run every transform file; commit only when all succeeded."""
    results = []
    with db.transaction(conn) as cur:
        lock.take(cur, say)
        for statement in caps.transform_setup:
            cur.execute(statement)
        for f in sqlfiles.files("transform", caps.dialect):
            started = time.perf_counter()
            rows = 0
            for statement in f.statements:
                cur.execute(statement)
                if statement.lstrip().upper().startswith("INSERT"):
                    rows += max(cur.rowcount, 0)
            results.append(StepResult(f.path.name, rows, time.perf_counter() - started))
        conn.commit()
    return results
