"""Staging on PostgreSQL: files -> parsed records -> one streaming COPY FROM STDIN per table.

Runs inside the caller's transaction: the staged rows, the rejected records and the ledger of loaded
files commit together or not at all. Only files that are new or changed since the last load are
read; a changed file's earlier rows are replaced, never doubled.
"""

from __future__ import annotations

import csv
import io
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from psycopg2.extras import execute_values

from . import records, sources
from .sources import SourceFile

# What each kind of source feeds: its staging table, columns and parser.
KINDS = {
    "events": ("staging_events", records.EVENT_COLUMNS, records.events),
    "songs": ("staging_songs", records.SONG_COLUMNS, records.songs),
}
BOOKKEEPING = ("source_file", "source_line", "load_id")
CHUNK = 1 << 20


class _Null(float):
    """Written by csv's QUOTE_NONNUMERIC writer as an unquoted empty field: COPY's NULL.
    Strings are always quoted, so an empty string stays an empty string."""

    def __str__(self) -> str:
        return ""


NULL = _Null()


@dataclass
class FileCount:
    file: SourceFile
    read: int = 0
    staged: int = 0
    rejected: int = 0


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
    seconds: float = 0.0

    @property
    def records_rejected(self) -> int:
        return len(self.rejects)


class _Stream(io.TextIOBase):
    """A read()-able text stream over an iterator of string chunks, for COPY FROM STDIN."""

    def __init__(self, chunks: Iterator[str]):
        self._chunks = chunks
        self._buffer = ""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> str:
        while size < 0 or len(self._buffer) < size:
            try:
                self._buffer += next(self._chunks)
            except StopIteration:
                break
        if size < 0:
            out, self._buffer = self._buffer, ""
        else:
            out, self._buffer = self._buffer[:size], self._buffer[size:]
        return out


def _csv_chunks(
    parsed: Iterable[tuple[SourceFile, bytes | Exception]],
    parse: Callable,
    load_id: str,
    counts: list[FileCount],
    result: StageResult,
    progress: Callable[[], None],
) -> Iterator[str]:
    buffer = io.StringIO()
    write = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n").writerow
    null = NULL
    rejects = result.rejects
    for f, data in parsed:
        progress()
        if isinstance(data, Exception):
            rejects.append(records.Reject(f.uri, 0, f"cannot read the file: {type(data).__name__}: {data}", ""))
            continue
        count = FileCount(f)
        uri = f.uri
        for item in parse(uri, data):
            if type(item) is records.Reject:
                rejects.append(item)
                count.rejected += 1
                continue
            number, row = item
            write([null if v is None else v for v in row] + [uri, number, load_id])
            count.staged += 1
        count.read = count.staged + count.rejected
        counts.append(count)
        if buffer.tell() >= CHUNK:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _progress(total: int, label: str, quiet: bool) -> tuple[Callable[[], None], Callable[[], None]]:
    """A tqdm bar on a terminal; plain lines at each tenth otherwise (CI logs); nothing when quiet."""
    if quiet or total < 100:
        return (lambda: None), (lambda: None)
    if sys.stderr.isatty():
        from tqdm import tqdm

        bar = tqdm(total=total, desc=label, unit="file", leave=False, file=sys.stderr)
        return (lambda: bar.update(1)), bar.close
    step = max(1, total // 10)
    done = [0]

    def tick() -> None:
        done[0] += 1
        if done[0] % step == 0 or done[0] == total:
            print(f"  {label}: {done[0]}/{total} files read", file=sys.stderr, flush=True)

    return tick, (lambda: None)


def stage(
    cur,
    kind: str,
    uri: str,
    load_id: str,
    *,
    full_refresh: bool = False,
    workers: int = 16,
    quiet: bool = False,
    s3=None,
) -> StageResult:
    """Stage the new and changed files of one source. The caller commits or rolls back."""
    started = time.perf_counter()
    table, columns, parse = KINDS[kind]
    result = StageResult(kind, uri)
    found = sources.list_files(uri, s3)
    result.files_found = len(found)

    if full_refresh:
        cur.execute(f"DELETE FROM {table}")
        cur.execute("DELETE FROM load_files WHERE kind = %s", (kind,))
        cur.execute("DELETE FROM load_errors WHERE kind = %s", (kind,))
        ledger: dict[str, tuple[int, str]] = {}
    else:
        cur.execute("SELECT source_file, size_bytes, version FROM load_files WHERE kind = %s", (kind,))
        ledger = {name: (size, version) for name, size, version in cur.fetchall()}

    todo = [f for f in found if ledger.get(f.uri) != (f.size, f.version)]
    replaced = [f.uri for f in todo if f.uri in ledger]
    present = {f.uri for f in found}
    result.foreign_files = sum(1 for name in ledger if name not in present)
    result.files_unchanged = len(found) - len(todo)
    result.files_replaced = len(replaced)
    if replaced:
        cur.execute(f"DELETE FROM {table} WHERE source_file = ANY(%s)", (replaced,))
        cur.execute("DELETE FROM load_files WHERE source_file = ANY(%s)", (replaced,))
        cur.execute("DELETE FROM load_errors WHERE source_file = ANY(%s)", (replaced,))

    counts: list[FileCount] = []
    if todo:
        tick, close = _progress(len(todo), f"{kind}", quiet)
        parsed = sources.read_parallel(todo, sources.reader(uri, s3), workers)
        stream = _Stream(_csv_chunks(parsed, parse, load_id, counts, result, tick))
        column_list = ", ".join(columns + BOOKKEEPING)
        try:
            cur.copy_expert(f"COPY {table} ({column_list}) FROM STDIN WITH (FORMAT csv)", stream, size=CHUNK)
        finally:
            close()
        record_rejects(cur, kind, load_id, result.rejects)
        cur.execute(f"ANALYZE {table}")  # fresh statistics, or the transform's joins plan as nested loops
        execute_values(
            cur,
            "INSERT INTO load_files (source_file, kind, size_bytes, version, load_id, records_read, "
            "rows_staged, records_rejected, loaded_at) VALUES %s",
            [(c.file.uri, kind, c.file.size, c.file.version, load_id, c.read, c.staged, c.rejected) for c in counts],
            template="(%s, %s, %s, %s, %s, %s, %s, %s, CURRENT_TIMESTAMP)",
            page_size=1000,
        )
    result.files_loaded = len(counts)
    result.records_read = sum(c.read for c in counts)
    result.rows_staged = sum(c.staged for c in counts)
    result.seconds = time.perf_counter() - started
    return result


def record_rejects(cur, kind: str, load_id: str, rejects: list[records.Reject]) -> None:
    """Keep rejected records in load_errors, with file, line, reason and the start of the record."""
    if not rejects:
        return
    execute_values(
        cur,
        "INSERT INTO load_errors (load_id, kind, source_file, line_number, reason, raw_line, logged_at) VALUES %s",
        [(load_id, kind, r.source, r.line_number, r.reason[:1000], r.raw_line) for r in rejects],
        template="(%s, %s, %s, %s, %s, %s, CURRENT_TIMESTAMP)",
        page_size=1000,
    )

