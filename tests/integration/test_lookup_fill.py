"""The lookup fill reads the staged distinct values a batch at a time (through a server-side cursor on
PostgreSQL, in batches of the statement's result elsewhere) and adds what a reading of them all at once adds."""

import pytest

from sparkify_dwh import cleaning, db, lookups, migrations

pytestmark = pytest.mark.integration

MOJIBAKE = "Représente".encode().decode("latin-1").encode().decode("latin-1")  # "ReprÃ\x83Â©sente"
REAL_ROWS = lookups._rows
AGENTS = ['"Mozilla/5.0 (X11; Linux x86_64)"', "Mozilla/5.0 (iPhone; CPU iPhone OS 7_1_2 like Mac OS X)", None]


def staged_rows():
    """Events of logged-in users: 40 non-ASCII songs (one double-encoded, one also staged with a trailing blank),
    artists, names, places and agents repeated across rows; one event of a user not logged in."""
    rows = []
    for n in range(120):
        song = MOJIBAKE if n % 40 == 7 else f"Chanson d'été {n % 40}" + (" " if n == 41 else "")
        artist = "Björk" if n % 3 else "Sigur Rós"
        first, last = ("Zoë", "Müller") if n % 2 else ("Ann", "Lee")
        place = ["Austin, TX", "São Paulo, SP", "Lagos, Nigeria "][n % 3]
        rows.append((song, artist, first, last, place, AGENTS[n % 3], str(n % 17), 1541105830796 + n, n))
    rows.append(("Été", "Ólafur", "X", "Y", "Oslo", AGENTS[0], "", 1541105830796, 999))
    return rows


def filled(url, server_side, monkeypatch, batch):
    monkeypatch.setattr(lookups, "BATCH", batch)
    conn = db.connect_url(url)
    migrations.migrate(conn)
    conn.commit()
    with conn.cursor() as cur:
        cur.executemany("INSERT INTO staging_events (song, artist, first_name, last_name, location, user_agent, "
                        "user_id, ts, source_line, source_file, load_id) "
                        "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, 'f.json', 'load-1')", staged_rows())
        seen = []

        def watched(cur_, sql, server):
            for row in REAL_ROWS(cur_, sql, server):
                cur.execute("SELECT COUNT(*) FROM pg_cursors WHERE name = 'lookup_values'")
                seen.append(cur.fetchone()[0])
                yield row

        monkeypatch.setattr(lookups, "_rows", watched)
        out = lookups.fill(cur, server_side=server_side)
        tables = {}
        for table, columns in lookups.COLUMNS.items():
            cur.execute(f"SELECT {', '.join(columns)} FROM {table} ORDER BY 1")
            tables[table] = cur.fetchall()
    conn.rollback()
    conn.close()
    return out, tables, seen


def test_the_fill_in_batches_adds_what_reading_every_value_at_once_adds(database, other_database, monkeypatch):
    streamed, streamed_tables, open_cursors = filled(database, True, monkeypatch, batch=3)
    whole, whole_tables, no_cursor = filled(other_database, False, monkeypatch, batch=10_000)
    assert set(open_cursors) == {1} and set(no_cursor) == {0}  # the server's cursor was open while read
    assert streamed_tables == whole_tables
    assert (streamed.repaired, streamed.unquoted, streamed.added) == (whole.repaired, whole.unquoted, whole.added)
    # what the values hold: the double-encoded title repaired (3 rows), its fix in text_repairs once; the
    # song with a trailing blank counted with its twin; the user not logged in left out
    assert streamed.repaired["song"] == 3
    assert streamed_tables["text_repairs"] == [(MOJIBAKE, cleaning.repair(MOJIBAKE))]
    assert streamed.unquoted == 40 and streamed.added["user_agent_parts"] == 2
    assert [r[0] for r in streamed_tables["location_parts"]] == ["Austin, TX", "Lagos, Nigeria", "São Paulo, SP"]
