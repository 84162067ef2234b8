"""Records: the two JSON shapes, parsed and type-checked (msgspec), as rows for staging.

A record that cannot be staged becomes a `Reject` with its file, line and reason; the rest of its
file goes on. Accepted as valid: a UTF-8 byte-order mark, CRLF line endings, blank lines, an empty
file, a pretty-printed song file, extra fields, a numeric userId.

Every check that decides whether a record is staged is made here, before any warehouse sees it, so
that the same input is accepted or rejected alike, with the same reason, on PostgreSQL and Redshift:
- numbers must fit their columns (INTEGER, BIGINT), timestamps 0001 to 9999;
- a text value must fit its column's width counted in bytes of UTF-8, as Redshift counts a VARCHAR
  ("Length is in bytes, not characters": Redshift's character types documentation). PostgreSQL
  counts characters and would accept more; the parser holds both to the narrower rule;
- a text value must not hold NUL (\\u0000), which neither warehouse stores in a character column;
- the values the SQL compares as codes (userId, page, level, song_id, artist_id) must not end with a
  blank: Redshift ignores trailing blanks when it compares text and PostgreSQL does not, so 'paid '
  would be 'paid' on one and not on the other. (Free text, such as a title that ends with a blank, is
  kept as it is; the SQL compares titles and names with RTRIM on both.)
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

import msgspec

RAW_LINE_LIMIT = 1000
BOM = b"\xef\xbb\xbf"

# Column ranges, so that a value the table cannot hold is rejected with its line, not by the database.
Int32 = Annotated[int, msgspec.Meta(ge=-(2**31), le=2**31 - 1)]
Int64 = Annotated[int, msgspec.Meta(ge=-(2**63), le=2**63 - 1)]
EpochMillis = Annotated[int, msgspec.Meta(ge=0, le=253_402_300_799_999)]  # up to 9999-12-31


def text(width: int):
    """A string for a VARCHAR(width) column. msgspec checks the width in characters (in C, for every
    record); `_over_width` checks it in bytes for the few records where the two can differ."""
    return Annotated[str, msgspec.Meta(max_length=width)]


class Event(msgspec.Struct, rename="camel"):
    """One line of a log file. Field order is staging_events' column order; widths are its VARCHARs."""

    ts: EpochMillis
    artist: text(1024) | None = None
    auth: text(32) | None = None
    first_name: text(256) | None = None
    gender: text(16) | None = None
    item_in_session: Int32 | None = None
    last_name: text(256) | None = None
    length: float | None = None
    level: text(16) | None = None
    location: text(512) | None = None
    method: text(16) | None = None
    page: text(64) | None = None
    registration: float | None = None
    session_id: Int64 | None = None
    song: text(1024) | None = None
    status: Int32 | None = None
    user_agent: text(1024) | None = None
    user_id: text(64) | Int64 | None = None


class Song(msgspec.Struct):
    """One song object. Field order is staging_songs' column order; widths are its VARCHARs."""

    song_id: text(64)
    artist_id: text(64)
    num_songs: Int32 | None = None
    artist_latitude: float | None = None
    artist_longitude: float | None = None
    artist_location: text(1024) | None = None
    artist_name: text(1024) | None = None
    title: text(1024) | None = None
    duration: float | None = None
    year: Int32 | None = None


EVENT_COLUMNS = tuple(Event.__struct_fields__)
SONG_COLUMNS = tuple(Song.__struct_fields__)
_USER_ID = EVENT_COLUMNS.index("user_id")


def widths(struct) -> dict[str, int]:
    """{column: VARCHAR width} of a record type, read from its annotations."""
    out = {}
    for f in msgspec.inspect.type_info(struct).fields:
        types = f.type.types if isinstance(f.type, msgspec.inspect.UnionType) else (f.type,)
        for t in types:
            if isinstance(t, msgspec.inspect.StrType) and t.max_length:
                out[f.name] = t.max_length
    return out


