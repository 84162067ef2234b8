"""PostgreSQL: `DATABASE_URL`, or the embedded server in PGDATA_DIR. Rows reach staging through one
streaming COPY FROM STDIN per table, parsed in a thread ahead of the server, and for a large load of events
by worker processes, block by block, so that the parse takes every core instead of one.

Runs inside the staging transaction: the files are read (in chunks, gzip decompressed as it streams)
while the rows stream, so nothing is kept whole in memory or on disk; the load lock does not stop
readers (PostgreSQL's readers never wait for writers).
"""

from __future__ import annotations

import bisect
import collections
import functools
import io
import itertools
import multiprocessing
import os
import queue
import re
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor

import msgspec
import psycopg2

from .. import aws, config, db, embedded, records, sources, transform
from ..progress import progress
from ..sources import SourceFile
from .base import Capabilities, Copied, FileCount, Plan, Stager, StagingError, Warehouse

# Memory for each sort and hash of the transform, for its transaction only (SET LOCAL): at the
# server's default (4MB) the songplays and time builds spill to disk from a few hundred thousand plays,
# and at 256MB a million events' plays, sorted whole to tell copies of an event apart, still did.
WORK_MEM = "512MB"
CHUNK = 1 << 20
BOOKKEEPING = ("source_file", "load_id")
PARSERS = {"events": (records.EVENT_COLUMNS, records.events), "songs": (records.SONG_COLUMNS, records.songs)}

COPY_OPTIONS = "FORMAT csv, NULL 'null', ESCAPE '\\', ENCODING 'UTF8'"
# After a COPY into a table that held earlier loads' rows, and on a load that brings it no file: the table's
# BRIN indexes summarize the page ranges not summarized yet (else they cover nothing until autovacuum gets to
# them, and a daily load's transform would read the whole history to find its day). Not on the first load or a
# full refresh (which deletes every earlier row; the new rows are appended after them): that load's transform
# reads every row of this load anyway, so the summaries would serve no query of it. That saves a reading of
# every page per index (0.8 s at 1M events); autovacuum (an insert-driven vacuum follows a large load) summarizes
# those ranges in the background, or else the next load does before its transform. And the statistics are
# refreshed when the table grew by a tenth or more (else the transform's joins plan as nested loops over a
# million rows; a small load changes them little).
SUMMARIZE = ("SELECT brin_summarize_new_values(i.indexrelid) FROM pg_index AS i "
             "INNER JOIN pg_class AS c ON i.indexrelid = c.oid INNER JOIN pg_am AS a ON c.relam = a.oid "
             "WHERE i.indrelid = CAST(%s AS REGCLASS) AND a.amname = 'brin'")
ROWS_KNOWN = "SELECT reltuples FROM pg_class WHERE oid = CAST(%s AS REGCLASS)"
WITHDRAW = "DELETE FROM {table} WHERE source_file = %s AND load_id = %s"
GROWTH_TO_ANALYZE = 0.1
# Events are parsed by worker processes when a load reads this much of them or more (at 1M events, 400 MB) and
# the machine has cores enough (parse_workers). On one or two cores they are not: measured on two (1M events,
# docs/performance.md), the parse in a thread and the server's COPY already keep both cores busy (about 1.5 of
# them), and workers add a third busy process there (the blocks cut, pickled and sent, the CSV sent back): the
# staging took 17.7 to 19.9 s with one worker against 12.9 s in a thread. With four cores or more, one for the
# server and one for this process, the rest parse; that has not been measured (no such machine here). A
# smaller load (a day's file) is parsed in a thread: starting a worker (about 0.3 s) costs more than it saves.
# POOL_DEPTH blocks per worker are in flight (each about CHUNK bytes, in and out).
POOL_BYTES = 64 << 20
POOL_DEPTH = 2
_encode = msgspec.json.encode
_encoder = msgspec.json.Encoder()


def encode_row(row: tuple) -> bytes:
    """A row as one line of COPY's CSV, from its JSON array: strings quoted with `\\"` and `\\\\`
    escapes (ESCAPE '\\'), NULL as the bare word null (NULL 'null'), numbers as JSON writes them.
    A quoted "null" stays a string, a quoted "" an empty string. JSON's other escapes (\\n, \\t,
    \\u0001, ...) mean nothing to COPY, so a row holding them is written field by field instead."""
    out = _encode(row)
    if _json_escapes(out):
        out = b"[" + b",".join(_field(v) for v in row) + b"]"
    return out[1:-1]


