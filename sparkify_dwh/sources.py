"""Where the JSON comes from: a local folder or an `s3://bucket/prefix`.

Only `*.json` and `*.json.gz` files are read; hidden files and folders (such as `.ipynb_checkpoints`,
which real copies of this dataset carry, duplicating data) are skipped. Files are read in parallel
with a bounded window, so memory stays flat however many files there are.
"""

from __future__ import annotations

import gzip
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

SUFFIXES = (".json", ".json.gz")


class SourceError(RuntimeError):
    """A source is missing, empty or unreadable; the message names it."""


@dataclass(frozen=True)
class SourceFile:
    uri: str  # the file's full path or s3:// URI: its identity in the ledger
    size: int
    version: str  # S3 ETag, or the local modification time in nanoseconds

    @property
    def compressed(self) -> bool:
        return self.uri.endswith(".gz")


def unreadable(err: Exception) -> str:
    """The reason a whole file was not read, for its load_errors row (line 0)."""
    return f"cannot read the file: {type(err).__name__}: {err}"


def is_s3(uri: str) -> bool:
    return uri.startswith("s3://")


def split_s3(uri: str) -> tuple[str, str]:
    parts = urlsplit(uri)
    if not parts.netloc:
        raise SourceError(f"{uri}: an S3 source is s3://bucket/prefix")
    return parts.netloc, parts.path.lstrip("/")


def _wanted(relative: str) -> bool:
    parts = relative.split("/")
    if any(p.startswith(".") or p.startswith("_") for p in parts if p):
        return False
    return relative.endswith(SUFFIXES)


def s3_client():
    """A boto3 S3 client: credentials and region the usual boto3 way, `AWS_ENDPOINT_URL` honoured,
    and unsigned requests when no credentials are found (public buckets such as udacity-dend)."""
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    session = boto3.session.Session()
    config = Config(retries={"mode": "standard", "max_attempts": 10}, max_pool_connections=64)
    if session.get_credentials() is None:
        config = config.merge(Config(signature_version=UNSIGNED))
    return session.client("s3", config=config)


def list_files(uri: str, client=None) -> list[SourceFile]:
    """Every data file under `uri`, sorted by name. A missing or empty source is an error."""
    found = _list_s3(uri, client or s3_client()) if is_s3(uri) else _list_local(uri)
    if not found:
        raise SourceError(f"{uri}: no *.json or *.json.gz files found there")
    return sorted(found, key=lambda f: f.uri)


def _list_local(uri: str) -> list[SourceFile]:
    root = Path(uri).expanduser()
    if not root.exists():
        raise SourceError(f"{uri}: no such folder")
    if root.is_file():
        stat = root.stat()
        return [SourceFile(str(root.resolve()), stat.st_size, str(stat.st_mtime_ns))]
    # The root is resolved once and paths are joined below it: resolving each of many thousand files
    # would cost a system call per path component. Linked folders are not followed (as os.walk).
    out = []
    folders = [str(root.resolve())]
    while folders:
        with os.scandir(folders.pop()) as entries:
            for entry in entries:
                if entry.name.startswith((".", "_")):
                    continue
                if entry.is_dir():
                    if not entry.is_symlink():
                        folders.append(entry.path)
                elif entry.name.endswith(SUFFIXES) and entry.is_file():
                    stat = entry.stat()
                    path = os.path.realpath(entry.path) if entry.is_symlink() else entry.path
                    out.append(SourceFile(path, stat.st_size, str(stat.st_mtime_ns)))
    return out


def _list_s3(uri: str, client) -> list[SourceFile]:
    from botocore.exceptions import ClientError

    bucket, prefix = split_s3(uri)
    if prefix and not prefix.endswith("/") and not prefix.endswith(SUFFIXES):
        prefix += "/"
    out = []
    try:
        for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            for obj in page.get("Contents", ()):
                key = obj["Key"]
                if _wanted(key[len(prefix):] if key.startswith(prefix) else key):
                    out.append(SourceFile(f"s3://{bucket}/{key}", obj["Size"], obj["ETag"].strip('"')))
    except ClientError as err:
        code = err.response.get("Error", {}).get("Code", "error")
        raise SourceError(f"{uri}: cannot list ({code})") from None
    return out


def reader(uri: str, client=None) -> Callable[[SourceFile], bytes]:
    """A function that returns a file's bytes, decompressed."""
    if is_s3(uri):
        client = client or s3_client()

        def read(f: SourceFile) -> bytes:
            bucket, key = split_s3(f.uri)
            body = client.get_object(Bucket=bucket, Key=key)["Body"].read()
            return gzip.decompress(body) if f.compressed else body

    else:

        def read(f: SourceFile) -> bytes:
            with open(f.uri, "rb") as handle:
                data = handle.read()
            return gzip.decompress(data) if f.compressed else data

    return read


def read_parallel(
    files: Iterable[SourceFile],
    read: Callable[[SourceFile], bytes],
    workers: int = 16,
    max_bytes: int = 64 << 20,
) -> Iterator[tuple[SourceFile, bytes | Exception]]:
    """(file, bytes) in the order given, read `workers` at a time; a failed read yields its exception.

    At most 2 x `workers` files, and about `max_bytes` of them (by listed size), are in flight at once,
    so memory stays flat whether the source holds 15,000 tiny song files or a few large logs.
    """

    def safe(f: SourceFile) -> bytes | Exception:
        try:
            return read(f)
        except Exception as err:  # reported per file by the caller, never lost
            return err

    if workers <= 1:
        for f in files:
            yield f, safe(f)
        return
    window: deque = deque()
    in_flight = 0
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        for f in files:
            while window and (len(window) >= workers * 2 or in_flight + f.size > max_bytes):
                head, future = window.popleft()
                in_flight -= head.size
                yield head, future.result()
            window.append((f, pool.submit(safe, f)))
            in_flight += f.size
        while window:
            head, future = window.popleft()
            yield head, future.result()
