"""Staging, the same on every warehouse: the new and changed files of each source into staging_songs
and staging_events, every record staged or kept in load_errors, every file in the ledger load_files.

1. Plan, without the lock: list each source, read the ledger, pick the files to read (new ones, and
   those whose size or version changed; every file on a full refresh).
2. Prepare, without the lock: whatever the warehouse's stager needs no lock for (Redshift reads,
   parses, compacts and uploads the files to S3 here).
3. One transaction, under the load lock: read the ledger again (if another load staged meanwhile,
   roll back and plan again); on a full refresh empty staging; delete the earlier rows of each
   changed file (the replace rule), and of each file gone from the source that the star never showed
   (withdrawn); delete what earlier attempts left in load_errors for the files read; the stager copies
   each table; over MAX_ERRORS roll it all back, keep only the rejects and fail; else insert the
   rejects and the ledger rows, and commit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from . import db, lock, records, sources
from .config import Settings
from .warehouses.base import Copied, CopyRejected, Plan, Stager, Warehouse

TABLES = {"songs": "staging_songs", "events": "staging_events"}  # in the order they are staged
LEDGER_READ = "SELECT source_file, size_bytes, version FROM load_files WHERE kind = %s"
LEDGER_COLUMNS = ("source_file", "kind", "size_bytes", "version", "load_id", "records_read", "rows_staged",
                  "records_rejected", "loaded_at")
ERROR_COLUMNS = ("load_id", "kind", "source_file", "line_number", "reason", "raw_line", "logged_at")
REASON_LIMIT = 1000
ATTEMPTS = 3


class TooManyErrors(RuntimeError):
    """More records rejected than MAX_ERRORS allows; `sample` holds the first ten, to print."""

    def __init__(self, rejects: Sequence[records.Reject], max_errors: int):
        self.rejected, self.max_errors, self.sample = len(rejects), max_errors, list(rejects[:10])
        super().__init__(
            f"{self.rejected} records rejected, over MAX_ERRORS={max_errors}: nothing was loaded, "
            "the star schema is as it was; every rejected record is in load_errors"
        )


class LedgerMoving(RuntimeError):
    """Another load kept staging the same files while this one planned."""


@dataclass
class StageResult:
    kind: str
    source: str
    files_found: int = 0
    files_loaded: int = 0
    files_replaced: int = 0
    files_unchanged: int = 0
    records_read: int = 0
    rows_staged: int = 0
    rejects: list[records.Reject] = field(default_factory=list)
    foreign_files: int = 0
    files_withdrawn: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (path, reason) of what was found, not read
    seconds: float = 0.0
    unknown_fields: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (records, files)

    @property
    def records_rejected(self) -> int:
        return len(self.rejects)


def changed(found: list[sources.SourceFile], ledger: dict[str, tuple[int, str]]) -> list[sources.SourceFile]:
    """The files to read: new ones, and those whose size or version differ from their ledger row."""
    return [f for f in found if ledger.get(f.uri) != (f.size, f.version)]


def read_ledger(cur, kind: str) -> dict[str, tuple[int, str]]:
    cur.execute(LEDGER_READ, (kind,))
    return {name: (size, version) for name, size, version in cur.fetchall()}


def plan(conn, kind: str, settings: Settings, s3=None, reread: frozenset[str] = frozenset()) -> Plan:
    """Which files of one source this load reads (no lock held): new and changed ones, and those in
    `reread` (a backfill's), which the replace rule restages like changed ones."""
    source = settings.source(kind)
    listing = sources.list_source(source, s3, follow_links=settings.follow_symlinks)
    found = listing.files
    with db.transaction(conn) as cur:
        ledger = read_ledger(cur, kind)
    conn.rollback()
    todo = found if settings.full_refresh else [f for f in found if f.uri in reread] + changed(
        [f for f in found if f.uri not in reread], ledger)
    return Plan(kind, TABLES[kind], source, found, ledger, todo, settings.full_refresh, skipped=listing.skipped)


# --- Statements, one text for every warehouse -----------------------------------------------------

def refresh_statements(plan: Plan) -> list[tuple[str, tuple]]:
    """FULL_REFRESH: staging, ledger and rejects of this kind start empty, and the next transform rebuilds
    the whole star (star_loads empty)."""
    return [(f"DELETE FROM {plan.table}", ()), ("DELETE FROM load_files WHERE kind = %s", (plan.kind,)),
            ("DELETE FROM load_errors WHERE kind = %s", (plan.kind,))] + [
            (f"DELETE FROM {table}", ()) for table in REMOVED[plan.kind]] + [("DELETE FROM star_loads", ())]


# Where a changed file's earlier rows note what they gave the star, for the transform to take it out, with
# the load that had staged them (make verify tells from it whether the star shows them yet).
REMOVED = {"events": ("removed_plays", "removed_sessions"), "songs": ("removed_songs",)}
NOTE_REMOVED = {
    "events": ("INSERT INTO removed_plays (user_id, session_id, item_in_session, ts, start_time, load_id) "
               "SELECT user_id, session_id, item_in_session, ts, start_time, load_id FROM staging_events "
               "WHERE page = 'NextSong' AND user_id <> '' AND {among}",
               "INSERT INTO removed_sessions (user_id, session_id, item_in_session, ts, start_time, page, load_id) "
               "SELECT user_id, session_id, item_in_session, ts, start_time, page, load_id FROM staging_events "
               "WHERE user_id <> '' AND {among}"),
    "songs": ("INSERT INTO removed_songs (song_id, artist_id, title, artist_name, duration, load_id) "
              "SELECT song_id, artist_id, RTRIM(title), RTRIM(artist_name), duration, load_id FROM staging_songs "
              "WHERE {among}",),
}
# The files staged since the star was last published (their load is not in star_loads): one of them that is
# gone from the source is withdrawn, as a changed file is replaced, since no analyst ever saw its rows. This
# is how a file that fails the gate leaves: remove it from the source and load again.
UNPUBLISHED = ("SELECT source_file FROM load_files WHERE kind = %s "
               "AND load_id NOT IN (SELECT b.load_id FROM star_loads AS b)")


def withdrawn(cur, plan: Plan) -> list[str]:
    """The ledger's files of `plan`'s kind that are gone from its source and that the star never showed."""
    cur.execute(UNPUBLISHED, (plan.kind,))
    present = {f.uri for f in plan.found}
    return sorted(name for (name,) in cur.fetchall() if name not in present)


def replace_statements(plan: Plan, page: int = db.INSERT_PAGE, files: Sequence[str] | None = None
                       ) -> list[tuple[str, tuple]]:
    """A changed file's earlier rows go: what they gave the star is noted for the transform to take out,
    then its staged rows, rejects and ledger row go, before its new ones come. `files`: those to take out
    (the plan's changed files by default; the withdrawn ones, see UNPUBLISHED)."""
    out = []
    files = plan.replaced if files is None else list(files)
    for start in range(0, len(files), page):
        chunk = tuple(files[start:start + page])
        among = "source_file IN (" + ", ".join(["%s"] * len(chunk)) + ")"
        out += [(note.format(among=among), chunk) for note in NOTE_REMOVED[plan.kind]]
        out += [(f"DELETE FROM {table} WHERE {among}", chunk) for table in (plan.table, "load_errors", "load_files")]
    return out


def ledger_rows(plan: Plan, copied: Copied, load_id: str, now: str) -> list[tuple]:
    return [(c.file.uri, plan.kind, c.file.size, c.file.version, load_id, c.read, c.staged, c.rejected, now)
            for c in copied.files]


# load_errors holds, for each file, the rejects of its latest attempt only: every attempt at a file replaces
# whatever rows earlier attempts left for it, whatever their load id (a line-0 row of a file that could not
# be read included). One exception: an attempt that fails over MAX_ERRORS stages nothing, so for a file
# still staged in an earlier version it keeps that version's rows (they describe staging, as the ledger
# does) and adds its own beside them, under its own load id; the next attempt at the file replaces both.
# The check 250_load_errors_latest_attempt.sql holds this for every file in the ledger.
REJECTED_FILES = ("SELECT e.source_file, e.load_id, f.load_id FROM (SELECT DISTINCT source_file, load_id "
                  "FROM load_errors WHERE kind = %s) AS e LEFT JOIN load_files AS f ON e.source_file = f.source_file")
FORGET_REJECTS = "DELETE FROM load_errors WHERE load_id = %s AND {among}"


def clear_rejects(cur, plans: Sequence[Plan], keep_staged: bool = False, page: int = db.INSERT_PAGE) -> None:
    """Delete what earlier attempts left in load_errors for the files these plans read. `keep_staged` (a
    load that failed over MAX_ERRORS): keep the rows of the version each file has in the ledger."""
    for p in plans:
        read = {f.uri for f in p.todo}
        if not read:
            continue
        cur.execute(REJECTED_FILES, (p.kind,))
        by_load: dict[str, list[str]] = {}
        for name, load_id, staged_by in cur.fetchall():
            if name in read and not (keep_staged and load_id == staged_by):
                by_load.setdefault(load_id, []).append(name)
        for load_id, names in sorted(by_load.items()):
            for start in range(0, len(names), page):
                chunk = tuple(sorted(names)[start:start + page])
                cur.execute(FORGET_REJECTS.format(among="source_file IN (" + ", ".join(["%s"] * len(chunk)) + ")"),
                            (load_id, *chunk))


def error_rows(kind_rejects: Sequence[tuple[str, records.Reject]], load_id: str, now: str) -> list[tuple]:
    return [(load_id, kind, r.source, r.line_number, _bytes(r.reason, REASON_LIMIT), r.raw_line, now)
            for kind, r in kind_rejects]


def _bytes(text: str, limit: int) -> str:
    """`text` cut to at most `limit` bytes of UTF-8 (a VARCHAR's width on Redshift), on a character boundary."""
    return text.encode("utf-8")[:limit].decode("utf-8", "ignore")


def now() -> str:
    """The time for the bookkeeping rows (UTC), from here: Redshift's CURRENT_TIMESTAMP is a leader-node-only
    function and GETDATE() is Redshift's own; a bind parameter is the same on both. Sent as the plain text
    'YYYY-MM-DD HH:MM:SS.ffffff', the form both read into a TIMESTAMP column (psycopg2 would write a datetime
    as '...T...'::timestamp)."""
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")


# --- The staging step ----------------------------------------------------------------------------

def stage(conn, warehouse: Warehouse, settings: Settings, load_id: str, kinds: Sequence[str] = tuple(TABLES), *,
          quiet: bool = False, say: Callable[[str], None] = print, s3=None,
          reread: frozenset[str] = frozenset()) -> list[StageResult]:
    """Stage the new and changed files of `kinds` (and those in `reread`, a backfill's); raises TooManyErrors
    over MAX_ERRORS, sources.Unreadable when a file cannot be read, sources.SourceError when the two sources
    overlap (before anything is read)."""
    sources.apart(settings.song_data, settings.log_data)
    if s3 is None and any(sources.is_s3(settings.source(k)) for k in kinds):
        s3 = sources.s3_client()
    with warehouse.stager(load_id, quiet=quiet) as stager:
        stager.fields = records.UnknownFields(settings.unknown_fields)
        for attempt in range(1, ATTEMPTS + 1):
            plans = [plan(conn, kind, settings, s3, reread) for kind in kinds]
            stager.prepare(plans)
            copies = _stage_locked(conn, stager, plans, settings.max_errors, load_id, say)
            if copies is not None:
                return [_result(p, c, stager.fields) for p, c in zip(plans, copies)]
            stager.discard()
            say(f"another load staged some of these files meanwhile; planning again ({attempt}/{ATTEMPTS})")
    raise LedgerMoving(f"the ledger changed {ATTEMPTS} times while this load planned: other loads keep staging the "
                       "same sources; run it again when they are done")


def _stage_locked(conn, stager: Stager, plans: list[Plan], max_errors: int, load_id: str, say) -> list[Copied] | None:
    """The staging transaction. None: the ledger moved since planning, and nothing was done."""
    copies: list[Copied] = []
    try:
        with db.transaction(conn) as cur:
            lock.take(cur, say)
            if any(not p.full_refresh and read_ledger(cur, p.kind) != p.ledger for p in plans):
                conn.rollback()
                return None
            for p in plans:
                for statement, params in refresh_statements(p) if p.full_refresh else replace_statements(p):
                    cur.execute(statement, params)
                if not p.full_refresh:
                    gone = withdrawn(cur, p)
                    p.withdrawn = len(gone)
                    for statement, params in replace_statements(p, files=gone):
                        cur.execute(statement, params)
            clear_rejects(cur, plans)
            for p in plans:
                copies.append(stager.copy(cur, p, max_errors - sum(len(c.rejects) for c in copies)))
            rejected = [(p.kind, r) for p, c in zip(plans, copies) for r in c.rejects]
            if len(rejected) <= max_errors:
                stamp = now()
                stager.insert(cur, "load_errors", ERROR_COLUMNS, error_rows(rejected, load_id, stamp))
                stager.insert(cur, "load_files", LEDGER_COLUMNS,
                              [row for p, c in zip(plans, copies) for row in ledger_rows(p, c, load_id, stamp)])
                conn.commit()
                return copies
            conn.rollback()
    except CopyRejected as err:  # the warehouse's COPY failed over the budget; already rolled back
        rejected = [(p.kind, r) for p, c in zip(plans, copies) for r in c.rejects] + err.rejects
    keep_rejects(conn, stager, plans, rejected, load_id, say)
    raise TooManyErrors([r for _, r in rejected], max_errors)


def keep_rejects(conn, stager: Stager, plans: Sequence[Plan], rejected: Sequence[tuple[str, records.Reject]],
                 load_id: str, say=print) -> None:
    """Over MAX_ERRORS nothing is staged, but every rejected record is kept in load_errors: they replace what
    earlier attempts left for the files read, except the rows of the version the ledger holds (see
    REJECTED_FILES). The rejects of a file read again unchanged (a full refresh) are those rows already."""
    unchanged = {f.uri for p in plans for f in p.todo if p.ledger.get(f.uri) == (f.size, f.version)}
    with db.transaction(conn) as cur:
        lock.take(cur, say)
        clear_rejects(cur, plans, keep_staged=True)
        kept = [(kind, r) for kind, r in rejected if r.source not in unchanged]
        stager.insert(cur, "load_errors", ERROR_COLUMNS, error_rows(kept, load_id, now()))
        conn.commit()


def _result(p: Plan, c: Copied, fields: records.UnknownFields | None = None) -> StageResult:
    return StageResult(
        unknown_fields=fields.counts(f.uri for f in p.todo) if fields else {},
        kind=p.kind, source=p.source, files_found=len(p.found), files_loaded=len(c.files),
        files_replaced=len(p.replaced), files_unchanged=len(p.found) - len(p.todo),
        records_read=sum(f.read for f in c.files), rows_staged=sum(f.staged for f in c.files),
        rejects=c.rejects, foreign_files=p.foreign - p.withdrawn, files_withdrawn=p.withdrawn, skipped=p.skipped,
        seconds=c.seconds,
    )
