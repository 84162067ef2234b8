"""`make verify` passes on a good load and fails, naming the check, on a planted violation."""

import pytest
from conftest import run_cli

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "plant, check",
    [
        # Redshift does not enforce keys: drop PostgreSQL's to plant the duplicate it would let in
        ("ALTER TABLE songplays DROP CONSTRAINT songplays_pkey; INSERT INTO songplays (songplay_id, start_time, "
         "user_id) SELECT songplay_id, start_time, user_id FROM songplays WHERE songplay_id = 1", "songplays_key"),
        ("UPDATE songplays SET user_id = 'ghost' WHERE songplay_id = 1", "songplays_user_in_users"),
        ("UPDATE songplays SET song_id = 'SONOSUCHSONG' WHERE songplay_id = 1", "songplays_song_in_songs"),
        ("DELETE FROM time WHERE start_time = (SELECT MIN(start_time) FROM time)", "songplays_time_in_time"),
        ("DELETE FROM users WHERE user_id = (SELECT MIN(user_id) FROM users)", "reconcile_star"),
        ("DELETE FROM staging_events WHERE ctid = (SELECT MIN(ctid) FROM staging_events)", "reconcile_records"),
    ],
)
def test_verify_fails_on_a_planted_violation(env, conn, plant, check):
    run_cli("load", env)
    assert run_cli("verify", env).returncode == 0
    with conn.cursor() as cur:
        cur.execute(plant)
    conn.commit()
    proc = run_cli("verify", env, check=False)
    assert proc.returncode == 1
    failed = [line.split()[0] for line in proc.stdout.splitlines() if " FAIL " in line]
    assert check in failed
    assert f"{check}: first failing rows" in proc.stderr
