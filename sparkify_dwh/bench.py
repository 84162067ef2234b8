"""The benchmark: the same star schema from the same generated data, built four ways, side by side, and from S3.

1. load      this project's load (bin/load): parallel reads, msgspec, one streaming COPY per table,
             then the transform SQL
2. row       the way most tutorials do it: psycopg2 with autocommit, json.loads and one INSERT per
             record into staging, then the same transform SQL
3. floor     PostgreSQL COPY of the same staging rows already converted to CSV (the conversion is
             not timed), then the same transform SQL: what any PostgreSQL load has to pay
4. duckdb    DuckDB, in process: read_json of the same files into staging tables, then the same
             transform SQL files, into a database file
5. increment the project's load of the last day: the history (every song file and the first 29 of the
             30 daily log files) is loaded untimed, then the last day's file arrives and is loaded, timed
6. load-s3   the project's load from moto's S3 server instead of the local folder
7. s3-read   the floor of a load from S3: listing and reading the same objects, nothing else
8. big-log   memory: the project's load of one log file of 200 MB (the dataset's days one after the other)
9. gzip-1gb  memory: the project's load of one .json.gz that expands to 1 GB (a day's events, blank-padded)
10. day-alone the last day's file loaded into an empty warehouse (with the same song files): the work the
             day itself holds, which the increment is compared with
11. redshift-parts the Redshift path's own work before its COPY: read the objects from moto's S3 server,
             parse, compact and gzip them into parts and upload the parts to the same server; against
             s3-read, which reads the same objects and does nothing else

With --repeat N each contender runs N times (the contenders taking turns, so that a slow spell of the
machine falls on all of them) and the table shows the median and the spread (fastest to slowest); every
run of a contender must build the same tables as its first.

Each contender runs in its own child process on a fresh database of the same PostgreSQL server;
its peak memory is that process's peak RSS (the PostgreSQL server's own memory is not included;
DuckDB's engine runs inside its process, so it is). Before the table is printed, the star tables of
every PostgreSQL contender are compared (row count and an MD5 over every row in key order), and
DuckDB's by the same count and checksum: a contender that built different tables is marked and
the run fails, so a fast wrong answer cannot win.
"""

from __future__ import annotations

import gzip
import json
import math
import os
import platform
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from . import compare, config, db, sources
from .warehouses.postgres import Postgres

CONTENDERS = ("load", "row", "floor", "duckdb", "increment", "day-alone", "load-s3", "s3-read", "redshift-parts",
              "big-log", "gzip-1gb")
MEMORY = ("big-log", "gzip-1gb")  # one large file each, for the load's peak memory; run at the first size only
OWN_INPUT = ("day-alone",)  # builds its star from part of the dataset: compared with its own other runs only
# each star table's key (the order of the checksum) and its columns, as the acceptance check compares them
STAR_KEYS = {table: (key, compare.STAR_COLUMNS[table]) for table, key in (
    ("songplays", "songplay_id"), ("users", "user_id"), ("songs", "song_id"), ("artists", "artist_id"),
    ("time", "start_time"), ("user_levels", "user_id, valid_from"), ("sessions", "user_id, session_id"),
    ("page_events", "event_id"))}
LOAD_ID = "bench"


class DifferentTables(RuntimeError):
    """Contenders built different star tables; the message names them."""


@dataclass
class Outcome:
    contender: str
    events: int
    seconds: float
    peak_rss_mb: float
    digests: dict[str, list] = field(default_factory=dict)
    steps: list = field(default_factory=list)
    note: str = ""
    equal: bool | None = None
    loaded: int | None = None  # events this contender's timed part loaded, when not all of them
    runs: list[float] = field(default_factory=list)  # seconds of each run; `seconds` is their median
    rss_runs: list[float] = field(default_factory=list)  # peak RSS of each run; `peak_rss_mb` is the highest

    @property
    def spread(self) -> str:
        """Fastest to slowest run, in seconds; empty for a single run."""
        return f"{min(self.runs):.2f}-{max(self.runs):.2f}" if len(self.runs) > 1 else ""


# the star's DOUBLE PRECISION columns: written as text, 247.0 is "247" on PostgreSQL and "247.0" on DuckDB, so
# the checksum writes them as decimals of a fixed scale (the sources give at most 5 decimals) on both
FLOAT_COLUMNS = frozenset({"song_length", "duration", "latitude", "longitude"})


def checksum_sql(table: str) -> str:
    """Row count and an MD5 over every row in key order, each value as text (NULL as \\N): the same
    statement runs on PostgreSQL and DuckDB."""
    key, columns = STAR_KEYS[table]

    def text(c: str) -> str:
        return f"CAST(CAST({c} AS DECIMAL(38, 9)) AS VARCHAR)" if c in FLOAT_COLUMNS else f"CAST({c} AS VARCHAR)"

    values = ", ".join(f"COALESCE({text(c)}, '\\N')" for c in columns)
    return (f"SELECT COUNT(*), MD5(COALESCE(STRING_AGG(MD5(CONCAT_WS('|', {values})), '' ORDER BY {key}), '')) "
            f"FROM {table}")


def digests(cur) -> dict[str, list]:
    out = {}
    for table in STAR_KEYS:
        cur.execute(checksum_sql(table))
        count, digest = cur.fetchone()
        out[table] = [int(count), digest]
    return out


