"""`make verify` passes on a good load and fails, naming the check, on a planted violation."""

import os
import uuid
from urllib.parse import urlsplit

import psycopg2
import pytest
from conftest import ROOT, SEARCH_PATH, _with_database, fresh_database, run_cli

pytestmark = pytest.mark.integration

FIRST = "songplay_id = (SELECT MIN(songplay_id) FROM songplays)"


@pytest.fixture(scope="module")
def loaded(pg_server, tmp_path_factory):
    """One demo load that verify passes, kept as a template database for the cases below."""
    tmp = tmp_path_factory.mktemp("verify")
    with fresh_database(pg_server) as url:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("SONG_DATA", "LOG_DATA", "MAX_", "FULL_"))}
        env.update(DATABASE_URL=url, ENV_FILE=os.devnull, DEMO_DIR=str(tmp / "demo"), PYTHONPATH=str(ROOT))
        run_cli("load", env)
        assert run_cli("verify", env).returncode == 0
        yield env, url


@pytest.fixture
def loaded_copy(loaded, pg_server):
    """A copy of the loaded database for one case (FILE_COPY: unlogged staging copied with the rest)."""
    env, template = loaded
    name = "t_" + uuid.uuid4().hex[:12]
    admin = psycopg2.connect(pg_server)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{urlsplit(template).path.lstrip("/")}" STRATEGY FILE_COPY')
        cur.execute(f'ALTER DATABASE "{name}" SET search_path TO {SEARCH_PATH}')  # not copied with the template
    url = _with_database(template, name)
    try:
        yield dict(env, DATABASE_URL=url), url
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.mark.parametrize(
    "plant, check",
    [
        # Redshift does not enforce keys: drop PostgreSQL's to plant the duplicate it would let in
        ("INSERT INTO songplays (songplay_id, start_time, "
         f"user_id) SELECT songplay_id, start_time, user_id FROM songplays WHERE {FIRST}", "songplays_key"),
        (f"UPDATE songplays SET user_id = 'ghost' WHERE {FIRST}", "songplays_user_in_users"),
        (f"UPDATE songplays SET song_id = 'SONOSUCHSONG' WHERE {FIRST}", "songplays_song_in_songs"),
        ("DELETE FROM time WHERE start_time = (SELECT MIN(start_time) FROM time)", "songplays_time_in_time"),
        ("DELETE FROM users WHERE user_id = (SELECT MIN(user_id) FROM users)", "reconcile_star"),
        ("DELETE FROM staging_events WHERE ctid = (SELECT MIN(ctid) FROM staging_events)", "reconcile_records"),
        ("ALTER TABLE user_levels DROP CONSTRAINT user_levels_pkey; INSERT INTO user_levels SELECT * FROM user_levels "
         "WHERE valid_to IS NULL LIMIT 1", "user_levels_key"),
        ("UPDATE user_levels SET valid_to = valid_from + INTERVAL '1 day' WHERE valid_to IS NULL AND user_id = "
         "(SELECT MIN(user_id) FROM users)", "user_levels_one_open_period"),
        ("UPDATE user_levels SET level = 'paid' WHERE valid_to IS NOT NULL AND level = 'free' AND user_id = "
         "(SELECT MIN(user_id) FROM user_levels WHERE valid_to IS NOT NULL AND level = 'free')",
         "user_levels_periods_follow"),
        # a row an earlier attempt left: the file was staged later, by another load
        ("INSERT INTO load_errors SELECT 'an-earlier-load', kind, source_file, 0, 'cannot read the file', '', "
         "loaded_at - INTERVAL '1 day' FROM load_files WHERE source_file = (SELECT MIN(source_file) FROM load_files)",
         "load_errors_latest_attempt"),
        # a file's rejects twice, under its own load id: the count no longer matches the ledger's
        ("INSERT INTO load_errors SELECT load_id, kind, source_file, 1, 'a bad record', '', loaded_at FROM load_files "
         "WHERE source_file = (SELECT MIN(source_file) FROM load_files)", "load_errors_latest_attempt"),
    ],
)
def test_verify_fails_on_a_planted_violation(loaded_copy, plant, check):
    env, url = loaded_copy
    conn = psycopg2.connect(url)
    with conn, conn.cursor() as cur:
        cur.execute(plant)
    conn.close()
    proc = run_cli("verify", env, check=False)
    assert proc.returncode == 1
    failed = [line.split()[0] for line in proc.stdout.splitlines() if " FAIL " in line]
    assert check in failed
    assert f"{check}: first failing rows" in proc.stderr


def test_json_and_junit_give_each_check_its_status_and_count_never_its_rows(loaded_copy, tmp_path):
    import json
    from xml.etree import ElementTree as ET

    env, url = loaded_copy
    with psycopg2.connect(url) as conn, conn.cursor() as cur:
        cur.execute("SELECT first_name FROM users WHERE user_id = (SELECT MIN(user_id) FROM users)")
        (name,) = cur.fetchone()
        cur.execute(f"UPDATE songplays SET user_id = 'ghost' WHERE {FIRST}")
    conn.close()
    junit = tmp_path / "verify.xml"
    proc = run_cli("verify", env, "--json", "--junit", str(junit), check=False)
    assert proc.returncode == 1
    report = json.loads(proc.stdout)  # JSON and nothing else
    by_name = {c["name"]: c for c in report["checks"]}
    assert by_name["songplays_user_in_users"]["status"] == "failed"
    assert by_name["songplays_user_in_users"]["violations"] == 1
    assert report["failed"] == sum(c["status"] == "failed" for c in report["checks"]) >= 1
    assert report["passed"] == sum(c["status"] == "passed" for c in report["checks"]) > 5
    suite = ET.parse(junit).getroot()
    assert suite.tag == "testsuite" and int(suite.get("tests")) == len(report["checks"])
    failures = {case.get("name"): case.find("failure").get("message") for case in suite
                if case.find("failure") is not None}
    assert failures["songplays_user_in_users"].startswith("1 rows break it")
    assert int(suite.get("failures")) == report["failed"] == len(failures)
    assert "ghost" not in proc.stdout + junit.read_text() and name not in proc.stdout + junit.read_text()
