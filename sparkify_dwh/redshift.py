"""The load on Redshift: the same ledger, staging columns, rejects and transform as on PostgreSQL, fed by COPY.

sources (folder or s3://) -> compaction: new and changed files read in parallel, parsed by `records`,
written as a few gzip JSON-lines parts (a multiple of the cluster's slices) under
STAGING_PREFIX/<load_id>/ -> one COPY per staging table (MANIFEST with mandatory entries, IAM role)
-> what COPY rejects is read back from sys_load_error_detail -> load_errors and the ledger load_files
(COPY too) -> the transform files of sql/transform/, one transaction.

Thousands of files of a few hundred bytes are what make a COPY straight from the song folder slow; the
compaction turns them into as many parts as the cluster has slices, so every slice loads one.
Staging (LOCK load_files, the COPYs, rejects, ledger, replacing changed files) is one transaction.
"""

from __future__ import annotations

import gzip
import json
import math
import re
import tempfile
import time
from array import array
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import msgspec

from . import db, migrations, records, sources, sqlfiles, staging, transform
from .config import RedshiftSettings, Settings, SettingsError

# Slices per node of each node type (the COPY loads one file per slice at a time).
NODE_SLICES = {"ra3.large": 2, "ra3.xlplus": 2, "ra3.4xlarge": 4, "ra3.16xlarge": 16, "dc2.large": 2,
               "dc2.8xlarge": 16}
PART_TARGET_BYTES = 256 << 20  # uncompressed JSON per part before another round of parts is added
MAXERROR_LIMIT = 100_000  # the largest MAXERROR Redshift accepts

BOOKKEEPING = staging.BOOKKEEPING  # source_file, source_line, load_id
# Events keep the log's field names in the parts; a JSONPaths file maps them to columns. start_time is
# written as a second copy of ts, which TIMEFORMAT 'epochmillisecs' turns into a timestamp.
EVENT_FIELDS = tuple(records.Event.__struct_encode_fields__)
EVENT_PART_FIELDS = EVENT_FIELDS + ("start_time",) + BOOKKEEPING
EVENT_COLUMNS = records.EVENT_COLUMNS + ("start_time",) + BOOKKEEPING
# Songs already use the column names: JSON 'auto'.
SONG_PART_FIELDS = records.SONG_COLUMNS + BOOKKEEPING
SONG_COLUMNS = SONG_PART_FIELDS
LEDGER_COLUMNS = ("source_file", "kind", "size_bytes", "version", "load_id", "records_read", "rows_staged",
                  "records_rejected", "loaded_at")
ERROR_COLUMNS = ("load_id", "kind", "source_file", "line_number", "reason", "raw_line", "logged_at")

KINDS = ("songs", "events")
TABLES = {"songs": "staging_songs", "events": "staging_events"}


class RedshiftError(RuntimeError):
    """The Redshift load cannot go on; the message is safe to print."""


# --- Values that reach SQL as literals ------------------------------------------------------------

_SAFE_LITERAL = re.compile(r"[A-Za-z0-9:/_.,=+@*!()<>-]+")
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]+")


def literal(value: str) -> str:
    """A checked SQL string literal: only characters that need no escaping, or an error."""
    if not _SAFE_LITERAL.fullmatch(value):
        raise SettingsError(f"{value!r} cannot be used in a COPY statement (quotes, spaces, backslashes)")
    return f"'{value}'"


def role_arn(rs: RedshiftSettings, dry_run: bool = False) -> str:
    if rs.role_arn:
        if not _ROLE_ARN.fullmatch(rs.role_arn):
            raise SettingsError(f"REDSHIFT_ROLE_ARN={rs.role_arn!r} is not an IAM role ARN (see env.example)")
        return rs.role_arn
    if dry_run:
        return f"arn:aws:iam::<account>:role/{rs.iam_role_name}"
    raise SettingsError("REDSHIFT_ROLE_ARN is not set: make provision writes it to .env (see env.example)")


