"""The Redshift load's S3 side against moto's server: compaction into parts, manifests, JSONPaths, cleanup,
and rejects read back from sys_load_error_detail traced to their source file and line."""

import gzip
import json
import uuid
from collections import Counter

import boto3
import pytest
from conftest import SAMPLE_FIGURES

from sparkify_dwh import records, sources
from sparkify_dwh.warehouses.redshift import copy, parts, rejects

ROLE = "arn:aws:iam::123456789012:role/sparkify-dwh-copy"


@pytest.fixture
def s3(aws_env):
    return boto3.client("s3", endpoint_url=aws_env["AWS_ENDPOINT_URL"], region_name="us-west-2")


@pytest.fixture
def target(s3):
    bucket = "stage-" + uuid.uuid4().hex[:10]
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    load_id = "20260101T000000-abcdef12"
    return copy.Target(f"s3://{bucket}/loads", load_id, load_id, ROLE, "us-west-2")


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
    result = parts.compact(kind, files, str(root), target, slices, tmp_path, write_client=s3, workers=4, quiet=True)
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
    assert sum(c.read for c in result.files) == len(rows) + rejected
    assert sum(c.staged for c in result.files) == len(rows)
    fields = copy.EVENT_PART_FIELDS if kind == "events" else copy.SONG_PART_FIELDS
    assert all(set(r) == set(fields) for r in rows)
    doubles = ("length", "registration") if kind == "events" else ("duration", "artist_latitude")
    assert all(isinstance(r[d], str | None) for r in rows for d in doubles)  # numbers with a fraction as strings
    if kind == "events":
        assert all(r["start_time"] == r["ts"] for r in rows)
        assert all(type(r["ts"]) is int for r in rows)  # epoch milliseconds stay numbers, for TIMEFORMAT
        assert all(r["sessionId"] is None or str(int(r["sessionId"])) == r["sessionId"] for r in rows)
        assert json.loads(_get(s3, target.jsonpaths())) == copy.jsonpaths()


@pytest.mark.integration
def test_the_sample_compacts_to_its_known_figures(sample, target, s3, tmp_path):
    _, _, songs = _compact_and_read_back("songs", sample / "song_data", target, s3, tmp_path / "s", slices=4)
    _, _, events = _compact_and_read_back("events", sample / "log_data", target, s3, tmp_path / "e", slices=4)
    assert len(songs) == SAMPLE_FIGURES["staging_songs"]
    assert len(events) == SAMPLE_FIGURES["staging_events"]


class _ErrorDetail:
    """A cursor that answers sys_load_error_detail with `rows` (file names blank-padded to 256, as char(256))."""

    def __init__(self, rows):
        self.rows, self.params = rows, None

    def execute(self, sql, params):
        assert "FROM sys_load_error_detail WHERE file_name LIKE %s" in sql
        self.params = params

    def fetchall(self):
        prefix = self.params[0].rstrip("%")
        return [(f.ljust(256), *rest) for f, *rest in self.rows if f.startswith(prefix)]


@pytest.mark.integration
def test_copy_rejects_point_at_the_source_file_and_line(small_dataset, target, s3, tmp_path):
    result, manifest, rows = _compact_and_read_back("events", small_dataset / "log_data", target, s3, tmp_path)
    part = next(p for p in result.parts if p.records >= 3)
    line3 = json.loads(gzip.decompress(_get(s3, part.uri)).splitlines()[2])
    detail = [(part.uri, 3, "user_agent".ljust(127), 1204, "String length exceeds DDL length".ljust(512)),
              (part.uri, 3, "artist".ljust(127), 1204, "String length exceeds DDL length".ljust(512)),
              ("s3://another-load/events/part-0000.json.gz", 1, "x", 1, "not ours")]
    staged_before = sum(c.staged for c in result.files)

    found = rejects.read(_ErrorDetail(detail), result, target.uri("events"))
    (reject,) = rejects.apply(result, found)  # one reject per refused line, whatever its error count

    assert (reject.source, reject.line_number) == (line3["source_file"], line3["source_line"])
    assert reject.reason == ("rejected by COPY: String length exceeds DDL length (column user_agent, error 1204); "
                             "String length exceeds DDL length (column artist, error 1204)")
    assert json.loads(reject.raw_line) == line3
    assert sum(c.staged for c in result.files) == staged_before - 1
    (counted,) = [c for c in result.files if c.file.uri == line3["source_file"]]
    assert counted.read == counted.staged + counted.rejected


