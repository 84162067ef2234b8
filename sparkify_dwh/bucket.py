"""The staging bucket provision makes when STAGING_PREFIX is unset: private, encrypted, emptied by itself.

All four public-access blocks on; default encryption SSE-S3 (with an S3 Bucket Key); a lifecycle rule
that expires every object EXPIRE_DAYS after it was written and aborts multipart uploads left open a
day (a load deletes its parts however it ends; the rule catches what a killed one left). The bucket is
tagged with the warehouse it was made for, and teardown deletes a bucket only when it bears that tag:
never one it did not create.
"""

from __future__ import annotations

from collections.abc import Callable

from .aws import TAGS, AwsError

PREFIX = "loads"
EXPIRE_DAYS = 3
CREATED_FOR = "sparkify-dwh:created-for"


def bucket_name(warehouse: str, account: str, region: str) -> str:
    """`<warehouse>-staging-<account>-<region>`, cut to S3's 63 characters from the warehouse's name."""
    tail = f"-staging-{account}-{region}"
    return warehouse[: 63 - len(tail)].rstrip("-") + tail


def _tags(s3, bucket: str) -> dict[str, str]:
    try:
        return {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}
    except s3.exceptions.ClientError as err:
        if err.response.get("Error", {}).get("Code") in {"NoSuchTagSet", "NoSuchTagSetError"}:
            return {}
        raise


def exists(s3, bucket: str) -> bool:
    try:
        s3.head_bucket(Bucket=bucket)
        return True
    except s3.exceptions.ClientError as err:
        if err.response.get("Error", {}).get("Code") in {"404", "NoSuchBucket", "NotFound"}:
            return False
        raise


def ensure(s3, bucket: str, warehouse: str, region: str, say: Callable[[str], None]) -> str:
    """Create (or find) the bucket and set its rules either way; returns the STAGING_PREFIX in it."""
    if exists(s3, bucket):
        if _tags(s3, bucket).get(CREATED_FOR) != warehouse:
            raise AwsError(f"bucket {bucket} exists and was not made by provision for {warehouse}: set STAGING_PREFIX "
                           "to a prefix of your own (see env.example)")
        say(f"bucket    {bucket}: exists, reused")
    else:
        request = {"Bucket": bucket}
        if region != "us-east-1":  # us-east-1 refuses its own name as a LocationConstraint
            request["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3.create_bucket(**request)
        say(f"bucket    {bucket}: created")
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={"Rules": [{
        "ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}, "BucketKeyEnabled": True}]})
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [{
        "ID": "expire-staging-parts", "Status": "Enabled", "Filter": {"Prefix": ""},
        "Expiration": {"Days": EXPIRE_DAYS}, "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 1}}]})
    s3.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": TAGS + [{"Key": CREATED_FOR, "Value": warehouse}]})
    say(f"bucket    {bucket}: private, encrypted (SSE-S3), parts expire after {EXPIRE_DAYS} days")
    return f"s3://{bucket}/{PREFIX}"


def delete(s3, bucket: str, warehouse: str, say: Callable[[str], None]) -> bool:
    """Empty and delete the bucket when provision made it for this warehouse; returns whether it did."""
    if not exists(s3, bucket):
        say(f"bucket    {bucket}: not found, nothing to delete")
        return False
    if _tags(s3, bucket).get(CREATED_FOR) != warehouse:
        say(f"bucket    {bucket}: not made by provision, left as it is")
        return False
    paginator = s3.get_paginator("list_object_versions")
    removed = 0
    for page in paginator.paginate(Bucket=bucket):
        keys = [{"Key": v["Key"], "VersionId": v["VersionId"]}
                for v in page.get("Versions", []) + page.get("DeleteMarkers", [])]
        for start in range(0, len(keys), 1000):
            s3.delete_objects(Bucket=bucket, Delete={"Objects": keys[start:start + 1000], "Quiet": True})
        removed += len(keys)
    s3.delete_bucket(Bucket=bucket)
    say(f"bucket    {bucket}: deleted, with its {removed} object(s)")
    return True
