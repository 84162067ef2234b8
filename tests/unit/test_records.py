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


@pytest.mark.parametrize(("written", "song"), [("Björk", "Björk"), ("Bj\\u00f6rk", "Björk"), ("a\\tb", "a\tb")])
def test_a_numeric_user_id_on_a_line_with_other_than_ascii_or_escapes_is_kept_too(written, song):
    # the byte-width check reads such a line's values: a number among them is no text to measure
    line = b'{"ts":1541105830796,"userId":39,"song":"%s","artist":"%s"}' % (written.encode(), b"x" * 80)
    ((_, row),) = parsed(line)
    values = dict(zip(records.EVENT_COLUMNS, row))
    assert (values["user_id"], values["song"]) == ("39", song)


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
        # a value too long, then the line cut short or broken: malformed, as with a shorter value
        (b'{"ts":1,"level":"premium-subscriber","page":"Ne', "malformed JSON"),
        (b'{"ts":1,"method":"' + b"x" * 17 + b'",}', "malformed JSON"),
        (b'{"ts":1,"gender":"' + b"x" * 17 + b'"' + b"[" * 5000, "malformed JSON"),
        # a name given twice: the value the parser refused is the one measured, not the last
        (b'{"ts":1,"level":"' + b"x" * 17 + b'","level":"a"}', "`$.level` is 17 bytes of UTF-8"),
    ],
)
def test_bad_records_are_rejected_with_line_and_reason_and_the_rest_of_the_file_loads(line, reason):
    out = parsed(GOOD + b"\n" + line + b"\n" + GOOD)
    assert [type(x).__name__ for x in out] == ["tuple", "Reject", "tuple"]
    reject = out[1]
    assert (reject.source, reject.line_number) == ("f.json", 2)
    if reason in OWN_WORDS:  # the guarantees page's words, whatever the JSON library says
        assert reject.reason.startswith(reason)
    else:  # the library's words: only the field it names is the project's promise
        assert reason in reject.reason
    assert reject.raw_line.startswith(line[:5].decode("utf-8", "replace"))


@pytest.mark.parametrize("escape", [b"\\ud83d", b"\\ude00", b"\\ude00\\ud83d"])
def test_half_a_surrogate_pair_is_rejected_naming_the_field_and_the_escape(escape):
    """A \\u escape of half a UTF-16 pair is no character: the reason says so, not the JSON library's
    "truncated"; a whole pair, and the text of such an escape (a backslash, then u), load."""
    out = parsed(b'{"ts":1,"song":"lone' + escape + b'"}\n{"ts":1,"song":"a\\ud83d\\ude00"}\n'
                 b'{"ts":1,"song":"b\\\\ud83d"}')
    reject = out[0]
    assert type(reject).__name__ == "Reject" and reject.line_number == 1
    first = escape[2:6].decode()
    assert reject.reason == \
        f"malformed JSON: `$.song` holds a lone surrogate escape (\\u{first}), which is no character"
    assert [row[records.Event.__struct_fields__.index("song")] for _, row in out[1:]] == ["a\U0001f600", "b\\ud83d"]


def test_half_a_surrogate_pair_in_a_field_s_name_is_a_reject_whose_reason_any_column_takes():
    """The name is shown as field_name shows it: the half pair, or a NUL, would be no text for load_errors."""
    (reject,) = parsed(b'{"ts":1,"x\\ud83d\\u0000":1}')
    assert reject.reason == ("malformed JSON: `$.x\\ud83d\\x00` (its name) holds a lone surrogate escape (\\ud83d), "
                             "which is no character")
    reject.reason.encode("utf-8")  # UTF-8, so any column takes it


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


def test_a_song_file_cut_short_after_a_value_too_long_is_one_reject():
    (reject,) = parsed(b'{"song_id":"' + b"S" * 65 + b'","artist_id":"A",', records.songs)
    assert reject.reason.startswith("malformed JSON")


def test_a_song_whose_id_ends_with_a_blank_is_refused():
    (reject,) = parsed(SONG.replace(b'"SO1"', b'"SO1 "'), records.songs)
    assert "`$.song_id` ends with a blank" in reject.reason


def test_a_record_nested_too_deep_is_a_reject_not_a_crash():
    deep = b'{"ts":1,"x":' + b"[" * 1000 + b"]" * 1000 + b"}"  # about 2 KB, an unknown field
    out = parsed(GOOD + b"\n" + deep + b"\n" + GOOD)
    assert [type(x).__name__ for x in out] == ["tuple", "Reject", "tuple"]
    assert out[1].line_number == 2 and out[1].reason.startswith("nested deeper than the parser follows")
    (song,) = parsed(SONG[:-1] + b', "x": ' + b'{"a":' * 1000 + b"1" + b"}" * 1001, records.songs)
    assert song.line_number == 1 and song.reason.startswith("nested deeper")


@pytest.mark.parametrize("value, field", [(b"1e400", "length"), (b"-1e400", "registration"),
                                          (b"9" * 5000, "sessionId"), (b"1" + b"0" * 400, "length"),
                                          (b"18446744073709551616", "sessionId")])