# --- the contenders, each run in a child process -------------------------------------------------

def _timed_load(spec: dict, log_data: str, follow_links: bool = False) -> tuple[float, list, object]:
    from . import pipeline

    os.environ.update(DATABASE_URL=spec["url"], SONG_DATA=spec["song_data"], LOG_DATA=log_data,
                      ENV_FILE=os.devnull, FULL_REFRESH="0", MAX_ERRORS="0",
                      FOLLOW_SYMLINKS="1" if follow_links else "0")
    settings = config.load_settings()
    started = time.perf_counter()
    summary = pipeline.load(settings, quiet=True, say=lambda *_: None)
    seconds = time.perf_counter() - started
    steps = [[name, round(s, 3)] for name, s in summary.steps]
    steps += [["  " + t.file, round(t.seconds, 3)] for t in summary.transform]
    return seconds, steps, summary


def _contender_load(spec: dict) -> dict:
    seconds, steps, _ = _timed_load(spec, spec["log_data"])
    return {"seconds": seconds, "steps": steps}


def _contender_increment(spec: dict) -> dict:
    """A history of all but the last daily log file, loaded untimed; then the last day arrives (a link in
    the same folder) and that load is timed. The links lead out of the folder: FOLLOW_SYMLINKS=1."""
    logs = Path(spec["log_data"])
    days = sorted(p for p in logs.rglob("*.json"))
    folder = Path(spec["tmp"]) / "log_data"
    for day in days[:-1]:
        link = folder / day.relative_to(logs)
        link.parent.mkdir(parents=True, exist_ok=True)
        link.symlink_to(day)
    history, _, _ = _timed_load(spec, str(folder), follow_links=True)
    vacuumed = _vacuum(spec["url"])
    last = folder / days[-1].relative_to(logs)
    last.parent.mkdir(parents=True, exist_ok=True)
    last.symlink_to(days[-1])
    seconds, steps, summary = _timed_load(spec, str(folder), follow_links=True)
    loaded = summary.tables.get("staging_events", 0)
    return {"seconds": seconds, "steps": steps, "loaded": sum(1 for _ in open(days[-1], "rb")),
            "note": f"the last of {len(days)} daily files, after the other {len(days) - 1} "
                    f"(loaded in {history:.2f} s and vacuumed in {vacuumed:.2f} s, untimed); "
                    f"staging holds {loaded:,} events"}


def _vacuum(url: str) -> float:
    """VACUUM the history's database, as autovacuum does in the hours between two daily loads: it sets the
    hint bits of the rows the history's load committed, which the first reading after a commit sets
    otherwise (a write of every page it reads). The load counts and analyzes its rows before its commit, so
    nothing of it reads them after; without this the day would pay for the whole history's first reading,
    which a warehouse loaded day by day has paid in the days before."""
    started = time.perf_counter()
    conn = db.connect_url(url)
    try:
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute("VACUUM")
    finally:
        conn.close()
    return time.perf_counter() - started


def _contender_day_alone(spec: dict) -> dict:
    """The last daily log file alone (a link in a folder of its own), with every song file, into an empty
    warehouse: what the increment's day costs without the history before it."""
    logs = Path(spec["log_data"])
    last = sorted(logs.rglob("*.json"))[-1]
    folder = Path(spec["tmp"]) / "log_data"
    link = folder / last.relative_to(logs)
    link.parent.mkdir(parents=True)
    link.symlink_to(last)
    seconds, steps, _ = _timed_load(spec, str(folder), follow_links=True)
    return {"seconds": seconds, "steps": steps, "loaded": sum(1 for _ in open(last, "rb")),
            "note": "the last daily file alone, into an empty warehouse"}


def _contender_memory(spec: dict) -> dict:
    """The project's load of one large file (and one song file): its peak memory is what the table shows."""
    seconds, steps, summary = _timed_load(spec, spec["log_data"])
    (events,) = [s for s in summary.staged if s.kind == "events"]
    return {"seconds": seconds, "steps": steps, "digests": None, "loaded": events.records_read,
            "note": spec["note"] + f" ({events.records_read:,} events)"}


def big_log(data: Path, folder: Path, size_mb: int) -> Path:
    """One log file of about `size_mb` MB: the dataset's daily files one after the other, again if need be."""
    out = folder / f"big-log-{size_mb}mb-{data.name}" / "log_data" / "all-events.json"
    if not out.exists():
        days = sorted((data / "log_data").rglob("*.json"))
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_suffix(".partial")
        with open(partial, "wb") as f:
            while f.tell() < size_mb << 20:
                for day in days:
                    f.write(day.read_bytes())
                    if f.tell() >= size_mb << 20:
                        break
        partial.rename(out)
    return out.parent