def _json_escapes(encoded: bytes | bytearray, start: int = 0) -> bool:
    """Whether the JSON at encoded[start:] holds an escape COPY would read otherwise: \\" and \\\\ mean to COPY
    (ESCAPE '\\') what they mean to JSON, \\n, \\u0001 and the rest do not. Two counts in C decide most rows
    (a user agent's \\" is the usual backslash); only one with a backslash of another kind is looked at closer."""
    backslashes = encoded.count(b"\\", start)
    if not backslashes or backslashes == encoded.count(b'\\"', start):
        return False
    return b"\\" in bytes(encoded[start:]).replace(b"\\\\", b"").replace(b'\\"', b"")


def _field(value) -> bytes:
    if value is None:
        return b"null"
    if isinstance(value, str):
        return b'"' + value.replace("\\", "\\\\").replace('"', '\\"').encode() + b'"'
    return repr(value).encode()


def copy_statement(plan: Plan) -> str:
    columns = ("source_line",) + PARSERS[plan.kind][0] + BOOKKEEPING
    return f"COPY {plan.table} ({', '.join(columns)}) FROM STDIN WITH ({COPY_OPTIONS})"


class _Stream(io.RawIOBase):
    """A read()-able byte stream over an iterator of chunks, for COPY FROM STDIN: each read returns
    the next whole chunk (psycopg2 sends what it is given), so nothing is copied twice. An error raised
    by the chunks is kept in `failure` (psycopg2 reports it as a cancelled COPY)."""

    def __init__(self, chunks: Iterator[bytes]):
        self._chunks = chunks
        self.failure: BaseException | None = None

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        try:
            for chunk in self._chunks:
                if chunk:
                    return chunk
        except BaseException as err:
            self.failure = err
            raise
        return b""


def ahead(chunks: Iterator[bytes], depth: int = 8) -> Iterator[bytes]:
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


class _Sent:
    """What one COPY was sent, for what follows it: per file, the COPY line its rows start at; the files that
    broke after some of their rows were sent (to take those rows out again)."""

    def __init__(self):
        self.starts: list[int] = []  # COPY line (0-based) of each file's first row, in order
        self.files: list[SourceFile] = []
        self.rows = 0
        self.withdrawn: dict[str, int] = {}  # source_file -> rows of it sent before it broke


def _copy_chunks(parsed: Iterable[tuple[SourceFile, object]], pieces: Callable, load_id: str,
                 copied: Copied, sent: _Sent, tick: Callable[[], None]) -> Iterator[bytes]:
    """COPY input in chunks of about CHUNK bytes, yielded while files are still being parsed. `pieces(uri,
    body, tail)` gives a file's rejects and its rows as (CSV lines, how many): _event_pieces, _song_pieces.

    A file that cannot be read stops the load (sources.Unreadable, raised). A file whose content breaks
    (sources.Broken: not gzip, truncated) is one reject at line 0, and none of its rows is staged: those
    still here are dropped, those already sent are noted in `sent.withdrawn`, for copy() to delete."""
    lines: list[bytes] = []
    size = 0
    rejects = copied.rejects
    reject_type = records.Reject
    for f, body in parsed:
        tick()
        if isinstance(body, Exception):
            if not isinstance(body, sources.Broken):
                raise body
            rejects.append(records.Reject(f.uri, 0, body.reason, ""))
            continue
        count = FileCount(f)
        uri = f.uri
        tail = b"," + encode_row((uri, load_id))
        staged = 0
        mark, own_rejects, gone = len(lines), len(rejects), 0  # where this file's lines start; its rows sent
        sent.starts.append(sent.rows)
        sent.files.append(f)
        try:
            for item in pieces(uri, body, tail):
                if type(item) is reject_type:
                    rejects.append(item)
                    count.rejected += 1
                    continue
                piece, rows = item
                lines.append(piece)
                size += len(piece)
                staged += rows
                if size >= CHUNK:
                    yield b"".join(lines)
                    lines, size, mark, gone = [], 0, 0, staged
        except sources.Broken as err:
            size -= sum(len(x) for x in lines[mark:])
            del lines[mark:], rejects[own_rejects:]
            sent.rows += gone
            if gone:
                sent.withdrawn[uri] = gone
            rejects.append(records.Reject(uri, 0, err.reason, ""))
            continue
        sent.rows += staged
        count.staged = staged
        count.read = count.staged + count.rejected
        copied.files.append(count)
    if lines:
        yield b"".join(lines)


