"""The rules that turn a logged value into what the star holds: text repaired, user agents and places parsed.

Pure functions of one value, so the same staged value gives the same result on every warehouse
(`lookups.py` applies them to staging's distinct values and keeps the results in lookup tables).

- Text (song, artist, first and last name, location): mojibake is repaired by ftfy, by one rule: a value
  is changed only when ftfy finds it is UTF-8 that was read as Latin-1 or Windows-1252, once or more,
  and undoes exactly that (each step of its explanation an `encode` to one of those and a `decode` from
  UTF-8), and the result holds no C1 control character (U+0080 to U+009F), no replacement character
  (U+FFFD) and no other control character that the value did not hold already. Anything else is left
  as logged. ASCII text cannot be mojibake and is not looked at, nor is text without a character pair
  that UTF-8 read as Latin-1 or Windows-1252 always leaves (`_MISREAD`). Trailing blanks are dropped
  first: Redshift ignores them when it compares text (so it would group 'Heavy Soul ' with 'Heavy Soul'),
  and the star must group alike on both warehouses.
- A user agent loses the double quotes the logs put around most of them; ua-parser (the uap-core rules)
  names its browser, operating system and device family ("Other" when the rules know none).
- A location, "San Francisco-Oakland-Hayward, CA" (a US metropolitan area and its states), is split at its
  last comma: the metro area before it and, when what follows is two-letter codes joined by hyphens, the
  states after it ("IL-IN-WI" for a metro that spans three). Anything else (no comma, "São Paulo, Brazil")
  keeps the metro and has no state.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from dataclasses import dataclass

import ftfy

# Only the encoding fix: no HTML entities, quotes, ligatures, widths, line breaks or normalization.
_FTFY = ftfy.TextFixerConfig(
    unescape_html=False, remove_terminal_escapes=False, fix_encoding=True, restore_byte_a0=False,
    replace_lossy_sequences=False, decode_inconsistent_utf8=False, fix_c1_controls=False,
    fix_latin_ligatures=False, fix_character_width=False, uncurl_quotes=False, fix_line_breaks=False,
    fix_surrogates=False, remove_control_chars=False, normalization=None, explain=True,
)
_MISREAD_AS = frozenset({"latin-1", "windows-1252", "sloppy-windows-1252"})
UNKNOWN = "Other"  # uap-core's family for what its rules do not recognise
_STATES = re.compile(r"[A-Z]{2}(?:-[A-Z]{2})*")
# What any UTF-8 read as Latin-1 or Windows-1252 holds: a lead byte (0xC2 to 0xF4) read as a character,
# followed by a continuation byte (0x80 to 0xBF) read as one (Latin-1, or Windows-1252's own). Text without
# it cannot be mojibake of that kind, and ftfy (some microseconds a value) is not asked.
_MISREAD = re.compile("[\u00c2-\u00f4][\u0080-\u00bf\u0152\u0153\u0160\u0161\u0178\u017d\u017e\u0192"
                      "\u02c6\u02dc\u2013\u2014\u2018-\u201a\u201c-\u201e\u2020-\u2022\u2026\u2030"
                      "\u2039\u203a\u20ac\u2122]")


def _double_encoded(steps) -> bool:
    """Every step undoes a reading of UTF-8 as Latin-1 or Windows-1252: encode to it, decode UTF-8."""
    if not steps or len(steps) % 2:
        return False
    pairs = zip(steps[::2], steps[1::2])
    return all(e == ("encode", e[1]) and e[1] in _MISREAD_AS and d == ("decode", "utf-8") for e, d in pairs)


def _valid(fixed: str, value: str) -> bool:
    """No C1 control character, no replacement character, and no other control character the value lacked."""
    if "\ufffd" in fixed or any("\x80" <= c <= "\x9f" for c in fixed):
        return False
    return {c for c in fixed if unicodedata.category(c) == "Cc"} <= set(value)


@functools.lru_cache(maxsize=65_536)
def repair(value: str) -> str:
    """The value as the star holds it: without trailing blanks, its mojibake undone when the rule allows."""
    value = value.rstrip(" ")
    if value.isascii() or not _MISREAD.search(value):
        return value
    fixed, steps = ftfy.fix_encoding_and_explain(value, _FTFY)
    if fixed != value and _double_encoded(steps) and _valid(fixed, value):
        return fixed
    return value


@dataclass(frozen=True)
class UserAgent:
    text: str  # without the quotes around it
    browser: str
    os: str
    device: str


def unquote(value: str) -> str:
    value = value.strip(" ")
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = value[1:-1].strip(" ")
    return value


@functools.lru_cache(maxsize=4096)
def user_agent(value: str) -> UserAgent:
    from ua_parser import parse

    text = unquote(value)
    found = parse(text)
    return UserAgent(
        text,
        found.user_agent.family if found.user_agent else UNKNOWN,
        found.os.family if found.os else UNKNOWN,
        found.device.family if found.device else UNKNOWN,
    )


@dataclass(frozen=True)
class Place:
    text: str  # repaired
    metro: str
    state: str | None  # "CA", or "IL-IN-WI" for a metro area across states


@functools.lru_cache(maxsize=4096)
def place(value: str) -> Place:
    text = repair(value)
    head, comma, tail = text.rpartition(",")
    if not comma:
        return Place(text, text.strip(), None)
    tail = tail.strip()
    return Place(text, head.strip(), tail if _STATES.fullmatch(tail) else None)
