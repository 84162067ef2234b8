"""Reruns change nothing; new and changed files are picked up; edited migrations are refused."""

import json
import os
import shutil

import pytest
from conftest import GOOD_EVENT, GOOD_SONG, run_cli, table_digest

from sparkify_dwh import config, migrations, pipeline

pytestmark = pytest.mark.integration

TABLES = ("staging_events", "staging_songs", "songplays", "users", "songs", "artists", "time", "load_files")


def digests(conn):
    out = {t: table_digest(conn, t) for t in TABLES if t != "load_files"}
    with conn.cursor() as cur:
        cur.execute("SELECT source_file, size_bytes, version, records_read FROM load_files ORDER BY 1")
        out["load_files"] = cur.fetchall()
    conn.rollback()
    return out


def test_rerun_on_the_same_input_changes_nothing(env, conn):
    first = run_cli("load", env).stdout
    assert "generating the demo dataset" in first
    before = digests(conn)
    second = run_cli("load", env).stdout
    assert "generating" not in second
    after = digests(conn)
    assert after == before
    assert before["songplays"][0] > 1000
    # the second run read no file: every file is unchanged
    for kind in ("songs", "events"):
        files, loaded, unchanged = next(line for line in second.splitlines() if line.startswith(kind)).split()[2:5]
        assert (loaded, unchanged) == ("0", files)


def test_a_new_file_adds_only_its_rows_and_a_changed_file_is_replaced(tmp_path, env, conn, small_dataset):
    src = tmp_path / "src"
    shutil.copytree(small_dataset, src)
    env.update(SONG_DATA=str(src / "song_data"), LOG_DATA=str(src / "log_data"))
    run_cli("load", env)
    base = digests(conn)

    day2 = src / "log_data" / "2018" / "11" / "2018-11-02-events.json"
    day1 = (src / "log_data" / "2018" / "11" / "2018-11-01-events.json").read_text().splitlines()
    day2.write_text("\n".join(json.dumps(dict(e, ts=e["ts"] + 86_400_000)) for e in map(json.loads, day1)) + "\n")
    out = run_cli("load", env).stdout
    events_line = next(line for line in out.splitlines() if line.startswith("events"))
    assert events_line.split()[2:5] == ["2", "1", "1"]  # files, loaded, unchanged
    grown = digests(conn)
    assert grown["staging_events"][0] == 2 * base["staging_events"][0]
    assert grown["songplays"][0] == 2 * base["songplays"][0]

    # the new day's file is rewritten with one line fewer: its rows are replaced, not added to
    lines = day2.read_text().splitlines()
    day2.write_text("\n".join(lines[:-1]) + "\n")
    run_cli("load", env)
    replaced = digests(conn)
    assert replaced["staging_events"][0] == 2 * base["staging_events"][0] - 1
    # the summary's staging counts, read from the ledger, are staging's own after a replace
    counts = pipeline.table_counts(conn)
    assert (counts["staging_events"], counts["staging_songs"]) == (
        replaced["staging_events"][0], replaced["staging_songs"][0])
    verify = run_cli("verify", env)
    assert "0 failed" in verify.stdout


def test_full_refresh_rebuilds_from_the_configured_sources(tmp_path, env, conn, small_dataset):
    run_cli("load", env)
    demo = digests(conn)
    env.update(SONG_DATA=str(small_dataset / "song_data"), LOG_DATA=str(small_dataset / "log_data"))
    mixed = run_cli("load", env).stdout
    assert "FULL_REFRESH=1 rebuilds" in mixed
    refreshed = run_cli("load", dict(env, FULL_REFRESH="1")).stdout
    assert "staging also holds" not in refreshed  # the run that drops them does not speak of them as kept
    small = digests(conn)
    assert small["staging_events"][0] < demo["staging_events"][0]
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM load_files WHERE source_file NOT LIKE %s", (str(small_dataset) + "/%",))
        assert cur.fetchone()[0] == 0


