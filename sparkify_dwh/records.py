"""Records: the two JSON shapes, parsed and type-checked (msgspec), as rows for staging.

A record that cannot be staged becomes a `Reject` with its file, line and reason; the rest of its
file goes on. Accepted as valid: a UTF-8 byte-order mark, CRLF line endings, blank lines, an empty
file, a pretty-printed song file, a numeric userId, and fields the parser does not know: those are
counted by name per file (UnknownFields), and UNKNOWN_FIELDS=fail rejects a record that holds one.
A JSON object that names a field twice is accepted, the last value winning (as most JSON readers do;
telling it would take a second parse of every record).

A file is parsed as it streams, in chunks (`bytes` or an iterable of them): a log line, or a song
file, longer than RECORD_LIMIT is one reject, and is never held whole in memory. Nothing in a record
stops its file or the load: a record nested deeper than the parser follows is a reject too.

Every check that decides whether a record is staged is made here, before any warehouse sees it, so
that the same input is accepted or rejected alike, with the same reason, on PostgreSQL and Redshift:
- numbers must fit their columns (INTEGER, BIGINT), timestamps 0001 to 9999;
- a text value must fit its column's width counted in bytes of UTF-8, as Redshift counts a VARCHAR
  ("Length is in bytes, not characters": Redshift's character types documentation). PostgreSQL
  counts characters and would accept more; the parser holds both to the narrower rule;
- a text value must not hold NUL (\\u0000), which neither warehouse stores in a character column (the
  text `\\\\u0000`, a backslash and the letters u0000, is not NUL and is kept);
- the values the SQL compares as codes (userId, page, level, song_id, artist_id) must not end with a
  blank: Redshift ignores trailing blanks when it compares text and PostgreSQL does not, so 'paid '
  would be 'paid' on one and not on the other. (Free text, such as a title that ends with a blank, is
  kept as it is; the SQL compares titles and names with RTRIM on both.)
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from itertools import chain
from typing import Annotated

import msgspec

RAW_LINE_LIMIT = 1000
BOM = b"\xef\xbb\xbf"
RECORD_LIMIT = 16 << 20  # bytes: the longest log line, and the largest song file holding one record
CHUNK = 1 << 20  # bytes given as one piece are parsed in pieces of this size, as a stream would give them

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
        # msgspec words this differently from one release to the next ("invalid UTF-8": docs/guarantees.md)
        invalid = _invalid_utf8(line)
        if invalid:
            return invalid
    text = str(err)
    over = _OVER_LENGTH.fullmatch(text)
    if over:
        return _over_length(line, over.group(2), int(over.group(1)))
    if text.startswith("Expected `object`"):
        return "not a JSON object: " + text
    if isinstance(err, msgspec.DecodeError) and not isinstance(err, msgspec.ValidationError):
        return "malformed JSON: " + (_lone_surrogate(line) or text)
    return text


def _over_length(line: bytes, name: str, width: int) -> str:
    """The reason for a line whose `name` msgspec refused as longer than `width` characters, said in bytes as
    the byte check says it. msgspec stops at that value: a line that is not JSON past it is malformed JSON, as
    it would be with a shorter value; of a name given twice, the value meant is the first one too long."""
    try:
        msgspec.json.decode(line)
    except RecursionError:
        return DEPTH_REASON
    except (msgspec.DecodeError, UnicodeDecodeError) as err:
        return _reason(err, line)
    try:
        pairs = json.loads(line, object_pairs_hook=list)
    except (ValueError, RecursionError):  # what msgspec reads and the standard library does not
        pairs = ()
    for key, value in pairs if type(pairs) is list else ():
        if key == name and type(value) is str and len(value) > width:
            return width_reason(name, len(value.encode("utf-8")), width)
    return f"`$.{name}` is longer than its column (more than {width:,} characters)"


_SURROGATE = re.compile("[\ud800-\udfff]")


def _lone_surrogate(line: bytes) -> str | None:
    """What is wrong with a line whose only fault is a \\u escape of half a UTF-16 pair (`\\ud83d` with no
    `\\ude00` after it), which is no character: msgspec calls it truncated input. The standard library's
    reader keeps such a half, so it finds the field."""
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):  # not this fault, or nested too deep to tell: msgspec's words stand
        return None
    for name, value in record.items() if isinstance(record, dict) else ():
        for text in (name, value):
            found = _SURROGATE.search(text) if isinstance(text, str) else None
            if found:  # the name as field_name shows it: the half pair itself is no text a column takes
                where = f"`$.{field_name(name)}`" + (" (its name)" if text is name else "")
                return f"{where} holds a lone surrogate escape (\\u{ord(found.group()):04x}), which is no character"
    return None


def _over_width(row: tuple, fields: tuple[tuple[int, str, int, int], ...], line_size: int) -> str | None:
    """A reason when a text value is wider in bytes than its column, else None. A value's UTF-8 takes no
    more bytes than its JSON text, so a column at least as wide as the whole line cannot overflow (the
    fields are narrowest first: the loop stops there); and only a value longer than a quarter of its
    width can (UTF-8 takes at most 4 bytes a character)."""
    for index, name, width, quarter in fields:
        if width >= line_size:
            return None
        value = row[index]
        if type(value) is str and len(value) > quarter:  # userId may be a number
            size = len(value.encode("utf-8"))
            if size > width:
                return width_reason(name, size, width)
    return None


def _may_differ(line: bytes) -> bool:
    """Whether a line's strings can hold more bytes than characters: non-ASCII text, or \\u escapes."""
    return not line.isascii() or b"\\u" in line