@pytest.mark.integration
def test_prove_reads_again_until_the_counts_add_up(small_dataset, target, s3, tmp_path):
    result, _, rows = _compact_and_read_back("events", small_dataset / "log_data", target, s3, tmp_path)
    part = result.loaded_parts[0]
    late = _ErrorDetail([])
    answers = iter([[], [], [(part.uri, 1, "c", 1204, "m")]])
    late.fetchall = lambda: [(f.ljust(256), *rest) for f, *rest in next(answers)]
    waited = []
    found = rejects.prove(late, result, target.uri("events"), len(rows) - 1, sleep=waited.append)
    assert len(found) == 1 and waited == [0, 1, 2]
    never = _ErrorDetail([])
    assert rejects.prove(never, result, target.uri("events"), len(rows) - 1, sleep=lambda _: None) is None
    assert rejects.prove(never, result, target.uri("events"), len(rows)) == []


@pytest.mark.integration
def test_a_load_s_staging_files_are_removed_and_no_other_s(small_dataset, target, s3, tmp_path):
    _compact_and_read_back("songs", small_dataset / "song_data", target, s3, tmp_path)
    bucket, _ = sources.split_s3(target.staging)
    other = "loads/another-load/keep.json.gz"
    s3.put_object(Bucket=bucket, Key=other, Body=b"")
    assert parts.remove(s3, target.uri()) > 0
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    assert keys == [other]


@pytest.mark.integration
def test_copy_names_the_staging_bucket_s_own_region(s3, aws_env):
    bucket = "stage-eu-" + uuid.uuid4().hex[:8]
    eu = boto3.client("s3", endpoint_url=aws_env["AWS_ENDPOINT_URL"], region_name="eu-central-1")
    eu.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    assert copy.bucket_region(s3, f"s3://{bucket}/loads") == "eu-central-1"


@pytest.mark.integration
@pytest.mark.parametrize("message,waits", [
    ("Load into table 'staging_events' failed.  Check 'stl_load_errors' system table for details.", True),
    ("Load into table 'staging_events' failed. Check 'sys_load_error_detail' system table for details.", True),
    ("S3ServiceException:Access Denied,Status 403", False),
    ("User arn:aws:redshift:us-west-2:123456789012:dbuser:c/admin is not authorized to assume IAM Role r", False)])
def test_after_a_failed_copy_rows_are_waited_for_only_when_the_message_points_to_them(
        small_dataset, target, s3, tmp_path, message, waits):
    result, _, _ = _compact_and_read_back("events", small_dataset / "log_data", target, s3, tmp_path)
    part = result.loaded_parts[0]
    detail = _ErrorDetail([])
    readings = iter([[(part.uri, 1, "c", 1204, "m")], [(part.uri, 1, "c", 1204, "m"), (part.uri, 2, "c", 1204, "m")],
                     [(part.uri, 1, "c", 1204, "m"), (part.uri, 2, "c", 1204, "m")]])  # the second node reports late
    detail.fetchall = lambda: [(f.ljust(256), *rest) for f, *rest in next(readings)]
    paused = []
    found = rejects.after_failure(detail, result, target.uri("events"), message, minimum=2, sleep=paused.append)
    if waits:
        assert [line for _, line, _ in found] == [1, 2] and paused == [0, 1, 2]  # read until two readings agree
    else:
        assert found == [] and paused == [] and detail.params is None  # nothing read, nothing waited for
