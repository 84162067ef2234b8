"""Data checks: the numbered files of `sql/checks/`. A check passes when its query returns no rows."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from . import sqlfiles

SAMPLE = 5
STAGING_LOST = "SELECT (SELECT COUNT(*) FROM star_loads), (SELECT COUNT(*) FROM load_files)"


class StagingLost(RuntimeError):
    """Staging and its ledger are empty while the star reflects earlier loads; the message says what to run."""


def staging_lost(conn) -> str | None:
    """Why staging cannot be read as it stands, or None. On PostgreSQL staging, its ledger and the rows
    removed since the last transform are UNLOGGED tables, which the server empties when it restarts after
    a crash (kill -9, an OOM kill, a container stopped without grace); the star tables are logged and
    stay. The next load restages every file from the sources and rebuilds the star from them."""
    with conn.cursor() as cur:
        cur.execute(STAGING_LOST)
        loads, files = cur.fetchone()
    conn.rollback()
    if loads and not files:
        return (f"staging is empty and so is its ledger, while the star reflects {loads} earlier load(s): the "
                "database server was stopped uncleanly (a crash, kill -9, an out-of-memory kill), and PostgreSQL "
                "empties the staging tables, which are unlogged, when it restarts. The star tables are intact. "
                "Run make load: it restages every file from the sources and rebuilds the star from them")
    return None


@dataclass(frozen=True)
class CheckResult:
    name: str
    title: str
    failures: int
    columns: tuple[str, ...]
    sample: tuple[tuple, ...]

    @property
    def passed(self) -> bool:
        return self.failures == 0


def run(conn, dialect: str = "postgres", extra: list[CheckResult] | None = None) -> list[CheckResult]:
    results = []
    with conn.cursor() as cur:
        for f in sqlfiles.files("checks", dialect):
            (statement,) = f.statements
            cur.execute(statement)
            rows = cur.fetchall()
            columns = tuple(d[0] for d in cur.description)
            results.append(CheckResult(f.name, f.title, len(rows), columns, tuple(rows[:SAMPLE])))
    conn.rollback()
    return results + list(extra or [])


def freshness(conn, max_age_hours: int, now: datetime | None = None) -> CheckResult:
    """dbt-style source freshness: the newest event is at most `max_age_hours` old (UTC)."""
    with conn.cursor() as cur:
        cur.execute("SELECT MAX(start_time) FROM staging_events")
        (newest,) = cur.fetchone()
    conn.rollback()
    now = now or datetime.now(UTC).replace(tzinfo=None)
    age = None if newest is None else (now - newest).total_seconds() / 3600
    stale = age is None or age > max_age_hours
    sample = ((str(newest), None if age is None else round(age, 1), max_age_hours),) if stale else ()
    return CheckResult(
        "freshness", f"the newest event is at most {max_age_hours} hours old", int(stale),
        ("newest_event", "age_hours", "max_age_hours"), sample,
    )