# --- Connection -----------------------------------------------------------------------------------


def master_password(rs: RedshiftSettings, secrets=None, redshift=None) -> str:
    """DB_PASSWORD, or the password Redshift keeps in Secrets Manager for the cluster."""
    if rs.db_password:
        return rs.db_password
    from .aws import client, describe_cluster

    redshift = redshift or client("redshift", rs.region)
    cluster = describe_cluster(redshift, rs.cluster_identifier)
    arn = (cluster or {}).get("MasterPasswordSecretArn")
    if not arn:
        raise SettingsError(
            f"DB_PASSWORD is not set and cluster {rs.cluster_identifier} keeps no password in Secrets Manager: "
            "set DB_PASSWORD (see env.example)"
        )
    secrets = secrets or client("secretsmanager", rs.region)
    return json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"])["password"]


def connect(settings: Settings):
    """A connection to the cluster over TLS (REDSHIFT_SSLMODE, require by default)."""
    import psycopg2

    rs = settings.redshift
    if not rs.host:
        raise SettingsError("REDSHIFT_HOST is not set: make provision writes it to .env (see env.example)")
    password = master_password(rs)
    where = f"redshift://{rs.db_user}@{rs.host}:{rs.db_port}/{rs.db_name}"
    try:
        return psycopg2.connect(
            host=rs.host, port=rs.db_port, dbname=rs.db_name, user=rs.db_user, password=password,
            sslmode=rs.sslmode, connect_timeout=15, application_name="sparkify-dwh",
        )
    except psycopg2.Error as err:
        raise db.DatabaseError(f"cannot connect to {where}: {db.mask(str(err).strip(), password)}") from None


def cluster_slices(conn, rs: RedshiftSettings) -> int:
    """The cluster's slice count: from stv_slices when connected, else from the node type table."""
    if conn is not None:
        with conn.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM stv_slices")
            found = cur.fetchone()[0]
        if found:
            return int(found)
    return NODE_SLICES.get(rs.node_type, 2) * rs.node_count


def part_count(slices: int, input_bytes: int) -> int:
    """A multiple of the slice count: one part per slice, another round per PART_TARGET_BYTES per slice."""
    rounds = max(1, math.ceil(input_bytes / (slices * PART_TARGET_BYTES)))
    return slices * rounds


# --- Statements -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    """Where one load's files go: STAGING_PREFIX/<load_id>/..."""

    staging: str
    load_id: str
    role_arn: str
    region: str

    def uri(self, *parts: str) -> str:
        return "/".join((self.staging, self.load_id) + parts)

    def manifest(self, kind: str) -> str:
        return self.uri(kind, "manifest.json")

    def jsonpaths(self) -> str:
        return self.uri("events", "jsonpaths.json")

    def ledger(self, name: str) -> str:
        return self.uri("ledger", f"{name}.json.gz")


def copy_sql(table: str, columns: tuple[str, ...], source: str, target: Target, *, json_format: str,
             manifest: bool, max_errors: int, statupdate: bool, truncate: bool = False) -> str:
    """One COPY from S3 with the IAM role: gzip JSON, times as epoch milliseconds."""
    lines = [
        f"COPY {table} ({', '.join(columns)})",
        f"FROM {literal(source)}",
        f"IAM_ROLE {literal(target.role_arn)}",
        f"FORMAT AS JSON {literal(json_format)}",
        "GZIP",
    ]
    if manifest:
        lines.append("MANIFEST")
    lines += [
        "TIMEFORMAT 'epochmillisecs'",
        f"REGION {literal(target.region)}",
        f"MAXERROR {min(int(max_errors), MAXERROR_LIMIT)}",
    ]
    if truncate:
        lines.append("TRUNCATECOLUMNS")
    # COMPUPDATE OFF: the DDL's column encodings stay (ENCODE AUTO); sampling them on every load costs time.
    # STATUPDATE ON for staging: the transform's joins need fresh statistics, as ANALYZE does on PostgreSQL.
    lines += ["COMPUPDATE OFF", f"STATUPDATE {'ON' if statupdate else 'OFF'}"]
    return "\n".join(lines)


