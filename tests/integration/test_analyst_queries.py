"""Queries of the kinds analysts write against the Udacity star schema (songplays, users, songs, artists,
time and their columns) run unchanged on PostgreSQL and on the emulated Redshift, and agree; on PostgreSQL
also as the analysts' read-only login, unqualified (its search_path is the star's schema alone)."""

import uuid

import psycopg2
import pytest
from test_redshift_load import rig  # noqa: F401  (the fixture: emulated Redshift beside PostgreSQL)

from sparkify_dwh import reader
from sparkify_dwh.warehouses.postgres import Postgres

pytestmark = pytest.mark.integration

QUERIES = {
    "top songs": "SELECT song_title, artist_name, COUNT(*) AS plays FROM songplays GROUP BY song_title, artist_name "
                 "ORDER BY plays DESC, song_title, artist_name LIMIT 10",
    "top songs of the catalogue": "SELECT s.title, a.name, COUNT(*) AS plays FROM songplays sp "
                                  "JOIN songs s ON sp.song_id = s.song_id JOIN artists a ON sp.artist_id = a.artist_id "
                                  "GROUP BY s.title, a.name ORDER BY plays DESC, s.title",
    "top artists": "SELECT artist_name, COUNT(*) AS plays FROM songplays GROUP BY artist_name "
                   "ORDER BY plays DESC, artist_name LIMIT 10",
    "plays by hour": "SELECT t.hour, COUNT(*) FROM songplays sp JOIN time t ON sp.start_time = t.start_time "
                     "GROUP BY t.hour ORDER BY t.hour",
    "plays by weekday": "SELECT t.weekday, COUNT(*) AS plays FROM songplays sp JOIN time t ON sp.start_time = "
                        "t.start_time GROUP BY t.weekday ORDER BY plays DESC, t.weekday",
    "plays by week": "SELECT t.year, t.week, COUNT(*) FROM songplays sp JOIN time t ON sp.start_time = t.start_time "
                     "GROUP BY t.year, t.week ORDER BY t.year, t.week",
    "plays by day": "SELECT t.month, t.day, COUNT(*) FROM songplays sp JOIN time t ON sp.start_time = t.start_time "
                    "GROUP BY t.month, t.day ORDER BY t.month, t.day",
    "level split": "SELECT level, COUNT(*), COUNT(DISTINCT user_id) FROM songplays GROUP BY level ORDER BY level",
    "users by level": "SELECT level, COUNT(*) FROM users GROUP BY level ORDER BY level",
    "user agents": "SELECT user_agent, COUNT(*) AS plays FROM songplays GROUP BY user_agent "
                   "ORDER BY plays DESC, user_agent LIMIT 5",
    "locations": "SELECT location, COUNT(*) AS plays FROM songplays GROUP BY location "
                 "ORDER BY plays DESC, location LIMIT 10",
    "gender": "SELECT u.gender, COUNT(*) FROM songplays sp JOIN users u ON sp.user_id = u.user_id "
              "GROUP BY u.gender ORDER BY u.gender",
    "most active users": "SELECT u.user_id, u.first_name, u.last_name, COUNT(*) AS plays FROM songplays sp "
                         "JOIN users u ON sp.user_id = u.user_id GROUP BY u.user_id, u.first_name, u.last_name "
                         "ORDER BY plays DESC, u.user_id LIMIT 5",
    "longest sessions in songs": "SELECT user_id, session_id, COUNT(*) AS songs FROM songplays "
                                 "GROUP BY user_id, session_id ORDER BY songs DESC, user_id, session_id LIMIT 5",
    "paid listening by hour": "SELECT t.hour, sp.level, COUNT(*) FROM songplays sp JOIN time t "
                              "ON sp.start_time = t.start_time GROUP BY t.hour, sp.level ORDER BY t.hour, sp.level",
    "songs by year": "SELECT year, COUNT(*) FROM songs GROUP BY year ORDER BY year",
    "artists with a place": "SELECT COUNT(*) FROM artists WHERE location IS NOT NULL",
    "paying listeners": "SELECT COUNT(DISTINCT user_id) FROM songplays WHERE level = 'paid'",
    "matched plays": "SELECT COUNT(*) FROM songplays WHERE song_id IS NOT NULL",
    "plays a month": "SELECT t.year, t.month, COUNT(*) FROM songplays sp JOIN time t ON sp.start_time = t.start_time "
                     "GROUP BY t.year, t.month ORDER BY t.year, t.month",
}


def _answers(conn) -> dict[str, list]:
    out = {}
    with conn.cursor() as cur:
        for name, sql in QUERIES.items():
            cur.execute(sql)
            out[name] = cur.fetchall()
    conn.rollback()
    return out


def test_analysts_queries_run_unchanged_on_both_warehouses_and_agree(rig, sample, conn):  # noqa: F811
    rig.load(sample)
    rig.load_postgres(sample)
    from redshift_emulator import EmulatedRedshift

    redshift = EmulatedRedshift(rig.database, rig.s3)  # every statement checked against Redshift's rules
    try:
        on_redshift = _answers(redshift)
    finally:
        redshift.close()
    with psycopg2.connect(rig.pg_url) as pg:
        on_postgres = _answers(pg)
        # and as the analysts' read-only login, whose search_path is the star's schema alone: unqualified
        user = f"analyst_{uuid.uuid4().hex[:8]}"
        password, _ = reader.grant(pg, user, Postgres.caps.password_hash)
    as_reader = psycopg2.connect(**{**psycopg2.extensions.parse_dsn(rig.pg_url), "user": user, "password": password})
    try:
        assert _answers(as_reader) == on_postgres
    finally:
        as_reader.close()
    assert len(QUERIES) >= 15
    assert on_redshift == on_postgres
    assert on_postgres["top songs"][0] == ("You're The One", "Dwight Yoakam", 37)
    assert ("Björk", 33) in on_postgres["top artists"]
    assert on_postgres["top songs of the catalogue"] == [("Setanta matins", "Elena", 1)]
    assert not [ua for ua, _ in on_postgres["user agents"] if ua.startswith('"')]
    assert sum(n for _, n in on_postgres["plays by hour"]) == 6820
    assert on_postgres["users by level"] == [("free", 74), ("paid", 22)]
