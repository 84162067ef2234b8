"""The transform: the numbered files of `sql/transform/`, in order, in one transaction under the load lock,
then the checks of `sql/checks/` in that same transaction (write, audit, publish), then the commit.

Incremental: 010_scope.sql works out what the loads since the last transform changed, and each file
replaces the rows of its star table in that scope with DELETE then INSERT ... SELECT (no TRUNCATE: on
Redshift it commits). When star_loads is empty (a first load, FULL_REFRESH=1) the scope is everything and
the star is rebuilt. Before the files, lookups.py fills the lookup tables they join (text repaired, places
and user agents parsed) for the values the loads since the last transform staged. A failure anywhere, a
failing check included (checks.GateFailed), leaves the previous star as it was; a rerun on the same input
changes nothing.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from . import checks, db, lock, lookups, sqlfiles
from .warehouses.base import Capabilities


@dataclass(frozen=True)
class StepResult:
    file: str
    seconds: float
    inserted: dict[str, int] = field(default_factory=dict)  # table -> rows inserted (temporary ones left out)
    deleted: dict[str, int] = field(default_factory=dict)  # table -> rows deleted
    checks: tuple[checks.CheckResult, ...] = ()  # the gate's step: every check's result
    repaired: dict[str, int] = field(default_factory=dict)  # field -> staged values the star shows changed

    @property
    def rows(self) -> int:
        return sum(self.inserted.values())


def changes(results: list[StepResult]) -> dict[str, tuple[int, int]]:
    """{star table: (rows inserted, rows deleted)} over a transform's files."""
    out: dict[str, tuple[int, int]] = {}
    for step in results:
        for table in set(step.inserted) | set(step.deleted):
            if table in STAR_TABLES:
                inserted, deleted = out.get(table, (0, 0))
                out[table] = (inserted + step.inserted.get(table, 0), deleted + step.deleted.get(table, 0))
    return out


STAR_TABLES = ("songplays", "users", "songs", "artists", "time", "user_levels", "sessions", "page_events")
LOOKUPS = "lookups"  # the StepResult of lookups.fill
REBUILD = "DELETE FROM star_loads"  # FULL_REFRESH=1: the scope is everything
GATE = "gate"  # the step that runs the checks before the commit
_TEMP = re.compile(r"CREATE\s+TEMP\s+TABLE\s+(\w+)", re.I)
_TARGET = re.compile(r"^\s*(?:INSERT\s+INTO|DELETE\s+FROM)\s+(\w+)", re.I | re.M)
_COMMENTS = re.compile(r"--[^\n]*")


def statements(caps: Capabilities, full_refresh: bool = False) -> list[tuple[sqlfiles.SqlFile | None, str]]:
    """(file, statement) in the order `run` sends them, the transaction's opening ones with no file."""
    opening = [(None, lock.LOCK)] + [(None, s) for s in caps.transform_setup]
    opening += [(None, REBUILD)] if full_refresh else []
    opening += [(None, s) for s in lookups.STATEMENTS]
    for table, columns in lookups.COLUMNS.items():  # one row shown: the new values' rows, 500 a statement
        shown = ", ".join(f"'<{c}>'" for c in columns)
        opening.append((None, f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({shown})"))
    return opening + [(f, s) for f in sqlfiles.files("transform", caps.dialect) for s in f.statements]


def run(conn, caps: Capabilities, say=print, full_refresh: bool = False,
        max_event_age_hours: int | None = None,
        before_commit: Callable[[object, list[StepResult]], None] | None = None) -> list[StepResult]:
    """Run every transform file, then the gate; commit only when all succeeded and no check failed.
    `full_refresh`: rebuild the whole star. `max_event_age_hours`: freshness, a warning in the gate.
    `before_commit(cur, results)`: once the gate has passed, in the same transaction (the summary's counts,
    PostgreSQL's ANALYZE); it may add its own steps to `results`.
    Raises checks.GateFailed (after rolling back) when a check that is not a warning fails."""
    results = []
    lost = checks.staging_lost(conn)
    if lost:
        raise checks.StagingLost(lost)
    with db.transaction(conn) as cur:
        lock.take(cur, say)
        for statement in caps.transform_setup:
            cur.execute(statement)
        if full_refresh:
            cur.execute(REBUILD)
        filled = lookups.fill(cur, server_side=caps.server_cursors)
        results.append(StepResult(LOOKUPS, filled.seconds, dict(filled.added),
                                  repaired=dict(filled.repaired, user_agent=filled.unquoted)))
        files = sqlfiles.files("transform", caps.dialect)
        temporary = {name.lower() for f in files for name in _TEMP.findall(f.text)}
        for f in files:
            started = time.perf_counter()
            inserted: dict[str, int] = {}
            deleted: dict[str, int] = {}
            for statement in f.statements:
                cur.execute(statement)
                target = _TARGET.search(_COMMENTS.sub("", statement))
                if target and target.group(1).lower() not in temporary:
                    counts = inserted if target.group(0).lstrip().upper().startswith("INSERT") else deleted
                    table = target.group(1).lower()
                    counts[table] = counts.get(table, 0) + max(cur.rowcount, 0)
            results.append(StepResult(f.path.name, time.perf_counter() - started, inserted, deleted))
        started = time.perf_counter()
        audit = checks.gate(cur, caps.dialect, max_event_age_hours)
        results.append(StepResult(GATE, time.perf_counter() - started, checks=tuple(audit)))
        for r in audit:
            if not r.passed and not r.blocking:
                say(f"warning: {r.name} ({r.title}): {r.failures} rows, the first: {list(r.sample)}")
        failed = [r for r in audit if r.blocking]
        if failed:
            conn.rollback()
            raise checks.GateFailed(failed, audit)
        if before_commit is not None:
            before_commit(cur, results)
        conn.commit()
    return results