def stage_copy(kind: str, target: Target, max_errors: int) -> str:
    if kind == "events":
        return copy_sql("staging_events", EVENT_COLUMNS, target.manifest("events"), target,
                        json_format=target.jsonpaths(), manifest=True, max_errors=max_errors, statupdate=True)
    return copy_sql("staging_songs", SONG_COLUMNS, target.manifest("songs"), target, json_format="auto",
                    manifest=True, max_errors=max_errors, statupdate=True)


def jsonpaths() -> dict:
    """The JSONPaths file of staging_events: one path per column, in EVENT_COLUMNS order."""
    return {"jsonpaths": [f"$.{name}" for name in EVENT_PART_FIELDS]}


def errors_copy(target: Target, name: str = "load_errors") -> str:
    return copy_sql("load_errors", ERROR_COLUMNS, target.ledger(name), target, json_format="auto",
                    manifest=False, max_errors=0, statupdate=False, truncate=True)


def ledger_copy(target: Target) -> str:
    return copy_sql("load_files", LEDGER_COLUMNS, target.ledger("load_files"), target, json_format="auto",
                    manifest=False, max_errors=0, statupdate=False)


def replace_statements(load_id: str) -> list[str]:
    """Remove what earlier versions of this load's files left behind, after this load's rows are in."""
    this = literal(load_id)
    mine = f"SELECT source_file FROM load_files WHERE load_id = {this}"
    return [
        f"DELETE FROM staging_songs WHERE load_id <> {this} AND source_file IN ({mine} AND kind = 'songs')",
        f"DELETE FROM staging_events WHERE load_id <> {this} AND source_file IN ({mine} AND kind = 'events')",
        f"DELETE FROM load_errors WHERE load_id <> {this} AND source_file IN ({mine})",
        f"DELETE FROM load_files WHERE load_id <> {this} AND source_file IN ({mine})",
    ]


def full_refresh_statements(kind: str) -> list[str]:
    return [f"DELETE FROM {TABLES[kind]}", f"DELETE FROM load_files WHERE kind = '{kind}'",
            f"DELETE FROM load_errors WHERE kind = '{kind}'"]


LOCK = "LOCK load_files"
LEDGER_READ = "SELECT source_file, size_bytes, version FROM load_files WHERE kind = %s"
ERRORS_READ = (
    "SELECT TRIM(file_name), line_number, TRIM(column_name), error_code, TRIM(error_message) "
    "FROM sys_load_error_detail WHERE file_name LIKE %s ORDER BY 1, 2"
)