def padded_gzip(data: Path, folder: Path, size_mb: int) -> Path:
    """One .json.gz that expands to about `size_mb` MB: the first day's events, each followed by blank lines
    of 64 KiB (so that it is read in seconds, while its gzip stays a few MB)."""
    out = folder / f"gzip-{size_mb}mb-{data.name}" / "log_data" / "padded-events.json.gz"
    if not out.exists():
        lines = sorted((data / "log_data").rglob("*.json"))[0].read_bytes().splitlines(keepends=True)
        blank = b" " * ((64 << 10) - 1) + b"\n"
        blanks = max(0, (size_mb << 20) - sum(map(len, lines))) // len(blank)
        out.parent.mkdir(parents=True, exist_ok=True)
        partial = out.with_suffix(".partial")
        with gzip.open(partial, "wb", compresslevel=6) as f:
            written = 0
            for n, line in enumerate(lines, start=1):
                f.write(line)
                due = blanks * n // len(lines)  # the blank lines spread evenly between the events
                f.write(blank * (due - written))
                written = due
        partial.rename(out)
    return out.parent


def one_song(data: Path, folder: Path) -> Path:
    """A song folder holding the dataset's first song file alone."""
    out = folder / f"one-song-{data.name}"
    if not out.exists():
        first = sorted((data / "song_data").rglob("*.json"))[0]
        (out / "A").mkdir(parents=True)
        shutil.copy(first, out / "A" / first.name)
    return out


def _staging_rows(kind: str, root: str):
    """(file, line, row) of every staged record, as the load parses them."""
    from . import records

    parse = records.events if kind == "events" else records.songs
    read = sources.reader(root)
    for f in sources.list_files(root):
        for item in parse(f.uri, read(f)):
            if isinstance(item, records.Reject):
                raise RuntimeError(f"{item.source}:{item.line_number}: {item.reason}")
            yield f.uri, item[0], item[1]


def _copy_columns(kind: str) -> str:
    from . import records

    columns = records.EVENT_COLUMNS if kind == "events" else records.SONG_COLUMNS
    return ", ".join(("source_line",) + columns + ("source_file", "load_id"))


def _write_csv(kind: str, root: str, path: Path, skip: int = 0, counts: dict[str, int] | None = None) -> int:
    """Staging rows as COPY's CSV; `counts` gets the rows written per source file."""
    from .warehouses.postgres import encode_row

    written = 0
    counts = {} if counts is None else counts
    with open(path, "wb") as out:
        tails: dict[str, bytes] = {}
        for n, (uri, number, row) in enumerate(_staging_rows(kind, root)):
            if n < skip:
                continue
            tail = tails.get(uri) or tails.setdefault(uri, b"," + encode_row((uri, LOAD_ID)))
            out.write(b"%d,%b%b\n" % (number, encode_row(row), tail))
            written += 1
            counts[uri] = counts.get(uri, 0) + 1
    return written


# The ledger the load writes beside staging, one row per file: the checks the transform runs before it
# commits reconcile the star and staging with it, so every contender that runs the transform writes it.
LEDGER_FROM_STAGING = ("INSERT INTO load_files (source_file, kind, size_bytes, version, load_id, records_read, "
                       "rows_staged, records_rejected, loaded_at) SELECT source_file, %s, 0, 'bench', load_id, "
                       "COUNT(*), COUNT(*), 0, %s FROM {table} GROUP BY source_file, load_id")


def _ledger(cur, counts: dict[str, dict[str, int]]) -> None:
    from . import staging
    from .warehouses.postgres import PostgresStager

    stamp = staging.now()
    rows = [(uri, kind, 0, "bench", LOAD_ID, n, n, 0, stamp)
            for kind, files in counts.items() for uri, n in files.items()]
    PostgresStager(LOAD_ID, 1, True).insert(cur, "load_files", staging.LEDGER_COLUMNS, rows)


def _copy_file(cur, kind: str, path: Path) -> None:
    from .warehouses.postgres import COPY_OPTIONS

    table = "staging_events" if kind == "events" else "staging_songs"
    with open(path, "rb") as f:
        cur.copy_expert(f"COPY {table} ({_copy_columns(kind)}) FROM STDIN WITH ({COPY_OPTIONS})", f, size=1 << 20)


def _contender_floor(spec: dict) -> dict:
    from . import migrations, transform

    conn = db.connect_url(spec["url"])
    migrations.migrate(conn)
    tmp = Path(spec["tmp"])
    files = {kind: tmp / f"{kind}.csv" for kind in ("songs", "events")}
    counts: dict[str, dict[str, int]] = {"songs": {}, "events": {}}
    for kind, root in (("songs", spec["song_data"]), ("events", spec["log_data"])):
        _write_csv(kind, root, files[kind], counts=counts[kind])
    started = time.perf_counter()
    with conn.cursor() as cur:
        for kind in ("songs", "events"):
            _copy_file(cur, kind, files[kind])
        _ledger(cur, counts)
        cur.execute("ANALYZE staging_songs")
        cur.execute("ANALYZE staging_events")
    conn.commit()
    steps = [["copy", round(time.perf_counter() - started, 3)]]
    results = transform.run(conn, Postgres.caps, say=lambda *_: None)
    seconds = time.perf_counter() - started
    conn.close()
    return {"seconds": seconds, "steps": steps + [["  " + t.file, round(t.seconds, 3)] for t in results]}


