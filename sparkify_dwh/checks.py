"""Data checks: the numbered files of `sql/checks/`. A check passes when its query returns no rows.

Each file holds the check's whole form: one query over every row, which `make verify` runs. It may hold
a second query, its scoped form, whose comment lines before its SQL include `-- scoped:`: the same rule
over the rows the transform just rebuilt, read through the transform's scope tables (sql/transform/010_scope.sql and
the temporary tables the later files make), so that the gate costs what the day costs.

The gate (write, audit, publish): the transform runs every check inside its own transaction, after its
last file and before it commits; a failing check rolls the transaction back, so analysts keep the star
they had, and the load fails naming it (GateFailed). On a rebuild the gate runs the whole forms (the
scope is everything); on an incremental transform, each check's scoped form where it has one, else its
whole form. A file added to sql/checks/ gates the next load with no other change.

A header line `-- severity: warning` makes a check a warning: printed, never blocking, in the gate and in
`make verify` alike. Freshness (MAX_EVENT_AGE) is a warning in the gate and fails `make verify`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from . import db, sqlfiles

SAMPLE = 5
STAGING_LOST = "SELECT (SELECT COUNT(*) FROM star_loads), (SELECT COUNT(*) FROM load_files)"
REBUILD = "SELECT rebuild FROM transform_run"  # 010_scope.sql's verdict: 1 when the transform rebuilt everything
SEVERITIES = ("error", "warning")
_SEVERITY = re.compile(r"^--\s*severity:\s*(\S+)\s*$", re.M)
_SCOPED = re.compile(r"^\s*--\s*scoped:", re.M)


class StagingLost(RuntimeError):
    """Staging and its ledger are empty while the star reflects earlier loads; the message says what to run."""


class GateFailed(RuntimeError):
    """A check failed inside the transform's transaction: it was rolled back and the star is as it was.
    `failed` holds each failing check's result (its name, title and first violating rows)."""

    def __init__(self, failed: list[CheckResult], results: list[CheckResult] | None = None):
        from tabulate import tabulate

        self.failed, self.results = failed, list(results if results is not None else failed)
        names = ", ".join(r.name for r in failed)
        lines = [f"check{'s' if len(failed) > 1 else ''} failed before publishing: {names}. The transform was rolled "
                 "back and the star is as it was; staging keeps this load. Fix or remove the offending source file "
                 "and load again (see docs/guarantees.md, When a check fails)"]
        for r in failed:
            lines.append(f"{r.name} ({r.title}): {r.failures} failing rows, the first:")
            lines += ["  " + line for line in tabulate(r.sample, headers=r.columns).splitlines()]
        super().__init__("\n".join(lines))


def staging_lost(conn) -> str | None:
    """Why staging cannot be read as it stands, or None. Staging, its ledger and the rows removed since the
    last transform are logged tables (sql/schema/240_staging_logged.sql), as durable as the star; before
    that they were UNLOGGED, which PostgreSQL empties when it restarts after a crash. A warehouse that
    crashed while still on that layout has an empty staging under a star that reflects earlier loads: the
    next load restages every file from the sources and rebuilds the star from them."""
    with conn.cursor() as cur:
        cur.execute(STAGING_LOST)
        loads, files = cur.fetchone()
    conn.rollback()
    if loads and not files:
        return (f"staging is empty and so is its ledger, while the star reflects {loads} earlier load(s): the "
                "database server was stopped uncleanly (a crash, kill -9, an out-of-memory kill) while staging was "
                "still unlogged, and PostgreSQL emptied it when it restarted. The star tables are intact. "
                "Run make load: it restages every file from the sources and rebuilds the star from them")
    return None


@dataclass(frozen=True)
class Check:
    """One file of sql/checks/: its whole form, its scoped form (or None) and its severity."""

    name: str
    title: str
    severity: str
    whole: str
    scoped: str | None = None


def parse(f: sqlfiles.SqlFile) -> Check:
    """A check file as a Check; a file that is not one query, or one and its scoped form, is refused."""
    statements = f.statements
    scoped = [s for s in statements if _SCOPED.search(_leading_comments(s))]
    whole = [s for s in statements if not _SCOPED.search(_leading_comments(s))]
    if len(whole) != 1 or len(scoped) > 1:
        raise ValueError(f"{f.path.name}: a check file holds one query, and at most one more opening with "
                         "'-- scoped:' (its form over the transform's scope)")
    severity = _SEVERITY.search(_leading_comments(f.text))
    level = severity.group(1).lower() if severity else "error"
    if level not in SEVERITIES:
        raise ValueError(f"{f.path.name}: severity {level!r} is not one of {', '.join(SEVERITIES)}")
    return Check(f.name, f.title, level, whole[0], scoped[0] if scoped else None)


def _leading_comments(text: str) -> str:
    """The file's header: its comment lines before the first line of SQL."""
    lines = []
    for line in text.splitlines():
        if line.strip() and not line.lstrip().startswith("--"):
            break
        lines.append(line.strip())
    return "\n".join(lines)


def load(dialect: str = "postgres") -> list[Check]:
    return [parse(f) for f in sqlfiles.files("checks", dialect)]


