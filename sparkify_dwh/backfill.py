"""Backfill: reload a window of days from the sources, without a full refresh.

The log files that hold events in the window (dates in UTC, both included) are found from staging, not
from their names: a file named for one day may hold the next day's first minutes. They are read again
from the source and restaged through the ledger's replace rule (their earlier rows go, their plays are
noted for the transform to take out, their rows come again), and the transform rebuilds what they touch,
as for any changed file. A file that is no longer in the source keeps its rows, and the summary names it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from . import migrations, pipeline, sources, staging, warehouses
from .config import Settings, SettingsError

WINDOW_FILES = ("SELECT DISTINCT source_file FROM staging_events WHERE ts >= %s AND ts < %s "
                "ORDER BY source_file")


class BackfillError(SettingsError):
    """A window that is not two dates, first before last."""


@dataclass
class Window:
    first: date
    last: date
    files: list[str] = field(default_factory=list)  # in staging with events in the window, still in the source
    gone: list[str] = field(default_factory=list)  # in staging with events in the window, gone from the source

    @property
    def bounds_ms(self) -> tuple[int, int]:
        """[first 00:00, last + 1 day 00:00) UTC, in epoch milliseconds as staging's ts."""
        start = datetime.combine(self.first, time(), UTC)
        end = datetime.combine(self.last + timedelta(days=1), time(), UTC)
        return int(start.timestamp() * 1000), int(end.timestamp() * 1000)

    def describe(self) -> str:
        return f"{self.first.isoformat()} to {self.last.isoformat()} (UTC, both included)"


def window(first: str, last: str) -> Window:
    try:
        start, end = date.fromisoformat(first), date.fromisoformat(last)
    except ValueError:
        raise BackfillError(f"--from {first!r} --to {last!r}: expected dates as YYYY-MM-DD") from None
    if start > end:
        raise BackfillError(f"--from {first} is after --to {last}")
    return Window(start, end)


def find_files(conn, settings: Settings, win: Window) -> Window:
    """The window's log files, split into those the source still has and those it no longer has."""
    with conn.cursor() as cur:
        cur.execute(WINDOW_FILES, win.bounds_ms)
        staged = [name for (name,) in cur.fetchall()]
    conn.rollback()
    s3 = sources.s3_client() if sources.is_s3(settings.log_data) else None
    present = {f.uri for f in sources.list_files(settings.log_data, s3, follow_links=settings.follow_symlinks)}
    win.files = [name for name in staged if name in present]
    win.gone = [name for name in staged if name not in present]
    return win


def plan(settings: Settings, win: Window) -> Window:
    """Find the window's files (connects and reads; writes nothing but pending schema files, and not those
    under DRY_RUN=1, where a warehouse without staging yet has no file to read again)."""
    warehouse = warehouses.of(settings)
    conn = warehouse.connect()
    try:
        if settings.dry_run:
            pending = {f.name for f in migrations.pending_files(conn, warehouse.caps.dialect)}
            if pending & set(staging.TABLES.values()):
                return win
        else:
            migrations.migrate(conn, warehouse.caps.dialect)
        return find_files(conn, settings, win)
    finally:
        conn.close()


def run(settings: Settings, win: Window, *, say=print) -> pipeline.LoadSummary:
    """Restage the window's files (with any new and changed ones) and rebuild what they touch."""
    plan(settings, win)
    say(f"backfill {win.describe()}: {len(win.files)} log files to read again")
    for name in win.gone:
        say(f"  kept as staged, no longer in the source: {name}")
    return pipeline.load(settings, say=say, reread=frozenset(win.files), command="backfill")