_ROW_INSERT = {
    "songs": ("INSERT INTO staging_songs (num_songs, artist_id, artist_latitude, artist_longitude, artist_location, "
              "artist_name, song_id, title, duration, year, source_file, source_line, load_id) "
              "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"),
    "events": ("INSERT INTO staging_events (artist, auth, first_name, gender, item_in_session, last_name, length, "
               "level, location, method, page, registration, session_id, song, status, ts, user_agent, user_id, "
               "source_file, source_line, load_id) "
               "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"),
}
_SONG_FIELDS = ("num_songs", "artist_id", "artist_latitude", "artist_longitude", "artist_location", "artist_name",
                "song_id", "title", "duration", "year")
_EVENT_FIELDS = ("artist", "auth", "firstName", "gender", "itemInSession", "lastName", "length", "level",
                 "location", "method", "page", "registration", "sessionId", "song", "status", "ts", "userAgent",
                 "userId")


def _contender_row(spec: dict) -> dict:
    """psycopg2, autocommit on, json.loads and one cur.execute(INSERT ...) per record, as the tutorials do.
    Past `limit` events, the rest of the events are copied in untimed and the insert time is
    extrapolated linearly, so the star tables are still complete and compared."""
    from . import migrations, sources, transform

    conn = db.connect_url(spec["url"])
    migrations.migrate(conn)
    conn.commit()
    conn.autocommit = True
    cur = conn.cursor()
    limit = spec["row_limit"]
    started = time.perf_counter()
    for f in sources.list_files(spec["song_data"]):
        with open(f.uri, encoding="utf-8") as handle:
            song = json.load(handle)
        cur.execute(_ROW_INSERT["songs"], [song.get(k) for k in _SONG_FIELDS] + [f.uri, 1, LOAD_ID])
    songs_seconds = time.perf_counter() - started
    inserted = 0
    started = time.perf_counter()
    for f in sources.list_files(spec["log_data"]):
        with open(f.uri, encoding="utf-8") as handle:
            for number, line in enumerate(handle, start=1):
                if inserted >= limit:
                    break
                if not line.strip():
                    continue
                event = json.loads(line)
                cur.execute(_ROW_INSERT["events"], [event.get(k) for k in _EVENT_FIELDS] + [f.uri, number, LOAD_ID])
                inserted += 1
        if inserted >= limit:
            break
    events_seconds = time.perf_counter() - started
    total = spec["events"]
    note = ""
    if inserted < total:
        rest = Path(spec["tmp"]) / "rest.csv"
        _write_csv("events", spec["log_data"], rest, skip=inserted)
        _copy_file(cur, "events", rest)
        events_seconds *= total / inserted
        note = f"extrapolated from {inserted:,} of {total:,} events inserted one by one"
    cur.execute("ANALYZE staging_songs")
    cur.execute("ANALYZE staging_events")
    conn.autocommit = False
    started = time.perf_counter()
    from . import staging

    for kind, table in staging.TABLES.items():
        cur.execute(LEDGER_FROM_STAGING.format(table=table), (kind, staging.now()))
    conn.commit()
    results = transform.run(conn, Postgres.caps, say=lambda *_: None)
    transform_seconds = time.perf_counter() - started
    conn.close()
    steps = [["insert songs", round(songs_seconds, 3)], ["insert events", round(events_seconds, 3)]]
    steps += [["  " + t.file, round(t.seconds, 3)] for t in results]
    return {"seconds": songs_seconds + events_seconds + transform_seconds, "steps": steps, "note": note}


