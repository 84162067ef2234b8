"""Where the JSON comes from: a local folder or an `s3://bucket/prefix`.

Only `*.json` and `*.json.gz` files are read; hidden files and folders (such as `.ipynb_checkpoints`,
which real copies of this dataset carry, duplicating data) are skipped. Files are read in parallel
with a bounded window, so memory stays flat however many files there are, and each file is read as
a stream of chunks (gzip decompressed as it streams), so memory stays flat however large a file is.

A local source file is a regular file under the source root. A link inside the root to a file inside
it is followed, and that file read once, under its own path. A link that leads outside the root (to a
file or a folder), a FIFO, a socket, a device or a broken link is not read: it is skipped and counted.
FOLLOW_SYMLINKS=1 follows links that leave the root (the file is known by the link's path); never into
/proc, /sys or /dev. Each file is opened again under the same rule (no link at the end, a regular
file, the real path listed), so a file swapped for a link after the listing is not read either.

A file is known in the ledger and the rejects by its identity (`SourceFile.uri`): its path, or
s3:// URI. A local name that is not valid UTF-8 is escaped (each byte that is not UTF-8 as \\xNN, and
its backslashes doubled), a stable form that no other such name shares. A path longer than the
ledger's key (2,048 bytes of UTF-8) is known by a shortened form (its start, a hash, its end) and is
one reject at line 0: it cannot be staged.

A file that cannot be read (the network, a permission, a file gone since the listing) is retried
(RETRY_WAITS); if it still cannot be read, `Unreadable` is raised and the load fails naming it. A file
whose content is broken (not gzip, a truncated gzip) raises `Broken`: one reject at line 0.
"""

from __future__ import annotations

import contextlib
import errno
import gzip
import hashlib
import io
import os
import random
import stat
import time
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

SUFFIXES = (".json", ".json.gz")
PATH_LIMIT = 2048  # bytes of UTF-8: source_file is VARCHAR(2048), which Redshift counts in bytes
READ_CHUNK = 1 << 20  # decompressed bytes handed to the parser at a time
PREFETCH_LIMIT = 8 << 20  # S3 objects up to this size are fetched whole by the read workers; larger ones stream
# Waits, in seconds, between the attempts to read a file (each wait +-25%): 6 attempts over about 15 s.
RETRY_WAITS = (0.5, 1.0, 2.0, 4.0, 8.0)
LINK_OUT = "link to a file outside the source"  # what a skipped entry was, as the summary counts them
LINK_OUT_FOLDER = "link to a folder outside the source"
SYSTEM_FOLDERS = ("/proc", "/sys", "/dev")  # never read, even through a link FOLLOW_SYMLINKS allows
_sleep = time.sleep


class SourceError(RuntimeError):
    """A source is missing, empty or unreadable; the message names it."""


class Overlapping(SourceError):
    """SONG_DATA and LOG_DATA overlap: the settings are wrong, not a source (exit code 2)."""


class Unreadable(SourceError):
    """A source file could not be read after its retries (the network, a permission, a file gone since the
    listing): the load fails naming it; nothing of it is staged or rejected, and the next load reads it again."""


class Broken(Exception):
    """A file whose content cannot be read as data (not gzip, a truncated gzip), or that cannot be staged (a
    path longer than the ledger's key): one reject at line 0, which counts against MAX_ERRORS."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class SourceFile:
    uri: str  # the file's identity in the ledger and the rejects: its path (escaped, shortened) or s3:// URI
    size: int
    version: str  # S3 ETag, or the local modification time in nanoseconds
    location: str = ""  # where it is opened, when not `uri`: a name not valid UTF-8, a followed link, a long path
    problem: str = ""  # why it cannot be staged at all (read as a reject at line 0)

    @property
    def where(self) -> str:
        return self.location or self.uri

    @property
    def compressed(self) -> bool:
        return self.uri.endswith(".gz")


@dataclass
class Listing:
    """The data files of a source, and what was found there but not read: (path, reason) each."""

    files: list[SourceFile]
    skipped: list[tuple[str, str]] = field(default_factory=list)


def unreadable(err: Exception) -> str:
    """The reason a whole file was not read, for its load_errors row (line 0)."""
    return f"cannot read the file: {type(err).__name__}: {err}"


def is_s3(uri: str) -> bool:
    return uri.startswith("s3://")


def split_s3(uri: str) -> tuple[str, str]:
    """(bucket, key or prefix) of an s3:// URI; the key as it is (a key may hold '#', '?' or '%')."""
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    if not is_s3(uri) or not bucket:
        raise SourceError(f"{uri}: an S3 source is s3://bucket/prefix")
    return bucket, key.lstrip("/")


