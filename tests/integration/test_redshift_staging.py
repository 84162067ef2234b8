"""The Redshift load's S3 side against moto's server: compaction into parts, manifests, JSONPaths, cleanup.

No Redshift answers here: what COPY would do with these files is covered by the SQL tests
(tests/unit/test_redshift_sql.py) and, for rejects, by feeding sys_load_error_detail rows to copy_rejects.
"""

import gzip
import json
import uuid
from collections import Counter

import boto3
import pytest
from conftest import SAMPLE_FIGURES

from sparkify_dwh import records, redshift, sources

ROLE = "arn:aws:iam::123456789012:role/sparkify-dwh-copy"


@pytest.fixture
def s3(aws_env):
    return boto3.client("s3", endpoint_url=aws_env["AWS_ENDPOINT_URL"], region_name="us-west-2")


@pytest.fixture
def target(s3):
    bucket = "stage-" + uuid.uuid4().hex[:10]
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    return redshift.Target(f"s3://{bucket}/loads", "20260101T000000-abcdef12", ROLE, "us-west-2")


def _get(s3, uri: str) -> bytes:
    bucket, key = sources.split_s3(uri)
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def _expected(kind: str, root) -> tuple[Counter, int]:
    """(source_file, line) of every valid record of the originals, and the number of rejects."""
    parse = records.events if kind == "events" else records.songs
    found, rejected = Counter(), 0
    for f in sources.list_files(str(root)):
        for item in parse(f.uri, sources.reader(f.uri)(f)):
            if isinstance(item, records.Reject):
                rejected += 1
            else:
                found[(f.uri, item[0])] += 1
    return found, rejected


def _compact_and_read_back(kind, root, target, s3, tmp_path, slices=2):
    files = sources.list_files(str(root))
    result = redshift.compact(kind, files, str(root), target, slices, tmp_path, write_client=s3, workers=4,
                              quiet=True)
    manifest = json.loads(_get(s3, target.manifest(kind)))
    rows = []
    for entry in manifest["entries"]:
        rows += [json.loads(line) for line in gzip.decompress(_get(s3, entry["url"])).splitlines()]
    return result, manifest, rows


@pytest.mark.integration
@pytest.mark.parametrize("kind,folder", [("songs", "song_data"), ("events", "log_data")])
def test_compacted_parts_hold_every_record_of_the_originals_once(kind, folder, small_dataset, target, s3, tmp_path):
    result, manifest, rows = _compact_and_read_back(kind, small_dataset / folder, target, s3, tmp_path)
    expected, rejected = _expected(kind, small_dataset / folder)

    assert Counter((r["source_file"], r["source_line"]) for r in rows) == expected
    assert len(result.rejects) == rejected
    assert {r["load_id"] for r in rows} == {target.load_id}
    assert len(result.parts) % 2 == 0
    assert all(e["mandatory"] is True for e in manifest["entries"])
    assert [e["url"] for e in manifest["entries"]] == [p.uri for p in result.parts if p.records]
    assert all(e["url"].startswith(target.uri(kind) + "/part-") for e in manifest["entries"])
    # the ledger counts of every file add up
    assert sum(c.read for c in result.files) == len(rows) + rejected
    assert sum(c.staged for c in result.files) == len(rows)
    fields = redshift.EVENT_PART_FIELDS if kind == "events" else redshift.SONG_PART_FIELDS
    assert all(set(r) == set(fields) for r in rows)
    if kind == "events":
        assert all(r["start_time"] == r["ts"] for r in rows)
        assert json.loads(_get(s3, target.jsonpaths())) == redshift.jsonpaths()


@pytest.mark.integration
def test_the_sample_compacts_to_its_known_figures(sample, target, s3, tmp_path):
    _, _, songs = _compact_and_read_back("songs", sample / "song_data", target, s3, tmp_path / "s", slices=4)
    _, _, events = _compact_and_read_back("events", sample / "log_data", target, s3, tmp_path / "e", slices=4)
    assert len(songs) == SAMPLE_FIGURES["staging_songs"]
    assert len(events) == SAMPLE_FIGURES["staging_events"]


@pytest.mark.integration
def test_copy_rejects_point_at_the_source_file_and_line(small_dataset, target, s3, tmp_path):
    result, manifest, rows = _compact_and_read_back("events", small_dataset / "log_data", target, s3, tmp_path)
    part = next(p for p in result.parts if p.records >= 3)
    line3 = json.loads(gzip.decompress(_get(s3, part.uri)).splitlines()[2])
    detail = [(part.uri.ljust(256), 3, "user_agent".ljust(127), 1204,
               "String length exceeds DDL length".ljust(512))]
    staged_before = sum(c.staged for c in result.files)

    (reject,) = redshift.copy_rejects(result, detail)

    assert (reject.source, reject.line_number) == (line3["source_file"], line3["source_line"])
    assert reject.reason == ("rejected by COPY: String length exceeds DDL length (column user_agent, error 1204)")
    assert json.loads(reject.raw_line) == line3
    assert sum(c.staged for c in result.files) == staged_before - 1
    (counted,) = [c for c in result.files if c.file.uri == line3["source_file"]]
    assert counted.read == counted.staged + counted.rejected
    ledger = redshift.ledger_rows([result], target.load_id)
    assert {r["source_file"] for r in ledger} == {c.file.uri for c in result.files}
    errors = redshift.error_rows([result], target.load_id)
    assert errors[-1]["line_number"] == line3["source_line"]