def _song_pieces(fields: records.UnknownFields | None, uri: str, body, tail: bytes) -> Iterator:
    """A song file's rejects, and each of its rows as one CSV line (a song file holds one, mostly)."""
    for item in records.songs(uri, body, fields):
        yield item if type(item) is records.Reject else (b"%d,%b%b\n" % (item[0], encode_row(item[1]), tail), 1)


def _event_pieces(fields: records.UnknownFields | None, uri: str, body, tail: bytes) -> Iterator:
    """A log file's rejects, and its rows a block of lines at a time (about records.CHUNK bytes of the file),
    written as _event_csv writes them: parsed as events() parses them, unknown fields counted in `fields`."""
    watch = records.watching(fields, uri)
    for first, lines in records.event_blocks(body):
        if type(lines) is not list:  # a line longer than a record may be
            yield lines.reject(uri, first)
            continue
        block, rows, rejects = _event_csv(uri, first, lines, tail, watch)
        yield from rejects
        if rows:
            yield block, rows


PIECES = {"events": _event_pieces, "songs": _song_pieces}


def parse_workers(cores: int | None = None) -> int:
    """Worker processes for a large load of events: none below four cores (see POOL_BYTES); else a core each,
    one core left to the server, which stores the rows while they parse, and one to this process; at most 4."""
    cores = cores or os.cpu_count() or 1
    return 0 if cores < 4 else min(4, cores - 2)


def _event_csv(uri: str, first: int, lines: list[bytes], tail: bytes, watch: records.UnknownFields | None
               ) -> tuple[bytes, int, list[records.Reject]]:
    """One block of a log file's lines (the first numbered `first`) as COPY's CSV lines, with the count of its
    rows and its rejects, parsed as events() parses them. Each line is what
    `b"%d,%b%b" % (line, encode_row(row), tail)` makes, written in place: the row's JSON array is encoded
    into the block's buffer and its brackets become the commas around it. Only a line that held a backslash
    escape other than \\" (records.event_items' `odd`) can need encode_row's field by field writing."""
    out = bytearray()
    rejects = []
    rows = 0
    encode_into, reject_type = _encoder.encode_into, records.Reject
    end = tail[1:] + b"\n"  # the tail without its leading comma (the closing bracket becomes that comma)
    for item in records.event_items(uri, first, lines, watch):
        if type(item) is reject_type:
            rejects.append(item)
            continue
        number, row, odd = item
        out += b"%d" % number
        start = len(out)
        encode_into(row, out, -1)
        if odd and _json_escapes(out, start):  # as encode_row decides
            del out[start:]
            out += b"[" + b",".join(_field(v) for v in row) + b"]"
        out[start] = out[-1] = 44  # "[" and "]" -> ","
        out += end
        rows += 1
    return bytes(out), rows, rejects


def _parse_block(uri: str, first: int, data: bytes, tail: bytes, policy: str | None = None
                 ) -> tuple[bytes, int, list[records.Reject], dict[str, int]]:
    """In a worker: _event_csv of one block (its lines joined by newlines), with its unknown fields ({name:
    records}; UNKNOWN_FIELDS is `policy`, None for none counted)."""
    watch = records.UnknownFields(policy) if policy not in (None, "ignore") else None
    block, rows, rejects = _event_csv(uri, first, data.split(b"\n"), tail, watch)
    return block, rows, rejects, (watch.of(uri) if watch else {})


class _InFlight:
    """One file whose blocks are with the workers: its counts so far, and why it broke, if it did."""

    __slots__ = ("file", "count", "rejects", "staged", "broken")

    def __init__(self, f: SourceFile):
        self.file, self.count, self.rejects, self.staged, self.broken = f, FileCount(f), [], 0, None