NUL_REASON = "a string holds a NUL character (\\u0000), which a text column cannot store"
DEPTH_REASON = "nested deeper than the parser follows (about 1,000 levels): not a Sparkify record"


def _holds_nul(line: bytes, row: tuple) -> bool:
    """Whether a staged value holds NUL. The bytes \\u0000 are also in the text `\\\\u0000` (a backslash,
    then u0000), which is not NUL: the decoded values decide."""
    return b"\\u0000" in line and any(type(v) is str and "\x00" in v for v in row)


def _check_text(line: bytes, row: tuple, fields) -> str | None:
    """A reason to reject a well-formed line whose text a warehouse cannot store, else None."""
    if _holds_nul(line, row):
        return NUL_REASON
    if _may_differ(line):
        return _over_width(row, fields, len(line))
    return None


_EVENT_CODES = tuple(EVENT_COLUMNS.index(c) for c in ("user_id", "page", "level"))
_LEVEL, _PAGE = EVENT_COLUMNS.index("level"), EVENT_COLUMNS.index("page")
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
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError):
        return False
    return True


class _StrictEvent(Event, forbid_unknown_fields=True):
    """Event, refusing a field it does not know: how such a record is told (only those pay a second parse)."""


class _StrictSong(Song, forbid_unknown_fields=True):
    """Song, refusing a field it does not know."""


_event_decoder = msgspec.json.Decoder(Event)
_song_decoder = msgspec.json.Decoder(Song)
_strict_event_decoder = msgspec.json.Decoder(_StrictEvent)
_strict_song_decoder = msgspec.json.Decoder(_StrictSong)
_astuple = msgspec.structs.astuple
_UNKNOWN = "Object contains unknown field `"
_EVENT_KEYS = frozenset(Event.__struct_encode_fields__)
_SONG_KEYS = frozenset(Song.__struct_encode_fields__)
UNKNOWN_POLICIES = ("ignore", "warn", "fail")