@pytest.mark.integration
def test_a_load_s_staging_files_are_removed_after_it(small_dataset, target, s3, tmp_path):
    _compact_and_read_back("songs", small_dataset / "song_data", target, s3, tmp_path)
    bucket, _ = sources.split_s3(target.staging)
    other = "loads/another-load/keep.json.gz"
    s3.put_object(Bucket=bucket, Key=other, Body=b"")
    redshift._remove(s3, target.uri())
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == [other]


class _RecordingConnection:
    """Stands in for the cluster: records each statement; sys_load_error_detail answers `copy_errors`;
    a COPY into `failing` raises as Redshift does over MAXERROR."""

    def __init__(self, copy_errors=(), failing=None):
        self.statements, self.commits, self.rollbacks, self.closed = [], 0, 0, False
        self.copy_errors, self.failing, self._last = list(copy_errors), failing, None

    def cursor(self):
        return self

    def execute(self, sql, params=None):
        import psycopg2

        self.statements.append((sql, params))
        self._last = (sql, params)
        if self.failing and sql.startswith(f"COPY {self.failing} "):
            raise psycopg2.InternalError("Load into table failed. Check 'sys_load_error_detail' for details.")

    def fetchall(self):
        sql, params = self._last
        if "sys_load_error_detail" in sql:
            prefix = params[0].rstrip("%")
            return [row for row in self.copy_errors if row[0].startswith(prefix)]
        return []

    def commit(self):
        self.commits += 1

    def rollback(self):
        self.rollbacks += 1

    def close(self):
        pass


def _stage_settings(monkeypatch, tmp_path, small_dataset, target, **extra):
    from sparkify_dwh.config import load_settings

    monkeypatch.setenv("ENV_FILE", str(tmp_path / "none"))
    values = {"WAREHOUSE": "redshift", "SONG_DATA": str(small_dataset / "song_data"),
              "LOG_DATA": str(small_dataset / "log_data"), "STAGING_PREFIX": target.staging,
              "REDSHIFT_ROLE_ARN": ROLE, **extra}
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return load_settings()


def _first_words(conn):
    return [" ".join(sql.split()[:3]) for sql, _ in conn.statements]


@pytest.mark.integration
def test_the_staging_transaction_locks_copies_records_and_replaces(monkeypatch, tmp_path, small_dataset, target, s3):
    settings = _stage_settings(monkeypatch, tmp_path, small_dataset, target, MAX_ERRORS="3")
    events_part = target.uri("events", "part-0000.json.gz")
    conn = _RecordingConnection(copy_errors=[(events_part, 1, "user_agent", 1204, "String length exceeds DDL")])

    results = redshift._stage(conn, settings, target, 2, tmp_path / "w", s3, True, print)

    assert _first_words(conn) == [
        "LOCK load_files", "SELECT source_file, size_bytes,", "SELECT source_file, size_bytes,",
        "COPY staging_songs (song_id,", "SELECT TRIM(file_name), line_number,",
        "COPY staging_events (ts,", "SELECT TRIM(file_name), line_number,",
        "COPY load_errors (load_id,", "COPY load_files (source_file,",
        "DELETE FROM staging_songs", "DELETE FROM staging_events", "DELETE FROM load_errors",
        "DELETE FROM load_files",
    ]
    copies = {sql.split()[1]: sql for sql, _ in conn.statements if sql.startswith("COPY")}
    assert "MAXERROR 3" in copies["staging_songs"] and "MAXERROR 3" in copies["staging_events"]
    assert conn.commits == 1 and conn.rollbacks == 0
    events = results[1]
    (reject,) = events.rejects
    assert reject.reason.startswith("rejected by COPY: String length exceeds DDL")
    ledger = [json.loads(line) for line in gzip.decompress(_get(s3, target.ledger("load_files"))).splitlines()]
    assert len(ledger) == sum(len(r.files) for r in results) == sum(r.files_found for r in results)
    assert sum(row["records_rejected"] for row in ledger) == 1
    assert all(row["records_read"] == row["rows_staged"] + row["records_rejected"] for row in ledger)
    errors = [json.loads(line) for line in gzip.decompress(_get(s3, target.ledger("load_errors"))).splitlines()]
    assert [(e["source_file"], e["line_number"]) for e in errors] == [(reject.source, reject.line_number)]


@pytest.mark.integration
def test_over_max_errors_only_the_rejects_are_kept(monkeypatch, tmp_path, small_dataset, target, s3):
    settings = _stage_settings(monkeypatch, tmp_path, small_dataset, target)
    events_part = target.uri("events", "part-0000.json.gz")
    conn = _RecordingConnection(copy_errors=[(events_part, 2, "status", 1207, "Invalid digit")],
                                failing="staging_events")

    results = redshift._stage(conn, settings, target, 2, tmp_path / "w", s3, True, print)

    words = _first_words(conn)
    assert words[-2:] == ["SELECT TRIM(file_name), line_number,", "COPY load_errors (load_id,"]
    assert "COPY load_files (source_file," not in words
    assert conn.rollbacks == 1 and conn.commits == 1
    assert sum(len(r.rejects) for r in results) == 1


@pytest.mark.integration
def test_a_failed_copy_without_rejects_behind_it_is_raised(monkeypatch, tmp_path, small_dataset, target, s3):
    import psycopg2

    settings = _stage_settings(monkeypatch, tmp_path, small_dataset, target)
    conn = _RecordingConnection(failing="staging_songs")
    with pytest.raises(psycopg2.InternalError):
        redshift._stage(conn, settings, target, 2, tmp_path / "w", s3, True, print)
    assert conn.commits == 0
