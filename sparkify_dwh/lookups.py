"""The lookup tables the transform joins: cleaning.py's rules applied to the distinct values staged.

At the start of the transform's transaction, before its SQL files, the events of logged-in users in the
loads the star does not reflect yet (every load on a rebuild) are read as distinct values: the songs,
artists and names that hold non-ASCII text (ASCII cannot be mojibake), and every location and user agent.
Each value not yet in its table is run through cleaning.py once and added: text_repairs (only the values
the rule changes), location_parts, user_agent_parts. A value's row never changes, so a day's load adds
only the day's new values, and a warehouse made before these tables existed gets them from its staged
rows on its next transform (the migration that adds them asks for a rebuild): no source is read again.

The counts say how many staged fields of those events the star shows repaired, or unquoted.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from . import cleaning, db

# Which events: on a rebuild (no load the star reflects is staged any more, as 010_scope.sql decides) every
# event of a logged-in user; else those staged by loads the star does not reflect yet, whose load ids are the
# greatest, which the BRIN index on load_id finds without reading the rest.
# 1 on a rebuild, as transform_run.rebuild in 010_scope.sql says it
REBUILD = ("SELECT CASE WHEN COUNT(*) = 0 OR (SELECT COUNT(*) FROM star_rebuild) > 0 THEN 1 ELSE 0 END "
           "FROM star_loads AS b WHERE b.load_id IN (SELECT f.load_id FROM load_files AS f)")
_NEW_LOADS = "SELECT f.load_id FROM load_files AS f WHERE f.load_id NOT IN (SELECT b.load_id FROM star_loads AS b)"
WHERE = {
    True: "user_id <> ''",
    False: (f"user_id <> '' AND load_id >= (SELECT MIN(n.load_id) FROM ({_NEW_LOADS}) AS n) "
            f"AND load_id IN ({_NEW_LOADS})"),
}
# OCTET_LENGTH counts bytes and CHAR_LENGTH characters on both warehouses: they differ for non-ASCII text only.
# Redshift's OCTET_LENGTH page: "Returns the length of the specified string as the number of bytes"; its LEN
# page: "LEN is a synonym of LENGTH function, CHAR_LENGTH function, CHARACTER_LENGTH function".
NON_ASCII = "OCTET_LENGTH({0}) > CHAR_LENGTH({0})"


def songs_sql(rebuild: bool, non_ascii: str = NON_ASCII) -> str:
    """Song and artist of the events where either is not ASCII, with their rows."""
    return (f"SELECT song, artist, COUNT(*) FROM staging_events WHERE {WHERE[rebuild]} AND "
            f"({non_ascii.format('song')} OR {non_ascii.format('artist')}) GROUP BY song, artist")


def people_sql(rebuild: bool) -> str:
    """First and last name, location and user agent of the events, with their rows (a user's seldom change:
    about a row a user). A second scan, but grouping these with the songs would multiply the groups."""
    return (f"SELECT first_name, last_name, location, user_agent, COUNT(*) FROM staging_events WHERE {WHERE[rebuild]} "
            "GROUP BY first_name, last_name, location, user_agent")


KNOWN = {
    "text_repairs": "SELECT original, repaired FROM text_repairs",
    "location_parts": "SELECT location, repaired FROM location_parts",
    "user_agent_parts": "SELECT user_agent, unquoted FROM user_agent_parts",
}
COLUMNS = {
    "text_repairs": ("original", "repaired"),
    "location_parts": ("location", "repaired", "metro", "state"),
    "user_agent_parts": ("user_agent", "unquoted", "browser", "os", "device"),
}
WIDTHS = {"browser": 256, "os": 256, "device": 256}  # a family is short; a rule could echo a long substring
# what `fill` reads, in order, for the dry run: a rebuild's reads, or else the others
STATEMENTS = (REBUILD, *KNOWN.values(), songs_sql(True), people_sql(True), songs_sql(False), people_sql(False))
TEXT_FIELDS = ("song", "artist", "first_name", "last_name", "location")


@dataclass
class Filled:
    repaired: Counter = field(default_factory=Counter)  # field -> staged values the star shows repaired
    unquoted: int = 0  # staged user agents the star shows without their quotes
    added: dict[str, int] = field(default_factory=dict)  # lookup table -> rows added
    seconds: float = 0.0


def _fit(text: str, width: int) -> str:
    return text.encode("utf-8")[:width].decode("utf-8", "ignore")


def _stripped(values: tuple) -> tuple:
    return tuple(None if v is None else v.rstrip(" ") for v in values)


BATCH = 5000  # rows fetched at a time: the distinct values are read as they come, never all at once


def _rows(cur, sql: str, server_side: bool) -> Iterator[tuple]:
    """The rows of `sql` in batches of BATCH. `server_side` (PostgreSQL): through a cursor of the server's,
    so this process holds one batch, whatever the result; else fetched from the statement's result in
    batches (the driver holds the whole result in C, about 100 bytes a row; the rows become Python objects
    one batch at a time). At 3M events, the songs' result is about 500,000 distinct (song, artist) pairs."""
    if server_side:
        with cur.connection.cursor(name="lookup_values") as named:  # DECLARE ... CURSOR, in this transaction
            named.itersize = BATCH
            named.execute(sql)
            yield from named
        return
    cur.execute(sql)
    while batch := cur.fetchmany(BATCH):
        yield from batch