def _wanted(relative: str) -> bool:
    parts = relative.split("/")
    if any(p.startswith(".") or p.startswith("_") for p in parts if p):
        return False
    return relative.endswith(SUFFIXES)


def s3_client():
    """A boto3 S3 client: credentials and region the usual boto3 way, `AWS_ENDPOINT_URL` honoured,
    and unsigned requests when no credentials are found (public buckets such as udacity-dend).
    botocore retries each request 3 times (standard mode); a file's reads are retried again on top
    (RETRY_WAITS), so a burst of failures that empties botocore's shared retry quota loses nothing."""
    import boto3
    from botocore import UNSIGNED
    from botocore.config import Config

    session = boto3.session.Session()
    config = Config(retries={"mode": "standard", "max_attempts": 3}, max_pool_connections=64)
    if session.get_credentials() is None:
        config = config.merge(Config(signature_version=UNSIGNED))
    return session.client("s3", config=config)


# --- Listing ---------------------------------------------------------------------------------------

def list_source(uri: str, client=None, *, follow_links: bool = False) -> Listing:
    """Every data file under `uri`, sorted by identity, and what was skipped. A missing or empty source is an
    error."""
    listing = _list_s3(uri, client or s3_client()) if is_s3(uri) else _list_local(uri, follow_links)
    if not listing.files:
        raise SourceError(f"{uri}: no *.json or *.json.gz files found there")
    listing.files.sort(key=lambda f: f.uri)
    listing.skipped.sort()
    return listing


def list_files(uri: str, client=None, *, follow_links: bool = False) -> list[SourceFile]:
    """Every data file under `uri`, sorted by name. A missing or empty source is an error."""
    return list_source(uri, client, follow_links=follow_links).files


def identity(path: str) -> tuple[str, str]:
    """(identity, problem) of a local path: the path itself when it is valid UTF-8 and fits the ledger's key;
    else its escaped and, when too long, shortened form, with the reason it cannot be staged."""
    try:
        size = len(path.encode("utf-8"))
        name = path
    except UnicodeEncodeError:  # bytes that are not UTF-8, which os.scandir gives as surrogates
        name = os.fsencode(path).replace(b"\\", b"\\\\").decode("utf-8", "backslashreplace")
        size = len(name.encode("utf-8"))
    if size <= PATH_LIMIT:
        return name, ""
    raw = name.encode("utf-8")
    digest = hashlib.sha256(raw).hexdigest()[:16]
    short = f"{raw[:960].decode('utf-8', 'ignore')}…[{digest}]…{raw[-960:].decode('utf-8', 'ignore')}"
    return short, (f"the path is {size:,} bytes of UTF-8, longer than the ledger's key (at most {PATH_LIMIT:,}): "
                   "the file cannot be staged; move it to a shorter path")


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def _list_local(uri: str, follow_links: bool) -> Listing:
    root = Path(uri).expanduser()
    if not root.exists():
        raise SourceError(f"{uri}: no such folder")
    if not root.is_dir():
        st = root.stat()
        if not stat.S_ISREG(st.st_mode):
            raise SourceError(f"{uri}: not a folder or a regular file")
        real = os.path.realpath(root)
        name, problem = identity(real)
        return Listing([SourceFile(name, st.st_size, str(st.st_mtime_ns), real if name != real else "", problem)])
    # The root is resolved once and paths are joined below it: resolving each of many thousand files
    # would cost a system call per path component. Linked folders inside the root are not followed (their
    # files are listed where they are); those that leave it are followed only with FOLLOW_SYMLINKS=1.
    base = os.path.realpath(root)
    found: dict[str, SourceFile] = {}
    skipped: list[tuple[str, str]] = []
    walked = {base}
    folders = [(base, True)]  # (folder, under the real root: its entries' paths are their real paths)

    escaped: dict[str, str] = {}  # identity -> path, of the names escaped

    def add(path: str, real: str, st: os.stat_result) -> None:
        name, problem = identity(path)
        f = SourceFile(name, st.st_size, str(st.st_mtime_ns), real if name != real else "", problem)
        other = found.get(name)
        if other is None:
            found[name] = f
            if name != path:
                escaped[name] = path
        elif other.where != f.where:  # a name that is its own and another's escaped form: the escaped one yields
            if name != path:
                skipped.append((path, "escaped name shared with another file"))
            else:
                skipped.append((escaped.pop(name), "escaped name shared with another file"))
                found[name] = f

    while folders:
        folder, real_folder = folders.pop()
        try:
            entries = os.scandir(folder)
        except OSError as err:  # a folder that cannot be listed: its files would be missed without a word
            raise SourceError(f"{folder}: cannot be listed ({type(err).__name__}: {err.strerror or err})") from None
        with entries:
            for entry in entries:
                name = entry.name
                if name.startswith((".", "_")):
                    continue
                if entry.is_symlink():
                    _link(entry, base, follow_links, walked, folders, add, skipped)
                elif entry.is_dir():
                    folders.append((entry.path, real_folder))
                elif name.endswith(SUFFIXES):
                    if entry.is_file():
                        real = entry.path if real_folder else os.path.realpath(entry.path)
                        try:
                            st = entry.stat()
                        except OSError:  # gone since the folder was read: the next load sees what is there
                            skipped.append((entry.path, "gone while the folder was listed"))
                            continue
                        add(entry.path, real, st)
                    else:
                        skipped.append((entry.path, "FIFO, socket or device"))
    return Listing(list(found.values()), skipped)


