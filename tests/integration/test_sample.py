"""The public sample loads to exactly the figures in its README, from a folder and from S3."""

import pytest
from conftest import SAMPLE_FIGURES, SEARCH_PATH, run_cli, table_digest, unique

pytestmark = pytest.mark.integration

STAR = ("songplays", "users", "songs", "artists", "time", "user_levels", "sessions", "page_events")


def figures(conn) -> dict[str, int]:
    queries = {
        "staging_events": "SELECT COUNT(*) FROM staging_events",
        "staging_songs": "SELECT COUNT(*) FROM staging_songs",
        "songplays": "SELECT COUNT(*) FROM songplays",
        "matched": "SELECT COUNT(*) FROM songplays WHERE song_id IS NOT NULL AND artist_id IS NOT NULL",
        "users": "SELECT COUNT(*) FROM users",
        "paid_users": "SELECT COUNT(*) FROM users WHERE level = 'paid'",
        "users_changed_level": "SELECT COUNT(*) FROM (SELECT user_id FROM songplays GROUP BY user_id "
                               "HAVING COUNT(DISTINCT level) > 1) AS changed",
        "songs": "SELECT COUNT(*) FROM songs",
        "artists": "SELECT COUNT(*) FROM artists",
        "time": "SELECT COUNT(*) FROM time",
    }
    out = {}
    with conn.cursor() as cur:
        for name, sql in queries.items():
            cur.execute(sql)
            out[name] = cur.fetchone()[0]
    return out


def test_sample_gives_every_figure_of_its_readme(sample, env, conn):
    env.update(SONG_DATA=str(sample / "song_data"), LOG_DATA=str(sample / "log_data"))
    out = run_cli("load", env).stdout
    assert "8,056" in out and "6,820" in out
    assert figures(conn) == SAMPLE_FIGURES
    verify = run_cli("verify", env)
    assert "0 failed" in verify.stdout


def test_the_matched_play_is_the_right_song(sample, env, conn):
    env.update(SONG_DATA=str(sample / "song_data"), LOG_DATA=str(sample / "log_data"))
    run_cli("load", env)
    with conn.cursor() as cur:
        cur.execute(
            "SELECT s.title, a.name, s.duration FROM songplays p JOIN songs s USING (song_id) "
            "JOIN artists a ON a.artist_id = p.artist_id"
        )
        assert cur.fetchall() == [("Setanta matins", "Elena", 269.58322)]


def test_same_load_from_s3_gives_the_same_tables(sample, env, database, pg_server, aws_env, tmp_path):
    import boto3
    import psycopg2
    from conftest import _with_database

    s3 = boto3.client("s3")
    bucket = unique("sparkify-sample")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    for path in sample.rglob("*.json"):
        s3.upload_file(str(path), bucket, "raw/" + str(path.relative_to(sample)))

    env.update(aws_env, SONG_DATA=str(sample / "song_data"), LOG_DATA=str(sample / "log_data"))
    run_cli("load", env)

    admin = psycopg2.connect(pg_server)
    admin.autocommit = True
    other = database + "_s3"
    name = other.rsplit("/", 1)[1]
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
        cur.execute(f'ALTER DATABASE "{name}" SET search_path TO {SEARCH_PATH}')  # the test's reads, unqualified
    try:
        from_s3 = dict(env, DATABASE_URL=_with_database(pg_server, name),
                       SONG_DATA=f"s3://{bucket}/raw/song_data", LOG_DATA=f"s3://{bucket}/raw/log_data")
        out = run_cli("load", from_s3).stdout
        assert f"s3://{bucket}/raw/log_data" in out
        local, remote = psycopg2.connect(database), psycopg2.connect(_with_database(pg_server, name))
        try:
            assert figures(remote) == SAMPLE_FIGURES
            for table in STAR:
                assert table_digest(local, table) == table_digest(remote, table), table
        finally:
            local.close()
            remote.close()
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_a_copy_in_another_folder_with_15_more_plays_adds_only_those_15(sample, env, conn, tmp_path):
    # the sample, then LOG_DATA switched to a copy of it in another folder, with a file of 15 new plays:
    # every event arrives twice under other names, and each is still one play
    import json
    import shutil

    env.update(SONG_DATA=str(sample / "song_data"), LOG_DATA=str(sample / "log_data"))
    run_cli("load", env)
    copy = tmp_path / "elsewhere" / "log_data"
    shutil.copytree(sample / "log_data", copy)
    files = sorted(copy.rglob("*.json"))
    events = [json.loads(line) for f in files for line in f.read_text(encoding="utf-8-sig").splitlines()
              if line.strip()]
    plays = [e for e in events if e["page"] == "NextSong" and e["userId"]][:15]
    (files[0].parent / "2018-11-31-extra-events.json").write_text(
        "".join(json.dumps(dict(e, ts=e["ts"] + 1)) + "\n" for e in plays))  # 15 plays 1 ms later: new plays
    env.update(LOG_DATA=str(copy))
    run_cli("load", env)
    found = figures(conn)
    assert found["staging_events"] == 2 * 8056 + 15
    assert found["songplays"] == 6820 + 15 == 6835
    # the distinct start times, from the raw JSON: the sample's plays' and the 15 new ones'
    times = {e["ts"] for e in events if e["page"] == "NextSong" and e["userId"]} | {e["ts"] + 1 for e in plays}
    assert found["users"] == 96 and found["time"] == len(times)
    assert len(times) > 6813  # some of the new instants are new to the time table
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM user_levels")
        assert cur.fetchone()[0] == 105  # the copies change no one's tier history
    conn.rollback()
    assert "0 failed" in run_cli("verify", env).stdout


