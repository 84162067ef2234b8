"""The load, end to end, on whichever warehouse the settings name:
schema -> staging -> star schema, checked and counted before it is published -> maintenance.

sources (folder or s3://) -> staging_events / staging_songs -> songplays, users, songs, artists, time
"""

from __future__ import annotations

import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime

from . import alerts, db, history, migrations, outcomes, retry, sources, staging, transform, warehouses
from .config import Settings

STAR_TABLES = transform.STAR_TABLES
STAGING_TABLES = tuple(staging.TABLES.values())


@dataclass
class LoadSummary:
    load_id: str
    warehouse: str = ""
    staged: list[staging.StageResult] = field(default_factory=list)
    transform: list[transform.StepResult] = field(default_factory=list)
    steps: list[tuple[str, float]] = field(default_factory=list)
    tables: dict[str, int] = field(default_factory=dict)
    migrated: list[str] = field(default_factory=list)
    maintenance: list[str] = field(default_factory=list)
    command: str = "load"
    started_at: str = ""
    attempts: int = 1
    reached: bool = False  # whether an attempt reached the warehouse and its schema (the history can be written)
    exit_code: int = 0
    connection: object = field(default=None, repr=False)  # the last attempt's, kept for the history's write

    @property
    def unknown_fields(self) -> dict[str, tuple[int, int]]:
        """{field: (records, files)} of the fields the records held that the parser does not know."""
        out: dict[str, tuple[int, int]] = {}
        for s in self.staged:
            for name, (records, files) in s.unknown_fields.items():
                before = out.get(name, (0, 0))
                out[name] = (before[0] + records, before[1] + files)
        return dict(sorted(out.items()))

    @property
    def rejected(self) -> int:
        return sum(s.records_rejected for s in self.staged)

    @property
    def checks(self) -> list:
        """The gate's results (every check, run before the transform committed)."""
        return [c for step in self.transform for c in step.checks]

    @property
    def repaired(self) -> dict[str, int]:
        """Staged fields of the transformed events that the star shows repaired (text) or unquoted (user_agent)."""
        return next((dict(t.repaired) for t in self.transform if t.file == transform.LOOKUPS), {})

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.steps.append((name, time.perf_counter() - started))

    def as_dict(self) -> dict:
        return {
            "load_id": self.load_id,
            "warehouse": self.warehouse,
            "schema_applied": self.migrated,
            "sources": [
                {"kind": s.kind, "location": s.source, "files": s.files_found, "files_loaded": s.files_loaded,
                 "files_replaced": s.files_replaced, "files_unchanged": s.files_unchanged,
                 "files_withdrawn": s.files_withdrawn,
                 "records_read": s.records_read, "rows_staged": s.rows_staged,
                 "records_rejected": s.records_rejected, "files_skipped": len(s.skipped),
                 "seconds": round(s.seconds, 3)}
                for s in self.staged
            ],
            "tables": self.tables,
            "repaired": self.repaired,
            "steps": {name: round(seconds, 3) for name, seconds in self.steps},
            "transform": {t.file: {"rows": t.rows, "seconds": round(t.seconds, 3)} for t in self.transform},
            "warnings": {c.name: c.failures for c in self.checks if not c.passed},
            "unknown_fields": {name: {"records": r, "files": f} for name, (r, f) in self.unknown_fields.items()},
            "attempts": self.attempts,
        }


def new_load_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


def ensure_demo_data(settings: Settings, say=print) -> None:
    """Generate the demo dataset when no source is configured and none is there yet."""
    if not settings.uses_demo_data or (settings.demo_dir / "log_data").exists():
        return
    from .generate import generate

    say(f"generating the demo dataset in {settings.demo_dir} "
        f"({settings.demo_events} events, {settings.demo_songs} songs)")
    tmp = settings.demo_dir.with_name(settings.demo_dir.name + ".partial")
    if tmp.exists():
        shutil.rmtree(tmp)
    generate(tmp, events=settings.demo_events, songs=settings.demo_songs)
    tmp.rename(settings.demo_dir)


