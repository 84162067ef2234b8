"""Two warehouses compared table by table: a count and a SHA-256 over a canonical rendering of every row.

The rendering happens here, from the values the driver returns, so no engine's text casts, collation or
float printing decide it: NULL is \\N; whole numbers (int, or a Decimal with no fraction) as digits;
other numbers as the shortest text that reads back as the same double; timestamps in ISO form to the
microsecond; text with backslash, tab and newline escaped. Rows are sorted after rendering. The same
rows give the same fingerprint whichever engine held them and in whatever order it sent them.
"""

from __future__ import annotations

import hashlib
from datetime import date, datetime
from decimal import Decimal

# every column of every star table, which both warehouses define alike (a key first)
STAR_COLUMNS = {
    "songplays": ["songplay_id", "start_time", "user_id", "level", "song_id", "artist_id", "session_id", "location",
                  "user_agent", "song_title", "artist_name", "song_length", "metro", "state", "browser", "os",
                  "device"],
    "users": ["user_id", "first_name", "last_name", "gender", "level", "registration", "first_play", "last_play"],
    "songs": ["song_id", "title", "artist_id", "year", "duration"],
    "artists": ["artist_id", "name", "location", "latitude", "longitude"],
    "time": ["start_time", "hour", "day", "week", "month", "year", "weekday"],
    "user_levels": ["user_id", "level", "valid_from", "valid_to"],
    "sessions": ["user_id", "session_id", "started_at", "ended_at", "seconds", "events", "plays", "first_level",
                 "last_level", "location", "metro", "state", "user_agent", "browser", "os", "device"],
    "page_events": ["event_id", "start_time", "user_id", "session_id", "item_in_session", "page", "level", "status",
                    "method"],
}
REJECT_COLUMNS = ["source_file", "line_number", "reason"]


def canonical(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, Decimal):
        return str(int(value)) if value == value.to_integral_value() else repr(float(value))
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else repr(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def fingerprint(rows) -> tuple[int, str]:
    """(row count, SHA-256 of the sorted canonical lines)."""
    lines = sorted("\t".join(canonical(v) for v in row) for row in rows)
    digest = hashlib.sha256("\n".join(lines).encode()).hexdigest()
    return len(lines), digest


def _rows(conn, table: str, columns: list[str]) -> list[tuple]:
    with conn.cursor() as cur:
        cur.execute(f"SELECT {', '.join(columns)} FROM {table}")
        rows = cur.fetchall()
    conn.rollback()
    return rows


def fingerprints(conn) -> dict[str, tuple[int, str]]:
    """Every star table's fingerprint, and the rejects' (file, line, reason)."""
    out = {table: fingerprint(_rows(conn, table, columns)) for table, columns in STAR_COLUMNS.items()}
    out["load_errors"] = fingerprint(_rows(conn, "load_errors", REJECT_COLUMNS))
    return out


def rejects(conn) -> list[tuple]:
    return sorted(_rows(conn, "load_errors", REJECT_COLUMNS))


def differences(a: dict, b: dict, a_name: str, b_name: str) -> list[str]:
    """One line per table whose count or checksum differs; empty when every table is the same."""
    out = []
    for table in a.keys() | b.keys():
        if a.get(table) != b.get(table):
            (na, ha), (nb, hb) = a.get(table, (0, "")), b.get(table, (0, ""))
            out.append(f"{table}: {na:,} rows (sha256 {ha[:12]}) on {a_name}, {nb:,} rows (sha256 {hb[:12]}) on "
                       f"{b_name}")
    return sorted(out)
