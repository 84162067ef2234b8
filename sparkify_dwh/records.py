"""Records: the two JSON shapes, parsed and type-checked (msgspec), as rows for staging.

A record that cannot be staged becomes a `Reject` with its file, line and reason; the rest of its
file goes on. Accepted as valid: a UTF-8 byte-order mark, CRLF line endings, blank lines, an empty
file, a pretty-printed song file, extra fields, a numeric userId.
"""

from __future__ import annotations

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


class Event(msgspec.Struct, rename="camel"):
    """One line of a log file. Field order is staging_events' column order."""

    ts: EpochMillis
    artist: str | None = None
    auth: str | None = None
    first_name: str | None = None
    gender: str | None = None
    item_in_session: Int32 | None = None
    last_name: str | None = None
    length: float | None = None
    level: str | None = None
    location: str | None = None
    method: str | None = None
    page: str | None = None
    registration: float | None = None
    session_id: Int64 | None = None
    song: str | None = None
    status: Int32 | None = None
    user_agent: str | None = None
    user_id: str | Int64 | None = None


class Song(msgspec.Struct):
    """One song object. Field order is staging_songs' column order."""

    song_id: str
    artist_id: str
    num_songs: Int32 | None = None
    artist_latitude: float | None = None
    artist_longitude: float | None = None
    artist_location: str | None = None
    artist_name: str | None = None
    title: str | None = None
    duration: float | None = None
    year: Int32 | None = None


EVENT_COLUMNS = tuple(Event.__struct_fields__)
SONG_COLUMNS = tuple(Song.__struct_fields__)
_USER_ID = EVENT_COLUMNS.index("user_id")


@dataclass(frozen=True)
class Reject:
    source: str
    line_number: int
    reason: str
    raw_line: str


def _raw(line: bytes) -> str:
    text = line[: RAW_LINE_LIMIT * 4].decode("utf-8", "replace")[:RAW_LINE_LIMIT]
    return text.replace("\x00", "\ufffd")


def _reason(err: Exception) -> str:
    if isinstance(err, UnicodeDecodeError):
        return f"invalid UTF-8 at byte {err.start}"
    text = str(err)
    if text.startswith("Expected `object`"):
        return "not a JSON object: " + text
    if isinstance(err, msgspec.DecodeError) and not isinstance(err, msgspec.ValidationError):
        return "malformed JSON: " + text
    return text


_event_decoder = msgspec.json.Decoder(Event)
_song_decoder = msgspec.json.Decoder(Song)
_astuple = msgspec.structs.astuple


def _check_text(line: bytes) -> str | None:
    """A reason to reject a well-formed line whose text PostgreSQL cannot store, else None."""
    if b"\\u0000" in line:
        return "a string holds a NUL character (\\u0000), which a text column cannot store"
    return None


def _is_json(line: bytes) -> bool:
    try:
        msgspec.json.decode(line)
    except (msgspec.DecodeError, UnicodeDecodeError):
        return False
    return True


def events(source: str, data: bytes) -> Iterator[tuple | Reject]:
    """Each JSON line of a log file as a row tuple (EVENT_COLUMNS order) or a Reject."""
    if data.startswith(BOM):
        data = data[len(BOM):]
    decode = _event_decoder.decode
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line or line.isspace():
            continue
        try:
            row = _astuple(decode(line))
        except (msgspec.DecodeError, UnicodeDecodeError) as err:
            yield Reject(source, number, _reason(err), _raw(line))
            continue
        if b"\\u0000" in line:  # _check_text, inlined: this loop runs once per event
            yield Reject(source, number, _check_text(line), _raw(line))
            continue
        if type(row[_USER_ID]) is int:
            row = row[:_USER_ID] + (str(row[_USER_ID]),) + row[_USER_ID + 1:]
        yield number, row


def songs(source: str, data: bytes) -> Iterator[tuple | Reject]:
    """The song object of a song file (pretty-printed or not), or each line of a JSON-lines file."""
    if data.startswith(BOM):
        data = data[len(BOM):]
    if not data.strip():
        return
    try:
        song = _song_decoder.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError) as whole_err:
        lines = [(n, line) for n, line in enumerate(data.split(b"\n"), start=1) if line.strip()]
        if len(lines) <= 1 or not _is_json(lines[0][1]):
            # one record, broken (a pretty-printed object spans lines: it is still one record)
            yield Reject(source, lines[0][0], _reason(whole_err), _raw(data))
            return
        for number, line in lines:
            try:
                row = _astuple(_song_decoder.decode(line))
            except (msgspec.DecodeError, UnicodeDecodeError) as err:
                yield Reject(source, number, _reason(err), _raw(line))
                continue
            bad = _check_text(line)
            yield Reject(source, number, bad, _raw(line)) if bad else (number, row)
        return
    bad = _check_text(data)
    yield Reject(source, 1, bad, _raw(data)) if bad else (1, _astuple(song))