@dataclass(frozen=True)
class CheckResult:
    name: str
    title: str
    failures: int
    columns: tuple[str, ...]
    sample: tuple[tuple, ...]
    severity: str = "error"
    seconds: float = 0.0

    @property
    def passed(self) -> bool:
        return self.failures == 0

    @property
    def blocking(self) -> bool:
        """Failed, and an error rather than a warning."""
        return not self.passed and self.severity == "error"

    @property
    def status(self) -> str:
        return "passed" if self.passed else "failed" if self.blocking else "warned"


def as_json(results: list[CheckResult]) -> dict:
    """The results for a CI system: names, statuses and counts, never the failing rows (they hold names)."""
    counts = {status: sum(r.status == status for r in results) for status in ("passed", "failed", "warned")}
    return {**counts, "checks": [{"name": r.name, "title": r.title, "severity": r.severity, "status": r.status,
                                  "violations": r.failures, "seconds": round(r.seconds, 3)} for r in results]}


def as_junit(results: list[CheckResult]) -> str:
    """The results as a JUnit XML report (one test case per check; a warning is a skipped case with its
    count), which CI systems show as test results. No failing rows: only their count."""
    from xml.etree import ElementTree as ET

    suite = ET.Element("testsuite", name="sparkify verify", tests=str(len(results)),
                       failures=str(sum(r.blocking for r in results)),
                       skipped=str(sum(r.status == "warned" for r in results)),
                       time=f"{sum(r.seconds for r in results):.3f}")
    for r in results:
        case = ET.SubElement(suite, "testcase", classname="sql.checks", name=r.name, time=f"{r.seconds:.3f}")
        if r.blocking:
            ET.SubElement(case, "failure", message=f"{r.failures} rows break it: {r.title}")
        elif r.status == "warned":
            ET.SubElement(case, "skipped", message=f"warning: {r.failures} rows break it: {r.title}")
    return ET.tostring(ET.ElementTree(suite).getroot(), encoding="unicode", xml_declaration=True) + "\n"


def _run_one(cur, check: Check, statement: str) -> CheckResult:
    import time

    import psycopg2

    started = time.perf_counter()
    try:
        cur.execute(statement)
    except psycopg2.Error as err:  # a check that cannot run proves nothing: the load stops, naming it
        if db.transient(err):  # unless the connection was lost: the run tries again
            raise
        raise db.DatabaseError(f"the check {check.name} could not run: {db.mask(str(err).strip())}") from None
    rows = cur.fetchall()
    columns = tuple(d[0] for d in cur.description)
    return CheckResult(check.name, check.title, len(rows), columns, tuple(rows[:SAMPLE]), check.severity,
                       time.perf_counter() - started)


def run(conn, dialect: str = "postgres", extra: list[CheckResult] | None = None) -> list[CheckResult]:
    """Every check's whole form (make verify), read only; then `extra` (freshness)."""
    results = []
    with conn.cursor() as cur:
        for check in load(dialect):
            results.append(_run_one(cur, check, check.whole))
    conn.rollback()
    return results + list(extra or [])


def gate_statements(dialect: str, scoped: bool) -> list[tuple[Check, str]]:
    """(check, statement) the gate runs: each scoped form when `scoped` and the check has one."""
    return [(c, c.scoped if scoped and c.scoped else c.whole) for c in load(dialect)]


def gate(cur, dialect: str, max_age_hours: int | None = None, now: datetime | None = None) -> list[CheckResult]:
    """Inside the transform's transaction, after its last file: every check, scoped unless the transform
    rebuilt everything; freshness as a warning when `max_age_hours` is set. Commits and rolls back nothing:
    the caller publishes only when no result is blocking."""
    cur.execute(REBUILD)
    (rebuild,) = cur.fetchone()
    results = [_run_one(cur, check, statement) for check, statement in gate_statements(dialect, not rebuild)]
    if max_age_hours:
        fresh = _freshness(cur, max_age_hours, now)
        results.append(CheckResult(fresh.name, fresh.title, fresh.failures, fresh.columns, fresh.sample, "warning"))
    return results


NEWEST = "SELECT MAX(start_time) FROM staging_events"


def _freshness(cur, max_age_hours: int, now: datetime | None = None) -> CheckResult:
    cur.execute(NEWEST)
    (newest,) = cur.fetchone()
    now = now or datetime.now(UTC).replace(tzinfo=None)
    age = None if newest is None else (now - newest).total_seconds() / 3600
    stale = age is None or age > max_age_hours
    sample = ((str(newest), None if age is None else round(age, 1), max_age_hours),) if stale else ()
    return CheckResult(
        "freshness", f"the newest event is at most {max_age_hours} hours old", int(stale),
        ("newest_event", "age_hours", "max_age_hours"), sample,
    )


def freshness(conn, max_age_hours: int, now: datetime | None = None) -> CheckResult:
    """dbt-style source freshness: the newest event is at most `max_age_hours` old (UTC). An error in
    `make verify`; the gate runs it as a warning."""
    with conn.cursor() as cur:
        result = _freshness(cur, max_age_hours, now)
    conn.rollback()
    return result
