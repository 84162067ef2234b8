"""Nothing lost, nothing doubled: each fault planted, and what the load does about it."""

import json
import os
import signal
import subprocess
import sys
import threading
import time

import psycopg2
import pytest
from conftest import GOOD_EVENT, GOOD_SONG, ROOT, run_cli, scalar, table_digest, unique

pytestmark = pytest.mark.integration

STAR = ("songplays", "users", "songs", "artists", "time")
GOOD, SONG = GOOD_EVENT, GOOD_SONG


def line(**changes) -> bytes:
    record = dict(GOOD, **changes)
    return json.dumps(record, ensure_ascii=False).encode("utf-8")


def write(path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def star(conn):
    out = {t: table_digest(conn, t) for t in STAR}
    conn.rollback()
    return out


@pytest.fixture
def faulty(tmp_path):
    """A dataset where each bad record sits between good ones, plus every accepted variant."""
    root = tmp_path / "faulty"
    logs = root / "log_data" / "2018" / "11"
    bad_lines = [
        (b'{"ts": 1541105830796, "userId": "10", "page": "NextSong"', "malformed JSON"),  # truncated
        (b"{not json at all", "malformed JSON"),
        (b'["an", "array"]', "not a JSON object"),
        (line(ts="abc"), "`$.ts`"),
        (line(sessionId="x"), "`$.sessionId`"),
        (b'{"ts": 1541105830796, "song": "caf\xe9"}', "invalid UTF-8"),
    ]
    body = [line(itemInSession=0)]
    for i, (bad, _) in enumerate(bad_lines, start=1):
        body += [bad, line(itemInSession=i, ts=GOOD["ts"] + i)]
    write(logs / "2018-11-01-events.json", b"\n".join(body) + b"\n")
    # accepted variants: byte-order mark + CRLF, extra fields, numeric userId, an empty file
    write(logs / "2018-11-02-events.json",
          b"\xef\xbb\xbf" + line(ts=GOOD["ts"] + 86_400_000, extra={"x": [1]}) + b"\r\n"
          + line(ts=GOOD["ts"] + 86_400_001, userId=11, itemInSession=1) + b"\r\n")
    write(logs / "2018-11-03-events.json", b"")
    write(logs / "2018-11-04-events.json.gz", b"this is not gzip")
    songs = root / "song_data" / "A" / "B" / "C"
    write(songs / "TRABC1.json", json.dumps(SONG, indent=4).encode())  # pretty-printed
    write(songs / "TRABC2.json", b"<html>oops</html>\n")
    return root, [reason for _, reason in bad_lines]


def test_bad_records_are_kept_with_file_line_and_reason_and_the_rest_loads(faulty, env, conn):
    root, reasons = faulty
    env.update(SONG_DATA=str(root / "song_data"), LOG_DATA=str(root / "log_data"), MAX_ERRORS="100")
    out = run_cli("load", env).stdout
    assert "8 records rejected" in out and "SELECT * FROM load_errors WHERE load_id" in out

    with conn.cursor() as cur:
        cur.execute("SELECT source_file, line_number, reason, raw_line FROM load_errors "
                    "ORDER BY source_file, line_number")
        errors = cur.fetchall()
    day1 = [e for e in errors if e[0].endswith("2018-11-01-events.json")]
    assert [e[1] for e in day1] == [2, 4, 6, 8, 10, 12]
    for (_, _, reason, raw), expected in zip(day1, reasons):
        # the guarantees page's own words open the reason; of the JSON library's words only the field named is promised
        own = expected in ("malformed JSON", "not a JSON object", "invalid UTF-8")
        assert (reason.startswith(expected) if own else expected in reason) and raw
    gz = [e for e in errors if e[0].endswith(".json.gz")]
    assert gz and gz[0][1] == 0 and "cannot read the file" in gz[0][2]
    song = [e for e in errors if e[0].endswith("TRABC2.json")]
    assert song and song[0][1] == 1 and "malformed JSON" in song[0][2] and song[0][3].startswith("<html>")

    # the good lines around each bad one, and every accepted variant, were staged
    assert scalar(conn, "SELECT COUNT(*) FROM staging_events WHERE source_file LIKE %s", "%-01-events.json") == 7
    assert scalar(conn, "SELECT COUNT(*) FROM staging_events WHERE source_file LIKE %s", "%-02-events.json") == 2
    assert scalar(conn, "SELECT user_id FROM staging_events WHERE ts = %s", GOOD["ts"] + 86_400_001) == "11"
    assert scalar(conn, "SELECT title FROM songs") == "Setanta matins"
    assert scalar(conn, "SELECT COUNT(*) FROM songplays WHERE song_id = 'SOSETANTA'") == 9

    # records read = rows staged + records rejected, per file, in the ledger and in verify
    assert scalar(conn, "SELECT SUM(records_read - rows_staged - records_rejected) FROM load_files") == 0
    assert scalar(conn, "SELECT records_read FROM load_files WHERE source_file LIKE %s", "%-01-events.json") == 13
    assert scalar(conn, "SELECT COUNT(*) FROM load_files WHERE source_file LIKE %s", "%.json.gz") == 0
    assert "0 failed" in run_cli("verify", env).stdout


def test_over_max_errors_the_run_fails_and_the_star_is_as_it_was(faulty, env, conn, small_dataset):
    env.update(SONG_DATA=str(small_dataset / "song_data"), LOG_DATA=str(small_dataset / "log_data"))
    run_cli("load", env)
    before = star(conn)

    root, _ = faulty
    env.update(SONG_DATA=str(root / "song_data"), LOG_DATA=str(root / "log_data"), MAX_ERRORS="7")
    proc = run_cli("load", env, check=False)
    assert proc.returncode == 3
    assert "8 records rejected, over MAX_ERRORS=7" in proc.stderr
    assert "2018-11-01-events.json:2: malformed JSON" in proc.stderr  # the first errors, with file and line
    assert star(conn) == before
    assert scalar(conn, "SELECT COUNT(*) FROM load_files WHERE source_file LIKE %s", str(root) + "%") == 0
    assert scalar(conn, "SELECT COUNT(*) FROM load_errors") == 8  # kept where a person can see them

    # at the threshold, the load goes through
    assert run_cli("load", dict(env, MAX_ERRORS="8")).returncode == 0


TRICKY = [
    'back\\slash and \\\\ double', 'say "hi"', "tab\there", "new\nline", "carriage\rreturn", "NULL", "\\N",
    "", "emoji 😀🎵", "日本語の歌", "Ελληνικά", "עברית", "emoji at end 🎶", "comma, and; semicolon", "'single'",
]


def test_text_round_trips_exactly(tmp_path, env, conn):
    root = tmp_path / "text"
    lines = []
    for i, text in enumerate(TRICKY):
        write(root / "song_data" / "A" / "A" / "A" / f"TRAAA{i}.json",
              json.dumps(dict(SONG, song_id=f"SO{i:03d}", title=text, artist_name=text, duration=100.0 + i))
              .encode())
        lines.append(line(song=text, artist=text, length=100.0 + i, ts=GOOD["ts"] + i, location=text, itemInSession=i))
    write(root / "log_data" / "2018" / "11" / "2018-11-01-events.json", b"\n".join(lines))
    env.update(SONG_DATA=str(root / "song_data"), LOG_DATA=str(root / "log_data"))
    run_cli("load", env)
    with conn.cursor() as cur:
        cur.execute("SELECT title FROM songs ORDER BY song_id")
        assert [r[0] for r in cur.fetchall()] == TRICKY
        cur.execute("SELECT location, song_id FROM songplays ORDER BY start_time")
        plays = cur.fetchall()
        cur.execute("SELECT song, artist FROM staging_events ORDER BY ts")
        staged = cur.fetchall()
    assert [p[0] for p in plays] == TRICKY
    assert [p[1] for p in plays] == [f"SO{i:03d}" for i in range(len(TRICKY))]  # every tricky title matched
    assert staged == [(t, t) for t in TRICKY]
    # a JSON null stays NULL and an empty string stays empty
    assert scalar(conn, "SELECT COUNT(*) FROM staging_songs WHERE artist_latitude IS NULL") == len(TRICKY)
    assert scalar(conn, "SELECT COUNT(*) FROM staging_events WHERE song = ''") == 1


def _wait_for(conn, sql, args=(), timeout=180, process=None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise AssertionError(f"the load ended ({process.returncode}) first: {process.communicate()}")
        with conn.cursor() as cur:
            cur.execute(sql, args)
            row = cur.fetchone()
        conn.rollback()
        if row and row[0]:
            return row[0]
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for: {sql}")


def _start_load(env):
    return subprocess.Popen([sys.executable, str(ROOT / "bin" / "load")], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _blocked_on(conn, statement, load, exclude=(), passed=None, timeout=180):
    """The pid of the load's backend once it waits on a lock while running `statement`. A load that waits on
    a table or a row while running anything else fails the test at once (`exclude`: other loads' backends;
    `passed`: a statement whose wait was just ended, which pg_stat_activity may show a moment longer)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if load.poll() is not None:
            raise AssertionError(f"the load ended ({load.returncode}) first: {load.communicate()}")
        with conn.cursor() as cur:
            cur.execute("SELECT pid, wait_event, query FROM pg_stat_activity WHERE application_name = 'sparkify-dwh' "
                        "AND wait_event_type = 'Lock' AND NOT pid = ANY(%s)", (list(exclude),))
            waiting = cur.fetchall()
        conn.rollback()
        for pid, event, query in waiting:
            if statement in query:
                return pid
            if event != "extend" and not (passed and passed in query):  # extending a table is no one's lock
                raise AssertionError(f"the load waits ({event}) while running {query[:300]!r}, not {statement!r}")
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for the load to wait while running {statement!r}")


def _said(load, text: str, timeout: float = 120) -> list[str]:
    """The load's output lines up to the one holding `text` (the load runs with PYTHONUNBUFFERED=1)."""
    lines: list[str] = []
    found = threading.Event()

    def read():
        for line in load.stdout:
            lines.append(line)
            if text in line:
                found.set()
                return

    threading.Thread(target=read, daemon=True).start()
    if not found.wait(timeout):
        raise AssertionError(f"the load never said {text!r}: {''.join(lines)}")
    return lines


def _blocked_by(conn, pid) -> list[int]:
    return scalar(conn, "SELECT pg_blocking_pids(%s)", pid)


def test_a_second_load_waits_for_the_first_and_the_result_equals_one_load(env, conn, database):
    env.update(PYTHONUNBUFFERED="1")
    run_cli("migrate", env)
    holder = psycopg2.connect(database)
    with holder.cursor() as cur:
        cur.execute("LOCK TABLE load_lock")  # what a load's staging transaction opens with
        cur.execute("SELECT pg_backend_pid()")
        (holder_pid,) = cur.fetchone()
    waiting = _start_load(env)
    pid = _blocked_on(conn, "LOCK TABLE load_lock", waiting)
    assert _blocked_by(conn, pid) == [holder_pid]  # it waits for the holder, and the server says so
    said = _said(waiting, "waiting for it to finish")  # and the load says so, while it waits
    holder.close()  # the first "load" finishes
    out, err = waiting.communicate(timeout=120)
    assert waiting.returncode == 0, err
    assert any("another load is running" in line for line in said) and "songplays" in out

    # two real loads: the first is held inside its staging transaction, so the second finds the lock taken
    single = star(conn)
    blocker = psycopg2.connect(database)
    with blocker.cursor() as cur:
        cur.execute("LOCK TABLE load_files IN SHARE MODE")  # reads pass; the first load's ledger rewrite waits
    first = _start_load(dict(env, FULL_REFRESH="1"))
    first_pid = _blocked_on(conn, "DELETE FROM load_files", first)
    second = _start_load(dict(env, FULL_REFRESH="1"))
    second_pid = _blocked_on(conn, "LOCK TABLE load_lock", second, exclude=[first_pid])
    assert _blocked_by(conn, second_pid) == [first_pid]  # the second waits for the first load itself
    _said(second, "waiting for it to finish")
    blocker.close()
    assert first.wait(timeout=120) == 0 and second.wait(timeout=120) == 0
    assert star(conn) == single
    assert scalar(conn, "SELECT COUNT(*) FROM load_files") == scalar(
        conn, "SELECT COUNT(DISTINCT source_file) FROM load_files")


def test_readers_never_wait_for_a_load(env, conn, database, small_dataset, tmp_path):
    src = tmp_path / "src"
    subprocess.run(["cp", "-r", str(small_dataset), str(src)], check=True)
    env.update(SONG_DATA=str(src / "song_data"), LOG_DATA=str(src / "log_data"))
    run_cli("load", env)
    previous = star(conn)
    day = src / "log_data" / "2018" / "11" / "2018-11-01-events.json"
    day.with_name("2018-11-02-events.json").write_bytes(day.read_bytes().replace(b'"ts":15410', b'"ts":15411'))
    in_staging, in_transform = psycopg2.connect(database), psycopg2.connect(database)
    with in_staging.cursor() as cur:
        cur.execute("LOCK TABLE load_files IN SHARE MODE")  # the staging's ledger insert waits; reads pass
    with in_transform.cursor() as cur:
        cur.execute("LOCK TABLE star_loads IN SHARE MODE")  # the transform's last insert waits; reads pass
    load = _start_load(env)
    readers = dict(env, STATEMENT_TIMEOUT="10s")  # a reader that waited would be cancelled and fail
    try:
        # 1. the load holds the load lock inside its staging transaction, the new day's rows copied
        pid = _blocked_on(conn, "load_files", load)
        assert scalar(conn, "SELECT COUNT(*) FROM pg_locks WHERE pid = %s AND granted "
                            "AND relation = CAST('load_lock' AS REGCLASS)", pid) == 1
        assert "0 failed" in run_cli("verify", readers).stdout
        assert "Which songs are played most?" in run_cli("report", readers, "--no-html").stdout
        in_staging.close()
        # 2. the load holds the load lock inside its transform, every star table rewritten
        _blocked_on(conn, "INSERT INTO star_loads", load, passed="load_files")
        assert "Which songs are played most?" in run_cli("report", readers, "--no-html").stdout
        assert star(conn) == previous  # readers see the star as it was until the load commits
        assert load.poll() is None  # the load ran all along
    finally:
        in_staging.close()
        in_transform.close()
    out, err = load.communicate(timeout=120)
    assert load.returncode == 0, err
    assert star(conn)["songplays"][0] > previous["songplays"][0]


def test_a_statement_past_statement_timeout_is_cancelled_and_the_load_fails_cleanly(env, conn, database,
                                                                                     small_dataset):
    env.update(SONG_DATA=str(small_dataset / "song_data"), LOG_DATA=str(small_dataset / "log_data"))
    run_cli("migrate", env)
    holder = psycopg2.connect(database)
    with holder.cursor() as cur:
        cur.execute("LOCK TABLE load_lock")  # held until the end: only the timeout can end the load's wait
    started = time.monotonic()
    proc = run_cli("load", dict(env, STATEMENT_TIMEOUT="2s"), check=False, timeout=30)
    waited = time.monotonic() - started
    try:
        assert proc.returncode == 1
        (line,) = proc.stderr.strip().splitlines()
        assert line.startswith("error: ") and "statement timeout" in line
        assert waited >= 2
        assert holder.get_transaction_status() == psycopg2.extensions.TRANSACTION_STATUS_INTRANS  # still held
        for table in ("staging_songs", "staging_events", "load_files", "songplays"):
            assert scalar(conn, f"SELECT COUNT(*) FROM {table}") == 0, table
    finally:
        holder.close()


def test_kill_during_staging_then_rerun_equals_one_clean_run(env, conn, database, tmp_path):
    # the reference: one clean run in its own database
    run_cli("load", env)
    clean = star(conn)
    staged = scalar(conn, "SELECT COUNT(*) FROM staging_events")
    assert "dropped" in run_cli("db", env, "reset", "--yes").stdout

    blocker = psycopg2.connect(database)
    run_cli("migrate", env)
    with blocker.cursor() as cur:
        cur.execute("LOCK TABLE load_files IN SHARE MODE")  # reads pass; the ledger insert after COPY waits
    load = _start_load(env)
    _blocked_on(conn, "load_files", load)  # staging_songs was copied in this transaction, not committed
    os.kill(load.pid, signal.SIGKILL)
    load.wait()
    blocker.close()
    _wait_for(conn, "SELECT COUNT(*) = 0 FROM pg_stat_activity WHERE application_name = 'sparkify-dwh'")
    assert scalar(conn, "SELECT COUNT(*) FROM staging_songs") == 0  # the killed staging left nothing
    assert scalar(conn, "SELECT COUNT(*) FROM load_files") == 0

    run_cli("load", env)
    assert star(conn) == clean
    assert scalar(conn, "SELECT COUNT(*) FROM staging_events") == staged


def test_kill_during_transform_keeps_the_previous_star_and_rerun_heals(env, conn, database, small_dataset, tmp_path):
    src = tmp_path / "src"
    subprocess.run(["cp", "-r", str(small_dataset), str(src)], check=True)
    env.update(SONG_DATA=str(src / "song_data"), LOG_DATA=str(src / "log_data"))
    run_cli("load", env)
    previous = star(conn)

    day = src / "log_data" / "2018" / "11" / "2018-11-01-events.json"
    more = day.with_name("2018-11-02-events.json")
    more.write_bytes(day.read_bytes().replace(b'"ts":15410', b'"ts":15411'))
    blocker = psycopg2.connect(database)
    with blocker.cursor() as cur:
        cur.execute("LOCK TABLE time IN ACCESS EXCLUSIVE MODE")  # the transform waits at its last table
    load = _start_load(env)
    _blocked_on(conn, "DELETE FROM time", load)
    os.kill(load.pid, signal.SIGKILL)
    load.wait()
    blocker.close()
    _wait_for(conn, "SELECT COUNT(*) = 0 FROM pg_stat_activity WHERE application_name = 'sparkify-dwh'")
    assert star(conn) == previous  # songplays, users, ... were rebuilt in the killed transaction: all undone

    run_cli("load", env)
    healed = star(conn)
    assert healed["songplays"][0] > previous["songplays"][0]
    fresh = dict(env, FULL_REFRESH="1")
    run_cli("load", fresh)
    assert star(conn) == healed


def test_freshness_fails_verify_when_the_newest_event_is_too_old(env, conn):
    run_cli("load", env)  # the demo data is from November 2018
    assert run_cli("verify", env).returncode == 0
    proc = run_cli("verify", dict(env, MAX_EVENT_AGE="7d"), check=False)
    assert proc.returncode == 1
    assert any(line.startswith("freshness") and "FAIL" in line for line in proc.stdout.splitlines())
    assert "newest_event" in proc.stderr
    generous = run_cli("verify", dict(env, MAX_EVENT_AGE=f"{24 * 365 * 100}h"))
    assert any(line.startswith("freshness") and "pass" in line for line in generous.stdout.splitlines())


def test_a_changed_object_in_s3_is_reloaded_without_duplicates(env, conn, aws_env, small_dataset):
    import boto3

    s3 = boto3.client("s3")
    bucket = unique("sparkify-incr")
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    for path in small_dataset.rglob("*.json"):
        s3.upload_file(str(path), bucket, str(path.relative_to(small_dataset)))
    env.update(aws_env, SONG_DATA=f"s3://{bucket}/song_data", LOG_DATA=f"s3://{bucket}/log_data")
    run_cli("load", env)
    events = scalar(conn, "SELECT COUNT(*) FROM staging_events")

    key = "log_data/2018/11/2018-11-01-events.json"
    body = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    s3.put_object(Bucket=bucket, Key=key, Body=body.rstrip(b"\n").rsplit(b"\n", 1)[0] + b"\n")
    out = run_cli("load", env).stdout
    line_ = next(x for x in out.splitlines() if x.startswith("events"))
    assert line_.split()[3] == "1"  # one file loaded again
    assert scalar(conn, "SELECT COUNT(*) FROM staging_events") == events - 1
    assert "0 failed" in run_cli("verify", env).stdout


def test_a_copy_that_stores_fewer_rows_than_were_sent_fails_the_load(database, conn, small_dataset, monkeypatch):
    # rows lost between the parser and the server (a bug in the stream, say): COPY's own count tells
    from sparkify_dwh import pipeline
    from sparkify_dwh.config import load_settings
    from sparkify_dwh.warehouses import base, postgres

    real_chunks = postgres._copy_chunks

    def losing_the_first_row(*args, **kwargs):
        for n, chunk in enumerate(real_chunks(*args, **kwargs)):
            yield chunk.split(b"\n", 1)[1] if n == 0 else chunk

    monkeypatch.setattr(postgres, "_copy_chunks", losing_the_first_row)
    for key, value in {"ENV_FILE": "/dev/null", "DATABASE_URL": database, "SONG_DATA": str(small_dataset / "song_data"),
                       "LOG_DATA": str(small_dataset / "log_data"), "MAX_ERRORS": "0", "FULL_REFRESH": "0"}.items():
        monkeypatch.setenv(key, value)
    songs = len(list((small_dataset / "song_data").rglob("*.json")))
    with pytest.raises(base.StagingError, match=f"staging_songs: COPY stored {songs - 1} rows of the {songs} sent"):
        pipeline.load(load_settings(), quiet=True, say=lambda *_: None)
    for table in ("staging_songs", "staging_events", "load_files", "load_errors"):
        assert scalar(conn, f"SELECT COUNT(*) FROM {table}") == 0, table
