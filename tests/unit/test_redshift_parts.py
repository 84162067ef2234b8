"""The bytes of a part: UTF-8 as itself; the escapes Redshift's COPY JSON documentation covers (\\n, \\t,
\\\\), \\" which JSON cannot do without, and \\u00XX for the other control characters (the form the
Sparkify logs use); never \\r, \\b, \\f or \\u for non-ASCII text."""

import json

import pytest

from sparkify_dwh.warehouses.redshift import parts

CASES = [
    ("tab\there", b'"tab\\there"'),
    ("new\nline", b'"new\\nline"'),
    ("back\\slash and \\\\ double", b'"back\\\\slash and \\\\\\\\ double"'),
    ('say "hi"', b'"say \\"hi\\""'),
    ("carriage\rreturn", b'"carriage\\u000dreturn"'),
    ("\b\f", b'"\\u0008\\u000c"'),
    ("\x01 and \x19 and \x1f", b'"\\u0001 and \\u0019 and \\u001f"'),
    ("\\r is not a carriage return", b'"\\\\r is not a carriage return"'),
    ("emoji 😀🎵", '"emoji 😀🎵"'.encode()),
    ("日本語の歌", '"日本語の歌"'.encode()),
    ("\u2028 and \x7f and a/b", '"\u2028 and \x7f and a/b"'.encode()),
]


@pytest.mark.parametrize("text,written", CASES)
def test_each_string_is_written_with_the_escapes_redshift_reads(text, written):
    line = parts.encode_lines([{"v": text}])
    assert line == b'{"v":' + written + b"}\n"
    assert json.loads(line)["v"] == text


@pytest.mark.parametrize("line,unknown", [
    (b'"\\u00e9"', True), (b'"\\/"', True), (b'"\\r"', True), (b'"\\u2028"', True),
    (b'"\\n\\t\\\\\\"\\u0019"', False), (b'"\\\\r"', False)])
def test_an_escape_other_than_those_is_caught(line, unknown):
    assert bool(parts._UNKNOWN_ESCAPE(line)) is unknown


def test_a_part_with_an_unknown_escape_is_refused_rather_than_written(monkeypatch):
    class Encoder:
        def encode(self, row):
            return b'{"v":"caf\\u00e9"}'

    monkeypatch.setattr(parts.msgspec.json, "Encoder", Encoder)
    with pytest.raises(parts.PartError, match="u00e9"):
        parts.encode_lines([{"v": "café"}])


@pytest.mark.parametrize("slices,size,count", [(2, 0, 2), (2, 10 << 20, 2), (4, 3 << 30, 12), (16, 1 << 20, 16)])
def test_part_count_is_a_multiple_of_the_slices(slices, size, count):
    assert parts.part_count(slices, size) == count


def test_reasons_are_cut_to_their_column_s_width_in_bytes():
    from sparkify_dwh import records, staging

    reason = "é" * 600  # 1,200 bytes
    ((*_, cut, _raw, _when),) = staging.error_rows([("events", records.Reject("f", 1, reason, ""))], "l", "t")
    assert len(cut.encode()) <= staging.REASON_LIMIT and cut == "é" * 500
