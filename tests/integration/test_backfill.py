"""Backfill: a window of days read again from the source through the replace rule, the star rebuilt where it
touches, equal to a fresh load of the same files; a file gone from the source keeps its rows."""

import json
import os
import shutil

import pytest
from conftest import run_cli, table_digest

from sparkify_dwh.generate import generate

pytestmark = pytest.mark.integration

STAR = ("songplays", "users", "songs", "artists", "time", "user_levels")
DAY = "2018-11-02"


@pytest.fixture
def three_days(tmp_path):
    root = tmp_path / "src"
    generate(root, events=900, songs=40, seed=11, events_per_day=300)
    days = sorted((root / "log_data").rglob("*.json"))
    assert [p.name[:10] for p in days] == ["2018-11-01", "2018-11-02", "2018-11-03"]
    return root


def _edit_same_size_same_mtime(path):
    """A free play of the day turned paid: the same bytes count and modification time, so a load sees no change."""
    stat = path.stat()
    lines = path.read_text().splitlines()
    index = next(i for i, line in enumerate(lines) if json.loads(line)["page"] == "NextSong"
                 and json.loads(line)["level"] == "free")
    lines[index] = json.dumps(dict(json.loads(lines[index]), level="paid"), separators=(",", ":"), ensure_ascii=False)
    assert '"paid"' in lines[index]
    path.write_text("\n".join(lines) + "\n")
    assert path.stat().st_size == stat.st_size, "json.dumps wrote the line in another layout"
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert path.stat().st_size == stat.st_size


def _files_with_events_on(root, first, last) -> list[str]:
    """The oracle: from the raw JSON, the log files holding an event between the two days (UTC)."""
    from datetime import UTC, datetime, timedelta

    start = datetime.fromisoformat(first).replace(tzinfo=UTC).timestamp() * 1000
    end = (datetime.fromisoformat(last).replace(tzinfo=UTC) + timedelta(days=1)).timestamp() * 1000
    return sorted(str(p) for p in (root / "log_data").rglob("*.json")
                  if any(start <= json.loads(line)["ts"] < end for line in p.read_text().splitlines() if line))


def _ledger(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT source_file, load_id FROM load_files WHERE kind = 'events' ORDER BY 1")
        rows = dict(cur.fetchall())
    conn.rollback()
    return rows


def test_a_backfill_rereads_the_windows_files_and_equals_a_fresh_load(three_days, env, conn, other_database):
    env.update(SONG_DATA=str(three_days / "song_data"), LOG_DATA=str(three_days / "log_data"))
    run_cli("load", env)
    day2 = next((three_days / "log_data").rglob(f"{DAY}-events.json"))
    _edit_same_size_same_mtime(day2)
    assert next(line for line in run_cli("load", env).stdout.splitlines()
                       if line.startswith("events")).split()[3] == "0"  # an ordinary load sees nothing new
    before = _ledger(conn)

    window = _files_with_events_on(three_days, DAY, DAY)
    # the day before holds the first minutes of this day (a session past midnight): found from staging
    assert str(day2) in window and len(window) == 2, window

    dry = run_cli("backfill", dict(env, DRY_RUN="1"), "--from", DAY, "--to", DAY).stdout
    assert [line[5:] for line in dry.splitlines() if line.startswith("--   ")] == window
    assert f"these {len(window)} log files would be read again" in dry
    assert _ledger(conn) == before  # the dry run wrote nothing

    out = run_cli("backfill", env, "--from", DAY, "--to", DAY).stdout
    assert f"backfill {DAY} to {DAY} (UTC, both included): {len(window)} log files read again" in out
    after = _ledger(conn)
    assert all(after[name] != before[name] for name in window)
    assert {k: v for k, v in after.items() if k not in window} == {k: v for k, v in before.items() if k not in window}

    fresh = dict(env, DATABASE_URL=other_database)
    run_cli("load", fresh)
    import psycopg2

    with psycopg2.connect(other_database) as other:
        for table in STAR:
            assert table_digest(conn, table) == table_digest(other, table), table
    other.close()


def test_a_file_gone_from_the_source_keeps_its_rows_and_is_named(three_days, env, conn, tmp_path):
    src = tmp_path / "copy"
    shutil.copytree(three_days, src)
    env.update(SONG_DATA=str(src / "song_data"), LOG_DATA=str(src / "log_data"))
    run_cli("load", env)
    plays = table_digest(conn, "songplays")
    day3 = next((src / "log_data").rglob("2018-11-03-events.json"))
    day3.unlink()
    out = run_cli("backfill", env, "--from", "2018-11-02", "--to", "2018-11-03").stdout
    assert f"kept as staged, no longer in the source: {day3}" in out
    assert "1 no longer in the source kept as staged" in out
    assert table_digest(conn, "songplays") == plays


@pytest.mark.parametrize("first, last", [("2018-11-05", "2018-11-01"), ("yesterday", "2018-11-01")])
def test_a_bad_window_is_refused_in_one_line(env, first, last):
    proc = run_cli("backfill", env, "--from", first, "--to", last, check=False)
    assert proc.returncode != 0
    assert proc.stderr.count("\n") == 1 and proc.stderr.startswith("error: --from")
