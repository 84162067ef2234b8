"""Warehouses made by earlier code are upgraded by the numbered schema files, nothing reloaded: release
0.2's tables (sql/schema/155_layout_0_3.sql copies them into the new layout), and the star of the
release before the lookup tables repaired by the next transform from staging itself, the sources gone."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, run_cli

pytestmark = pytest.mark.integration

RELEASE_0_2 = "f10d237"  # pyproject's version 0.2.0


def checkout(commit: str, into: Path) -> Path:
    """The files of `commit`, from this repository's history."""
    into.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit], capture_output=True, check=False)
    if archive.returncode != 0:
        pytest.fail(f"git archive {commit} failed (a clone with its history is needed): {archive.stderr.decode()}")
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive.stdout, check=True)
    return into


@pytest.fixture
def earlier_release(tmp_path):
    return checkout(RELEASE_0_2, tmp_path / "earlier")


def _count(conn, sql: str) -> int:
    with conn.cursor() as cur:
        cur.execute(sql)
        value = cur.fetchone()[0]
    conn.rollback()
    return value


def test_a_warehouse_of_release_0_2_is_upgraded_in_place_and_keeps_a_day_gone_from_the_source(
        sample, env, conn, tmp_path):
    release = checkout(RELEASE_0_2, tmp_path / "release-0.2")
    sources = tmp_path / "sources"
    shutil.copytree(sample, sources)
    env.update(SONG_DATA=str(sources / "song_data"), LOG_DATA=str(sources / "log_data"))
    made = subprocess.run([sys.executable, str(release / "bin" / "load")], env=dict(env, PYTHONPATH=str(release)),
                          cwd=release, capture_output=True, text=True, timeout=300)
    assert made.returncode == 0, made.stderr
    staged = _count(conn, "SELECT COUNT(*) FROM staging_events")
    assert _count(conn, "SELECT COUNT(*) FROM songplays") == 6820
    assert _count(conn, "SELECT COUNT(*) FROM schema_history") == 10  # release 0.2's files, 010 to 150

    first_day = sorted((sources / "log_data").rglob("*.json"))[0]
    first_day.unlink()  # a day the source no longer holds: its rows live in staging only
    out = run_cli("load", env).stdout  # migrate (0.2's tables into the new layout), stage, transform
    assert "withdrawn" not in out.lower()
    assert _count(conn, "SELECT COUNT(*) FROM staging_events") == staged
    assert _count(conn, "SELECT COUNT(*) FROM songplays") == 6820
    assert _count(conn, "SELECT COUNT(*) FROM sessions") == 911
    assert _count(conn, "SELECT COUNT(*) FROM page_events") == 7770
    assert _count(conn, "SELECT COUNT(*) FROM songplays WHERE artist_name = 'Björk'") == 33
    assert _count(conn, "SELECT COUNT(*) FROM star_rebuild") == 0
    assert _count(conn, "SELECT character_maximum_length FROM information_schema.columns "
                        "WHERE table_name = 'staging_events' AND column_name = 'source_file'") == 2048
    assert "0 failed" in run_cli("verify", env).stdout


def test_a_warehouse_of_the_earlier_release_is_repaired_from_staging(sample, env, conn, earlier_release, tmp_path):
    sources = tmp_path / "sources"
    shutil.copytree(sample, sources)
    env.update(SONG_DATA=str(sources / "song_data"), LOG_DATA=str(sources / "log_data"))
    old = dict(env, PYTHONPATH=str(earlier_release))
    subprocess.run([sys.executable, str(earlier_release / "bin" / "load")], env=old, cwd=earlier_release,
                   capture_output=True, check=True, timeout=300)
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM staging_events WHERE artist LIKE 'Bj%rk'")
        assert cur.fetchone()[0] == 33
        cur.execute("SELECT to_regclass('sessions')")
        assert cur.fetchone()[0] is None  # made by the earlier release
    conn.rollback()

    shutil.rmtree(sources)  # the sources may be gone: what the star needs is in staging
    run_cli("migrate", env)
    run_cli("transform", env)
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM songplays WHERE artist_name = 'Björk'")
        assert cur.fetchone()[0] == 33
        cur.execute("SELECT COUNT(*) FROM songplays WHERE song_title ~ '[\u0080-\u009f]' OR user_agent LIKE '\"%'")
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT COUNT(*) FROM sessions")
        assert cur.fetchone()[0] == 911
        cur.execute("SELECT COUNT(*) FROM page_events")
        assert cur.fetchone()[0] == 7770
        cur.execute("SELECT COUNT(*) FROM users WHERE registration IS NULL OR first_play IS NULL")
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT COUNT(*) FROM staging_events WHERE artist = 'Björk'")
        assert cur.fetchone()[0] == 0  # staging keeps the source's values
    conn.rollback()
    assert "0 failed" in run_cli("verify", env).stdout
