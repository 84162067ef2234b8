"""The transform: the numbered files of `sql/transform/`, in order, in one transaction under the load lock.

Incremental: 010_scope.sql works out what the loads since the last transform changed, and each file
replaces the rows of its star table in that scope with DELETE then INSERT ... SELECT (no TRUNCATE: on
Redshift it commits). When star_loads is empty (a first load, FULL_REFRESH=1) the scope is everything and
the star is rebuilt. A failure anywhere leaves the previous star as it was; a rerun on the same input
changes nothing.
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


REBUILD = "DELETE FROM star_loads"  # FULL_REFRESH=1: the scope is everything


def statements(caps: Capabilities, full_refresh: bool = False) -> list[tuple[sqlfiles.SqlFile | None, str]]:
    """(file, statement) in the order `run` sends them, the transaction's opening ones with no file."""
    opening = [(None, lock.LOCK)] + [(None, s) for s in caps.transform_setup]
    opening += [(None, REBUILD)] if full_refresh else []
    return opening + [(f, s) for f in sqlfiles.files("transform", caps.dialect) for s in f.statements]


def run(conn, caps: Capabilities, say=print, full_refresh: bool = False) -> list[StepResult]:
    """Run every transform file; commit only when all succeeded. `full_refresh`: rebuild the whole star."""
    results = []
    with db.transaction(conn) as cur:
        lock.take(cur, say)
        for statement in caps.transform_setup:
            cur.execute(statement)
        if full_refresh:
            cur.execute(REBUILD)
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