def load(settings: Settings, *, quiet: bool = False, say=print, kinds=tuple(staging.TABLES),
         build: bool = True, reread: frozenset[str] = frozenset(), command: str | None = None) -> LoadSummary:
    """Stage the new and changed source files (and those in `reread`, a backfill's) and rebuild the star
    schema (`build=False`: stage only; no `kinds`: the transform only, bin/transform). Raises
    staging.TooManyErrors over MAX_ERRORS, and checks.GateFailed when a check fails before the star is
    published (staging keeps this load; the star is as it was).
    A transient warehouse failure is tried again (retry.py). However it ends, a run that reached the
    warehouse is written to load_runs and check_runs, and ALERT_WEBHOOK_URL hears of failures and warnings."""
    warehouse = warehouses.of(settings)
    summary = LoadSummary(new_load_id(), warehouse.name, command=command or ("load" if build else "stage"),
                          started_at=staging.now())
    try:
        retry.call(settings, lambda n: _attempt(settings, warehouse, summary, n, quiet=quiet, say=say, kinds=kinds,
                                                build=build, reread=reread), secrets=warehouse.secrets)
    except BaseException as err:
        finish(settings, warehouse, summary, err)
        raise
    finish(settings, warehouse, summary, None)
    return summary


def _attempt(settings: Settings, warehouse, summary: LoadSummary, attempt: int, *, quiet, say, kinds, build,
             reread) -> None:
    """One attempt at the whole load, on a connection of its own."""
    summary.attempts = attempt
    summary.steps, summary.staged, summary.transform, summary.tables, summary.maintenance = [], [], [], {}, []
    _close(summary)
    with summary.step("prepare"):
        if kinds:
            ensure_demo_data(settings, say)
        conn = summary.connection = warehouse.connect()
    try:
        with summary.step("migrate"):
            summary.migrated = [a.file for a in migrations.migrate(conn, warehouse.caps.dialect)]
        summary.reached = True  # the history's tables are there
        if kinds:
            with summary.step("stage"):
                summary.staged = staging.stage(conn, warehouse, settings, summary.load_id, kinds, quiet=quiet,
                                               say=say, reread=reread)
        if build:
            with summary.step("transform"):
                counted: dict = {}
                summary.transform = transform.run(conn, warehouse.caps, say, settings.full_refresh,
                                                  settings.max_event_age_hours,
                                                  before_commit=lambda cur, results: _before_commit(
                                                      warehouse, counted, cur, results))
                # only now, the commit done: a run whose commit failed shows no counts of a star never published
                summary.tables, summary.maintenance = counted["tables"], counted["maintenance"]
            with summary.step("maintain"):  # after the commit, reusing the counts
                summary.maintenance += warehouse.maintain(conn, summary.transform, say, summary.tables)
        else:
            with summary.step("count"):
                summary.tables = table_counts(conn)
    except BaseException:
        if db.transient(sys.exc_info()[1]):  # the connection is not to be trusted: the next attempt makes its own
            _close(summary)
        raise


def _before_commit(warehouse, counted: dict, cur, results: list) -> None:
    """In the transform's transaction, once the gate has passed: the summary's counts (the star exactly as it
    commits, under the load lock), then what the warehouse maintains there (PostgreSQL's ANALYZE; a step
    only where it runs). Both read the rows the transaction wrote, whose hint bits PostgreSQL would otherwise
    set, page by page, in the first reading after the commit (a write of every page: 4.6 s of 3M events'
    counts)."""
    started = time.perf_counter()
    counted["tables"] = star_counts(cur)
    results.append(transform.StepResult(COUNT, time.perf_counter() - started))
    started = time.perf_counter()
    counted["maintenance"] = warehouse.before_commit(cur, results)
    if warehouse.before_commit_statements():
        results.append(transform.StepResult(ANALYZE, time.perf_counter() - started))


def _close(summary: LoadSummary) -> None:
    conn, summary.connection = summary.connection, None
    if conn is not None:
        with suppress(Exception):  # a connection already lost
            conn.close()


def _history_connection(warehouse, summary: LoadSummary):
    """The load's own connection when it is still sound (its transaction ended), else a new one."""
    conn, summary.connection = summary.connection, None
    if conn is not None and not conn.closed:
        try:
            conn.rollback()
            return conn
        except Exception:  # noqa: BLE001 - lost after all
            conn.close()
    return warehouse.connect()


def _note(message: str) -> None:
    print(message, file=sys.stderr)