def _link(entry: os.DirEntry, base: str, follow: bool, walked: set, folders: list, add, skipped: list) -> None:
    real = os.path.realpath(entry.path)
    inside = _inside(real, base)
    try:
        st = os.stat(real)
    except OSError:
        if entry.name.endswith(SUFFIXES):
            skipped.append((entry.path, "broken link"))
        return
    if not inside and any(_inside(real, system) for system in SYSTEM_FOLDERS):
        skipped.append((entry.path, "link into /proc, /sys or /dev"))
        return
    if stat.S_ISDIR(st.st_mode):
        if inside:
            return  # its files are listed where they are
        if not follow:
            skipped.append((entry.path, LINK_OUT_FOLDER))
        elif real not in walked:
            walked.add(real)
            folders.append((entry.path, False))
        return
    if not entry.name.endswith(SUFFIXES):
        return
    if not stat.S_ISREG(st.st_mode):
        skipped.append((entry.path, "link to what is not a regular file"))
    elif inside:
        add(real, real, st)  # read once, under its own path
    elif follow:
        add(entry.path, real, st)
    else:
        skipped.append((entry.path, LINK_OUT))


def _list_s3(uri: str, client) -> Listing:
    from botocore.exceptions import BotoCoreError, ClientError

    bucket, prefix = split_s3(uri)
    if prefix and not prefix.endswith("/") and not prefix.endswith(SUFFIXES):
        prefix += "/"
    for attempt, wait in enumerate((0.0, *RETRY_WAITS)):
        _sleep(_jitter(wait))
        out = []
        try:
            for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
                for obj in page.get("Contents", ()):
                    key = obj["Key"]
                    if _wanted(key[len(prefix):] if key.startswith(prefix) else key):
                        out.append(SourceFile(f"s3://{bucket}/{key}", obj["Size"], obj["ETag"].strip('"')))
            return Listing(out)
        except ClientError as err:
            code = err.response.get("Error", {}).get("Code", "error")
            if not _transient_code(code) or attempt == len(RETRY_WAITS):
                raise SourceError(f"{uri}: cannot list ({code})") from None
        except BotoCoreError as err:
            if attempt == len(RETRY_WAITS):
                raise SourceError(f"{uri}: cannot list ({type(err).__name__}: {err})") from None
    raise AssertionError("unreachable")


def _transient_code(code: str) -> bool:
    """Whether an S3 error code may go away when asked again (not a missing bucket, not a bad request)."""
    return code not in {"NoSuchBucket", "InvalidBucketName", "AuthorizationHeaderMalformed", "InvalidAccessKeyId",
                        "SignatureDoesNotMatch", "PermanentRedirect", "InvalidRequest"}


def apart(song_data: str, log_data: str) -> None:
    """Refuse sources that overlap (one inside or equal to the other): each file would be read as both kinds."""
    def key(uri: str) -> tuple[str, str]:
        if is_s3(uri):
            bucket, prefix = split_s3(uri)
            return f"s3://{bucket}", prefix if not prefix or prefix.endswith(("/",) + SUFFIXES) else prefix + "/"
        return "", os.path.realpath(os.path.expanduser(uri)).rstrip(os.sep) + os.sep

    (song_place, song), (log_place, log) = key(song_data), key(log_data)
    if song_place == log_place and (song.startswith(log) or log.startswith(song)):
        how = ("are the same place" if song == log else
               "SONG_DATA is inside LOG_DATA" if song.startswith(log) else "LOG_DATA is inside SONG_DATA")
        raise Overlapping(f"SONG_DATA={song_data} and LOG_DATA={log_data} overlap ({how}): every file would be read "
                          "as both a song file and a log file; point them at two separate folders or prefixes")


