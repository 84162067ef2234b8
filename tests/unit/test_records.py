"""Parsing: what is accepted, and what is rejected with its line and a reason."""

import pytest

from sparkify_dwh import records

GOOD = b'{"ts":1541105830796,"userId":"39","page":"NextSong","length":246.3,"sessionId":38}'


def parsed(data: bytes, kind=records.events):
    return list(kind("f.json", data))


def test_a_good_line_becomes_a_row_in_column_order():
    ((number, row),) = parsed(GOOD)
    assert number == 1
    values = dict(zip(records.EVENT_COLUMNS, row))
    assert values["ts"] == 1541105830796 and values["user_id"] == "39" and values["length"] == 246.3
    assert values["artist"] is None


@pytest.mark.parametrize(
    "data",
    [
        b"\xef\xbb\xbf" + GOOD,  # byte-order mark
        GOOD + b"\r\n",  # CRLF
        GOOD[:-1] + b',"extra":{"nested":[1,2]}}',  # extra fields
    ],
)
def test_accepted_variants(data):
    ((number, row),) = parsed(data)
    assert row[records.EVENT_COLUMNS.index("ts")] == 1541105830796


def test_a_numeric_user_id_is_kept_as_text():
    ((_, row),) = parsed(b'{"ts":1,"userId":39}')
    assert row[records.EVENT_COLUMNS.index("user_id")] == "39"


def test_blank_lines_and_empty_files_hold_no_records():
    assert parsed(b"") == []
    assert [n for n, _ in parsed(GOOD + b"\n\n" + GOOD + b"\n")] == [1, 3]


OWN_WORDS = ("malformed JSON", "not a JSON object", "invalid UTF-8")


@pytest.mark.parametrize(
    "line, reason",
    [
        (b'{"ts":1541105830796,"userId":"39"', "malformed JSON"),
        (b"[1,2,3]", "not a JSON object"),
        (b'"just a string"', "not a JSON object"),
        (b'{"ts":"abc"}', "`$.ts`"),
        (b'{"ts":1,"sessionId":"x"}', "`$.sessionId`"),
        (b'{"ts":1,"song":"caf\xe9"}', "invalid UTF-8"),
        (b'{"page":"Home"}', "`ts`"),
        (b'{"ts":1,"itemInSession":99999999999}', "`$.itemInSession`"),
        (b'{"ts":1,"song":"a\\u0000b"}', "NUL character"),
        (b'{"ts":1,"userId":"10 "}', "`$.userId` ends with a blank"),
        (b'{"ts":1, "page": "NextSong "}', "`$.page` ends with a blank"),
        (b'{"ts":1,"level":"paid "}', "`$.level` ends with a blank"),
        (b'{"ts":1,"userId":"39\\u0020"}', "`$.userId` ends with a blank"),  # the blank written as an escape
        (b'{"ts":1,"gender":"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9x"}',
         "`$.gender` is 17 bytes of UTF-8, longer than its column (at most 16)"),
        (b'{"ts":1,"gender":"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9x"}', "is 17 bytes of UTF-8"),
        (b'{"ts":1,"gender":"' + b"x" * 17 + b'"}', "`$.gender` is 17 bytes of UTF-8"),
    ],
)
def test_bad_records_are_rejected_with_line_and_reason_and_the_rest_of_the_file_loads(line, reason):
    out = parsed(GOOD + b"\n" + line + b"\n" + GOOD)
    assert [type(x).__name__ for x in out] == ["tuple", "Reject", "tuple"]
    reject = out[1]
    assert (reject.source, reject.line_number) == ("f.json", 2)
    if reason in OWN_WORDS:  # the README's words, whatever the JSON library says
        assert reject.reason.startswith(reason)
    else:  # the library's words: only the field it names is the project's promise
        assert reason in reject.reason
    assert reject.raw_line.startswith(line[:5].decode("utf-8", "replace"))


def test_raw_line_is_bounded():
    ((reject,),) = [parsed(b'{"ts": "' + b"x" * 100_000 + b'"}')]
    assert len(reject.raw_line) == records.RAW_LINE_LIMIT


SONG = b'{"num_songs": 1, "artist_id": "AR1", "song_id": "SO1", "title": "T", "duration": 1.5, "year": 0}'


def test_a_pretty_printed_song_file_is_one_record():
    pretty = SONG.replace(b", ", b",\n    ").replace(b"{", b"{\n    ")
    ((number, row),) = parsed(pretty, records.songs)
    assert number == 1 and row[records.SONG_COLUMNS.index("song_id")] == "SO1"


def test_a_json_lines_song_file_gives_one_record_a_line():
    out = parsed(SONG + b"\n" + SONG.replace(b"SO1", b"SO2") + b"\nnot json\n", records.songs)
    assert [x[0] if isinstance(x, tuple) else x.line_number for x in out] == [1, 2, 3]
    assert isinstance(out[2], records.Reject)


def test_a_song_file_that_is_not_json_is_one_rejected_record():
    (reject,) = parsed(b"<html>\n<body>oops</body>\n</html>", records.songs)
    assert reject.line_number == 1 and "malformed JSON" in reject.reason


def test_free_text_that_ends_with_a_blank_is_kept_as_it_is():
    ((_, row),) = parsed(b'{"ts":1, "song": "Heavy Soul ", "userId": "10", "page": "NextSong"}')
    assert row[records.EVENT_COLUMNS.index("song")] == "Heavy Soul "


def test_a_value_at_its_width_in_bytes_is_accepted():
    ((_, row),) = parsed('{"ts":1,"gender":"éééééééé","userId":"🎵🎵🎵🎵🎵🎵🎵🎵🎵🎵🎵🎵🎵🎵🎵🎵"}'.encode())
    assert row[records.EVENT_COLUMNS.index("gender")] == "é" * 8


def test_a_song_whose_id_ends_with_a_blank_is_refused():
    (reject,) = parsed(SONG.replace(b'"SO1"', b'"SO1 "'), records.songs)
    assert "`$.song_id` ends with a blank" in reject.reason
