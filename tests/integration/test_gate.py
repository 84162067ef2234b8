"""Write, audit, publish: every check of sql/checks/ runs inside the transform's transaction, before it
commits. A failing check rolls the transform back (analysts keep the star they had) and the load exits 1
naming it with its first violating rows; staging keeps the load, and fixing or removing the offending
source file lets the next load through. A check declared a warning is printed, not blocking. On an
incremental load the gate runs each check's scoped form, over the rows the transform rebuilt."""

import json
import re
import shutil
import subprocess
import sys

import psycopg2
import pytest
from conftest import ROOT, run_cli, table_digest

pytestmark = pytest.mark.integration

STAR = ("songplays", "users", "songs", "artists", "time", "user_levels", "sessions", "page_events")


def star(url):
    with psycopg2.connect(url) as conn:
        out = {t: table_digest(conn, t) for t in STAR}
    conn.close()
    return out


def scalar(url, sql, *args):
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute(sql, args)
        value = cur.fetchone()[0]
    conn.close()
    return value


@pytest.fixture
def source(tmp_path, small_dataset, env):
    root = tmp_path / "source"
    shutil.copytree(small_dataset, root)
    env.update(SONG_DATA=str(root / "song_data"), LOG_DATA=str(root / "log_data"))
    return root


@pytest.fixture
def tree(tmp_path):
    """A copy of this checkout's code and SQL, whose sql/ a test may change; `run(command, env)` runs its bin/."""
    root = tmp_path / "tree"
    for name in ("sparkify_dwh", "bin", "sql"):
        shutil.copytree(ROOT / name, root / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", root / "pyproject.toml")

    def run(command, env, *args):
        return subprocess.run([sys.executable, str(root / "bin" / command), *args], env=dict(env, PYTHONPATH=str(root)),
                              cwd=root, capture_output=True, text=True, timeout=300)

    run.sql = root / "sql"
    return run


def new_day(root, days: int = 1, **changes):
    """A day of events arrives: a copy of the first day's file `days` later, with `changes` on its first play."""
    first = sorted((root / "log_data").rglob("*.json"))[0]
    out, changed = [], False
    for line in first.read_bytes().splitlines():
        if line.strip():
            record = json.loads(line)
            record["ts"] += days * 86_400_000
            if changes and not changed and record["page"] == "NextSong":
                record.update(changes)
                changed = True
            out.append(json.dumps(record).encode())
    path = first.with_name(f"day-{days}-events.json")
    path.write_bytes(b"\n".join(out) + b"\n")
    return path


NOWHERE = """-- no play comes from Nowhere
SELECT
    songplay_id,
    location
FROM songplays
WHERE location = 'Nowhere';
"""


def test_a_failing_check_keeps_the_previous_star_and_fixing_or_removing_the_file_lets_the_next_load_through(
        source, env, database, tree):
    (tree.sql / "checks" / "900_no_play_from_nowhere.sql").write_text(NOWHERE)
    assert tree("load", env).returncode == 0
    published = star(database)

    bad = new_day(source, location="Nowhere")
    failed = tree("load", env)
    assert failed.returncode == 1
    assert "no_play_from_nowhere" in failed.stderr and "Nowhere" in failed.stderr  # the check and its first rows
    assert failed.stderr.startswith("error: check failed before publishing: no_play_from_nowhere")
    assert star(database) == published  # the transform was rolled back
    assert scalar(database, "SELECT COUNT(*) FROM load_files WHERE source_file = %s", str(bad)) == 1  # staged
    assert "0 failed" in tree("verify", env).stdout  # staging ahead of the star reconciles

    # the way out: fix the file (its new version replaces the staged one) and load again
    bad.write_bytes(bad.read_bytes().replace(b'"Nowhere"', b'"Somewhere"'))
    assert tree("load", env).returncode == 0
    fixed = star(database)
    assert fixed["songplays"][0] == 2 * published["songplays"][0]

    # or remove it: a file the star never showed leaves staging with it
    other = new_day(source, days=2, location="Nowhere")
    assert tree("load", env).returncode == 1
    other.unlink()
    done = tree("load", env)
    assert done.returncode == 0 and "1 events files gone from" in done.stdout
    assert star(database) == fixed
    assert scalar(database, "SELECT COUNT(*) FROM staging_events WHERE source_file = %s", str(other)) == 0
    assert "0 failed" in tree("verify", env).stdout
    assert tree("load", dict(env, FULL_REFRESH="1")).returncode == 0
    assert star(database) == fixed  # a rebuild from the same sources gives the same star


def test_a_check_declared_a_warning_is_printed_and_does_not_block(source, env, database, tree):
    (tree.sql / "checks" / "900_no_play_from_nowhere.sql").write_text(
        NOWHERE.replace("-- no play comes from Nowhere\n", "-- no play comes from Nowhere\n-- severity: warning\n"))
    new_day(source, location="Nowhere")
    loaded = tree("load", env)
    assert loaded.returncode == 0
    assert "warning: no_play_from_nowhere" in loaded.stdout
    assert scalar(database, "SELECT COUNT(*) FROM songplays WHERE location = 'Nowhere'") == 1
    verified = tree("verify", env)
    assert verified.returncode == 0 and "1 warnings" in verified.stdout
    assert any(line.startswith("no_play_from_nowhere") and " warn " in line for line in verified.stdout.splitlines())


def test_freshness_is_a_warning_in_the_gate_and_fails_verify(source, env):
    loaded = run_cli("load", dict(env, MAX_EVENT_AGE="7d"))  # the data is from November 2018
    assert "warning: freshness" in loaded.stdout
    assert run_cli("verify", dict(env, MAX_EVENT_AGE="7d"), check=False).returncode == 1


def test_the_gate_runs_the_scoped_form_on_a_daily_load_and_verify_the_whole_one(source, env, database, tree):
    run_cli("load", env)
    # a duplicate play the load does not touch: the day's gate does not read it, verify does
    with psycopg2.connect(database) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO songplays SELECT * FROM songplays WHERE songplay_id = "
                    "(SELECT MIN(songplay_id) FROM songplays)")
    conn.close()
    new_day(source)
    out = json.loads(run_cli("load", env, "--json").stdout)
    assert out["warnings"] == {} and "gate" in out["transform"]
    checked = run_cli("verify", env, check=False)
    assert checked.returncode == 1 and "songplays_key: first failing rows" in checked.stderr

    # a duplicate the transform makes among the plays it rebuilds: the scoped form sees it
    (tree.sql / "transform" / "095_plant_duplicate.sql").write_text(
        "-- a planted defect: one rebuilt play twice\nINSERT INTO songplays\nSELECT p.*\nFROM songplays AS p\n"
        "WHERE p.songplay_id = (SELECT MAX(s.songplay_id) FROM scope_plays AS s);\n")
    before = star(database)
    new_day(source, days=2)
    failed = tree("load", env)
    assert failed.returncode == 1 and "songplays_key" in failed.stderr
    assert star(database) == before