class UnknownFields:
    """The fields records held that the parser does not know, counted per file and name; with policy
    `fail` such records are rejected instead (and not counted here). A file read again starts afresh
    (`restart`), so a retried or replanned read counts once. Safe to share between threads."""

    def __init__(self, policy: str = "warn"):
        if policy not in UNKNOWN_POLICIES:
            raise ValueError(f"unknown-field policy {policy!r}: one of {', '.join(UNKNOWN_POLICIES)}")
        self.policy = policy
        self._by_file: dict[str, dict[str, int]] = {}
        self._lock = threading.Lock()

    def restart(self, source: str) -> None:
        with self._lock:
            self._by_file.pop(source, None)

    def add(self, source: str, names: Iterable[str]) -> None:
        with self._lock:
            counts = self._by_file.setdefault(source, {})
            for name in map(field_name, names):
                counts[name] = counts.get(name, 0) + 1

    def of(self, source: str) -> dict[str, int]:
        """{field: records} of one file."""
        with self._lock:
            return dict(self._by_file.get(source, {}))

    def merge(self, source: str, counts: dict[str, int]) -> None:
        """Add one file's counts made elsewhere (a parse worker's `of`)."""
        if not counts:
            return
        with self._lock:
            mine = self._by_file.setdefault(source, {})
            for name, n in counts.items():
                mine[name] = mine.get(name, 0) + n

    def counts(self, files: Iterable[str] | None = None) -> dict[str, tuple[int, int]]:
        """{field: (records, files)} over `files` (every file when None), by name."""
        out: dict[str, tuple[int, int]] = {}
        with self._lock:
            chosen = self._by_file if files is None else {f: self._by_file[f] for f in files if f in self._by_file}
            for counts in chosen.values():
                for name, n in counts.items():
                    records, in_files = out.get(name, (0, 0))
                    out[name] = (records + n, in_files + 1)
        return dict(sorted(out.items()))


FIELD_NAME_LIMIT = 64


def field_name(name: str) -> str:
    """A field's name from the data as the summary, the history and the alerts show it: with what a terminal
    would act on (control characters, escape sequences) written as escapes, and at most FIELD_NAME_LIMIT
    characters."""
    text = name if name.isprintable() else name.encode("unicode_escape").decode("ascii")
    return text if len(text) <= FIELD_NAME_LIMIT else text[:FIELD_NAME_LIMIT - 1] + "…"


def unknown_reason(names: list[str]) -> str:
    fields = ", ".join(f"`{field_name(n)}`" for n in names)
    return (f"unknown field{'s' if len(names) > 1 else ''} {fields}: UNKNOWN_FIELDS=fail refuses a record holding a "
            "field the loader does not know")


def _unknown_names(line: bytes, known: frozenset[str], err: Exception) -> list[str]:
    """The top-level names of a record that are not fields of its type (the first one the strict parser
    named, if the record cannot be read as a plain object)."""
    try:
        names = sorted(str(k) for k in msgspec.json.decode(line) if k not in known)
    except Exception:  # noqa: BLE001 - deeper than a plain decode follows: the name the parser gave
        names = []
    return names or [str(err)[len(_UNKNOWN):].split("`", 1)[0]]


def _lenient(decoder, source: str, number: int, line: bytes) -> tuple | Reject:
    """A record through the decoder that skips unknown fields: its row, or its Reject."""
    try:
        return _astuple(decoder.decode(line))
    except (msgspec.DecodeError, UnicodeDecodeError) as err:
        return Reject(source, number, _reason(err, line), _raw(line))
    except RecursionError:
        return Reject(source, number, DEPTH_REASON, _raw(line))
    except Exception as err:  # noqa: BLE001 - whatever the parser raises, a record never stops the load
        return Reject(source, number, f"cannot be parsed: {type(err).__name__}: {err}", _raw(line))


def _with_unknown(err: msgspec.ValidationError, decoder, known: frozenset[str], fields: UnknownFields,
                  source: str, number: int, line: bytes) -> tuple | Reject | None:
    """A record the strict parser refused: None when not for an unknown field; else its row (the names
    counted) or its Reject (UNKNOWN_FIELDS=fail, or a record that is invalid anyway)."""
    if not str(err).startswith(_UNKNOWN):
        return None
    row = _lenient(decoder, source, number, line)
    if type(row) is Reject:
        return row
    names = _unknown_names(line, known, err)
    if fields.policy == "fail":
        return Reject(source, number, unknown_reason(names), _raw(line))
    fields.add(source, names)
    return row


