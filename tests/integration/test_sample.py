"""The public sample loads to exactly the figures in its README, from a folder and from S3."""

import pytest
from conftest import SAMPLE_FIGURES, run_cli, table_digest

pytestmark = pytest.mark.integration

STAR = ("songplays", "users", "songs", "artists", "time")


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
    s3.create_bucket(Bucket="sparkify-sample", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    for path in sample.rglob("*.json"):
        s3.upload_file(str(path), "sparkify-sample", "raw/" + str(path.relative_to(sample)))

    env.update(aws_env, SONG_DATA=str(sample / "song_data"), LOG_DATA=str(sample / "log_data"))
    run_cli("load", env)

    admin = psycopg2.connect(pg_server)
    admin.autocommit = True
    other = database + "_s3"
    name = other.rsplit("/", 1)[1]
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    try:
        from_s3 = dict(env, DATABASE_URL=_with_database(pg_server, name),
                       SONG_DATA="s3://sparkify-sample/raw/song_data", LOG_DATA="s3://sparkify-sample/raw/log_data")
        out = run_cli("load", from_s3).stdout
        assert "s3://sparkify-sample/raw/log_data" in out
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