def test_an_applied_migration_that_was_edited_is_refused(tmp_path, conn, monkeypatch):
    sql = tmp_path / "sql"
    shutil.copytree(config.SQL_DIR, sql)
    monkeypatch.setattr(config, "SQL_DIR", sql)
    applied = migrations.migrate(conn)
    assert [a.file for a in applied][:2] == ["010_staging_events.sql", "020_staging_songs.sql"]
    assert migrations.migrate(conn) == []  # applied once

    target = sql / "schema" / "120_users.sql"
    target.write_text(target.read_text().replace("level VARCHAR(16)", "level VARCHAR(32)"))
    with pytest.raises(migrations.MigrationError, match=r"schema/120_users.sql was edited after it was applied"):
        migrations.migrate(conn)

    target.unlink()
    with pytest.raises(migrations.MigrationError, match=r"120_users.sql as applied but no such file is here"):
        migrations.migrate(conn)


def test_a_new_migration_is_applied_once_in_order(tmp_path, conn, monkeypatch):
    sql = tmp_path / "sql"
    shutil.copytree(config.SQL_DIR, sql)
    monkeypatch.setattr(config, "SQL_DIR", sql)
    migrations.migrate(conn)
    (sql / "schema" / "125_users_email.sql").write_text(
        "-- users.email: contact address\nALTER TABLE users ADD COLUMN email VARCHAR(256);\n"
    )
    assert [a.file for a in migrations.migrate(conn)] == ["125_users_email.sql"]
    with conn.cursor() as cur:
        cur.execute("SELECT version, name FROM schema_history WHERE version = 125")
        assert cur.fetchall() == [(125, "users_email")]


def test_two_migrations_at_once_apply_each_file_once(database, conn):
    import threading
    import time

    import psycopg2

    other, watcher = psycopg2.connect(database), psycopg2.connect(database)
    watcher.autocommit = True
    with conn.cursor() as cur:
        cur.execute(migrations.HISTORY_DDL)
    conn.commit()
    racer_pid, other_pid = conn.get_backend_pid(), other.get_backend_pid()
    with other.cursor() as cur, watcher.cursor() as watch:
        cur.execute("LOCK schema_history")  # a first run, mid-way through a file
        done = []
        racer = threading.Thread(target=lambda: done.append(migrations.migrate(conn)))
        racer.start()
        blocked_by = []
        for _ in range(600):  # the second run waits for the first: the server shows it waiting on the lock
            watch.execute("SELECT pg_blocking_pids(%s)", (racer_pid,))
            blocked_by = watch.fetchone()[0]
            if blocked_by:
                break
            time.sleep(0.05)
        assert blocked_by == [other_pid] and racer.is_alive()
    first = migrations.migrate(other)  # the first run applies everything, committing file by file
    racer.join(timeout=60)
    other.close()
    watcher.close()
    applied = [a.file for a in first] + [a.file for a in done[0]]
    assert sorted(applied) == sorted(set(applied)) and "010_staging_events.sql" in applied
    with conn.cursor() as cur:
        cur.execute("SELECT version, COUNT(*) FROM schema_history GROUP BY version HAVING COUNT(*) > 1")
        assert cur.fetchall() == []


def test_a_file_changed_to_the_same_size_is_read_again(tmp_path, env, conn):
    # a tier corrected in place: "free" becomes "paid", the same number of bytes, a later modification time
    play = GOOD_EVENT
    day = tmp_path / "src" / "log_data" / "2018-11-01-events.json"
    day.parent.mkdir(parents=True)
    day.write_text(json.dumps(play) + "\n")
    songs = tmp_path / "src" / "song_data"
    songs.mkdir()
    (songs / "TRABC1.json").write_text(json.dumps(GOOD_SONG))
    env.update(SONG_DATA=str(songs), LOG_DATA=str(day.parent))
    run_cli("load", env)
    size, mtime = day.stat().st_size, day.stat().st_mtime_ns
    day.write_text(json.dumps(dict(play, level="paid")) + "\n")
    os.utime(day, ns=(mtime + 10**9, mtime + 10**9))
    assert day.stat().st_size == size
    out = run_cli("load", env).stdout
    assert next(x for x in out.splitlines() if x.startswith("events")).split()[2:5] == ["1", "1", "0"]
    with conn.cursor() as cur:
        cur.execute("SELECT level, COUNT(*) OVER () FROM staging_events")
        assert cur.fetchall() == [("paid", 1)]
        cur.execute("SELECT level FROM songplays")
        assert cur.fetchall() == [("paid",)]