def _pooled_chunks(parsed: Iterable[tuple[SourceFile, object]], pool: ProcessPoolExecutor, load_id: str,
                   copied: Copied, sent: _Sent, tick: Callable[[], None], in_flight: int,
                   fields: records.UnknownFields | None = None) -> Iterator[bytes]:
    """_copy_chunks for events, the blocks parsed by `pool`: the files are read and cut into blocks of lines
    here, each block is parsed by a worker, and the results are taken in the files' order, so that the COPY
    receives the rows in the order _copy_chunks gives them, with the same counts, rejects and `sent`. A file
    whose content breaks is one reject at line 0: its blocks not yet sent are dropped, those sent withdrawn.
    The unknown fields the workers found are counted in `fields` as events() counts them (a file afresh)."""
    policy = fields.policy if fields is not None else None
    pending: collections.deque = collections.deque()  # (what, file in flight, item), in the files' order

    def take(limit: int) -> Iterator[bytes]:
        while len(pending) > limit:
            what, st, item = pending.popleft()
            if what == "start":
                if policy not in (None, "ignore"):
                    fields.restart(st.file.uri)
                tick()
                sent.starts.append(sent.rows)
                sent.files.append(st.file)
            elif what == "lost":  # a file that could not be opened as data (sources.Broken)
                tick()
                copied.rejects.append(item)
            elif what == "reject":
                st.rejects.append(item)
            elif what == "block":
                chunk, rows, rejects, unknown = item.result()
                if st.broken is None:
                    st.rejects += rejects
                    if unknown:
                        fields.merge(st.file.uri, unknown)
                    if rows:
                        st.staged += rows
                        yield chunk
            elif st.broken is not None:  # the end of a file that broke
                sent.rows += st.staged
                if st.staged:
                    sent.withdrawn[st.file.uri] = st.staged
                copied.rejects.append(records.Reject(st.file.uri, 0, st.broken, ""))
            else:  # the end of a file
                sent.rows += st.staged
                copied.rejects += st.rejects
                st.count.staged, st.count.rejected = st.staged, len(st.rejects)
                st.count.read = st.staged + len(st.rejects)
                copied.files.append(st.count)

    for f, body in parsed:
        if isinstance(body, Exception):
            if not isinstance(body, sources.Broken):
                raise body
            pending.append(("lost", None, records.Reject(f.uri, 0, body.reason, "")))
            continue
        st = _InFlight(f)
        tail = b"," + encode_row((f.uri, load_id))
        pending.append(("start", st, None))
        try:
            for first, lines in records.event_blocks(body):
                if isinstance(lines, list):
                    pending.append(("block", st, pool.submit(_parse_block, f.uri, first, b"\n".join(lines), tail,
                                                             policy)))
                else:  # a line longer than a record may be
                    pending.append(("reject", st, lines.reject(f.uri, first)))
                yield from take(in_flight)
        except sources.Broken as err:
            st.broken = err.reason
        pending.append(("end", st, None))
        yield from take(in_flight)
    yield from take(0)


_COPY_LINE = re.compile(r"COPY \w+, line (\d+)")


def refused_row(err: Exception, sent: _Sent, plan: Plan, read: Callable, parse: Callable) -> str:
    """Where the row the server refused came from ("file line N"), from the COPY line its error names."""
    context = getattr(getattr(err, "diag", None), "context", None) or str(err)
    found = _COPY_LINE.search(context)
    if not found or not sent.files:
        return "a row"
    row = int(found.group(1)) - 1
    n = bisect.bisect_right(sent.starts, row) - 1
    if n < 0:
        return "a row"
    f, k = sent.files[n], row - sent.starts[n]
    try:
        staged = (item[0] for item in parse(f.uri, read(f)) if type(item) is not records.Reject)
        line = next(itertools.islice(staged, k, None), None)
    except Exception:  # noqa: BLE001 - the file itself is named, whatever happened reading it again
        line = None
    return f"{f.uri} line {line}" if line is not None else f"a row of {f.uri}"


def _summarize(cur, plan: Plan) -> None:
    """SUMMARIZE, when the table holds earlier loads' rows (not on a first load or a full refresh, whose
    transform reads every row): only the page ranges not summarized yet are read, none when a load added no
    whole range since."""
    if plan.ledger and not plan.full_refresh:
        cur.execute(SUMMARIZE, (plan.table,))


