"""A warehouse made by the release before the lookup tables: the next transform repairs its star from
staging itself, the sources gone."""

import shutil
import subprocess
import sys

import pytest
from conftest import ROOT, run_cli

pytestmark = pytest.mark.integration

EARLIER = "387576f"  # the last commit before sessions, page_events and the lookup tables


@pytest.fixture
def earlier_release(tmp_path):
    """The earlier release's files, from this repository's history."""
    out = tmp_path / "earlier"
    out.mkdir()
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", EARLIER], capture_output=True, check=False)
    if archive.returncode != 0:
        pytest.fail(f"git archive {EARLIER} failed (a clone with its history is needed): {archive.stderr.decode()}")
    subprocess.run(["tar", "-x", "-C", str(out)], input=archive.stdout, check=True)
    return out


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
