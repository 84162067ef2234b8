"""Listing sources: what is read and what is skipped; missing and empty sources are errors."""

import gzip
import io
import os
from pathlib import Path

import pytest

from sparkify_dwh import sources


def test_only_json_files_outside_hidden_folders(tmp_path):
    (tmp_path / "A" / "B").mkdir(parents=True)
    (tmp_path / "A" / "B" / "TR1.json").write_text("{}")
    (tmp_path / "A" / "TR2.json.gz").write_bytes(gzip.compress(b"{}"))
    (tmp_path / "A" / ".ipynb_checkpoints").mkdir()
    (tmp_path / "A" / ".ipynb_checkpoints" / "TR1-checkpoint.json").write_text("{}")
    (tmp_path / "A" / ".hidden.json").write_text("{}")
    (tmp_path / "A" / "notes.txt").write_text("x")
    found = sources.list_files(str(tmp_path))
    assert [f.uri.removeprefix(str(tmp_path)) for f in found] == ["/A/B/TR1.json", "/A/TR2.json.gz"]
    read = sources.reader(str(tmp_path))
    assert [body.read() for _, body in sources.read_parallel(found, read, workers=2)] == [b"{}", b"{}"]


def test_a_missing_source_is_an_error_naming_it(tmp_path):
    with pytest.raises(sources.SourceError, match="nowhere: no such folder"):
        sources.list_files(str(tmp_path / "nowhere"))


def test_an_empty_source_is_an_error_naming_it(tmp_path):
    (tmp_path / "empty" / ".ipynb_checkpoints").mkdir(parents=True)
    (tmp_path / "empty" / ".ipynb_checkpoints" / "x.json").write_text("{}")
    with pytest.raises(sources.SourceError, match="empty: no \\*.json or \\*.json.gz files found"):
        sources.list_files(str(tmp_path / "empty"))


def test_parallel_reads_keep_order_and_report_failures(tmp_path, monkeypatch):
    monkeypatch.setattr(sources, "_sleep", lambda _: None)
    files = [sources.SourceFile(str(tmp_path / f"{i}.json"), 0, "v") for i in range(50)]
    for f in files[::2]:
        Path(f.uri).write_text(f.uri)
    out = list(sources.read_parallel(files, sources.reader(str(tmp_path)), workers=4))
    assert [f for f, _ in out] == files
    assert all(isinstance(d, sources.Body) == (i % 2 == 0) for i, (_, d) in enumerate(out))
    assert all(isinstance(d, sources.Unreadable) and f.uri in str(d) for f, d in out[1::2])


def test_parallel_reads_bound_the_bytes_in_flight(tmp_path):
    files = [sources.SourceFile(f"f{i}", 10, "v") for i in range(20)]
    started = []

    def read(f):
        started.append(f.uri)
        return b"x" * 10

    consumed = 0
    for _ in sources.read_parallel(files, read, workers=8, max_bytes=30):
        consumed += 1
        # never more than 3 files (30 bytes) read ahead of what the caller has taken
        assert len(started) - consumed <= 3
    assert consumed == 20


# --- A source file is a regular file under the source root ----------------------------------------

CANARY = "canary-" + os.urandom(8).hex()


@pytest.fixture
def no_waits(monkeypatch):
    waits = []
    monkeypatch.setattr(sources, "_sleep", waits.append)
    return waits


@pytest.fixture
def planted(tmp_path):
    """A source folder with one file of each kind a folder can hold, and a secret beside it."""
    root, outside = tmp_path / "logs", tmp_path / "elsewhere"
    (root / "2018" / "11").mkdir(parents=True)
    (root / ".ipynb_checkpoints").mkdir()
    outside.mkdir()
    day = root / "2018" / "11" / "day.json"
    day.write_text('{"ts": 1}\n')
    (root / ".ipynb_checkpoints" / "hidden.json").write_text('{"ts": 2}\n')
    (outside / "secret.json").write_text(f'{{"ts": 3, "song": "{CANARY}"}}\n')
    (outside / "folder").mkdir()
    (outside / "folder" / "more.json").write_text('{"ts": 4}\n')
    (root / "again.json").symlink_to(day)  # inside: read once, as day.json
    (root / "relative.json").symlink_to("2018/11/day.json")
    (root / "hidden-link.json").symlink_to(root / ".ipynb_checkpoints" / "hidden.json")  # inside: followed
    (root / "secret.json").symlink_to(outside / "secret.json")
    (root / "environ.json").symlink_to("/proc/self/environ")
    (root / "null.json").symlink_to("/dev/null")
    (root / "gone.json").symlink_to(tmp_path / "nothing.json")
    (root / "linked-folder").symlink_to(outside / "folder")
    (root / "loop").symlink_to(root)  # a folder inside: its files are listed where they are
    os.mkfifo(root / "fifo.json")
    return root, outside