def duckdb_statements(song_data: str, log_data: str) -> list[str]:
    """Staging tables from read_json of the same files, then the star tables with the project's schema
    and transform SQL files."""
    from . import sqlfiles

    def quoted(path: str) -> str:
        return "'" + path.replace("'", "''") + "'"

    song_glob = quoted(str(Path(song_data) / "**" / "*.json"))
    log_glob = quoted(str(Path(log_data) / "**" / "*.json"))
    song_columns = ("{num_songs: 'INTEGER', artist_id: 'VARCHAR', artist_latitude: 'DOUBLE', "
                    "artist_longitude: 'DOUBLE', artist_location: 'VARCHAR', artist_name: 'VARCHAR', "
                    "song_id: 'VARCHAR', title: 'VARCHAR', duration: 'DOUBLE', year: 'INTEGER'}")
    event_columns = ("{artist: 'VARCHAR', auth: 'VARCHAR', firstName: 'VARCHAR', gender: 'VARCHAR', "
                     "itemInSession: 'INTEGER', lastName: 'VARCHAR', length: 'DOUBLE', level: 'VARCHAR', "
                     "location: 'VARCHAR', method: 'VARCHAR', page: 'VARCHAR', registration: 'DOUBLE', "
                     "sessionId: 'BIGINT', song: 'VARCHAR', status: 'INTEGER', ts: 'BIGINT', "
                     "userAgent: 'VARCHAR', userId: 'VARCHAR'}")
    out = [
        "CREATE TABLE staging_songs AS SELECT num_songs, artist_id, artist_latitude, artist_longitude, "
        "artist_location, artist_name, song_id, title, duration, year, filename AS source_file, "
        f"1 AS source_line, '{LOAD_ID}' AS load_id "
        f"FROM read_json({song_glob}, format = 'auto', columns = {song_columns}, filename = true)",
        # the events in the files' order (DuckDB keeps the order it read them in: preserve_insertion_order),
        # then each one's line by that order; ROW_NUMBER() without an ORDER BY numbers a file's rows in
        # whatever order its threads deliver them, and songplay_id follows the line
        "CREATE TABLE read_events AS SELECT artist, auth, firstName AS first_name, gender, "
        "itemInSession AS item_in_session, lastName AS last_name, length, level, location, method, page, "
        "registration, sessionId AS session_id, song, status, ts, userAgent AS user_agent, userId AS user_id, "
        "make_timestamp(ts * 1000) AS start_time, filename AS source_file "
        f"FROM read_json({log_glob}, format = 'newline_delimited', columns = {event_columns}, filename = true)",
        "CREATE TABLE staging_events AS SELECT * EXCLUDE (read_order), "
        "ROW_NUMBER() OVER (PARTITION BY source_file ORDER BY read_order) AS source_line, "
        f"'{LOAD_ID}' AS load_id FROM (SELECT *, rowid AS read_order FROM read_events)",
        "DROP TABLE read_events",
    ]
    # the ledger and the star's tables as a new warehouse ends up with them, without PostgreSQL's physical
    # design (indexes, unlogged, collations): each table's last definition (155 makes some again in a new
    # layout), then what the later files add; the files that move an existing warehouse's rows (155 into
    # the new layout, 400 into its schemas) are left out, as DuckDB starts empty
    moves = {"layout_0_3", "schemas"}
    created: dict[str, str] = {}
    later: list[str] = []
    for f in sqlfiles.files("schema", sqlfiles.SHARED):
        if not (f.name == "load_files" or f.number >= 100):
            continue
        for s in f.statements:
            code = "\n".join(line for line in s.splitlines() if not line.lstrip().startswith("--")).strip()
            words = code.upper().split()
            if words[:2] == ["CREATE", "TABLE"]:
                if words[2].lower() not in ("staging_events", "staging_songs"):  # DuckDB's own, above
                    created[words[2].lower()] = s
            elif f.name not in moves and (" ADD COLUMN " in code.upper()
                                          or not code.upper().startswith(("ALTER TABLE", "CREATE INDEX"))):
                later.append(s)
    return out + list(created.values()) + later


def duckdb_transform(con) -> None:
    """The transform on DuckDB: the lookup tables filled as the load fills them, then the transform files."""
    from . import lookups, sqlfiles

    def insert(cur, table, columns, rows):
        if rows:
            cur.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                            [list(r) for r in rows])

    lookups.fill(con, insert, non_ascii="STRLEN({0}) > LENGTH({0})")  # DuckDB: STRLEN counts bytes
    for f in sqlfiles.files("transform", sqlfiles.SHARED):
        for statement in f.statements:
            con.execute(statement)


def _contender_duckdb(spec: dict) -> dict:
    import duckdb

    path = Path(spec["tmp"]) / "bench.duckdb"
    started = time.perf_counter()
    con = duckdb.connect(str(path))
    for statement in duckdb_statements(spec["song_data"], spec["log_data"]):
        con.execute(statement)
    duckdb_transform(con)
    con.close()
    seconds = time.perf_counter() - started
    con = duckdb.connect(str(path), read_only=True)
    found = digests(con)
    con.close()
    return {"seconds": seconds, "steps": [], "digests": found,
            "note": "source_line of an event is its row number in its file as DuckDB reads it"}


def _contender_s3_read(spec: dict) -> dict:
    """The floor of a load from S3: list and GET every object of both sources, as the load does
    (same reader, same reads in flight), and nothing else: no parsing, no database."""
    workers = config.load_settings(Path(os.devnull)).read_workers
    started = time.perf_counter()
    objects = size = 0
    for uri in (spec["song_data"], spec["log_data"]):
        found = sources.list_files(uri)
        for _, data in sources.read_parallel(found, sources.reader(uri), workers):
            if isinstance(data, Exception):
                raise data
            objects += 1
            size += sum(len(chunk) for chunk in data)
    return {"seconds": time.perf_counter() - started, "steps": [], "digests": None,
            "note": f"no tables: lists and GETs the {objects:,} objects ({size / 1e6:,.0f} MB) only"}


def _contender_redshift_parts(spec: dict) -> dict:
    """The Redshift path's work before its COPY, as the load does it (the same reads in flight): list and read
    the objects of both sources from moto's S3 server, parse every record, write the rows as gzip JSON-lines
    parts and upload them, with their manifests, to a bucket of the same server. No warehouse."""
    from .warehouses.redshift import copy as redshift_copy
    from .warehouses.redshift import parts

    settings = config.load_settings(Path(os.devnull))
    client = sources.s3_client()
    target = redshift_copy.Target(f"s3://{spec['parts_bucket']}/staging", LOAD_ID, LOAD_ID,
                                  "arn:aws:iam::000000000000:role/bench", "us-east-1")
    slices = settings.redshift.slices
    started = time.perf_counter()
    rows = count = size = 0
    with tempfile.TemporaryDirectory(dir=spec["tmp"]) as work:
        for kind, uri in (("songs", spec["song_data"]), ("events", spec["log_data"])):
            found = sources.list_files(uri, client)
            compacted = parts.compact(kind, found, uri, target, slices, Path(work), read_client=client,
                                      write_client=client, workers=settings.read_workers, quiet=True)
            if compacted.rejects:
                first = compacted.rejects[0]
                raise RuntimeError(f"{first.source}:{first.line_number}: {first.reason}")
            rows += compacted.rows
            count += len(compacted.loaded_parts)
            size += sum(p.size for p in compacted.loaded_parts)
    seconds = time.perf_counter() - started
    parts.remove(client, target.uri())
    return {"seconds": seconds, "steps": [], "digests": None,
            "note": f"no tables: {rows:,} rows in {count} parts ({size / 1e6:,.0f} MB gzip) for {slices} slices, "
                    "uploaded"}


