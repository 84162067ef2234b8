"""The load, end to end, on whichever warehouse the settings name:
schema -> staging -> star schema, checked before it is published -> counts -> maintenance.

sources (folder or s3://) -> staging_events / staging_songs -> songplays, users, songs, artists, time
"""

from __future__ import annotations

import shutil
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from . import migrations, sources, staging, transform, warehouses
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
         build: bool = True, reread: frozenset[str] = frozenset()) -> LoadSummary:
    """Stage the new and changed source files (and those in `reread`, a backfill's) and rebuild the star
    schema (`build=False`: stage only). Raises staging.TooManyErrors over MAX_ERRORS, and checks.GateFailed
    when a check fails before the star is published (staging keeps this load; the star is as it was)."""
    warehouse = warehouses.of(settings)
    summary = LoadSummary(new_load_id(), warehouse.name)
    with summary.step("prepare"):
        ensure_demo_data(settings, say)
        conn = warehouse.connect()
    try:
        with summary.step("migrate"):
            summary.migrated = [a.file for a in migrations.migrate(conn, warehouse.caps.dialect)]
        with summary.step("stage"):
            summary.staged = staging.stage(conn, warehouse, settings, summary.load_id, kinds, quiet=quiet, say=say,
                                           reread=reread)
        if build:
            with summary.step("transform"):
                summary.transform = transform.run(conn, warehouse.caps, say, settings.full_refresh,
                                                  settings.max_event_age_hours)
        with summary.step("count"):
            summary.tables = table_counts(conn)
        if build:  # after the counts, which it reuses
            with summary.step("maintain"):
                summary.maintenance = warehouse.maintain(conn, summary.transform, say, summary.tables)
    finally:
        conn.close()
    return summary


STAGED_COUNTS = "SELECT kind, SUM(rows_staged) FROM load_files GROUP BY kind"


def table_counts(conn, tables=STAR_TABLES) -> dict[str, int]:
    """Rows per table. Staging's counts come from the ledger (a row per file staged now, with the rows
    it staged); the check 220_reconcile_records.sql holds them equal to staging's own, so a daily
    load does not scan the whole staged history to print them."""
    with conn.cursor() as cur:
        cur.execute(STAGED_COUNTS)
        staged = {kind: int(n) for kind, n in cur.fetchall()}
        counts = {table: staged.get(kind, 0) for kind, table in staging.TABLES.items()}
        for table in tables:
            cur.execute(f"SELECT COUNT(*) FROM {table}")
            counts[table] = cur.fetchone()[0]
    conn.rollback()
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
    print(file=out)
    print(tabulate(sorted(summary.tables.items(), key=lambda kv: kv[0] not in STAGING_TABLES),
                   headers=("table", "rows"), intfmt=","), file=out)
    print(file=out)
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
