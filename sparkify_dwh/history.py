"""History in the warehouse: load_runs (a row per load) and check_runs (a row per check per run), written
for every run that reached the warehouse, failed ones included, in a transaction of their own on a
connection of their own (the load's may be the thing that failed). Writing the history never fails a run:
when it cannot be written, one line says so. `make history` reads them back.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import closing
from dataclasses import dataclass, field

from . import db
from .checks import CheckResult

STEPS = ("prepare", "migrate", "stage", "transform", "count", "maintain")
# the star tables load_runs has a column for (sql/schema/410_load_runs.sql): a new star table needs one
TABLES = ("songplays", "users", "songs", "artists", "time", "user_levels", "sessions", "page_events")
LOAD_COLUMNS = ("load_id", "command", "warehouse", "started_at", "ended_at", "status", "exit_code", "attempts",
                "error", *(f"{s}_seconds" for s in STEPS), "files_found", "files_read", "records_read",
                "rows_staged", "records_rejected", "unknown_fields", *(f"{t}_rows" for t in TABLES))
CHECK_COLUMNS = ("run_id", "command", "check_name", "severity", "status", "violations", "seconds", "checked_at")
ERROR_LIMIT = 1000  # bytes: load_runs.error and unknown_fields


@dataclass
class Run:
    """What one run did, as load_runs and check_runs keep it."""

    run_id: str
    command: str
    warehouse: str
    started_at: str
    ended_at: str = ""
    exit_code: int = 0
    attempts: int = 1
    error: str | None = None
    steps: dict[str, float] = field(default_factory=dict)
    files_found: int | None = None
    files_read: int | None = None
    records_read: int | None = None
    rows_staged: int | None = None
    records_rejected: int | None = None
    unknown_fields: dict[str, tuple[int, int]] = field(default_factory=dict)
    tables: dict[str, int] = field(default_factory=dict)
    checks: Sequence[CheckResult] = ()

    @property
    def status(self) -> str:
        return "succeeded" if self.exit_code == 0 else "failed"

    def load_row(self) -> tuple:
        unknown = ", ".join(f"{name} {records}" for name, (records, _) in self.unknown_fields.items())
        return (self.run_id, self.command, self.warehouse, self.started_at, self.ended_at, self.status, self.exit_code,
                self.attempts, _cut(self.error), *(self._seconds(s) for s in STEPS), self.files_found, self.files_read,
                self.records_read, self.rows_staged, self.records_rejected, _cut(unknown) or None,
                *(self.tables.get(t) for t in TABLES))

    def _seconds(self, step: str) -> float | None:
        seconds = self.steps.get(step)
        return None if seconds is None else round(seconds, 3)

    def check_rows(self) -> list[tuple]:
        return [(self.run_id, self.command, c.name, c.severity, c.status, c.failures, round(c.seconds, 3),
                 self.ended_at) for c in self.checks]


def _cut(text: str | None) -> str | None:
    """At most ERROR_LIMIT bytes of UTF-8 (a VARCHAR's width on Redshift), on a character boundary."""
    if text is None:
        return None
    return text.encode("utf-8")[:ERROR_LIMIT].decode("utf-8", "ignore")


def write(connect: Callable[[], object], run: Run, *, loads: bool = True, say=print) -> bool:
    """Insert `run` (its load_runs row when `loads`, and its check_runs rows) on a new connection, committed;
    False, and one line said, when it could not be."""
    try:
        with closing(connect()) as conn, db.transaction(conn) as cur:
            if loads:
                db.insert(cur, "load_runs", LOAD_COLUMNS, [run.load_row()])
            db.insert(cur, "check_runs", CHECK_COLUMNS, run.check_rows())
            conn.commit()
        return True
    except Exception as err:  # noqa: BLE001 - the history never fails the run it describes
        first = (str(err).strip().splitlines() or [type(err).__name__])[0]
        say(f"note: the run's history was not written to load_runs ({type(err).__name__}: {first[:200]})")
        return False


LATEST = ("SELECT load_id, command, status, exit_code, started_at, ended_at, attempts, files_read, rows_staged, "
          "records_rejected, songplays_rows, unknown_fields, error FROM load_runs ORDER BY started_at DESC, "
          "load_id DESC LIMIT %s")
CHECKS_OF = ("SELECT run_id, check_name, status, violations FROM check_runs WHERE run_id IN ({ids}) "
             "AND status <> 'passed' ORDER BY run_id DESC, check_name")


def latest(conn, limit: int = 10) -> tuple[list[tuple], list[tuple]]:
    """The latest `limit` loads, newest first, and the checks that failed or warned in them (none, before the
    first load made the tables)."""
    import psycopg2.errors

    with conn.cursor() as cur:
        try:
            cur.execute(LATEST, (limit,))
        except psycopg2.errors.UndefinedTable:
            conn.rollback()
            return [], []
        runs = cur.fetchall()
        checks: list[tuple] = []
        if runs:
            cur.execute(CHECKS_OF.format(ids=", ".join(["%s"] * len(runs))), tuple(r[0] for r in runs))
            checks = cur.fetchall()
    conn.rollback()
    return runs, checks