_CHILDREN = {"load": _contender_load, "load-s3": _contender_load, "row": _contender_row,
             "increment": _contender_increment, "day-alone": _contender_day_alone, "big-log": _contender_memory,
             "gzip-1gb": _contender_memory, "floor": _contender_floor, "duckdb": _contender_duckdb,
             "s3-read": _contender_s3_read, "redshift-parts": _contender_redshift_parts}
_ON_S3 = ("load-s3", "s3-read", "redshift-parts")


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:  # gone meanwhile
        pass
    return 0.0


def _tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and of its descendants (the load's parse workers), added up."""
    total = _rss_mb(pid)
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            children = (task / "children").read_text().split()
        except OSError:
            continue
        total += sum(_tree_rss_mb(int(child)) for child in children)
    return total


class _TreeMemory:
    """This process's memory and its descendants', added up, sampled every `interval` seconds: the highest sum."""

    def __init__(self, interval: float = 0.05):
        import threading

        self.peak, self.interval, self._stop = 0.0, interval, threading.Event()
        self._thread = threading.Thread(target=self._sample, name="bench-memory", daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(self.interval):
            self.peak = max(self.peak, _tree_rss_mb(os.getpid()))

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.peak


def peak_rss_mb(tree: float = 0.0) -> float:
    """This process's peak resident memory since it started (VmHWM; ru_maxrss would also count the
    parent's memory at the fork before exec), or, when higher, `tree`: the sampled peak of this process
    and its parse workers together."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return max(int(line.split()[1]) / 1024, tree)
    except OSError:
        pass
    return max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, tree)


def _child(spec: dict) -> None:
    memory = _TreeMemory()
    out = _CHILDREN[spec["contender"]](spec)
    out["peak_rss_mb"] = peak_rss_mb(memory.stop())
    print(json.dumps(out))


# --- the parent ----------------------------------------------------------------------------------

DAYS = 30  # the events of a dataset are spread over this many daily log files


def dataset(root: Path, events: int, songs: int, seed: int, say=print) -> Path:
    """The generated dataset of this size, its events in DAYS daily files, made once and kept under `root`."""
    from .generate import generate

    out = root / f"e{events}-s{songs}-seed{seed}-d{DAYS}"
    if not (out / "log_data").exists():
        say(f"generating {events:,} events over {DAYS} days and {songs:,} songs in {out}")
        tmp = out.with_name(out.name + ".partial")
        shutil.rmtree(tmp, ignore_errors=True)
        generate(tmp, events=events, songs=songs, seed=seed, events_per_day=math.ceil(events / DAYS))
        tmp.rename(out)
    return out


def warm(data: Path) -> None:
    """Read every file of the dataset once, so that each contender finds it in the page cache: the first
    one to run would otherwise pay the disk reads for all of them."""
    for dirpath, _, filenames in os.walk(data):
        for name in filenames:
            with open(os.path.join(dirpath, name), "rb") as f:
                while f.read(1 << 20):
                    pass


def _drop_database(admin_url: str, name: str) -> None:
    conn = db.connect_url(admin_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    conn.close()


def _run_child(spec: dict, env: dict) -> dict:
    proc = subprocess.run([sys.executable, "-m", "sparkify_dwh.bench", json.dumps(spec)], env=env,
                          capture_output=True, text=True, cwd=config.ROOT)
    if proc.returncode != 0:
        message = db.mask(proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "no output")
        raise RuntimeError(f"contender {spec['contender']} failed: {message}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


class _S3:
    """moto's S3 server on a free loopback port, holding a copy of the dataset."""

    def __init__(self, data: Path):
        import logging

        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self.server.start()
        self.env = {"AWS_ENDPOINT_URL": f"http://127.0.0.1:{port}", "AWS_ACCESS_KEY_ID": "bench",
                    "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"}
        self.bucket = "sparkify-bench"
        self.parts_bucket = "sparkify-bench-parts"  # redshift-parts writes its parts here
        self._upload(data)

    def _upload(self, data: Path) -> None:
        from concurrent.futures import ThreadPoolExecutor

        import boto3

        client = boto3.client("s3", endpoint_url=self.env["AWS_ENDPOINT_URL"], region_name="us-east-1",
                              aws_access_key_id="bench", aws_secret_access_key="bench")
        client.create_bucket(Bucket=self.bucket)
        client.create_bucket(Bucket=self.parts_bucket)
        files = [p for p in data.rglob("*.json")]
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda p: client.put_object(Bucket=self.bucket, Key=str(p.relative_to(data)),
                                                      Body=p.read_bytes()), files))

    def stop(self) -> None:
        self.server.stop()


