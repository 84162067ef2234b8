"""The history in the warehouse: load_runs (one row per load, failed ones included) and check_runs (one row
per check per run), written after the run in a transaction of their own, so a run whose work rolled back
still leaves its row; `bin/history` prints the latest."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from . import db

STEPS = ("prepare", "migrate", "stage", "transform", "maintain")
STAR_ROWS = ("songplays", "users", "songs", "artists", "time", "user_levels")
LOAD_COLUMNS = ("load_id", "command", "started_at", "ended_at", "status", "exit_code",
                *(f"{s}_seconds" for s in STEPS), "files_found", "files_loaded", "records_read", "rows_staged",
                "records_rejected", *(f"{t}_rows" for t in STAR_ROWS), "unknown_fields", "message")
CHECK_COLUMNS = ("run_id", "command", "check_name", "status", "violations", "checked_at")
TEXT_LIMIT = 1024
LATEST = ("SELECT load_id, command, started_at, ended_at, status, exit_code, files_loaded, records_rejected, "
          "songplays_rows, message FROM load_runs ORDER BY started_at DESC, load_id DESC LIMIT %s")


@dataclass
class LoadRun:
    load_id: str
    command: str
    started_at: str
    ended_at: str = ""
    status: str = "failed"
    exit_code: int = 1
    steps: dict[str, float] = field(default_factory=dict)
    files_found: int | None = None
    files_loaded: int | None = None
    records_read: int | None = None
    rows_staged: int | None = None
    records_rejected: int | None = None
    tables: dict[str, int] = field(default_factory=dict)
    unknown_fields: dict[str, int] = field(default_factory=dict)
    message: str | None = None

    def row(self) -> tuple:
        unknown = ", ".join(f"{name} {n}" for name, n in sorted(self.unknown_fields.items())) or None
        return (self.load_id, self.command, self.started_at, self.ended_at, self.status, self.exit_code,
                *(self.steps.get(s) for s in STEPS), self.files_found, self.files_loaded, self.records_read,
                self.rows_staged, self.records_rejected, *(self.tables.get(t) for t in STAR_ROWS),
                _cut(unknown), _cut(self.message))


def _cut(text: str | None) -> str | None:
    """At most TEXT_LIMIT bytes of UTF-8 (a VARCHAR's width on Redshift), on a character boundary."""
    return None if text is None else text.encode("utf-8")[:TEXT_LIMIT].decode("utf-8", "ignore")


def record_load(conn, run: LoadRun) -> None:
    with conn.cursor() as cur:
        db.insert(cur, "load_runs", LOAD_COLUMNS, [run.row()])
    conn.commit()


def record_checks(conn, run_id: str, command: str, results: Sequence[tuple[str, str, int]], at: str) -> None:
    """`results`: (check name, status, violations) per check."""
    with conn.cursor() as cur:
        db.insert(cur, "check_runs", CHECK_COLUMNS,
                [(run_id, command, name, status, violations, at) for name, status, violations in results])
    conn.commit()


def latest(conn, limit: int = 20) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(LATEST, (limit,))
        rows = cur.fetchall()
    conn.rollback()
    return rows
