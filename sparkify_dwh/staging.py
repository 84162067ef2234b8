"""Staging on PostgreSQL: files -> parsed records -> one streaming COPY FROM STDIN per table.

Runs inside the caller's transaction: the staged rows, the rejected records and the ledger of loaded
files commit together or not at all. Only files that are new or changed since the last load are
read; a changed file's earlier rows are replaced, never doubled.
"""

from __future__ import annotations

import io
import queue
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

import msgspec
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


COPY_OPTIONS = "FORMAT csv, NULL 'null', ESCAPE '\\', ENCODING 'UTF8'"
_encode = msgspec.json.encode
_other_escape = re.compile(rb'\\[^"\\]').search  # a backslash not followed by a quote or backslash


def encode_row(row: tuple) -> bytes:
    """A row as one line of COPY's CSV, from its JSON array: strings quoted with `\\"` and `\\\\`
    escapes (ESCAPE '\\'), NULL as the bare word null (NULL 'null'), numbers as JSON writes them.
    A quoted "null" stays a string, a quoted "" an empty string. JSON's other escapes (\\n, \\t,
    \\u0001, ...) mean nothing to COPY, so a row holding them is written field by field instead."""
    out = _encode(row)
    if b"\\" in out and _other_escape(out) and b"\\" in out.replace(b"\\\\", b"").replace(b'\\"', b""):
        out = b"[" + b",".join(_field(v) for v in row) + b"]"
    return out[1:-1]


def _field(value) -> bytes:
    if value is None:
        return b"null"
    if isinstance(value, str):
        return b'"' + value.replace("\\", "\\\\").replace('"', '\\"').encode() + b'"'
    return repr(value).encode()


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


class _Stream(io.RawIOBase):
    """A read()-able byte stream over an iterator of chunks, for COPY FROM STDIN: each read returns
    the next whole chunk (psycopg2 sends what it is given), so nothing is copied twice."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        for chunk in self._chunks:
            if chunk:
                return chunk
        return b""


def _ahead(chunks: Iterator[bytes], depth: int = 8) -> Iterator[bytes]:
    """`chunks`, produced by a thread up to `depth` chunks ahead of the consumer.

    psycopg2 releases the GIL while it sends COPY data, so the file parsing goes on in this thread
    while the server stores the previous chunk: the two cores work at once instead of taking turns.
    An error in the producer is raised here; a consumer that stops early stops the producer.
    """
    box: queue.Queue = queue.Queue(depth)
    stop = threading.Event()
    end = object()

    def produce() -> None:
        try:
            for chunk in chunks:
                while not stop.is_set():
                    try:
                        box.put(chunk, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            box.put(end)
        except BaseException as err:  # handed to the consumer, raised there
            box.put(err)

    worker = threading.Thread(target=produce, name="staging-parse", daemon=True)
    worker.start()
    try:
        while True:
            item = box.get()
            if item is end:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()


def _copy_chunks(
    parsed: Iterable[tuple[SourceFile, bytes | Exception]],
    parse: Callable,
    load_id: str,
    counts: list[FileCount],
    result: StageResult,
    progress: Callable[[], None],
) -> Iterator[bytes]:
    """COPY input in chunks of about CHUNK bytes, yielded while files are still being parsed, so
    the server stores one chunk while the next is parsed."""
    lines: list[bytes] = []
    size = 0
    rejects = result.rejects
    encode, reject_type = encode_row, records.Reject
    for f, data in parsed:
        progress()
        if isinstance(data, Exception):
            rejects.append(records.Reject(f.uri, 0, f"cannot read the file: {type(data).__name__}: {data}", ""))
            continue
        count = FileCount(f)
        uri = f.uri
        tail = b"," + encode_row((uri, load_id))
        staged = 0
        for item in parse(uri, data):
            if type(item) is reject_type:
                rejects.append(item)
                count.rejected += 1
                continue
            line = b"%d,%b%b" % (item[0], encode(item[1]), tail)
            lines.append(line)
            size += len(line)
            staged += 1
            if size >= CHUNK:
                lines.append(b"")
                yield b"\n".join(lines)
                lines, size = [], 0
        count.staged = staged
        count.read = count.staged + count.rejected
        counts.append(count)
    if lines:
        lines.append(b"")
        yield b"\n".join(lines)


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


def changed(found: list[SourceFile], ledger: dict[str, tuple[int, str]]) -> list[SourceFile]:
    """The files to read: new ones, and those whose size or version differ from their ledger row."""
    return [f for f in found if ledger.get(f.uri) != (f.size, f.version)]


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

    todo = changed(found, ledger)
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
        # From S3, many requests in flight hide each one's latency; from a local folder (the page
        # cache, mostly) one thread reading in order is fastest.
        parsed = sources.read_parallel(todo, sources.reader(uri, s3), workers if sources.is_s3(uri) else 1)
        stream = _Stream(_ahead(_copy_chunks(parsed, parse, load_id, counts, result, tick)))
        column_list = ", ".join(("source_line",) + columns + ("source_file", "load_id"))
        try:
            cur.copy_expert(f"COPY {table} ({column_list}) FROM STDIN WITH ({COPY_OPTIONS})", stream, size=CHUNK)
        finally:
            close()
        record_rejects(cur, kind, load_id, result.rejects)
        cur.execute(f"ANALYZE {table}")  # fresh statistics, or the transform's joins plan as nested loops
        cur.execute("SELECT CAST(LOCALTIMESTAMP AS TEXT)")
        loaded_at = cur.fetchone()[0]
        ledger_rows = b"".join(
            encode_row((c.file.uri, kind, c.file.size, c.file.version, load_id, c.read, c.staged, c.rejected,
                        loaded_at)) + b"\n"
            for c in counts
        )
        cur.copy_expert(
            "COPY load_files (source_file, kind, size_bytes, version, load_id, records_read, rows_staged, "
            f"records_rejected, loaded_at) FROM STDIN WITH ({COPY_OPTIONS})",
            io.BytesIO(ledger_rows),
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