class _Overlong:
    """A line longer than RECORD_LIMIT, read past without being kept: its start, its size, whether blank."""

    def __init__(self, start: bytes):
        self.head, self.size, self.blank = start[: RAW_LINE_LIMIT * 4], 0, True
        self.add(start)

    def add(self, piece: bytes) -> None:
        self.size += len(piece)
        if self.blank and piece and not piece.isspace():
            self.blank = False
        if len(self.head) < RAW_LINE_LIMIT * 4:
            self.head += piece[: RAW_LINE_LIMIT * 4 - len(self.head)]

    def reject(self, source: str, number: int, what: str = "the line") -> Reject:
        return Reject(source, number, f"{what} is {self.size:,} bytes, longer than a record may be "
                                      f"({RECORD_LIMIT:,} bytes)", _raw(self.head))


def _chunks(data: bytes | Iterable[bytes]) -> Iterable[bytes]:
    """`data` in pieces of at most CHUNK bytes (RECORD_LIMIT or less), so that a line longer than the limit is
    always found where pieces join."""
    if isinstance(data, bytes | bytearray | memoryview):
        data = bytes(data)
        return _sliced(data) if len(data) > CHUNK else (data,)
    return (piece for chunk in data for piece in (_sliced(chunk) if len(chunk) > CHUNK else (chunk,)))


def _sliced(data: bytes) -> Iterator[bytes]:
    return (data[i:i + CHUNK] for i in range(0, len(data), CHUNK))


def _blocks(data: bytes | Iterable[bytes]) -> Iterator[tuple[int, list[bytes] | _Overlong]]:
    """(number of the first line, the lines) of each chunk's whole lines, in order; a line longer than
    RECORD_LIMIT comes alone, as an _Overlong (number, _Overlong), unless it is blank. A byte-order mark at
    the very start is dropped. The start of a line a chunk did not end is kept in pieces (`part`), joined
    once its end comes, so that time stays linear however small the chunks."""
    number, part, size, over, first = 1, [], 0, None, True
    for chunk in _chunks(data):
        if first:  # the first bytes, enough of them to tell a byte-order mark
            part.append(chunk)
            size += len(chunk)
            if size < len(BOM):
                continue
            chunk, part, size, first = b"".join(part), [], 0, False
            if chunk.startswith(BOM):
                chunk = chunk[len(BOM):]
        cut = chunk.find(b"\n")
        if over is not None:  # reading past a long line, to its end
            if cut < 0:
                over.add(chunk)
                continue
            over.add(chunk[:cut])
            if not over.blank:
                yield number, over
            number, over, chunk = number + 1, None, chunk[cut + 1:]
            cut = chunk.find(b"\n")
        if cut < 0:  # no line ends here: all of it is the start of a line
            if chunk:
                part.append(chunk)
                size += len(chunk)
                if size > RECORD_LIMIT:
                    over, part, size = _Overlong(b"".join(part)), [], 0
            continue
        joined = bool(part)
        if joined:
            part.append(chunk)
            chunk = b"".join(part)
        lines = chunk.split(b"\n")
        last = lines.pop()
        part, size = ([last], len(last)) if last else ([], 0)
        if joined and len(lines[0]) > RECORD_LIMIT:
            long = _Overlong(lines[0])
            if not long.blank:
                yield number, long
            number += 1
            del lines[0]
        if lines:
            yield number, lines
            number += len(lines)
        if size > RECORD_LIMIT:
            over, part, size = _Overlong(last), [], 0
    if over is not None:
        if not over.blank:
            yield number, over
    elif part:
        yield number, [b"".join(part)]


def watching(fields: UnknownFields | None, source: str) -> UnknownFields | None:
    """Where one file's unknown fields are counted (None: not counted): `fields`, that file's count started
    afresh."""
    if fields is None or fields.policy == "ignore":
        return None
    fields.restart(source)
    return fields