def failure_line(err: BaseException, hidden: tuple[str, ...] = ()) -> str:
    """A failure's first line, masked: what the history and an alert say of it (never a record's content,
    which a message gives on its later lines, if at all)."""
    if isinstance(err, KeyboardInterrupt):
        return "interrupted"
    first = (str(err).strip().splitlines() or [""])[0].strip()
    known = isinstance(err, staging.TooManyErrors | sources.SourceError | db.DatabaseError)
    text = first if known or type(err).__module__.startswith("sparkify_dwh") else f"{type(err).__name__}: {first}"
    return db.mask(text or type(err).__name__, *hidden)


def run_of(summary: LoadSummary, err: BaseException | None, hidden: tuple[str, ...] = ()) -> history.Run:
    """The load as load_runs and check_runs keep it."""
    rejected = err.rejected if isinstance(err, staging.TooManyErrors) else summary.rejected
    checks = getattr(err, "results", None) if err is not None else summary.checks
    staged = summary.staged
    return history.Run(
        summary.load_id, summary.command, summary.warehouse, summary.started_at, staging.now(),
        exit_code=summary.exit_code, attempts=summary.attempts,
        error=None if err is None else failure_line(err, hidden), steps=_history_steps(summary),
        files_found=sum(s.files_found for s in staged) if staged else None,
        files_read=sum(s.files_loaded for s in staged) if staged else None,
        records_read=sum(s.records_read for s in staged) if staged else None,
        rows_staged=sum(s.rows_staged for s in staged) if staged else None,
        records_rejected=rejected, unknown_fields=summary.unknown_fields,
        tables={t: n for t, n in summary.tables.items() if t in STAR_TABLES}, checks=checks or (),
    )


def _history_steps(summary: LoadSummary) -> dict[str, float]:
    """The steps' seconds as load_runs keeps them: a load counts the star inside its transform (whose seconds
    include the count's), a stage after it."""
    steps = dict(summary.steps)
    for t in summary.transform:
        if t.file == COUNT:
            steps.setdefault("count", t.seconds)
    return steps


def finish(settings: Settings, warehouse, summary: LoadSummary, err: BaseException | None) -> None:
    """After the load, however it ended: its history (when it reached the warehouse), then its alerts."""
    summary.exit_code = outcomes.exit_code(err)
    hidden = (*warehouse.secrets, *db.secrets_of(settings.extra.get("DATABASE_URL"), settings.extra))
    try:
        if summary.reached:
            history.write(lambda: _history_connection(warehouse, summary), run_of(summary, err, hidden), say=_note)
    finally:
        _close(summary)
    if settings.alert_webhook_url:
        alerts.send(settings.alert_webhook_url, load_alerts(summary, err, hidden), say=_note)


def load_alerts(summary: LoadSummary, err: BaseException | None, hidden: tuple[str, ...] = ()) -> list[dict]:
    """The messages a load posts: one per failed check and warning; else one for a failed load; and one for
    new fields. Counts and names only, never a record's content."""
    code, what = summary.exit_code, summary.command
    if err is None:
        return (alerts.for_checks(summary.checks, load_id=summary.load_id, exit_code=code, what=what)
                + alerts.for_unknown_fields(summary.unknown_fields, load_id=summary.load_id, exit_code=code))
    if getattr(err, "results", None):  # the gate failed: its checks say why
        return alerts.for_checks(err.results, load_id=summary.load_id, exit_code=code, what=what)
    counts = {"attempts": summary.attempts}
    if isinstance(err, staging.TooManyErrors):
        counts.update(rejected=err.rejected, **{"MAX_ERRORS": err.max_errors})
    return [alerts.message(f"{what} failed", load_id=summary.load_id, exit_code=code, counts=counts,
                           detail=f"{outcomes.MEANING.get(code, 'failed')}: {failure_line(err, hidden)}")]


STAGED_COUNTS = "SELECT kind, SUM(rows_staged) FROM load_files GROUP BY kind"


COUNT = "count"  # the transform's step that counts the star before the commit
ANALYZE = "analyze"  # the one that runs Warehouse.before_commit


def table_counts(conn, tables=STAR_TABLES) -> dict[str, int]:
    """Rows per table, in a transaction of their own."""
    with conn.cursor() as cur:
        counts = star_counts(cur, tables)
    conn.rollback()
    return counts


def star_counts(cur, tables=STAR_TABLES) -> dict[str, int]:
    """Rows per table. Staging's counts come from the ledger (a row per file staged now, with the rows
    it staged); the check 220_reconcile_records.sql holds them equal to staging's own, so a daily
    load does not scan the whole staged history to print them."""
    cur.execute(STAGED_COUNTS)
    staged = {kind: int(n) for kind, n in cur.fetchall()}
    counts = {table: staged.get(kind, 0) for kind, table in staging.TABLES.items()}
    for table in tables:
        cur.execute(f"SELECT COUNT(*) FROM {table}")
        counts[table] = cur.fetchone()[0]
    return counts


