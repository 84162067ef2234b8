"""A worker's block: the same CSV lines, byte for byte, as encode_row gives the same events one by one."""

import json

from sparkify_dwh import records
from sparkify_dwh.warehouses.postgres import _parse_block, encode_row


def test_a_block_is_written_as_encode_row_writes_each_of_its_rows():
    values = [("a\nb", "x\\y", "1", True), ('q"uote', "tab\there", 7, False), ("\u0001ctl", None, "null", True),
              ("é\\\\n", '\\"', "", False), ("plain", "back\\slash", "5", True), ("null", "", "10", False),
              ('ends in \\\\"', "\u00e9t\u00e9 \u65e5", "12", False)]
    lines = [json.dumps({"ts": 1541105830796 + i, "song": song, "artist": artist, "userId": user, "length": 1.5e-7},
                        ensure_ascii=ascii_only).encode()
             for i, (song, artist, user, ascii_only) in enumerate(values)]
    lines[3:3] = [b"{not json", b"", b"  \r", b'{"ts": "x"}']
    tail = b"," + encode_row(("/data/log 1.json", "load-1"))
    block, rows, rejects, unknown = _parse_block("/data/log 1.json", 40, b"\n".join(lines), tail)
    parsed = list(records.event_lines("/data/log 1.json", 40, lines))
    staged = [item for item in parsed if type(item) is not records.Reject]
    assert block == b"".join(b"%d,%b%b\n" % (number, encode_row(row), tail) for number, row in staged)
    assert rows == len(values)
    assert [(r.line_number, r.reason[:9]) for r in rejects] == [(43, "malformed"), (46, "Expected ")]
    assert rejects == [item for item in parsed if type(item) is records.Reject]
    assert unknown == {}  # none counted unless asked (UNKNOWN_FIELDS)


def test_workers_parse_only_where_a_core_is_left_to_the_server_and_one_to_the_loader():
    from sparkify_dwh.warehouses.postgres import parse_workers

    # measured on two cores: a worker there is slower than the thread (docs/performance.md)
    assert [parse_workers(n) for n in (1, 2, 3, 4, 5, 6, 8, 64)] == [0, 0, 0, 2, 3, 4, 4, 4]