class PostgresStager(Stager):
    def __init__(self, load_id: str, workers: int, quiet: bool, s3=None):
        self.load_id, self.workers, self.quiet, self.s3 = load_id, workers, quiet, s3

    def copy(self, cur, plan: Plan, budget: int) -> Copied:
        started = time.perf_counter()
        copied = Copied()
        if not plan.todo:
            _summarize(cur, plan)  # what a first load left, before this load's transform reads the table
            return copied
        parse = functools.partial(PARSERS[plan.kind][1], fields=self.fields)
        pieces = functools.partial(PIECES[plan.kind], self.fields)
        tick, close = progress(len(plan.todo), plan.kind, self.quiet)
        # From S3, many requests in flight hide each one's latency; from a local folder (the page
        # cache, mostly) one thread reading in order is fastest.
        workers = self.workers if sources.is_s3(plan.source) else 1
        read = sources.reader(plan.source, self.s3)
        parsed = sources.read_parallel(plan.todo, read, workers)
        sent = _Sent()
        pool = None
        if plan.kind == "events" and parse_workers() > 0 and sum(f.size for f in plan.todo) >= POOL_BYTES:
            # spawned, not forked: a fork would copy this process's threads' locks and its open connections
            pool = ProcessPoolExecutor(parse_workers(), mp_context=multiprocessing.get_context("spawn"))
            chunks = _pooled_chunks(parsed, pool, self.load_id, copied, sent, tick, POOL_DEPTH * parse_workers(),
                                    self.fields)
        else:
            chunks = _copy_chunks(parsed, pieces, self.load_id, copied, sent, tick)
        stream = _Stream(ahead(chunks))
        try:
            cur.copy_expert(copy_statement(plan), stream, size=CHUNK)
        except psycopg2.Error as err:
            if stream.failure is not None:  # raised while reading the files (Unreadable): that, not the COPY
                raise stream.failure from None
            if not isinstance(err, psycopg2.DataError | psycopg2.IntegrityError):  # not a row: the connection...
                raise
            where = refused_row(err, sent, plan, read, parse)
            message = (getattr(getattr(err, "diag", None), "message_primary", None) or str(err)).strip()
            raise StagingError(f"{plan.table}: the server refused {where}: {message}") from None
        finally:
            close()
            if pool is not None:
                pool.shutdown(wait=True, cancel_futures=True)
        staged = sum(c.staged for c in copied.files)
        withdrawn = sum(sent.withdrawn.values())
        if cur.rowcount != staged + withdrawn:  # the server's count of the rows it stored, against the rows sent
            raise StagingError(f"{plan.table}: COPY stored {cur.rowcount:,} rows of the {staged + withdrawn:,} sent")
        for uri, rows in sent.withdrawn.items():  # a file that broke after some of its rows were sent
            cur.execute(WITHDRAW.format(table=plan.table), (uri, self.load_id))
            if cur.rowcount != rows:
                raise StagingError(f"{plan.table}: {cur.rowcount:,} rows of {uri} taken out, of the {rows:,} sent")
        _summarize(cur, plan)
        cur.execute(ROWS_KNOWN, (plan.table,))
        (known,) = cur.fetchone()
        if staged >= GROWTH_TO_ANALYZE * max(known, 0):
            cur.execute(f"ANALYZE {plan.table}")
        copied.seconds = time.perf_counter() - started
        return copied

    def insert(self, cur, table: str, columns: tuple[str, ...], rows: list[tuple]) -> None:
        """Through COPY, which takes 20,000 ledger rows (one per song file) in a fraction of the INSERTs' time."""
        if rows:
            body = b"".join(encode_row(tuple(row)) + b"\n" for row in rows)
            cur.copy_expert(self.insert_statement(table, columns), io.BytesIO(body))

    def insert_statement(self, table: str, columns: tuple[str, ...]) -> str:
        return f"COPY {table} ({', '.join(columns)}) FROM STDIN WITH ({COPY_OPTIONS})"

    def statements(self, plan: Plan, budget: int) -> list[tuple[str, tuple, str | None]]:
        return [(copy_statement(plan), (), f"{plan.kind}: the new and changed files of {plan.source}, parsed as "
                                           "they stream"),
                (WITHDRAW.format(table=plan.table), ("<a file>", "<load_id>"),
                 "for a file whose content broke (a truncated gzip) after some of its rows were sent"),
                (SUMMARIZE, (plan.table,), "when the table held earlier loads' rows (not on a first load or a full "
                                           "refresh)"), (ROWS_KNOWN, (plan.table,), None),
                (f"ANALYZE {plan.table}", (), "when the load grew the table by a tenth or more")]


