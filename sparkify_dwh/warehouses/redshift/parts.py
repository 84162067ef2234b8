"""Compaction: the new and changed source files, read in parallel and parsed by `records`, written as a
few gzip JSON-lines parts under STAGING_PREFIX/<load>/ with a manifest, and removed again afterwards.

Each file is read as a stream and its rows written in batches (BATCH_ROWS), kept aside until the file
has been read to its end (in memory up to SPOOL_BYTES, on disk beyond), so memory stays flat however
large a file, and a file whose content breaks (a truncated gzip) is one reject at line 0 with none of
its rows in a part. A file that cannot be read (sources.Unreadable) stops the load, naming it.

Thousands of files of a few hundred bytes are what make a COPY straight from the song folder slow; the
parts are as many as the warehouse has slices (or a multiple), so each slice loads one ("The number of
files should be a multiple of the number of slices in your cluster").

What a part holds is written so that Redshift's JSON parser reads it back exactly. Text is UTF-8 as
itself (never \\u escapes for non-ASCII). The escapes are the three COPY's JSON documentation covers
("COPY loads \\n as a newline character and loads \\t as a tab character. To load a backslash, escape
it with a backslash"), \\" (a JSON string has no other way to hold a quote), and, for the other control
characters U+0001..U+001F, \\u00XX, the form the Sparkify logs themselves use (the public sample's song
titles hold \\u0019), which COPY loads from the public bucket; never \\r, \\b or \\f, of which nothing is
documented or known. Numbers with a fraction are written as strings ("262.19873"): "You might lose
precision when loading numbers from data files in JSON format ... Represent the number as a string by
enclosing the value in double quotation characters", so a duration reaches its DOUBLE PRECISION column
exactly as PostgreSQL parses it, and the plays still match their songs on both; so are the BIGINT values
but ts (session_id, which may pass 2^53). ts stays a number, which TIMEFORMAT 'epochmillisecs' reads;
epoch milliseconds stay far below 2^53 for the next 280,000 years.
"""

from __future__ import annotations

import gzip
import json
import math
import re
import shutil
import tempfile
import time
from array import array
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from ... import records, sources
from ...progress import progress
from ..base import FileCount
from .copy import EVENT_PART_FIELDS, SONG_PART_FIELDS, Target, jsonpaths

PART_TARGET_BYTES = 256 << 20  # uncompressed JSON per part before another round of parts is added
AS_TEXT = {"events": ("sessionId",), "songs": ()}  # BIGINT fields written as strings (see the module)
BATCH_ROWS = 10_000  # rows encoded at a time: a large file is never held whole
SPOOL_BYTES = 16 << 20  # a file's encoded lines kept in memory up to this, on disk beyond, until it is read whole
CHUNK_BYTES = 1 << 20
# After an even run of backslashes (escaped backslashes), the escape that follows.
_SHORT_CONTROL = re.compile(rb"(?<!\\)((?:\\\\)*)\\([bfr])")
_AS_UNICODE = {b"b": b"\\u0008", b"f": b"\\u000c", b"r": b"\\u000d"}
# An escape other than those a part may hold: \\" \\\\ \\n \\t \\u0001..\\u001f.
_UNKNOWN_ESCAPE = re.compile(rb'(?<!\\)(?:\\\\)*\\(?![\"\\\\nt]|u00[01][0-9a-f])').search


class PartError(RuntimeError):
    """A part would hold an escape Redshift's COPY is not known to read."""


def part_count(slices: int, input_bytes: int) -> int:
    """A multiple of the slice count: one part per slice, another round per PART_TARGET_BYTES per slice."""
    rounds = max(1, math.ceil(input_bytes / (slices * PART_TARGET_BYTES)))
    return slices * rounds


def encode_lines(rows: list[dict]) -> bytes:
    """JSON lines for a part, with only the escapes a part may hold (see the module)."""
    encode = msgspec.json.Encoder().encode
    out = b"".join(encode(r) + b"\n" for r in rows)
    if b"\\" in out:
        out = _SHORT_CONTROL.sub(lambda m: m.group(1) + _AS_UNICODE[m.group(2)], out)
        unknown = _UNKNOWN_ESCAPE(out)
        if unknown:
            raise PartError(f"a part line would hold the escape {out[unknown.start():unknown.end() + 6]!r}")
    return out


@dataclass
class Part:
    uri: str
    path: Path
    records: int = 0
    bytes_in: int = 0
    size: int = 0
    origin_file: array = field(default_factory=lambda: array("I"))  # per line: index into Compacted.files
    origin_line: array = field(default_factory=lambda: array("I"))  # per line: line in the source file

    def line(self, number: int) -> str:
        """The JSON text of line `number` (1-based) of this part, for a reject's raw_line."""
        with gzip.open(self.path, "rt", encoding="utf-8") as f:
            for n, text in enumerate(f, start=1):
                if n == number:
                    return text.rstrip("\n")
        return ""


@dataclass
class Compacted:
    kind: str
    source: str
    files: list[FileCount] = field(default_factory=list)
    rejects: list[records.Reject] = field(default_factory=list)
    parts: list[Part] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows(self) -> int:
        return sum(p.records for p in self.parts)

    @property
    def loaded_parts(self) -> list[Part]:
        return [p for p in self.parts if p.records]