def fill(cur, insert: Callable = db.insert, non_ascii: str = NON_ASCII, server_side: bool = False) -> Filled:
    """Add the rows the new loads' values need to the lookup tables; count what the star shows changed.
    `insert(cur, table, columns, rows)` writes rows (bind parameters, multi-row); `non_ascii`, the test
    for text that is not ASCII (another engine's, for the benchmark's DuckDB); `server_side`, whether the
    distinct values are read through a server-side cursor (_rows)."""
    started = time.perf_counter()
    out = Filled()
    cur.execute(REBUILD)
    rebuild = cur.fetchone()[0] == 1
    known = {}
    for table, sql in KNOWN.items():
        cur.execute(sql)
        known[table] = dict(cur.fetchall())
    texts, places, agents = known["text_repairs"], known["location_parts"], known["user_agent_parts"]
    # grouped by the values as staged, keyed without trailing blanks: Redshift, which ignores them when it
    # compares, groups 'X ' with 'X' and returns either; PostgreSQL returns both, whose rows add up here
    new: dict[str, dict[str, tuple]] = {table: {} for table in KNOWN}

    def text(name: str, value: str | None, n: int) -> None:
        if value is None or value.isascii():
            return
        repaired = texts.get(value)
        if repaired is None:
            repaired = cleaning.repair(value)
            if repaired != value:
                texts[value] = repaired
                new["text_repairs"][value] = (value, repaired)
        if repaired != value:
            out.repaired[name] += n

    for *values, n in _rows(cur, songs_sql(rebuild, non_ascii), server_side):
        song, artist = _stripped(values)
        text("song", song, n)
        text("artist", artist, n)
    for *values, n in _rows(cur, people_sql(rebuild), server_side):
        first, last, location, agent = _stripped(values)
        text("first_name", first, n)
        text("last_name", last, n)
        if location is not None:
            if location not in places:
                place = cleaning.place(location)
                places[location] = place.text
                new["location_parts"][location] = (location, place.text, place.metro, place.state)
            if places[location] != location:
                out.repaired["location"] += n
        if agent is not None:
            if agent not in agents:
                parsed = cleaning.user_agent(agent)
                agents[agent] = parsed.text
                new["user_agent_parts"][agent] = (agent, parsed.text, *(_fit(v, 256) for v in (
                    parsed.browser, parsed.os, parsed.device)))
            if agents[agent] != agent:
                out.unquoted += n
    for table, rows in new.items():
        insert(cur, table, COLUMNS[table], sorted(rows.values()))
        out.added[table] = len(rows)
    out.seconds = time.perf_counter() - started
    return out