def machine() -> dict:
    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpus": os.cpu_count(), "cpu": cpu, "memory_gb": round(memory, 1), "python": platform.python_version(),
            "system": f"{platform.system()} {platform.release()}"}


def compare(outcomes: list[Outcome]) -> list[str]:
    """Mark each outcome equal or not to the floor's star tables; the differences, one line each. A
    contender that builds its star from part of the dataset (day-alone) is held to its own other runs only."""
    reference = next((o for o in outcomes if o.contender == "floor"), outcomes[0])
    problems = []
    for o in outcomes:
        if o.digests is None:  # s3-read builds no tables
            continue
        if o.contender in OWN_INPUT:
            o.equal = True if o.equal is None else o.equal
            continue
        differing = [t for t in STAR_KEYS if o.digests.get(t) != reference.digests.get(t)]
        o.equal = not differing
        for t in differing:
            problems.append(f"{o.contender}: {t} differs from {reference.contender} "
                            f"(rows, md5: {o.digests.get(t)} vs {reference.digests.get(t)})")
    return problems


def median_of(runs: list[Outcome]) -> tuple[Outcome, list[str]]:
    """One outcome for the runs of a contender: the median run's (the lower middle one for an even count),
    with every run's seconds and peak memory; and the runs that built other tables than the first did."""
    ordered = sorted(runs, key=lambda o: o.seconds)
    middle = ordered[(len(ordered) - 1) // 2]
    problems = [f"{o.contender}: run {n} of {len(runs)} built other tables than run 1"
                for n, o in enumerate(runs, start=1) if o.digests != runs[0].digests]
    out = Outcome(middle.contender, middle.events, middle.seconds, max(o.peak_rss_mb for o in runs),
                  middle.digests, middle.steps, middle.note, equal=False if problems else None, loaded=middle.loaded,
                  runs=[o.seconds for o in runs], rss_runs=[o.peak_rss_mb for o in runs])
    return out, problems


def run(
    settings: config.Settings,
    *,
    sizes: list[int],
    songs: int,
    seed: int = 42,
    contenders: tuple[str, ...] = CONTENDERS,
    row_limit: int = 100_000,
    data_root: Path | None = None,
    plant: str | None = None,
    say=print,
    log_mb: int = 200,
    gzip_mb: int = 1024,
    repeat: int = 1,
) -> list[Outcome]:
    """Run every contender `repeat` times at every size; raises DifferentTables when any built different star
    tables (from the floor's, or from its own first run)."""
    data_root = data_root or config.ROOT / "data" / "bench"
    admin_url = Postgres(settings).url()
    outcomes: list[Outcome] = []
    for events in sizes:
        data = dataset(data_root, events, songs, seed, say)
        s3 = _S3(data) if set(_ON_S3) & set(contenders) else None
        try:
            names = [n for n in contenders if n not in MEMORY or events == sizes[0]]
            runs: dict[str, list[Outcome]] = {n: [] for n in names}
            for turn in range(1, repeat + 1):
                for name in names:
                    say(f"{events:,} events: {name}{f' (run {turn} of {repeat})' if repeat > 1 else ''} ...")
                    outcome = _run_one(name, events, data, data_root, s3, admin_url, settings, plant=plant,
                                       row_limit=row_limit, log_mb=log_mb, gzip_mb=gzip_mb)
                    say(f"  {outcome.seconds:.2f} s, peak RSS {outcome.peak_rss_mb:.0f} MB")
                    runs[name].append(outcome)
        finally:
            if s3:
                s3.stop()
        size_outcomes, problems = [], []
        for name in names:
            outcome, differing = median_of(runs[name])
            size_outcomes.append(outcome)
            problems += differing
        problems += compare(size_outcomes)
        outcomes += size_outcomes
        if problems:
            raise DifferentTables("star tables differ:\n  " + "\n  ".join(problems))
    return outcomes


def _run_one(name: str, events: int, data: Path, data_root: Path, s3: _S3 | None, admin_url: str,
             settings: config.Settings, *, plant: str | None, row_limit: int, log_mb: int, gzip_mb: int) -> Outcome:
    """One run of one contender, in a child process on a fresh database (dropped afterwards)."""
    warm(data)
    database = f"bench_{name.replace('-', '_')}_{uuid.uuid4().hex[:6]}"
    url = db.fresh_database(admin_url, database)
    spec = {"contender": name, "url": url, "events": events, "row_limit": row_limit,
            "song_data": str(data / "song_data"), "log_data": str(data / "log_data")}
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    if name in _ON_S3:
        spec.update(song_data=f"s3://{s3.bucket}/song_data", log_data=f"s3://{s3.bucket}/log_data",
                    parts_bucket=s3.parts_bucket)
        env.update(s3.env)
    if name == "big-log":
        spec.update(log_data=str(big_log(data, data_root / "memory", log_mb)),
                    song_data=str(one_song(data, data_root / "memory")),
                    note=f"one log file of {log_mb:,} MB")
    if name == "gzip-1gb":
        folder = padded_gzip(data, data_root / "memory", gzip_mb)
        packed = sum(p.stat().st_size for p in folder.rglob("*.gz")) / 2**20
        spec.update(log_data=str(folder), song_data=str(one_song(data, data_root / "memory")),
                    note=f"one .json.gz of {packed:.1f} MB expanding to {gzip_mb:,} MB")
    try:
        with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
            spec["tmp"] = tmp
            out = _run_child(spec, env)
        if plant == name:
            _plant_difference(url)
        if "digests" not in out:
            conn = db.connect_url(url)
            with conn.cursor() as cur:
                out["digests"] = digests(cur)
            conn.close()
    finally:
        _drop_database(admin_url, database)
    return Outcome(name, events, out["seconds"], out["peak_rss_mb"], out["digests"], out.get("steps", []),
                   out.get("note", ""), loaded=out.get("loaded"))


def _plant_difference(url: str) -> None:
    """Change one user's level: for the test that shows the equality check catches a difference."""
    conn = db.connect_url(url)
    with conn.cursor() as cur:
        cur.execute("UPDATE users SET level = CASE WHEN level = 'paid' THEN 'free' ELSE 'paid' END "
                    "WHERE user_id = (SELECT MIN(user_id) FROM users)")
    conn.commit()
    conn.close()


def table(outcomes: list[Outcome]) -> list[list]:
    rows = []
    for events in sorted({o.events for o in outcomes}):
        group = [o for o in outcomes if o.events == events]
        floor = next((o.seconds for o in group if o.contender == "floor"), None)
        for o in group:
            rows.append([
                f"{events:,}", o.contender, f"{o.seconds:.2f}", o.spread, f"{(o.loaded or events) / o.seconds:,.0f}",
                f"{o.seconds / floor:.2f}" if floor and o.contender not in MEMORY else "", f"{o.peak_rss_mb:.0f}",
                "n/a" if o.digests is None else "yes" if o.equal else "NO", o.note,
            ])
    return rows


HEADERS = ("events", "contender", "seconds", "spread", "events/s", "x floor", "peak RSS MB", "same tables", "note")


def slope(outcomes: list[Outcome], contender: str = "load") -> tuple[float, float] | None:
    """Microseconds per event and the fixed seconds, from the smallest and largest size."""
    points = sorted((o.events, o.seconds) for o in outcomes if o.contender == contender)
    if len(points) < 2 or points[0][0] == points[-1][0]:
        return None
    (e1, t1), (e2, t2) = points[0], points[-1]
    per_event = (t2 - t1) / (e2 - e1)
    return per_event * 1e6, t1 - per_event * e1


def report(outcomes: list[Outcome], out=sys.stdout) -> str:
    from tabulate import tabulate

    text = tabulate(table(outcomes), headers=HEADERS, disable_numparse=True)
    print(text, file=out)
    fit = slope(outcomes)
    if fit:
        print(f"\nload: {fit[0]:.2f} µs per event, plus {fit[1]:.2f} s fixed (from the smallest and largest size)",
              file=out)
    for events in sorted({o.events for o in outcomes}):
        by = {o.contender: o.seconds for o in outcomes if o.events == events}
        for other, words in (("floor", "the floor"), ("duckdb", "DuckDB")):
            if "load" in by and other in by:
                print(f"{events:,} events: full load / {words} = {by['load'] / by[other]:.2f}", file=out)
        if "load" in by and "increment" in by:
            print(f"{events:,} events: the last day's load is {by['load'] / by['increment']:.1f}x faster than "
                  "the full load", file=out)
        if "increment" in by and "day-alone" in by:
            print(f"{events:,} events: the last day's load / the same day alone = "
                  f"{by['increment'] / by['day-alone']:.2f}", file=out)
        if "load" in by and "load-s3" in by:
            print(f"{events:,} events: load from S3 (moto) / from a local folder = {by['load-s3'] / by['load']:.2f}",
                  file=out)
        if "load-s3" in by and "s3-read" in by:
            print(f"{events:,} events: load from S3 (moto) / only reading the same objects = "
                  f"{by['load-s3'] / by['s3-read']:.2f}", file=out)
        if "redshift-parts" in by and "s3-read" in by:
            print(f"{events:,} events: Redshift's parts (read, parse, compact, gzip, upload) / only reading the "
                  f"same objects = {by['redshift-parts'] / by['s3-read']:.2f}", file=out)
    return text


def save(outcomes: list[Outcome], folder: Path, pg_version: str | None = None, command: str | None = None,
         load_before: tuple[float, ...] | None = None) -> Path:
    """The outcomes as JSON, with the machine, the command and the load average before and after the run
    (others' work on the same cores slows the contenders)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / (datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ") + ".json")
    fit = slope(outcomes)
    path.write_text(json.dumps({
        "machine": machine(), "postgres": pg_version, "command": command,
        "load_average": {"before": [round(x, 2) for x in load_before] if load_before else None,
                         "after": [round(x, 2) for x in os.getloadavg()]},
        "results": [asdict(o) for o in outcomes],
        "load_us_per_event": round(fit[0], 3) if fit else None,
    }, indent=2, ensure_ascii=False) + "\n")
    return path


def server_version(settings: config.Settings) -> str:
    conn = db.connect_url(Postgres(settings).url())
    with conn.cursor() as cur:
        cur.execute("SHOW server_version")
        version = cur.fetchone()[0]
    conn.close()
    return version


if __name__ == "__main__":
    _child(json.loads(sys.argv[1]))