# --- Compaction -----------------------------------------------------------------------------------


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
    files_found: int = 0
    files: list[staging.FileCount] = field(default_factory=list)
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
            *, read_client=None, write_client=None, workers: int = 16, quiet: bool = False) -> Compacted:
    """Read `files` in parallel, parse each record, and write the valid ones as gzip JSON-lines parts to
    the staging prefix, with a manifest (and, for events, the JSONPaths file). Parts: a multiple of
    `slices`; each source file goes whole to the part with the least data so far."""
    started = time.perf_counter()
    result = Compacted(kind, source)
    if not files:
        return result
    parse = records.events if kind == "events" else records.songs
    fields = EVENT_PART_FIELDS if kind == "events" else SONG_PART_FIELDS
    extra = 1 if kind == "events" else 0  # the second copy of ts
    ts_index = records.EVENT_COLUMNS.index("ts")
    count = part_count(slices, sum(f.size for f in files))
    folder = workdir / kind
    folder.mkdir(parents=True, exist_ok=True)
    result.parts = [Part(target.uri(kind, f"part-{n:04d}.json.gz"), folder / f"part-{n:04d}.json.gz")
                    for n in range(count)]
    encode = msgspec.json.Encoder().encode
    tick, close = staging._progress(len(files), f"{kind} (compacting)", quiet)
    with ExitStack() as stack:
        stack.callback(close)
        writers = [stack.enter_context(gzip.open(p.path, "wb", compresslevel=6)) for p in result.parts]
        for f, data in sources.read_parallel(files, sources.reader(source, read_client), workers):
            tick()
            if isinstance(data, Exception):
                result.rejects.append(records.Reject(f.uri, 0, f"cannot read the file: {type(data).__name__}: {data}",
                                                     ""))
                continue
            n = min(range(count), key=lambda i: result.parts[i].bytes_in)
            part, write = result.parts[n], writers[n]
            counted = staging.FileCount(f)
            chunk = []
            for item in parse(f.uri, data):
                if type(item) is records.Reject:
                    result.rejects.append(item)
                    counted.rejected += 1
                    continue
                number, row = item
                values = row + ((row[ts_index],) if extra else ()) + (f.uri, number, target.load_id)
                chunk.append(encode(dict(zip(fields, values))))
                part.origin_file.append(len(result.files))
                part.origin_line.append(number)
                counted.staged += 1
            if chunk:
                body = b"\n".join(chunk) + b"\n"
                write.write(body)
                part.records += len(chunk)
                part.bytes_in += len(body)
            counted.read = counted.staged + counted.rejected
            result.files.append(counted)
    for p in result.parts:
        p.size = p.path.stat().st_size
    _upload(result, target, write_client, workers)
    result.seconds = time.perf_counter() - started
    return result


def _put(client, uri: str, body: bytes) -> None:
    bucket, key = sources.split_s3(uri)
    client.put_object(Bucket=bucket, Key=key, Body=body)


def _upload(result: Compacted, target: Target, client, workers: int) -> None:
    loaded = result.loaded_parts
    if not loaded:
        return

    def upload(p: Part) -> None:
        bucket, key = sources.split_s3(p.uri)
        client.upload_file(str(p.path), bucket, key)

    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(loaded)))) as pool:
        list(pool.map(upload, loaded))
    manifest = {"entries": [{"url": p.uri, "mandatory": True, "meta": {"content_length": p.size}} for p in loaded]}
    _put(client, target.manifest(result.kind), json.dumps(manifest, indent=1).encode())
    if result.kind == "events":
        _put(client, target.jsonpaths(), json.dumps(jsonpaths(), indent=1).encode())


def copy_rejects(result: Compacted, rows: list[tuple]) -> list[records.Reject]:
    """sys_load_error_detail rows (file_name, line_number, column, code, message) of this kind's parts,
    as Rejects of the source file and line each part line came from; the ledger counts move with them."""
    by_uri = {p.uri: p for p in result.parts}
    out = []
    for file_name, line_number, column, code, message in rows:
        part = by_uri.get((file_name or "").strip())
        if part is None or not 1 <= line_number <= part.records:
            continue
        i = line_number - 1
        counted = result.files[part.origin_file[i]]
        counted.staged -= 1
        counted.rejected += 1
        reason = f"rejected by COPY: {(message or '').strip()} (column {(column or '').strip()}, error {code})"
        out.append(records.Reject(counted.file.uri, part.origin_line[i], reason,
                                  part.line(line_number)[: records.RAW_LINE_LIMIT]))
    result.rejects.extend(out)
    return out


def _json_gz(rows: list[dict]) -> bytes:
    encode = msgspec.json.Encoder().encode
    return gzip.compress(b"".join(encode(r) + b"\n" for r in rows), compresslevel=6)


def _now_ms() -> int:
    return int(datetime.now(UTC).timestamp() * 1000)


def ledger_rows(results: list[Compacted], load_id: str) -> list[dict]:
    now = _now_ms()
    return [
        dict(zip(LEDGER_COLUMNS, (c.file.uri, r.kind, c.file.size, c.file.version, load_id, c.read, c.staged,
                                  c.rejected, now)))
        for r in results for c in r.files
    ]