def test_only_regular_files_under_the_root_are_read_and_each_once(planted):
    root, _ = planted
    listing = sources.list_source(str(root))
    real = os.path.realpath(root)
    assert [f.uri for f in listing.files] == [f"{real}/.ipynb_checkpoints/hidden.json", f"{real}/2018/11/day.json"]
    assert sorted(reason for _, reason in listing.skipped) == sorted([
        "link into /proc, /sys or /dev", "link into /proc, /sys or /dev", "broken link", sources.LINK_OUT,
        sources.LINK_OUT_FOLDER, "FIFO, socket or device"])
    read = sources.reader(str(root))
    text = b"".join(read(f).read() for f in listing.files)
    assert CANARY.encode() not in text and b"PATH=" not in text


def test_follow_symlinks_reads_links_that_leave_the_root_under_their_own_path_but_never_proc(planted):
    root, outside = planted
    listing = sources.list_source(str(root), follow_links=True)
    real = os.path.realpath(root)
    names = [f.uri for f in listing.files]
    assert f"{real}/secret.json" in names and f"{real}/linked-folder/more.json" in names
    secret = next(f for f in listing.files if f.uri.endswith("/secret.json"))
    assert secret.where == os.path.realpath(outside / "secret.json")
    assert CANARY.encode() in sources.reader(str(root))(secret).read()
    assert sorted(r for _, r in listing.skipped) == ["FIFO, socket or device", "broken link",
                                                      "link into /proc, /sys or /dev", "link into /proc, /sys or /dev"]


def test_a_file_swapped_for_a_link_after_the_listing_is_not_read(tmp_path, no_waits):
    (tmp_path / "src").mkdir()
    victim = tmp_path / "src" / "day.json"
    victim.write_text('{"ts": 1}\n')
    (tmp_path / "secret.json").write_text(CANARY)
    (f,) = sources.list_files(str(tmp_path / "src"))
    victim.unlink()
    victim.symlink_to(tmp_path / "secret.json")
    with pytest.raises(sources.Unreadable, match="day.json") as err:
        sources.reader(str(tmp_path / "src"))(f).read()
    assert CANARY not in str(err.value)
    # a folder on the way swapped for a link to another folder holding a file of the same name
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / "a" / "b" / "day.json").write_text('{"ts": 1}\n')
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "day.json").write_text(CANARY)
    (g,) = sources.list_files(str(tmp_path / "a"))
    (tmp_path / "a" / "b").rename(tmp_path / "a" / "old")
    (tmp_path / "a" / "b").symlink_to(tmp_path / "other")
    with pytest.raises(sources.Unreadable, match="leads elsewhere"):
        sources.reader(str(tmp_path / "a"))(g).read()


def test_a_name_that_is_not_utf8_has_a_stable_unique_escaped_identity(tmp_path):
    folder = os.fsencode(tmp_path)
    names = [b"caf\xe9.json", b"caf\\xe9.json", b"caf\xe9\\.json", b"ok.json"]
    for i, name in enumerate(names):
        with open(folder + b"/" + name, "wb") as out:
            out.write(b'{"ts": %d}\n' % i)
    listing = sources.list_source(str(tmp_path))
    first = listing.files
    assert [f.uri for f in first] == [f.uri for f in sources.list_files(str(tmp_path))]  # stable
    uris = [f.uri.removeprefix(os.path.realpath(tmp_path) + "/") for f in first]
    # the byte \xe9 is written \xe9 and a backslash beside it doubled: no two names that are not UTF-8 share a form
    assert uris == ["caf\\xe9.json", "caf\\xe9\\\\.json", "ok.json"]
    assert all(f.uri.encode("utf-8") for f in first)  # every identity is valid UTF-8
    read = sources.reader(str(tmp_path))
    # caf\xe9.json spelled in ASCII keeps its own name; the name that escapes to it is skipped and counted
    assert [read(f).read() for f in first] == [b'{"ts": 1}\n', b'{"ts": 2}\n', b'{"ts": 3}\n']
    assert [(os.fsencode(path)[-9:], why) for path, why in listing.skipped] == [
        (b"caf\xe9.json", "escaped name shared with another file")]