def _text_fields(struct) -> tuple[tuple[int, str, int, int], ...]:
    """(index in the row, name in the JSON, width, a quarter of it) of every text field, narrowest first."""
    names = dict(zip(struct.__struct_fields__, struct.__struct_encode_fields__))
    columns = struct.__struct_fields__
    return tuple(sorted(((columns.index(c), names[c], w, w // 4) for c, w in widths(struct).items()),
                        key=lambda f: f[2]))


_EVENT_TEXT = _text_fields(Event)
_SONG_TEXT = _text_fields(Song)


@dataclass(frozen=True)
class Reject:
    source: str
    line_number: int
    reason: str
    raw_line: str


def _raw(line: bytes) -> str:
    text = line[: RAW_LINE_LIMIT * 4].decode("utf-8", "replace")[:RAW_LINE_LIMIT]
    return text.replace("\x00", "\ufffd")


def width_reason(name: str, size: int, width: int) -> str:
    return f"`$.{name}` is {size:,} bytes of UTF-8, longer than its column (at most {width:,})"


_OVER_LENGTH = re.compile(r"Expected `str` of length <= (\d+) - at `\$\.(\w+)`")


def _invalid_utf8(line: bytes) -> str | None:
    """The project's own reason for a line that is not UTF-8, whatever words the JSON library uses."""
    try:
        line.decode("utf-8")
    except UnicodeDecodeError as err:
        return f"invalid UTF-8 at byte {err.start}"
    return None


def _reason(err: Exception, line: bytes) -> str:
    if isinstance(err, UnicodeDecodeError) or (
            isinstance(err, msgspec.DecodeError) and not isinstance(err, msgspec.ValidationError)):
        # msgspec words this differently from one release to the next ("invalid UTF-8" is the README's)
        invalid = _invalid_utf8(line)
        if invalid:
            return invalid
    text = str(err)
    over = _OVER_LENGTH.fullmatch(text)
    if over:  # msgspec counted characters; say it in bytes, as the byte check below does
        value = msgspec.json.decode(line)[over.group(2)]
        return width_reason(over.group(2), len(value.encode("utf-8")), int(over.group(1)))
    if text.startswith("Expected `object`"):
        return "not a JSON object: " + text
    if isinstance(err, msgspec.DecodeError) and not isinstance(err, msgspec.ValidationError):
        return "malformed JSON: " + text
    return text


def _over_width(row: tuple, fields: tuple[tuple[int, str, int, int], ...], line_size: int) -> str | None:
    """A reason when a text value is wider in bytes than its column, else None. A value's UTF-8 takes no
    more bytes than its JSON text, so a column at least as wide as the whole line cannot overflow (the
    fields are narrowest first: the loop stops there); and only a value longer than a quarter of its
    width can (UTF-8 takes at most 4 bytes a character)."""
    for index, name, width, quarter in fields:
        if width >= line_size:
            return None
        value = row[index]
        if value is not None and len(value) > quarter:
            size = len(value.encode("utf-8"))
            if size > width:
                return width_reason(name, size, width)
    return None


def _may_differ(line: bytes) -> bool:
    """Whether a line's strings can hold more bytes than characters: non-ASCII text, or \\u escapes."""
    return not line.isascii() or b"\\u" in line


NUL_REASON = "a string holds a NUL character (\\u0000), which a text column cannot store"
def _check_text(line: bytes, row: tuple, fields) -> str | None:
    """A reason to reject a well-formed line whose text a warehouse cannot store, else None."""
    if b"\\u0000" in line:
        return NUL_REASON
    if _may_differ(line):
        return _over_width(row, fields, len(line))
    return None


_EVENT_CODES = tuple(EVENT_COLUMNS.index(c) for c in ("user_id", "page", "level"))
_SONG_CODES = tuple(SONG_COLUMNS.index(c) for c in ("song_id", "artist_id"))
_NAMES = {**dict(zip(Event.__struct_fields__, Event.__struct_encode_fields__)),
          **dict(zip(Song.__struct_fields__, Song.__struct_encode_fields__))}


def _trailing_blank(row: tuple, codes: tuple[int, ...], columns: tuple[str, ...]) -> str | None:
    for index in codes:
        value = row[index]
        if type(value) is str and value.endswith(" "):
            return (f"`$.{_NAMES[columns[index]]}` ends with a blank, which Redshift ignores when it compares text "
                    "and PostgreSQL does not: refused on both warehouses")
    return None


def _is_json(line: bytes) -> bool:
    try:
        msgspec.json.decode(line)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return False
    return True


_event_decoder = msgspec.json.Decoder(Event)
_song_decoder = msgspec.json.Decoder(Song)
_astuple = msgspec.structs.astuple


def events(source: str, data: bytes) -> Iterator[tuple | Reject]:
    """Each JSON line of a log file as (line number, row tuple in EVENT_COLUMNS order) or a Reject."""
    if data.startswith(BOM):
        data = data[len(BOM):]
    decode = _event_decoder.decode
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line or line.isspace():
            continue
        try:
            row = _astuple(decode(line))
        except (msgspec.DecodeError, UnicodeDecodeError) as err:
            yield Reject(source, number, _reason(err, line), _raw(line))
            continue
        # _check_text, inlined for the common line: this loop runs once per event
        if b"\\u0000" in line:
            yield Reject(source, number, NUL_REASON, _raw(line))
            continue
        if (not line.isascii() or b"\\u" in line) and (bad := _over_width(row, _EVENT_TEXT, len(line))):
            yield Reject(source, number, bad, _raw(line))
            continue
        # a blank before a closing quote, written as it is or as an escape (\u0020)
        if (b' "' in line or b"\\u" in line) and (bad := _trailing_blank(row, _EVENT_CODES, EVENT_COLUMNS)):
            yield Reject(source, number, bad, _raw(line))
            continue
        if type(row[_USER_ID]) is int:
            row = row[:_USER_ID] + (str(row[_USER_ID]),) + row[_USER_ID + 1:]
        yield number, row


def _song(source: str, number: int, text: bytes) -> tuple | Reject:
    try:
        row = _astuple(_song_decoder.decode(text))
    except (msgspec.DecodeError, UnicodeDecodeError) as err:
        return Reject(source, number, _reason(err, text), _raw(text))
    bad = _check_text(text, row, _SONG_TEXT) or _trailing_blank(row, _SONG_CODES, SONG_COLUMNS)
    return Reject(source, number, bad, _raw(text)) if bad else (number, row)


def songs(source: str, data: bytes) -> Iterator[tuple | Reject]:
    """The song object of a song file (pretty-printed or not), or each line of a JSON-lines file."""
    if data.startswith(BOM):
        data = data[len(BOM):]
    if not data.strip():
        return
    whole = _song(source, 1, data)
    lines = [(n, line) for n, line in enumerate(data.split(b"\n"), start=1) if line.strip()]
    if type(whole) is not Reject or len(lines) <= 1 or not _is_json(lines[0][1]):
        # one record, whole or broken (a pretty-printed object spans lines: it is still one record)
        yield whole if type(whole) is not Reject else Reject(source, lines[0][0], whole.reason, whole.raw_line)
        return
    for number, line in lines:
        yield _song(source, number, line)
