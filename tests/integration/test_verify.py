"""`make verify` passes on a good load and fails, naming the check, on a planted violation."""

import pytest
from conftest import run_cli

pytestmark = pytest.mark.integration

FIRST = "songplay_id = (SELECT MIN(songplay_id) FROM songplays)"


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