# A session the transform rebuilt (one of the scope's), and one of the users it rebuilt, for the planted defects
A_SESSION = ("(SELECT c.user_id FROM scope_sessions AS c ORDER BY c.user_id, c.session_id LIMIT 1)",
             "(SELECT c.session_id FROM scope_sessions AS c ORDER BY c.user_id, c.session_id LIMIT 1)")
IN_A_SESSION = f"user_id = {A_SESSION[0]} AND session_id = {A_SESSION[1]}"
A_USER = "(SELECT MIN(u.user_id) FROM scope_users AS u)"
PLANTED = {  # check -> a defect the transform makes among the rows it rebuilt
    "sessions_key": f"INSERT INTO sessions SELECT * FROM sessions WHERE {IN_A_SESSION}",
    "page_events_key": "INSERT INTO page_events SELECT * FROM page_events WHERE event_id = "
                       f"(SELECT MAX(event_id) FROM page_events WHERE {IN_A_SESSION})",
    "page_events_session_in_sessions": f"DELETE FROM sessions WHERE {IN_A_SESSION}",
    "songplays_in_page_events": "DELETE FROM page_events WHERE page = 'NextSong' AND start_time = "
                                "(SELECT MAX(s.start_time) FROM scope_plays AS s)",
    "sessions_user_in_users": f"DELETE FROM users WHERE user_id = {A_USER}",
    "users_plays_span": f"UPDATE users SET last_play = first_play WHERE user_id = {A_USER}",
    "reconcile_sessions": f"UPDATE sessions SET events = events + 1 WHERE {IN_A_SESSION}",
}


def test_each_check_of_sessions_page_events_and_users_sees_a_defect_among_the_rows_a_daily_load_rebuilt(
        source, env, database, tree):
    # the day's sessions include ones that began the day before (the same session ids a day later), so
    # the rebuilt sessions span two days: each scoped form must find the defect planted among them
    run_cli("load", env)
    new_day(source)
    plant = tree.sql / "transform" / "095_plant_defect.sql"
    before = star(database)
    for check, defect in PLANTED.items():
        plant.write_text(f"-- a planted defect for {check}\n{defect};\n")
        failed = tree("load", env)
        assert failed.returncode == 1, (check, failed.stderr)
        named = re.search(r"checks? failed before publishing: ([^.]*)\.", failed.stderr)
        assert named and check in named.group(1).split(", "), (check, failed.stderr)
        assert star(database) == before, check
    plant.unlink()
    assert tree("load", env).returncode == 0
    assert star(database) != before
    assert "0 failed" in run_cli("verify", env).stdout


def test_verify_reconciles_a_star_that_staging_is_ahead_of(source, env, database):
    run_cli("load", env)
    new_day(source)
    day = sorted((source / "log_data").rglob("*.json"))[0]
    day.write_bytes(b"\n".join(day.read_bytes().splitlines()[:-5]) + b"\n")  # a changed file: rows removed
    run_cli("stage", env)  # staging has committed; the transform has not run
    assert scalar(database, "SELECT COUNT(*) FROM removed_plays") > 0
    assert scalar(database, "SELECT COUNT(*) FROM removed_sessions") > 0  # the sessions' reconcile allows for them
    assert "0 failed" in run_cli("verify", env).stdout
    run_cli("load", env)
    assert "0 failed" in run_cli("verify", env).stdout


def test_a_first_load_that_fails_a_check_publishes_nothing_and_says_what_to_do(source, env, database, tree):
    (tree.sql / "checks" / "900_no_play_from_nowhere.sql").write_text(NOWHERE)
    new_day(source, location="Nowhere")
    failed = tree("load", env)
    assert failed.returncode == 1
    assert "1 failing rows" in failed.stderr and "Fix or remove the offending source file" in failed.stderr
    assert scalar(database, "SELECT COUNT(*) FROM songplays") == 0  # a first load's star stays empty


def test_a_check_that_cannot_run_stops_the_load_naming_it(source, env, database, tree):
    assert tree("load", env).returncode == 0
    published = star(database)
    (tree.sql / "checks" / "900_broken.sql").write_text("-- a check of a missing table\nSELECT x FROM nowhere;\n")
    new_day(source)
    failed = tree("load", env)
    assert failed.returncode == 1
    assert "the check broken could not run" in failed.stderr and "nowhere" in failed.stderr
    assert star(database) == published
