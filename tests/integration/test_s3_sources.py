"""S3 sources on moto's server: paginated listing, hidden keys skipped, unsigned reads without credentials."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from conftest import unique

from sparkify_dwh import sources

pytestmark = pytest.mark.integration


def test_listing_pages_through_every_key_and_skips_hidden_ones(aws_env):
    import boto3

    s3 = boto3.client("s3")
    bucket = unique("many-files")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    keys = [f"song_data/A/{i % 7}/TR{i:05d}.json" for i in range(1050)]
    noise = ["song_data/.ipynb_checkpoints/TR00001-checkpoint.json", "song_data/A/_SUCCESS",
             "song_data/A/readme.txt", "song_data_old/A/TR1.json"]
    with ThreadPoolExecutor(16) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=bucket, Key=k, Body=b"{}"), keys + noise))
    found = sources.list_files(f"s3://{bucket}/song_data")
    assert len(found) == 1050  # more than one page of 1000
    assert [f.uri for f in found] == sorted(f"s3://{bucket}/{k}" for k in keys)
    assert all(f.size == 2 and f.version for f in found)
    read = sources.reader(f"s3://{bucket}/song_data")
    assert {body.read() for _, body in sources.read_parallel(found[:40], read)} == {b"{}"}


def test_a_missing_bucket_is_an_error_naming_it(aws_env):
    with pytest.raises(sources.SourceError, match=r"s3://no-such-bucket/log_data: cannot list \(NoSuchBucket\)"):
        sources.list_files("s3://no-such-bucket/log_data")


def test_without_credentials_requests_are_unsigned(monkeypatch, tmp_path, s3_endpoint):
    from botocore import UNSIGNED

    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-west-2")
    client = sources.s3_client()
    assert client.meta.config.signature_version is UNSIGNED
    assert client.meta.endpoint_url == s3_endpoint


def test_keys_with_url_characters_are_read_as_they_are(aws_env):
    import boto3

    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="odd-keys", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    keys = ["log_data/a#b-events.json", "log_data/c?d=1-events.json", "log_data/e%20f-events.json",
            "log_data/g h-events.json", "log_data/día-events.json"]
    for n, key in enumerate(keys):
        s3.put_object(Bucket="odd-keys", Key=key, Body=b'{"ts": %d}\n' % n)
    found = sources.list_files("s3://odd-keys/log_data")
    assert sorted(f.uri for f in found) == sorted(f"s3://odd-keys/{k}" for k in keys)
    read = sources.reader("s3://odd-keys/log_data")
    got = {f.uri: body.read() for f, body in sources.read_parallel(found, read)}
    assert got == {f"s3://odd-keys/{k}": b'{"ts": %d}\n' % n for n, k in enumerate(keys)}


class Reads:
    """Wraps the source reader to count the reads in flight. The first `together` reads each wait until that
    many are in flight at once (a barrier), so a load that reads fewer at a time never gets past them."""

    def __init__(self, monkeypatch, together: int):
        self.barrier = threading.Barrier(together, timeout=30)
        self.together, self.started, self.now, self.peak = together, 0, 0, 0
        self.lock = threading.Lock()
        real = sources.reader

        def reader(uri, client=None):
            read = real(uri, client)

            def counted(f):
                with self.lock:
                    self.started += 1
                    first = self.started <= together
                    self.now += 1
                    self.peak = max(self.peak, self.now)
                try:
                    if first:
                        self.barrier.wait()
                    return read(f)
                finally:
                    with self.lock:
                        self.now -= 1

            return counted

        monkeypatch.setattr(sources, "reader", reader)


def _load(monkeypatch, database, song_data, log_data, **env):
    from sparkify_dwh import pipeline
    from sparkify_dwh.config import load_settings

    for key, value in {"ENV_FILE": "/dev/null", "DATABASE_URL": database, "SONG_DATA": song_data,
                       "LOG_DATA": log_data, "MAX_ERRORS": "0", "FULL_REFRESH": "0", **env}.items():
        monkeypatch.setenv(key, value)
    return pipeline.load(load_settings(), quiet=True, say=lambda *_: None)


@pytest.mark.parametrize("workers", [1, 3])
def test_read_workers_files_are_read_at_once_from_s3(workers, aws_env, database, small_dataset, monkeypatch):
    import boto3

    s3 = boto3.client("s3")
    bucket = unique("read-workers")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    files = sorted(small_dataset.rglob("*.json"))
    for path in files:
        s3.upload_file(str(path), bucket, str(path.relative_to(small_dataset)))
    reads = Reads(monkeypatch, workers)
    summary = _load(monkeypatch, database, f"s3://{bucket}/song_data", f"s3://{bucket}/log_data",
                    READ_WORKERS=str(workers))
    assert sum(s.files_loaded for s in summary.staged) == reads.started == len(files)
    assert reads.peak == workers  # that many at once, never more


def test_a_local_folder_is_read_by_one_thread_whatever_read_workers(database, small_dataset, monkeypatch):
    reads = Reads(monkeypatch, 1)
    _load(monkeypatch, database, str(small_dataset / "song_data"), str(small_dataset / "log_data"), READ_WORKERS="8")
    assert reads.started == len(list(small_dataset.rglob("*.json"))) and reads.peak == 1