def test_a_path_too_long_for_the_ledger_is_a_problem_named_in_a_shorter_form(tmp_path):
    folder = tmp_path
    while len(str(folder).encode()) < 2200:
        folder = folder / ("é" * 60)
    folder.mkdir(parents=True)
    (folder / "day.json").write_text('{"ts": 1}\n')
    (f,) = sources.list_files(str(tmp_path))
    assert len(f.uri.encode("utf-8")) <= sources.PATH_LIMIT and f.uri.endswith("/day.json")
    assert f.uri.startswith(os.path.realpath(tmp_path)) and "longer than the ledger's key" in f.problem
    assert f.uri == sources.list_files(str(tmp_path))[0].uri
    with pytest.raises(sources.Broken, match="bytes of UTF-8, longer than the ledger's key"):
        sources.reader(str(tmp_path))(f)


def test_a_file_gone_since_the_listing_is_retried_then_unreadable_naming_it(tmp_path, no_waits):
    (tmp_path / "day.json").write_text('{"ts": 1}\n')
    (f,) = sources.list_files(str(tmp_path))
    (tmp_path / "day.json").unlink()
    with pytest.raises(sources.Unreadable) as err:
        sources.reader(str(tmp_path))(f)
    assert str(err.value).startswith(f"{f.uri}: cannot be read (FileNotFoundError")
    assert f"after {len(sources.RETRY_WAITS) + 1} attempts" in str(err.value)
    assert len(no_waits) == len(sources.RETRY_WAITS)


def test_a_file_back_before_the_retries_are_spent_is_read(tmp_path, monkeypatch):
    (tmp_path / "day.json").write_text('{"ts": 1}\n')
    (f,) = sources.list_files(str(tmp_path))
    (tmp_path / "day.json").rename(tmp_path / "away")
    monkeypatch.setattr(sources, "_sleep", lambda _: (tmp_path / "away").rename(tmp_path / "day.json"))
    assert sources.reader(str(tmp_path))(f).read() == b'{"ts": 1}\n'


@pytest.mark.parametrize("body", [b"this is not gzip", gzip.compress(b'{"ts": 1}\n' * 1000)[:-30],
                                  gzip.compress(b"x" * 100)[:12] + b"\xff" * 50])
def test_a_gzip_whose_content_is_broken_is_broken_not_unreadable(tmp_path, body, no_waits):
    (tmp_path / "day.json.gz").write_bytes(body)
    (f,) = sources.list_files(str(tmp_path))
    with pytest.raises(sources.Broken, match="cannot read the file"):
        sources.reader(str(tmp_path))(f).read()
    assert no_waits == []  # not retried: reading it again gives the same


def test_a_large_gzip_streams_in_bounded_chunks(tmp_path):
    import tracemalloc

    from sparkify_dwh import records

    line = b'{"ts": 1541105830796, "userId": "39", "page": "NextSong", "song": "' + b"x" * 200 + b'"}\n'
    with gzip.open(tmp_path / "big.json.gz", "wb", compresslevel=1) as out:
        for _ in range(48):  # 49 MB once expanded, mostly runs of blanks
            out.write(line * 100 + b" " * (1 << 20) + b"\n")
    (f,) = sources.list_files(str(tmp_path))
    tracemalloc.start()
    rows = sum(1 for _ in records.events(f.uri, sources.reader(str(tmp_path))(f)))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert rows == 4_800
    assert peak < 16 << 20, f"peak {peak / 2**20:.0f} MiB"


