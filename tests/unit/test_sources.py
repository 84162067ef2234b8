"""Listing sources: what is read and what is skipped; missing and empty sources are errors."""

import gzip
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
    assert [data for _, data in sources.read_parallel(found, read, workers=2)] == [b"{}", b"{}"]


def test_a_missing_source_is_an_error_naming_it(tmp_path):
    with pytest.raises(sources.SourceError, match="nowhere: no such folder"):
        sources.list_files(str(tmp_path / "nowhere"))


def test_an_empty_source_is_an_error_naming_it(tmp_path):
    (tmp_path / "empty" / ".ipynb_checkpoints").mkdir(parents=True)
    (tmp_path / "empty" / ".ipynb_checkpoints" / "x.json").write_text("{}")
    with pytest.raises(sources.SourceError, match="empty: no \\*.json or \\*.json.gz files found"):
        sources.list_files(str(tmp_path / "empty"))


def test_parallel_reads_keep_order_and_report_failures(tmp_path):
    files = [sources.SourceFile(str(tmp_path / f"{i}.json"), 0, "v") for i in range(50)]
    for f in files[::2]:
        Path(f.uri).write_text(f.uri)
    out = list(sources.read_parallel(files, sources.reader(str(tmp_path)), workers=4))
    assert [f for f, _ in out] == files
    assert all(isinstance(d, bytes) == (i % 2 == 0) for i, (_, d) in enumerate(out))


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