def events(source: str, data: bytes | Iterable[bytes], fields: UnknownFields | None = None
           ) -> Iterator[tuple | Reject]:
    """Each JSON line of a log file as (line number, row tuple in EVENT_COLUMNS order) or a Reject.
    `fields`: where the unknown fields are counted, and whether they reject (None: skipped unseen)."""
    watch = watching(fields, source)
    for first, lines in _blocks(data):
        if type(lines) is _Overlong:
            yield lines.reject(source, first)
            continue
        yield from event_lines(source, first, lines, watch)


def event_blocks(data: bytes | Iterable[bytes]) -> Iterator[tuple[int, list[bytes] | _Overlong]]:
    """A log file's lines in blocks, for parsing elsewhere (event_lines): (number of the first line, the
    lines), or (number, an overlong line, whose `reject` gives its Reject)."""
    return _blocks(data)


def event_lines(source: str, first: int, lines: list[bytes], watch: UnknownFields | None = None
                ) -> Iterator[tuple | Reject]:
    """events() of one block of a log file's lines, the first of them numbered `first`; `watch`, when not
    None, counts the unknown fields (or, with policy `fail`, rejects the records holding one)."""
    for item in event_items(source, first, lines, watch):
        yield item if type(item) is Reject else item[:2]


# A backslash escape other than \" (a user agent's quotes, the usual one): only a line holding one can hold
# \u escapes (NUL, characters that take more bytes than their escape suggests) or values whose JSON needs more
# than \" to be written again (control characters, backslashes). One regular expression search finds it,
# faster than the byte searches it replaces (each of them a scan of the line).
_ODD_ESCAPE = re.compile(rb'\\[^"]').search


def event_items(source: str, first: int, lines: list[bytes], watch: UnknownFields | None = None) -> list:
    """event_lines() of a block as a list, in the lines' order: a Reject, or (line number, row, odd), `odd`
    telling whether the line held a backslash escape other than \" (else every string of the row is as the
    line wrote it but for its \" escapes: what encode_row needs to know). One function call for the block
    and a list, not a generator, since this runs once an event."""
    decode = (_strict_event_decoder if watch else _event_decoder).decode
    out = []
    append = out.append
    odd_escape, text_fields, codes, user_id = _ODD_ESCAPE, _EVENT_TEXT, _EVENT_CODES, _USER_ID
    level_at, page_at = _LEVEL, _PAGE
    for number, line in enumerate(lines, first):
        if not line or line.isspace():
            continue
        try:
            row = _astuple(decode(line))
        except (msgspec.DecodeError, UnicodeDecodeError) as err:
            row = None
            if watch and type(err) is msgspec.ValidationError:
                row = _with_unknown(err, _event_decoder, _EVENT_KEYS, watch, source, number, line)
            if row is None or type(row) is Reject:
                append(row or Reject(source, number, _reason(err, line), _raw(line)))
                continue
        except RecursionError:
            append(Reject(source, number, DEPTH_REASON, _raw(line)))
            continue
        except Exception as err:  # noqa: BLE001 - whatever the parser raises, a record never stops the load
            append(Reject(source, number, f"cannot be parsed: {type(err).__name__}: {err}", _raw(line)))
            continue
        # _check_text and _trailing_blank, inlined for the common line: this loop runs once per event
        odd = odd_escape(line) is not None
        if odd and b"\\u0000" in line and _holds_nul(line, row):
            append(Reject(source, number, NUL_REASON, _raw(line)))
            continue
        if odd or not line.isascii():  # _over_width, inlined
            size, bad = len(line), None
            for index, name, width, quarter in text_fields:
                if width >= size:
                    break
                value = row[index]
                if type(value) is str and len(value) > quarter and (wide := len(value.encode("utf-8"))) > width:
                    bad = width_reason(name, wide, width)
                    break
            if bad:
                append(Reject(source, number, bad, _raw(line)))
                continue
        # a blank at the end of a code (level, page, userId), written as it is or as an escape (\u0020): the
        # values decide; _trailing_blank words the reason
        level, page, value = row[level_at], row[page_at], row[user_id]
        if ((level is not None and level[-1:] == " ") or (page is not None and page[-1:] == " ")
                or (type(value) is str and value[-1:] == " ")):
            append(Reject(source, number, _trailing_blank(row, codes, EVENT_COLUMNS), _raw(line)))
            continue
        if type(value) is int:
            row = row[:user_id] + (str(value),) + row[user_id + 1:]
        append((number, row, odd))
    return out