def test_a_file_that_disappears_from_the_source_keeps_its_rows(sample, env, conn, tmp_path):
    import shutil

    logs = tmp_path / "log_data"
    shutil.copytree(sample / "log_data", logs)
    env.update(SONG_DATA=str(sample / "song_data"), LOG_DATA=str(logs))
    run_cli("load", env)
    before = {t: table_digest(conn, t) for t in STAR}
    conn.rollback()
    sorted(logs.rglob("*.json"))[0].unlink()  # expired by a lifecycle rule, say
    run_cli("load", env)
    assert {t: table_digest(conn, t) for t in STAR} == before
    assert figures(conn) == SAMPLE_FIGURES


C1 = "[\u0080-\u009f]"  # C1 control characters: left in text by mojibake


def test_the_star_answers_with_the_issue_figures(sample, env, conn):
    env.update(SONG_DATA=str(sample / "song_data"), LOG_DATA=str(sample / "log_data"))
    out = run_cli("load", env).stdout
    assert "text repaired: 346 values (artist 193, song 153)" in out
    queries = {
        "sessions": "SELECT COUNT(*) FROM sessions",
        "sessions across two files": "SELECT COUNT(*) FROM sessions WHERE CAST(started_at AS DATE) "
                                     "<> CAST(ended_at AS DATE)",
        "page_events": "SELECT COUNT(*) FROM page_events",
        "non-play page events": "SELECT COUNT(*) FROM page_events WHERE page <> 'NextSong'",
        "users": "SELECT COUNT(*) FROM users",
        "users in sessions": "SELECT COUNT(DISTINCT user_id) FROM sessions",
        "Björk's plays": "SELECT COUNT(*) FROM songplays WHERE artist_name = 'Björk'",
        "mojibake left": f"SELECT COUNT(*) FROM songplays WHERE song_title ~ '{C1}' OR artist_name ~ '{C1}' "
                         f"OR location ~ '{C1}' OR user_agent ~ '{C1}'",
        "quoted user agents": "SELECT COUNT(*) FROM songplays WHERE user_agent LIKE '\"%'",
        "users without registration": "SELECT COUNT(*) FROM users WHERE registration IS NULL OR first_play IS NULL",
    }
    with conn.cursor() as cur:
        found = {}
        for name, sql in queries.items():
            cur.execute(sql)
            found[name] = cur.fetchone()[0]
        cur.execute("SELECT user_id FROM sessions EXCEPT SELECT user_id FROM users")
        never_played = cur.fetchall()
        cur.execute("SELECT page, COUNT(*) FROM page_events WHERE page <> 'NextSong' GROUP BY page")
        pages = dict(cur.fetchall())
    assert found == {"sessions": 911, "sessions across two files": 11, "page_events": 7770,
                     "non-play page events": 950, "users": 96, "users in sessions": 97, "Björk's plays": 33,
                     "mojibake left": 0, "quoted user agents": 0, "users without registration": 0}
    assert never_played == [("21",)]  # one Home event, no play: its session and event are kept
    assert pages == {"Home": 635, "Logout": 90, "Downgrade": 60, "Settings": 56, "Help": 38, "About": 22,
                     "Upgrade": 21, "Save Settings": 10, "Error": 9, "Submit Upgrade": 8, "Submit Downgrade": 1}
    assert "0 failed" in run_cli("verify", env).stdout


def test_the_sample_loaded_day_by_day_gives_the_star_of_one_load(sample, database, other_database, tmp_path,
                                                                  monkeypatch):
    # 11 of the sample's sessions run past midnight into the next day's file: each day loaded on its own
    # must leave them, and every other table, as one load of the whole month does
    from contextlib import closing

    import psycopg2

    from sparkify_dwh import pipeline
    from sparkify_dwh.config import load_settings

    def load(url, logs):
        for key, value in {"DATABASE_URL": url, "SONG_DATA": str(sample / "song_data"), "LOG_DATA": str(logs),
                           "ENV_FILE": "/dev/null", "FULL_REFRESH": "0", "MAX_ERRORS": "0"}.items():
            monkeypatch.setenv(key, value)
        pipeline.load(load_settings(), quiet=True, say=lambda *_: None)

    logs = tmp_path / "log_data"
    logs.mkdir()
    for day in sorted((sample / "log_data").rglob("*.json")):
        (logs / day.name).write_bytes(day.read_bytes())
        load(database, logs)
    load(other_database, sample / "log_data")
    with closing(psycopg2.connect(database)) as daily, closing(psycopg2.connect(other_database)) as whole:
        assert {t: table_digest(daily, t) for t in STAR} == {t: table_digest(whole, t) for t in STAR}
        with daily.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM sessions WHERE CAST(started_at AS DATE) <> CAST(ended_at AS DATE)")
            assert cur.fetchone()[0] == 11