def skipped_note(s: staging.StageResult) -> str:
    """What a source held that was not read, counted by reason."""
    reasons: dict[str, int] = {}
    for _, reason in s.skipped:
        reasons[reason] = reasons.get(reason, 0) + 1
    counts = ", ".join(f"{n} × {reason}" for reason, n in sorted(reasons.items()))
    hint = (" (FOLLOW_SYMLINKS=1 reads links that leave the source)"
            if reasons.keys() & {sources.LINK_OUT, sources.LINK_OUT_FOLDER} else "")
    return f"{len(s.skipped)} entries of {s.source} skipped, not regular files under it: {counts}{hint}"


def print_summary(summary: LoadSummary, out=sys.stdout) -> None:
    from tabulate import tabulate

    print(f"load {summary.load_id}", file=out)
    if summary.migrated:
        print(f"schema: applied {', '.join(summary.migrated)}", file=out)
    rows = [
        (s.kind, s.source, s.files_found, s.files_loaded, s.files_unchanged, s.records_read, s.rows_staged,
         s.records_rejected)
        for s in summary.staged
    ]
    print(tabulate(rows, headers=("source", "location", "files", "loaded", "unchanged", "records read",
                                  "rows staged", "rejected"), intfmt=","), file=out)
    for s in summary.staged:
        if s.files_withdrawn:
            print(f"note: {s.files_withdrawn} {s.kind} files gone from {s.source} before the star showed them were "
                  "taken out of staging", file=out)
        if s.foreign_files:
            print(f"note: staging also holds {s.foreign_files} {s.kind} files that are not under {s.source}; "
                  "FULL_REFRESH=1 rebuilds from the configured sources alone", file=out)
        if s.skipped:
            print(f"note: {skipped_note(s)}", file=out)
        for name, (records, files) in s.unknown_fields.items():
            print(f"note: new field `{name}` in {records:,} record{'s' if records != 1 else ''} of {files:,} "
                  f"{s.kind} file{'s' if files != 1 else ''}, not loaded (UNKNOWN_FIELDS=ignore stops this note, "
                  "fail rejects such records)", file=out)
    print(file=out)
    print(tabulate(sorted(summary.tables.items(), key=lambda kv: kv[0] not in STAGING_TABLES),
                   headers=("table", "rows"), intfmt=","), file=out)
    print(file=out)
    if summary.attempts > 1:
        print(f"note: done at attempt {summary.attempts}, after transient warehouse failures", file=out)
    print(tabulate([(name, f"{seconds:.2f}") for name, seconds in summary.steps]
                   + [("  " + t.file, f"{t.seconds:.2f}") for t in summary.transform],
                   headers=("step", "seconds")), file=out)
    text = {k: n for k, n in summary.repaired.items() if n and k != "user_agent"}
    unquoted = summary.repaired.get("user_agent", 0)
    if text:
        print(f"\ntext repaired: {sum(text.values()):,} values ("
              + ", ".join(f"{k} {n:,}" for k, n in sorted(text.items())) + ")", file=out)
    if unquoted:
        print(f"{'' if text else chr(10)}user agents unquoted: {unquoted:,}", file=out)
    if summary.rejected:
        print(f"\n{summary.rejected} records rejected (at most MAX_ERRORS allowed); "
              f"see them with: SELECT * FROM load_errors WHERE load_id = '{summary.load_id}'", file=out)


def verified(settings: Settings, warehouse, results: list, code: int) -> None:
    """After bin/verify: its checks in check_runs (under a run id of its own), and an alert per failed check
    and warning."""
    if settings.dry_run:
        _note("note: DRY_RUN=1: the checks' results are not written to check_runs, and no alert is sent")
        return
    run = history.Run(new_load_id(), "verify", warehouse.name, staging.now(), staging.now(), exit_code=code,
                      checks=results)
    history.write(warehouse.connect, run, loads=False, say=_note)
    if settings.alert_webhook_url:
        alerts.send(settings.alert_webhook_url,
                    alerts.for_checks(results, load_id=None, exit_code=code, what=f"verify {run.run_id}"), say=_note)