def test_numbers_too_large_for_their_column_are_rejects(value, field):
    out = parsed(GOOD + b"\n" + b'{"ts":1,"' + field.encode() + b'":' + value + b"}\n" + GOOD)
    assert out[1].line_number == 2 and f"`$.{field}`" in out[1].reason


def test_the_text_backslash_u0000_is_not_nul():
    ((_, row),) = parsed(b'{"ts":1,"song":"a\\\\u0000b"}')  # a backslash, then the letters u0000
    assert row[records.EVENT_COLUMNS.index("song")] == "a\\u0000b"
    ((_, row),) = parsed(b'{"ts":1,"x":"a\\u0000b"}')  # NUL in a field that is not staged
    assert row[records.EVENT_COLUMNS.index("ts")] == 1
    (reject,) = parsed(b'{"ts":1,"song":"a\\\\\\u0000b"}')  # a backslash, then NUL
    assert "NUL character" in reject.reason


def test_a_field_named_twice_takes_its_last_value_as_the_readme_says():
    ((_, row),) = parsed(b'{"ts":1,"userId":"1","userId":"2"}')
    assert row[records.EVENT_COLUMNS.index("user_id")] == "2"


def test_a_line_over_the_record_limit_is_one_reject_and_a_blank_one_is_skipped():
    long = b'{"ts":1,"song":"' + b"x" * records.RECORD_LIMIT + b'"}'
    blank = b" " * (records.RECORD_LIMIT + 10)
    out = parsed(GOOD + b"\n" + long + b"\n" + blank + b"\n" + GOOD)
    assert [type(x).__name__ for x in out] == ["tuple", "Reject", "tuple"]
    assert out[1].line_number == 2 and out[1].reason == (
        f"the line is {len(long):,} bytes, longer than a record may be ({records.RECORD_LIMIT:,} bytes)")
    assert out[1].raw_line.startswith('{"ts":1,"song":"xxx') and len(out[1].raw_line) == records.RAW_LINE_LIMIT
    assert out[2][0] == 4


def test_parsing_does_not_depend_on_how_the_bytes_arrive():
    import random

    data = (b"\xef\xbb\xbf" + GOOD + b"\r\n\n" + b'{"ts":1,"song":"' + b"y" * (records.RECORD_LIMIT - 20) + b'"}\n'
            + b'{"ts":2,"song":"' + b"z" * records.RECORD_LIMIT + b'"}\n' + b"not json\n" + GOOD)
    whole = parsed(data)
    assert [x.line_number if isinstance(x, records.Reject) else x[0] for x in whole] == [1, 3, 4, 5, 6]
    rng = random.Random(7)
    for _ in range(10):
        pieces, at = [], 0
        while at < len(data):
            step = rng.choice([1, 2, 3, 5, 4096, 1 << 20])
            pieces.append(data[at:at + step])
            at += step
        assert list(records.events("f.json", iter(pieces))) == whole


def test_a_song_file_over_the_limit_is_a_reject_unless_it_is_json_lines():
    pretty = b"{\n" + b" " * records.RECORD_LIMIT + b'\n"song_id": "SO1", "artist_id": "AR1"}'
    (reject,) = parsed(pretty, records.songs)
    assert reject.line_number == 1 and reject.reason.startswith(f"the song file is over {records.RECORD_LIMIT:,} bytes")
    lines = SONG + b"\n" + b"\n".join(SONG.replace(b"SO1", b"SO%d" % n) for n in range(records.RECORD_LIMIT // 90))
    out = parsed(lines, records.songs)
    assert len(out) == records.RECORD_LIMIT // 90 + 1 and all(type(x) is tuple for x in out)


def test_a_new_field_s_name_is_shown_escaped_and_cut_never_as_the_data_wrote_it():
    """A terminal that prints the summary, and the history and alerts that keep it, never get a control
    character or an endless name from the data."""
    long = "x" * 500
    watch = records.UnknownFields("warn")
    line = b'{"ts":1,"\\u001b[31mred":1,"' + long.encode() + b'":2,"caf\xc3\xa9":3}'
    assert [n for n, _ in records.event_lines("f.json", 1, [line], watch)] == [1]
    shown = watch.of("f.json")
    assert shown == {"\\x1b[31mred": 1, "x" * 63 + "…": 1, "café": 1}
    assert all(n.isprintable() and len(n) <= records.FIELD_NAME_LIMIT for n in shown)
    refused = list(records.event_lines("f.json", 1, [line], records.UnknownFields("fail")))[0]
    assert "`\\x1b[31mred`" in refused.reason and "\x1b" not in refused.reason and long not in refused.reason


def test_a_malformed_line_nested_too_deep_to_look_into_is_still_a_reject():
    """A line msgspec refuses (a half surrogate pair) and nested deeper than the standard library reads: the
    second look for the reason gives up, and the line is a reject with msgspec's words, never a crash."""
    line = b'{"ts":1,"artist":"\\ud83d","x":' + b"[" * 3000 + b"]" * 3000 + b"}"
    (reject,) = parsed(line)
    assert type(reject).__name__ == "Reject" and reject.line_number == 1 and reject.reason.startswith("malformed JSON")