def compact(kind: str, files: list[sources.SourceFile], source: str, target: Target, slices: int, workdir: Path,
            *, read_client=None, write_client=None, workers: int = 16, quiet: bool = False,
            unknown: records.UnknownFields | None = None) -> Compacted:
    """Read `files` in parallel, parse each record, and write the valid ones as gzip JSON-lines parts to
    the staging prefix, with a manifest (and, for events, the JSONPaths file). Parts: a multiple of
    `slices`; each source file goes whole to the part with the least data so far."""
    started = time.perf_counter()
    result = Compacted(kind, source)
    if not files:
        return result
    parse = records.events if kind == "events" else records.songs
    fields = EVENT_PART_FIELDS if kind == "events" else SONG_PART_FIELDS
    extra = kind == "events"  # the second copy of ts, for start_time
    ts_index = records.EVENT_COLUMNS.index("ts")
    count = part_count(slices, sum(f.size for f in files))
    folder = workdir / target.folder / kind
    folder.mkdir(parents=True, exist_ok=True)
    result.parts = [Part(target.part(kind, n), folder / f"part-{n:04d}.json.gz") for n in range(count)]
    tick, close = progress(len(files), f"{kind} (compacting)", quiet)
    with ExitStack() as stack:
        stack.callback(close)
        writers = [stack.enter_context(gzip.open(p.path, "wb", compresslevel=6)) for p in result.parts]
        for f, body in sources.read_parallel(files, sources.reader(source, read_client), workers):
            tick()
            if isinstance(body, Exception):
                if not isinstance(body, sources.Broken):
                    raise body  # Unreadable: the load fails naming the file
                result.rejects.append(records.Reject(f.uri, 0, body.reason, ""))
                continue
            n = min(range(count), key=lambda i: result.parts[i].bytes_in)
            part = result.parts[n]
            counted = FileCount(f)
            mark, own_rejects = len(part.origin_file), len(result.rejects)
            # A file's lines are kept aside until it has been read to its end (in memory, on disk past
            # SPOOL_BYTES), so that a file whose content breaks leaves nothing in the part.
            with tempfile.SpooledTemporaryFile(SPOOL_BYTES, dir=workdir) as spool:
                rows: list[dict] = []
                written = 0
                try:
                    for item in parse(f.uri, body, unknown):
                        if type(item) is records.Reject:
                            result.rejects.append(item)
                            counted.rejected += 1
                            continue
                        number, row = item
                        row = tuple(repr(v) if type(v) is float else v for v in row)
                        values = row + ((row[ts_index],) if extra else ()) + (f.uri, number, target.load_id)
                        record = dict(zip(fields, values))
                        for name in AS_TEXT[kind]:
                            if record[name] is not None:
                                record[name] = str(record[name])
                        rows.append(record)
                        part.origin_file.append(len(result.files))
                        part.origin_line.append(number)
                        if len(rows) >= BATCH_ROWS:
                            written += spool.write(encode_lines(rows))
                            counted.staged += len(rows)
                            rows = []
                    if rows:
                        written += spool.write(encode_lines(rows))
                        counted.staged += len(rows)
                except sources.Broken as err:
                    del part.origin_file[mark:], part.origin_line[mark:], result.rejects[own_rejects:]
                    result.rejects.append(records.Reject(f.uri, 0, err.reason, ""))
                    continue
                if written:
                    spool.seek(0)
                    shutil.copyfileobj(spool, writers[n], CHUNK_BYTES)
                    part.records += counted.staged
                    part.bytes_in += written
            counted.read = counted.staged + counted.rejected
            result.files.append(counted)
    for p in result.parts:
        p.size = p.path.stat().st_size
    upload(result, target, write_client, workers)
    result.seconds = time.perf_counter() - started
    return result


def put(client, uri: str, body: bytes) -> None:
    bucket, key = sources.split_s3(uri)
    client.put_object(Bucket=bucket, Key=key, Body=body)


def manifest(result: Compacted) -> dict:
    """Every part that holds rows, each entry mandatory."""
    return {"entries": [{"url": p.uri, "mandatory": True} for p in result.loaded_parts]}


def upload(result: Compacted, target: Target, client, workers: int) -> None:
    """The parts with rows, then the manifest (plain JSON: "Manifest files and JSONPaths files must not
    be encrypted") and, for events, the JSONPaths file."""
    loaded = result.loaded_parts
    if not loaded:
        return

    def one(p: Part) -> None:
        bucket, key = sources.split_s3(p.uri)
        client.upload_file(str(p.path), bucket, key)

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(loaded)))) as pool:
        list(pool.map(one, loaded))
    put(client, target.manifest(result.kind), json.dumps(manifest(result), indent=1).encode())
    if result.kind == "events":
        put(client, target.jsonpaths(), json.dumps(jsonpaths(), indent=1).encode())


def remove(client, uri: str) -> int:
    """Delete every object under `uri` (a load's folder): its parts hold personal data. Returns the count."""
    bucket, prefix = sources.split_s3(uri.rstrip("/") + "/")
    keys = [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for o in page.get("Contents", ())]
    for start in range(0, len(keys), 1000):
        client.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[start:start + 1000]],
                                                     "Quiet": True})
    return len(keys)