def error_rows(results: list[Compacted], load_id: str) -> list[dict]:
    now = _now_ms()
    return [
        dict(zip(ERROR_COLUMNS, (load_id, r.kind, x.source, x.line_number, x.reason[:1000], x.raw_line, now)))
        for r in results for x in r.rejects
    ]


# --- The load -------------------------------------------------------------------------------------


class _Printer:
    """Statements to stdout instead of a cluster: DRY_RUN=1."""

    def __init__(self, out, secret: str | None):
        self.out, self.secret = out, secret

    def __call__(self, sql: str, params: tuple | None = None, note: str | None = None) -> None:
        text = sql.replace("%s", "'{}'").format(*params) if params else sql
        if note:
            print(f"-- {note}", file=self.out)
        print(db.mask(text, self.secret) + ";\n", file=self.out)


def dry_run(settings: Settings, out=None) -> None:
    """Print every statement a load would run, in order, without connecting or writing anything."""
    import sys

    out = out or sys.stdout
    rs = settings.redshift
    target = Target(rs.require_staging(), "<load_id>", role_arn(rs, dry_run=True), rs.region)
    run = _Printer(out, rs.db_password)
    print(f"-- Redshift load, dry run: cluster {rs.cluster_identifier} ({rs.node_count} x {rs.node_type}, "
          f"{cluster_slices(None, rs)} slices), staging {target.uri()}", file=out)
    print("-- Nothing is connected to or written; every source file is taken as new.\n", file=out)
    run(migrations.HISTORY_DDL.strip())
    for f in sqlfiles.files("schema", "redshift"):
        for i, statement in enumerate(f.statements):
            run(statement, note=f"{f.path.name}: applied once, recorded in schema_history" if i == 0 else None)
    run("BEGIN", note="staging: one transaction")
    run(LOCK)
    for kind in KINDS:
        if settings.full_refresh:
            for statement in full_refresh_statements(kind):
                run(statement)
        run(LEDGER_READ, (kind,), note=f"{kind}: files already loaded, to skip the unchanged")
    for kind in KINDS:
        source = settings.source(kind)
        run(stage_copy(kind, target, settings.max_errors),
            note=f"{kind}: new and changed files of {source}, compacted into parts of {target.uri(kind)}/")
        run(ERRORS_READ, (target.uri(kind) + "/%",), note=f"{kind}: records COPY rejected, into load_errors")
    run(errors_copy(target), note="records rejected by the parser and by COPY")
    run(ledger_copy(target), note="the ledger: one row per file loaded")
    for statement in replace_statements(target.load_id):
        run(statement)
    run("COMMIT")
    for f, statement in transform.statements("redshift"):
        run(statement, note=f.path.name if statement.startswith("DELETE") else None)
    run("COMMIT")


def load(settings: Settings, *, quiet: bool = False, say=print):
    """Stage the new and changed source files on Redshift and rebuild the star schema.
    DRY_RUN=1 prints the statements instead and returns None."""
    from .pipeline import LoadSummary, TooManyErrors, _Timer, new_load_id, table_counts

    if settings.dry_run:
        dry_run(settings)
        return None
    rs = settings.redshift
    summary = LoadSummary(new_load_id())
    target = Target(rs.require_staging(), summary.load_id, role_arn(rs), rs.region)
    timer = _Timer(summary)
    s3 = sources.s3_client()
    conn = connect(settings)
    try:
        with timer.step("migrate"):
            summary.migrated = [a.file for a in migrations.migrate(conn, "redshift")]
        slices = cluster_slices(conn, rs)
        conn.rollback()
        with tempfile.TemporaryDirectory(prefix="sparkify-parts-") as workdir, timer.step("stage"):
            results = _stage(conn, settings, target, slices, Path(workdir), s3, quiet, say)
            summary.staged = [_stage_result(r, settings) for r in results]
            if sum(len(r.rejects) for r in results) > settings.max_errors:
                raise TooManyErrors([x for r in results for x in r.rejects], settings.max_errors)
        with timer.step("transform"):
            summary.transform = transform.run(conn, "redshift")
        with timer.step("count"):
            summary.tables = table_counts(conn)
        _remove(s3, target.uri())
    finally:
        conn.close()
    return summary


