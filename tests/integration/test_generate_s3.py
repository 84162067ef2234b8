"""The generator writes the same files to an s3:// prefix as to a folder, and the load reads them back."""

import boto3

from sparkify_dwh.generate import generate
from tests.conftest import run_cli, unique


def test_generate_to_s3_writes_the_same_bytes_and_loads(aws_env, env, tmp_path):
    s3 = boto3.client("s3")
    bucket = unique("gen")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    local = generate(tmp_path / "local", events=500, songs=12, seed=9)
    remote = generate(f"s3://{bucket}/sparkify", events=500, songs=12, seed=9)
    assert remote == local
    files = sorted(p for p in (tmp_path / "local").rglob("*.json"))
    for path in files:
        key = "sparkify/" + str(path.relative_to(tmp_path / "local"))
        assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == path.read_bytes()
    listed = s3.list_objects_v2(Bucket=bucket, Prefix="sparkify/")["KeyCount"]
    assert listed == len(files) == local.song_files + local.log_files
    proc = run_cli("load", {**env, **aws_env, "SONG_DATA": f"s3://{bucket}/sparkify/song_data",
                            "LOG_DATA": f"s3://{bucket}/sparkify/log_data"})
    assert f"{local.events:,}" in proc.stdout or str(local.events) in proc.stdout