# --- Reading ---------------------------------------------------------------------------------------

def _jitter(wait: float) -> float:
    return wait * random.uniform(0.75, 1.25) if wait else 0.0


class _Retries:
    """The attempts at one file: after a failed open or read, wait (RETRY_WAITS) and let the caller try again,
    or raise Unreadable naming the file once they are spent or the error is not one that passes."""

    def __init__(self, f: SourceFile, transient: Callable[[BaseException], bool]):
        self.file, self.transient, self.attempt, self.started = f, transient, 0, time.monotonic()

    def after(self, err: BaseException) -> None:
        if isinstance(err, Unreadable):
            raise err
        if not self.transient(err) or self.attempt >= len(RETRY_WAITS):
            spent = time.monotonic() - self.started
            said = " ".join(str(err).split())  # one line, whatever the error's own text holds
            raise Unreadable(
                f"{self.file.uri}: cannot be read ({type(err).__name__}: {said}) after {self.attempt + 1} attempts "
                f"over {spent:.0f} s; the load stopped: nothing of it was staged or rejected, and the next load reads "
                "it again") from None
        _sleep(_jitter(RETRY_WAITS[self.attempt]))
        self.attempt += 1


class _Raw(io.RawIOBase):
    """A file's bytes as they are stored, read with retries: on an error the file is opened again where the
    reading stopped."""

    def __init__(self, f: SourceFile):
        self.file, self.offset, self.handle, self.retries = f, 0, None, None

    def readable(self) -> bool:
        return True

    def _open(self):  # the stored bytes from self.offset on
        raise NotImplementedError

    @staticmethod
    def transient(err: BaseException) -> bool:
        raise NotImplementedError

    def read(self, size: int = -1) -> bytes:
        while True:
            try:
                if self.handle is None:
                    self.handle = self._open()
                data = self.handle.read(size if size is not None and size >= 0 else None)
            except Unreadable:
                raise
            except Exception as err:  # noqa: BLE001 - classified by transient(); the rest is raised there
                self.close_handle()
                self.retries = self.retries or _Retries(self.file, self.transient)
                self.retries.after(err)
                continue
            self.offset += len(data)
            return data

    def readall(self) -> bytes:
        return b"".join(iter(lambda: self.read(READ_CHUNK), b""))

    def close_handle(self) -> None:
        if self.handle is not None:
            with contextlib.suppress(Exception):  # closing a broken connection
                self.handle.close()
            self.handle = None

    def close(self) -> None:
        self.close_handle()
        super().close()


_OPEN_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
_PROC_FD = os.path.isdir("/proc/self/fd")


def _open_checked(f: SourceFile) -> tuple[int, int]:
    """(descriptor, size) of a local source file opened under the listing's rule: no link at the end of the
    path (O_NOFOLLOW), a regular file (not a FIFO put there since), and the real path the listing found (no
    folder on the way swapped for a link)."""
    path = f.where
    fd = os.open(path, _OPEN_FLAGS)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Unreadable(f"{f.uri}: is no longer a regular file; not read")
        if _PROC_FD and os.readlink(f"/proc/self/fd/{fd}") != path:
            raise Unreadable(f"{f.uri}: now leads elsewhere than the listing found; not read")
    except BaseException:
        os.close(fd)
        raise
    return fd, st.st_size


def _local_transient(err: BaseException) -> bool:
    return isinstance(err, OSError) and err.errno != errno.ELOOP  # ELOOP: a link swapped in since the listing


class _LocalRaw(_Raw):
    transient = staticmethod(_local_transient)

    def _open(self):
        fd, _ = _open_checked(self.file)
        handle = io.FileIO(fd, "rb", closefd=True)
        if self.offset:
            handle.seek(self.offset)
        return handle


def _local_whole(f: SourceFile) -> bytes:
    """A small local file at once (a song file), with the same checks and retries."""
    retries = None
    while True:
        try:
            fd, size = _open_checked(f)
            try:
                data = os.read(fd, size + 1)
                if len(data) > size:  # it grew since: the rest too
                    data += io.FileIO(fd, "rb", closefd=False).readall()
            finally:
                os.close(fd)
            return data
        except Unreadable:
            raise
        except Exception as err:  # noqa: BLE001 - classified by _local_transient
            retries = retries or _Retries(f, _local_transient)
            retries.after(err)