def _stage(conn, settings: Settings, target: Target, slices: int, workdir: Path, s3, quiet, say) -> list[Compacted]:
    """The staging transaction. Over MAX_ERRORS: roll back, keep only the rejects, commit, return."""
    import psycopg2

    results: list[Compacted] = []
    with db.transaction(conn) as cur:
        cur.execute(LOCK)  # one load at a time: a second load waits here until the first commits
        todo = {}
        for kind in KINDS:
            uri = settings.source(kind)
            found = sources.list_files(uri, s3 if sources.is_s3(uri) else None)
            if settings.full_refresh:
                for statement in full_refresh_statements(kind):
                    cur.execute(statement)
                ledger = {}
            else:
                cur.execute(LEDGER_READ, (kind,))
                ledger = {name: (size, version) for name, size, version in cur.fetchall()}
            todo[kind] = (uri, found, staging.changed(found, ledger))
        for kind in KINDS:
            uri, _, files = todo[kind]
            results.append(compact(kind, files, uri, target, slices, workdir, read_client=s3, write_client=s3,
                                   workers=settings.read_workers, quiet=quiet))
        for r, kind in zip(results, KINDS):
            r.files_found = len(todo[kind][1])
        budget = settings.max_errors - sum(len(r.rejects) for r in results)
        if budget < 0:
            return _keep_rejects(conn, cur, results, target, s3)
        for r in results:
            if not r.rows:
                continue
            try:
                cur.execute(stage_copy(r.kind, target, budget))
            except psycopg2.Error:
                conn.rollback()
                cur.execute(ERRORS_READ, (target.uri(r.kind) + "/%",))
                if not copy_rejects(r, cur.fetchall()):
                    raise
                return _keep_rejects(conn, cur, results, target, s3, rolled_back=True)
            cur.execute(ERRORS_READ, (target.uri(r.kind) + "/%",))
            budget -= len(copy_rejects(r, cur.fetchall()))
        if any(r.rejects for r in results):
            _put_ledger(s3, target, results, errors=True, ledger=False)
            cur.execute(errors_copy(target))
        if any(r.files for r in results):
            _put_ledger(s3, target, results, errors=False, ledger=True)
            cur.execute(ledger_copy(target))
            for statement in replace_statements(target.load_id):
                cur.execute(statement)
        conn.commit()
        return results


def _keep_rejects(conn, cur, results: list[Compacted], target: Target, s3, rolled_back=False) -> list[Compacted]:
    """Over MAX_ERRORS: nothing is staged, the rejects are kept in load_errors."""
    if not rolled_back:
        conn.rollback()
    _put_ledger(s3, target, results, errors=True, ledger=False)
    cur.execute(errors_copy(target))
    conn.commit()
    return results


def _put_ledger(s3, target: Target, results: list[Compacted], *, errors: bool, ledger: bool) -> None:
    if errors:
        _put(s3, target.ledger("load_errors"), _json_gz(error_rows(results, target.load_id)))
    if ledger:
        _put(s3, target.ledger("load_files"), _json_gz(ledger_rows(results, target.load_id)))


def _stage_result(r: Compacted, settings: Settings) -> staging.StageResult:
    found = r.files_found
    return staging.StageResult(
        kind=r.kind, source=r.source, files_found=found, files_loaded=len(r.files),
        files_unchanged=found - len(r.files), records_read=sum(c.read for c in r.files),
        rows_staged=sum(c.staged for c in r.files), rejects=r.rejects, seconds=r.seconds,
    )


def _remove(s3, uri: str) -> None:
    """Delete this load's parts, manifests and ledger files once they are loaded."""
    bucket, prefix = sources.split_s3(uri + "/")
    keys = [o["Key"] for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
            for o in page.get("Contents", ())]
    for start in range(0, len(keys), 1000):
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[start:start + 1000]]})