class Postgres(Warehouse):
    name = "postgres"
    caps = Capabilities(dialect="postgres", transform_setup=(f"SET LOCAL work_mem = '{WORK_MEM}'",),
                        server_cursors=True)

    def url(self) -> str:
        """`DATABASE_URL`, or the embedded server's (started when it is not running)."""
        return self.settings.database_url or embedded.url(self.settings.pgdata, port=self.settings.embedded_port)

    def connect(self):
        return db.connect_url(self.url(), statement_timeout_ms=self.settings.statement_timeout_ms)

    def stager(self, load_id: str, *, quiet: bool = False, dry_run: bool = False) -> Stager:
        return PostgresStager(load_id, self.settings.read_workers, quiet)

    def describe(self) -> str:
        if self.settings.database_url:
            return db.display_url(self.settings.database_url)
        return f"the embedded PostgreSQL in {self.settings.pgdata}"

    def psql(self) -> tuple[list[str], dict[str, str]]:
        """psql on the connection string without its password; the password, if any, decoded in PGPASSWORD
        (never on a command line)."""
        psql = shutil.which("psql") or str(embedded.program("psql"))
        conninfo, password = db.without_password(self.url())
        return [psql, conninfo], {"PGPASSWORD": password} if password else {}

    def before_commit(self, cur, results) -> list[str]:
        """Fresh statistics for each star table the load changed by a tenth or more: the next load finds a
        day's plays through the BRIN index on start_time only when the planner knows the table's order.
        Autovacuum would get there too, in its own time. In the transform's transaction, so that ANALYZE
        reads rows the transaction wrote: it counts them as live (and the rows it deleted as dead) and sets
        no hint bits, where after the commit its sample would write every page it reads. ("ANALYZE requires
        only a read lock on the target table, so it can run in parallel with other non-DDL activity on the
        table", sql-analyze.html; unlike VACUUM, which "cannot be executed inside a transaction block",
        it runs in one.) On a rollback the statistics go
        with it, but not pg_class.reltuples, which ANALYZE updates in place: the next load's decision reads
        it, and at worst runs or skips one ANALYZE too many; autovacuum makes up for either."""
        ran = []
        for table, (inserted, deleted) in sorted(transform.changes(results).items()):
            cur.execute(ROWS_KNOWN, (table,))
            (known,) = cur.fetchone()
            if inserted + deleted >= GROWTH_TO_ANALYZE * max(known, 0):
                cur.execute(f"ANALYZE {table}")
                ran.append(f"ANALYZE {table}")
        return ran

    def before_commit_statements(self) -> list[tuple[str, tuple, str | None]]:
        out = []
        for n, table in enumerate(transform.STAR_TABLES):
            first = n == 0
            out += [(ROWS_KNOWN, (table,), "before the commit, for each star table the transform changed" if first
                     else None),
                    (f"ANALYZE {table}", (), "when the load changed a tenth of its rows or more" if first else None)]
        return out

    def reader_params(self, password: str | None) -> dict[str, str]:
        """DATABASE_URL's server, or the embedded one: on 127.0.0.1 at EMBEDDED_PORT when set (password
        authentication), else on its socket (where the embedded server trusts its local users)."""
        params = dict(psycopg2.extensions.parse_dsn(self.url()))
        params.pop("password", None)
        params["user"] = self.settings.reader_user
        if not self.settings.database_url and self.settings.embedded_port:
            params.update(host=embedded.TCP_HOST, port=str(self.settings.embedded_port))
        if password:
            params["password"] = password
        return params

    def keep_reader_password(self, password: str) -> str:
        path = config.env_file()
        narrowed = aws.write_env(path, {"READER_PASSWORD": password}, by="bin/reader", secret=True)
        return f"READER_PASSWORD in {path}" + (" (now readable by its owner alone: it holds a password)"
                                               if narrowed else "")

    def reader_password(self) -> str | None:
        return self.settings.reader_password

    def forget_reader_password(self) -> str:
        path = config.env_file()
        if path.is_file() and "READER_PASSWORD=" in path.read_text(encoding="utf-8"):
            aws.write_env(path, {"READER_PASSWORD": ""}, by="bin/reader")
            return f"READER_PASSWORD emptied in {path}"
        return "no password kept"

    def stop(self) -> str:
        if self.settings.database_url:
            return "DATABASE_URL is set: there is no embedded server to stop"
        if embedded.stop(self.settings.pgdata):
            return f"stopped the embedded PostgreSQL in {self.settings.pgdata}"
        return "the embedded PostgreSQL is not running"

    @property
    def secrets(self) -> tuple[str, ...]:
        found = (db.password_of(self.settings.database_url), self.settings.reader_password)
        return tuple(s for s in found if s)