class _S3Raw(_Raw):
    def __init__(self, f: SourceFile, client):
        super().__init__(f)
        self.client, self.etag, self.length = client, None, f.size
        self.bucket, self.key = split_s3(f.uri)

    def _open(self):
        if self.etag is not None and self.offset >= self.length:
            return io.BytesIO(b"")
        args = {"Bucket": self.bucket, "Key": self.key}
        if self.etag is not None:  # the rest of the same object, from where the reading stopped
            args.update(Range=f"bytes={self.offset}-", IfMatch=self.etag)
        response = self.client.get_object(**args)
        if self.etag is None:  # the object as this first answer has it (perhaps newer than the listing)
            self.etag, self.length = response.get("ETag"), response.get("ContentLength", self.file.size)
        return response["Body"]

    @staticmethod
    def transient(err: BaseException) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError
        from urllib3.exceptions import HTTPError

        if isinstance(err, ClientError):
            code = err.response.get("Error", {}).get("Code", "")
            return code not in {"PreconditionFailed", "InvalidRange", "412", "416"}
        return isinstance(err, BotoCoreError | HTTPError | OSError)


class Body:
    """One source file's content, decompressed, as chunks (iterate it) or whole (`read`, for small files).
    Raises Broken when the content is not what it claims (not gzip, truncated) and Unreadable when the file
    cannot be read. `source` is the stored bytes, read already (a small file), or a stream of them."""

    def __init__(self, f: SourceFile, source: bytes | io.RawIOBase):
        self.file, self.source = f, source

    def __iter__(self) -> Iterator[bytes]:
        if type(self.source) is bytes and not self.file.compressed:
            return iter((self.source,) if self.source else ())
        return self._stream()

    def _stream(self) -> Iterator[bytes]:
        raw = io.BytesIO(self.source) if type(self.source) is bytes else self.source
        stream = gzip.GzipFile(fileobj=raw, mode="rb") if self.file.compressed else raw
        try:
            while True:
                try:
                    block = stream.read(READ_CHUNK)
                except (gzip.BadGzipFile, EOFError, zlib.error) as err:
                    raise Broken(unreadable(err)) from None
                if not block:
                    return
                yield block
        finally:
            raw.close()

    def read(self) -> bytes:
        return b"".join(self)


def _whole(raw: _Raw) -> bytes:
    try:
        return raw.read(-1)
    finally:
        raw.close()


def reader(uri: str, client=None) -> Callable[[SourceFile], Body]:
    """A function that opens a file of the source `uri` (Broken raised for a file that cannot be staged).
    A small file is read whole at once (by the read workers, from S3: many small GETs in flight hide their
    latency); a larger one streams as it is parsed."""
    if is_s3(uri):
        client = client or s3_client()

        def read(f: SourceFile) -> Body:
            if f.problem:
                raise Broken(f.problem)
            raw = _S3Raw(f, client)
            return Body(f, _whole(raw) if f.size <= PREFETCH_LIMIT else raw)

    else:

        def read(f: SourceFile) -> Body:
            if f.problem:
                raise Broken(f.problem)
            if f.size <= READ_CHUNK:
                return Body(f, _local_whole(f))
            raw = _LocalRaw(f)
            raw.read(0)  # opened now, so that a file that cannot be opened fails here
            return Body(f, raw)

    return read


def read_parallel(
    files: Iterable[SourceFile],
    read: Callable[[SourceFile], Body],
    workers: int = 16,
    max_bytes: int = 64 << 20,
) -> Iterator[tuple[SourceFile, Body | Exception]]:
    """(file, body) in the order given, opened `workers` at a time; a failed open yields its exception.

    At most 2 x `workers` files, and about `max_bytes` of them (by listed size, for those fetched whole),
    are in flight at once, so memory stays flat whether the source holds 15,000 tiny song files or a few
    large logs.
    """

    def safe(f: SourceFile) -> Body | Exception:
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
    pool = ThreadPoolExecutor(max_workers=max(1, workers))
    try:
        for f in files:
            weight = f.size if f.size <= PREFETCH_LIMIT else 0
            while window and (len(window) >= workers * 2 or in_flight + weight > max_bytes):
                head, future, held = window.popleft()
                in_flight -= held
                yield head, future.result()
            window.append((f, pool.submit(safe, f), weight))
            in_flight += weight
        while window:
            head, future, _ = window.popleft()
            yield head, future.result()
    finally:  # the caller stopped (a file it could not read): the reads not started yet are not made
        pool.shutdown(wait=True, cancel_futures=True)