def test_overlapping_sources_are_refused_in_one_line(tmp_path):
    (tmp_path / "data" / "songs").mkdir(parents=True)
    for song, log in [(tmp_path / "data", tmp_path / "data"), (tmp_path / "data" / "songs", tmp_path / "data"),
                      (tmp_path / "data", tmp_path / "data" / "songs"), ("s3://b/data", "s3://b/data/songs/"),
                      ("s3://b", "s3://b/logs"), ("s3://b/logs/", "s3://b/logs")]:
        with pytest.raises(sources.SourceError, match="overlap") as err:
            sources.apart(str(song), str(log))
        assert "\n" not in str(err.value)
    for song, log in [(tmp_path / "data" / "songs", tmp_path / "data" / "songs2"), ("s3://b/song_data", "s3://b/song"),
                      ("s3://a/data", "s3://b/data"), (tmp_path / "data", "s3://b" + str(tmp_path / "data"))]:
        sources.apart(str(song), str(log))
    (tmp_path / "alias").symlink_to(tmp_path / "data")
    with pytest.raises(sources.SourceError, match="are the same place"):
        sources.apart(str(tmp_path / "alias"), str(tmp_path / "data"))


class FlakyS3:
    """get_object over one object in memory: the first `refuse` requests fail to connect, and the body of
    each of the first `cut` responses breaks after `after` bytes, as a connection reset mid-transfer would."""

    def __init__(self, data: bytes, refuse: int = 0, cut: int = 0, after: int = 0):
        self.data, self.refuse, self.cut, self.after = data, refuse, cut, after
        self.requests: list[dict] = []

    def get_object(self, **args):
        from botocore.exceptions import EndpointConnectionError

        self.requests.append(args)
        if self.refuse:
            self.refuse -= 1
            raise EndpointConnectionError(endpoint_url="http://s3.example")
        start = int(args["Range"].removeprefix("bytes=").rstrip("-")) if "Range" in args else 0
        if "IfMatch" in args:
            assert args["IfMatch"] == '"v1"'
        body = self.data[start:]
        if self.cut:
            self.cut -= 1
            return {"Body": _Breaking(body[: self.after]), "ETag": '"v1"', "ContentLength": len(body)}
        return {"Body": io.BytesIO(body), "ETag": '"v1"', "ContentLength": len(body)}


class _Breaking(io.BytesIO):
    """A response body whose connection breaks: what was received comes in pieces, then the error; asked for
    everything at once, the error alone (botocore checks the length it was promised)."""

    def read(self, size=-1):
        data = super().read(size) if size is not None and size >= 0 else b""
        if not data:
            raise ConnectionResetError(104, "Connection reset by peer")
        return data


@pytest.mark.parametrize("size, ranges", [
    (100, [None, None, None, "bytes=0-", "bytes=0-"]),  # fetched whole by a worker: again from the start
    (sources.PREFETCH_LIMIT + 1, [None, None, None, f"bytes={(sources.PREFETCH_LIMIT + 1) // 3}-",
                                  f"bytes={2 * ((sources.PREFETCH_LIMIT + 1) // 3)}-"]),  # streamed: from the break
])
def test_s3_reads_are_retried_and_resume_where_they_broke(no_waits, size, ranges):
    data = (b'{"ts": 1}\n' * (size // 10 + 1))[:size]
    client = FlakyS3(data, refuse=2, cut=2, after=size // 3)
    f = sources.SourceFile("s3://b/log_data/day.json", size, "v1")
    assert sources.reader("s3://b/log_data", client)(f).read() == data
    assert [r.get("Range") for r in client.requests] == ranges
    assert len(no_waits) == 4


def test_s3_still_failing_is_unreadable_naming_the_file(no_waits):
    client = FlakyS3(b"{}", refuse=100)
    f = sources.SourceFile("s3://b/log_data/day.json", 2, "v1")
    with pytest.raises(sources.Unreadable, match=r"^s3://b/log_data/day.json: cannot be read \(EndpointConnection"):
        sources.reader("s3://b/log_data", client)(f)
    assert len(client.requests) == len(sources.RETRY_WAITS) + 1
    assert sum(no_waits) >= 0.75 * sum(sources.RETRY_WAITS)  # the bound docs/guarantees.md states