def _song(source: str, number: int, text: bytes, watch: UnknownFields | None = None) -> tuple | Reject:
    try:
        row = _astuple((_strict_song_decoder if watch else _song_decoder).decode(text))
    except (msgspec.DecodeError, UnicodeDecodeError) as err:
        row = None
        if watch and type(err) is msgspec.ValidationError:
            row = _with_unknown(err, _song_decoder, _SONG_KEYS, watch, source, number, text)
        if row is None or type(row) is Reject:
            return row or Reject(source, number, _reason(err, text), _raw(text))
    except RecursionError:
        return Reject(source, number, DEPTH_REASON, _raw(text))
    except Exception as err:  # noqa: BLE001 - as in events
        return Reject(source, number, f"cannot be parsed: {type(err).__name__}: {err}", _raw(text))
    bad = _check_text(text, row, _SONG_TEXT) or _trailing_blank(row, _SONG_CODES, SONG_COLUMNS)
    return Reject(source, number, bad, _raw(text)) if bad else (number, row)


TOO_LARGE = (f"the song file is over {RECORD_LIMIT:,} bytes, the most a song file may be unless it is JSON lines "
             "(one record a line)")


def songs(source: str, data: bytes | Iterable[bytes], fields: UnknownFields | None = None
          ) -> Iterator[tuple | Reject]:
    """The song object of a song file (pretty-printed or not), or each line of a JSON-lines file.

    A song file is read whole up to RECORD_LIMIT; a larger one is read as a stream when it is JSON lines
    (its first line a JSON value), else it is one reject. `fields`: as in `events`."""
    watch = watching(fields, source)
    chunks = iter(_chunks(data))
    head, size = [], 0
    if type(data) is bytes and len(data) <= RECORD_LIMIT:
        head, chunks = [data], ()
    for chunk in chunks:
        head.append(chunk)
        size += len(chunk)
        if size > RECORD_LIMIT:
            break
    else:
        yield from _song_file(source, b"".join(head), watch)
        return
    checked = False  # whether the first line that is not blank was JSON
    for number, lines in _blocks(chain(_chunks(b"".join(head)), chunks)):
        if type(lines) is _Overlong:
            if not checked:
                yield Reject(source, number, TOO_LARGE, _raw(lines.head))
                return
            yield lines.reject(source, number)
            continue
        for n, line in enumerate(lines, number):
            if not line or line.isspace():
                continue
            if not checked:
                if not _is_json(line):
                    yield Reject(source, n, TOO_LARGE, _raw(line))
                    return
                checked = True
            yield _song(source, n, line, watch)


def _song_file(source: str, data: bytes, watch: UnknownFields | None = None) -> Iterator[tuple | Reject]:
    if data.startswith(BOM):
        data = data[len(BOM):]
    if not data.strip():
        return
    whole = _song(source, 1, data, watch)
    lines = [(n, line) for n, line in enumerate(data.split(b"\n"), start=1) if line.strip()]
    if type(whole) is not Reject or len(lines) <= 1 or not _is_json(lines[0][1]):
        # one record, whole or broken (a pretty-printed object spans lines: it is still one record)
        yield whole if type(whole) is not Reject else Reject(source, lines[0][0], whole.reason, whole.raw_line)
        return
    for number, line in lines:
        yield _song(source, number, line, watch)
