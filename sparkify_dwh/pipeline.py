"""The load, end to end on PostgreSQL: schema -> staging -> star schema, under one lock.

sources (folder or s3://) -> staging_events / staging_songs -> songplays, users, songs, artists, time
"""

from __future__ import annotations

import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime

from . import db, migrations, staging, transform
from .config import Settings

STAR_TABLES = ("songplays", "users", "songs", "artists", "time")
STAGING_TABLES = ("staging_events", "staging_songs")
LOCK_KEY = 0x5350_4B46  # "SPKF": one load at a time per database


class TooManyErrors(RuntimeError):
    """More records rejected than MAX_ERRORS allows; `sample` holds the first ten, to print."""

    def __init__(self, rejects: list, max_errors: int):
        self.rejected, self.max_errors, self.sample = len(rejects), max_errors, rejects[:10]
        super().__init__(
            f"{self.rejected} records rejected, over MAX_ERRORS={max_errors}: nothing was loaded, "
            "the star schema is as it was; every rejected record is in load_errors"
        )


@dataclass
class LoadSummary:
    load_id: str
    staged: list[staging.StageResult] = field(default_factory=list)
    transform: list[transform.StepResult] = field(default_factory=list)
    steps: list[tuple[str, float]] = field(default_factory=list)
    tables: dict[str, int] = field(default_factory=dict)
    migrated: list[str] = field(default_factory=list)

    @property
    def rejected(self) -> int:
        return sum(s.records_rejected for s in self.staged)

    def as_dict(self) -> dict:
        return {
            "load_id": self.load_id,
            "schema_applied": self.migrated,
            "sources": [
                {"kind": s.kind, "location": s.source, "files": s.files_found, "files_loaded": s.files_loaded,
                 "files_replaced": s.files_replaced, "files_unchanged": s.files_unchanged,
                 "records_read": s.records_read, "rows_staged": s.rows_staged,
                 "records_rejected": s.records_rejected, "seconds": round(s.seconds, 3)}
                for s in self.staged
            ],
            "tables": self.tables,
            "steps": {name: round(seconds, 3) for name, seconds in self.steps},
            "transform": {t.file: {"rows": t.rows, "seconds": round(t.seconds, 3)} for t in self.transform},
        }


def new_load_id() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:8]


@contextmanager
def load_lock(conn, say=print) -> Iterator[None]:
    """A session-level advisory lock: a second load waits for the first, and says so."""
    with conn.cursor() as cur:
        cur.execute("SELECT pg_try_advisory_lock(%s)", (LOCK_KEY,))
        if not cur.fetchone()[0]:
            cur.execute(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND objid = %s AND granted",
                (LOCK_KEY & 0xFFFFFFFF,),
            )
            holder = cur.fetchone()
            say(f"another load is running (server pid {holder[0] if holder else '?'}); waiting for it to finish")
            cur.execute("SELECT pg_advisory_lock(%s)", (LOCK_KEY,))
        conn.commit()
    try:
        yield
    finally:
        if not conn.closed:
            conn.rollback()
            with conn.cursor() as cur:
                cur.execute("SELECT pg_advisory_unlock(%s)", (LOCK_KEY,))
            conn.commit()


class _Timer:
    def __init__(self, summary: LoadSummary):
        self.summary = summary

    @contextmanager
    def step(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        yield
        self.summary.steps.append((name, time.perf_counter() - started))


def ensure_demo_data(settings: Settings, say=print) -> None:
    """Generate the demo dataset when no source is configured and none is there yet."""
    if not settings.uses_demo_data or (settings.demo_dir / "log_data").exists():
        return
    from .generate import generate

    say(f"generating the demo dataset in {settings.demo_dir} "
        f"({settings.demo_events} events, {settings.demo_songs} songs)")
    tmp = settings.demo_dir.with_name(settings.demo_dir.name + ".partial")
    if tmp.exists():
        import shutil

        shutil.rmtree(tmp)
    generate(tmp, events=settings.demo_events, songs=settings.demo_songs)
    tmp.rename(settings.demo_dir)


def load(settings: Settings, *, quiet: bool = False, say=print) -> LoadSummary:
    """Stage the new and changed source files and rebuild the star schema. Raises TooManyErrors."""
    if settings.warehouse == "redshift":
        from . import redshift

        return redshift.load(settings, quiet=quiet, say=say)
    summary = LoadSummary(new_load_id())
    timer = _Timer(summary)
    with timer.step("prepare"):
        ensure_demo_data(settings, say)
        url = db.resolve_url(settings)
    conn = db.connect(url)
    try:
        with load_lock(conn, say):
            with timer.step("migrate"):
                summary.migrated = [a.file for a in migrations.migrate(conn)]
            with timer.step("stage"):
                stage_sources(conn, settings, summary, quiet=quiet)
            with timer.step("transform"):
                summary.transform = transform.run(conn)
            with timer.step("count"):
                summary.tables = table_counts(conn)
    finally:
        conn.close()
    return summary


def stage_sources(conn, settings: Settings, summary: LoadSummary, kinds=("songs", "events"), quiet=False) -> None:
    """Stage the given sources in one transaction; over MAX_ERRORS, keep only the rejects and raise."""
    with db.transaction(conn) as cur:
        for kind in kinds:
            summary.staged.append(
                staging.stage(
                    cur, kind, settings.source(kind), summary.load_id,
                    full_refresh=settings.full_refresh, workers=settings.read_workers, quiet=quiet,
                )
            )
        if summary.rejected > settings.max_errors:
            conn.rollback()
            for result in summary.staged:
                staging.record_rejects(cur, result.kind, summary.load_id, result.rejects)
            conn.commit()
            raise TooManyErrors([r for result in summary.staged for r in result.rejects], settings.max_errors)
        conn.commit()


def table_counts(conn, tables=STAGING_TABLES + STAR_TABLES) -> dict[str, int]:
    counts = {}
    with conn.cursor() as cur:
        for table in tables:
            cur.execute(f"SELECT COUNT(*) FROM {table}")
            counts[table] = cur.fetchone()[0]
    conn.rollback()
    return counts


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
        if s.foreign_files:
            print(f"note: staging also holds {s.foreign_files} {s.kind} files that are not under {s.source}; "
                  "FULL_REFRESH=1 rebuilds from the configured sources alone", file=out)
    print(file=out)
    print(tabulate(sorted(summary.tables.items(), key=lambda kv: kv[0] not in STAGING_TABLES),
                   headers=("table", "rows"), intfmt=","), file=out)
    print(file=out)
    print(tabulate([(name, f"{seconds:.2f}") for name, seconds in summary.steps]
                   + [("  " + t.file, f"{t.seconds:.2f}") for t in summary.transform],
                   headers=("step", "seconds")), file=out)
    if summary.rejected:
        print(f"\n{summary.rejected} records rejected (at most MAX_ERRORS allowed); "
              f"see them with: SELECT * FROM load_errors WHERE load_id = '{summary.load_id}'", file=out)
