"""Source files as a hostile user plants them: links, FIFOs, names and paths, records no parser expects,
files that break or cannot be read. Nothing from outside the source reaches the warehouse or the output;
every record-level problem is a reject with its file, line and reason; an unreadable file fails the load,
naming it, and is never counted as rejected records."""

import os
import socket
import subprocess
import sys
import time

import psycopg2
import pytest
from conftest import GOOD_EVENT, GOOD_SONG, ROOT, hostile_dataset, rejects_match, rows, run_cli, scalar, table_digest

from sparkify_dwh import pipeline, sources, staging
from sparkify_dwh.config import load_settings

pytestmark = pytest.mark.integration

SCHEMA_TABLES = ("SELECT table_schema || '.' || table_name FROM information_schema.tables "
                 "WHERE table_schema IN ('public', 'etl', 'analytics') ORDER BY 1")


def everything(conn, but: tuple[str, ...] = ()) -> str:
    """Every row of every table (`but` these), as text: what a secret must never be found in."""
    with conn.cursor() as cur:
        cur.execute(SCHEMA_TABLES)
        tables = [t for (t,) in cur.fetchall() if t.split('.')[-1] not in but]
        out = []
        for table in tables:
            cur.execute(f'SELECT COALESCE(STRING_AGG(t::TEXT, E\'\\n\'), \'\') FROM {table} AS t')
            out.append(cur.fetchone()[0])
    conn.rollback()
    return "\n".join(out)


def _event(n: int, **changes) -> bytes:
    import json

    return json.dumps(dict(GOOD_EVENT, ts=GOOD_EVENT["ts"] + n, itemInSession=n, **changes)).encode()


@pytest.fixture
def planted(tmp_path, small_dataset):
    """The small dataset with, in its log folder, links to a secret outside it and to /proc/self/environ, a
    link to /etc/passwd, a FIFO, and a link to one of its own files."""
    import shutil

    secret = "canary-" + os.urandom(8).hex()
    root = tmp_path / "src"
    shutil.copytree(small_dataset, root)
    logs = root / "log_data" / "2018" / "11"
    (tmp_path / "outside").mkdir()
    (tmp_path / "outside" / "secret.json").write_text(f'{{"ts": 1541105830796, "song": "{secret}", "page": "x"}}\n'
                                                     f"{secret} and not JSON\n")
    (logs / "secret-events.json").symlink_to(tmp_path / "outside" / "secret.json")
    (logs / "environ-events.json").symlink_to("/proc/self/environ")
    (logs / "passwd-events.json").symlink_to("/etc/passwd")
    os.mkfifo(logs / "fifo-events.json")
    day = next(logs.glob("2018-*-events.json"))
    (root / "log_data" / "copy-events.json").symlink_to(day)
    return root, secret


def test_nothing_from_outside_the_source_reaches_the_warehouse_or_the_output(planted, env, conn, small_dataset):
    root, secret = planted
    env.update(SONG_DATA=str(root / "song_data"), LOG_DATA=str(root / "log_data"), SPARKIFY_CANARY=secret)
    out = run_cli("load", env)
    assert secret not in out.stdout + out.stderr
    assert "4 entries of " in out.stdout and "1 × FIFO, socket or device" in out.stdout
    assert "2 × link to a file outside the source" in out.stdout and "1 × link into /proc" in out.stdout
    assert "FOLLOW_SYMLINKS=1" in out.stdout
    dump = everything(conn)
    assert secret not in dump and "root:x:0" not in dump and "PATH=" not in dump
    # the link to a file of the source: that file, read once under its own path
    assert scalar(conn, "SELECT COUNT(*) FROM load_files WHERE kind = 'events'") == 1
    assert scalar(conn, "SELECT COUNT(*) FROM load_errors") == 0

    # over MAX_ERRORS, the rejects kept hold nothing from outside either
    (root / "log_data" / "bad-events.json").write_bytes(b"{broken\n")
    failed = run_cli("load", env, check=False)
    assert failed.returncode == 3 and secret not in failed.stdout + failed.stderr
    assert scalar(conn, "SELECT COUNT(*) FROM load_errors") == 1 and secret not in everything(conn)

    # FOLLOW_SYMLINKS=1: links that leave the source are read, under their own path; never /proc
    (root / "log_data" / "bad-events.json").unlink()
    (root / "log_data" / "2018" / "11" / "passwd-events.json").unlink()
    followed = run_cli("load", dict(env, FOLLOW_SYMLINKS="1", MAX_ERRORS="10"))
    assert "2 entries of " in followed.stdout and "1 × link into /proc, /sys or /dev" in followed.stdout
    assert scalar(conn, "SELECT COUNT(*) FROM staging_events WHERE song = %s", secret) == 1
    assert scalar(conn, "SELECT source_file FROM staging_events WHERE song = %s", secret) == (
        os.path.realpath(root / "log_data" / "2018" / "11") + "/secret-events.json")
    assert "PATH=" not in everything(conn)


def test_every_record_level_problem_is_a_reject_with_file_line_and_reason(tmp_path, env, conn):
    root, expected = hostile_dataset(tmp_path / "hostile")
    env.update(SONG_DATA=str(root / "song_data"), LOG_DATA=str(root / "log_data"), MAX_ERRORS=str(len(expected)))
    out = run_cli("load", env)
    assert f"{len(expected)} records rejected" in out.stdout
    errors = rows(conn, "SELECT source_file, line_number, reason, raw_line FROM load_errors ORDER BY 1, 2")
    assert rejects_match(errors, expected), errors
    assert all(len(e[0].encode()) <= sources.PATH_LIMIT for e in errors)
    assert all("COPY staging" not in e[2] for e in errors)
    # the file whose name is not UTF-8: staged, rejected and in the ledger under one escaped name
    escaped = next(e[0] for e in errors if "caf\\xe9" in e[0])
    assert scalar(conn, "SELECT records_read FROM load_files WHERE source_file = %s", escaped) == 3
    assert scalar(conn, "SELECT COUNT(*) FROM staging_events WHERE source_file = %s", escaped) == 2
    # the text \\u0000 is kept as written; the truncated gzip left none of its rows; no file twice
    assert scalar(conn, "SELECT COUNT(*) FROM staging_events WHERE song = %s", "a \\u0000 b") == 1
    assert scalar(conn, "SELECT COUNT(*) FROM staging_events WHERE source_file LIKE %s", "%.gz") == 0
    assert scalar(conn, "SELECT COUNT(*) FROM load_files WHERE source_file LIKE %s", "%again%") == 0
    assert [n.rsplit("/", 1)[1] for (n,) in rows(conn, "SELECT source_file FROM load_files WHERE kind = 'songs' "
                                                       "ORDER BY 1")] == ["TRABC1.json", "TRABC3.json"]
    assert scalar(conn, "SELECT SUM(records_read - rows_staged - records_rejected) FROM load_files") == 0
    assert "0 failed" in run_cli("verify", env).stdout
    # over the budget by one: the load fails, saying which records, and the star is as it was
    star = {t: table_digest(conn, t) for t in ("songplays", "songs")}
    conn.rollback()
    proc = run_cli("load", dict(env, MAX_ERRORS=str(len(expected) - 1), FULL_REFRESH="1"), check=False)
    assert proc.returncode == 3 and "over MAX_ERRORS" in proc.stderr and "Traceback" not in proc.stderr
    assert {t: table_digest(conn, t) for t in ("songplays", "songs")} == star


def test_overlapping_sources_are_refused_in_one_line_before_anything_is_read(env, conn, small_dataset):
    for song, log in ((small_dataset, small_dataset), (small_dataset / "song_data", small_dataset),
                      (small_dataset, small_dataset / "log_data")):
        proc = run_cli("load", dict(env, SONG_DATA=str(song), LOG_DATA=str(log)), check=False)
        assert proc.returncode == 2 and "overlap" in proc.stderr  # bad settings
        assert proc.stderr.count("\n") == 1
    assert scalar(conn, "SELECT COUNT(*) FROM load_files") == 0


def test_a_row_the_server_refuses_is_named_by_its_source_file_and_line(tmp_path, env, conn):
    logs = tmp_path / "src" / "log_data"
    logs.mkdir(parents=True)
    (logs / "a-events.json").write_bytes(b"\n".join(_event(n) for n in range(5000)) + b"\n")
    (logs / "b-events.json").write_bytes(_event(9000) + b"\n\n" + _event(9001, song="refused here") + b"\n")
    (tmp_path / "src" / "song_data").mkdir()
    (tmp_path / "src" / "song_data" / "s.json").write_text('{"song_id": "S", "artist_id": "A"}')
    env.update(SONG_DATA=str(tmp_path / "src" / "song_data"), LOG_DATA=str(logs))
    run_cli("migrate", env)
    with conn.cursor() as cur:  # a rule the server holds and the parser does not know
        cur.execute("ALTER TABLE staging_events ADD CONSTRAINT planted CHECK (song IS DISTINCT FROM 'refused here')")
    conn.commit()
    proc = run_cli("load", env, check=False)
    assert proc.returncode == 1
    (line,) = proc.stderr.strip().splitlines()
    assert f"{(logs / 'b-events.json').resolve()} line 3" in line and "planted" in line


def test_a_file_gone_between_listing_and_reading_fails_the_load_naming_it_and_counts_nothing(
        tmp_path, env, conn, small_dataset, monkeypatch):
    import shutil

    root = tmp_path / "src"
    shutil.copytree(small_dataset, root)
    for key in ("DATABASE_URL", "ENV_FILE", "DEMO_DIR"):
        monkeypatch.setenv(key, env[key])
    monkeypatch.setenv("SONG_DATA", str(root / "song_data"))
    monkeypatch.setenv("LOG_DATA", str(root / "log_data"))
    monkeypatch.setenv("MAX_ERRORS", "1000")
    pipeline.load(load_settings(), quiet=True, say=lambda *_: None)
    before = everything(conn, but=("load_runs", "check_runs"))
    day = next((root / "log_data").rglob("*.json"))
    day.write_bytes(day.read_bytes() + _event(77) + b"\n")  # changed: this load reads it again
    waits = []
    monkeypatch.setattr(sources, "_sleep", waits.append)
    real_plan = staging.plan

    def plan_then_lose(*args, **kwargs):
        p = real_plan(*args, **kwargs)
        if p.kind == "events":
            day.rename(day.with_suffix(".away"))
        return p

    monkeypatch.setattr(staging, "plan", plan_then_lose)
    with pytest.raises(sources.Unreadable) as err:
        pipeline.load(load_settings(), quiet=True, say=lambda *_: None)
    message = str(err.value)
    assert message.startswith(f"{day.resolve()}: cannot be read") and "\n" not in message
    assert len(waits) == len(sources.RETRY_WAITS)
    # nothing staged, nothing rejected, the ledger as it was; the history has the failed run
    assert everything(conn, but=("load_runs", "check_runs")) == before
    assert scalar(conn, "SELECT exit_code FROM load_runs WHERE status = 'failed'") == 4

    monkeypatch.setattr(staging, "plan", real_plan)
    day.with_suffix(".away").rename(day)
    summary = pipeline.load(load_settings(), quiet=True, say=lambda *_: None)
    assert summary.rejected == 0
    assert scalar(conn, "SELECT COUNT(*) FROM staging_events WHERE item_in_session = 77") == 1


def _moto(port: int):
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    return server


def test_s3_stopped_for_2_s_mid_load_never_ends_in_success_with_files_missing(env, conn):
    import boto3

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    endpoint = f"http://127.0.0.1:{port}"
    server = _moto(port)
    try:
        s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-west-2", aws_access_key_id="t",
                          aws_secret_access_key="t")
        s3.create_bucket(Bucket="outage", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
        import json
        from concurrent.futures import ThreadPoolExecutor

        def put(i: int) -> None:
            body = json.dumps(dict(GOOD_SONG, song_id=f"SO{i:05d}", artist_id=f"AR{i:05d}")).encode()
            s3.put_object(Bucket="outage", Key=f"song_data/A/{i % 10}/TR{i:05d}.json", Body=body)

        with ThreadPoolExecutor(16) as pool:
            list(pool.map(put, range(3000)))
        s3.put_object(Bucket="outage", Key="log_data/2018/11/day-events.json",
                      Body=b"\n".join(_event(n) for n in range(100)) + b"\n")
        env.update(AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="t", AWS_SECRET_ACCESS_KEY="t",
                   AWS_DEFAULT_REGION="us-west-2", SONG_DATA="s3://outage/song_data", LOG_DATA="s3://outage/log_data",
                   MAX_ERRORS="5000")
        load = subprocess.Popen([sys.executable, str(ROOT / "bin" / "load")], env=env, cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        watcher = psycopg2.connect(env["DATABASE_URL"])
        while time.monotonic() < deadline and load.poll() is None:  # until it reads the song files
            with watcher.cursor() as cur:
                cur.execute("SELECT COUNT(*) FROM pg_stat_activity WHERE query LIKE 'COPY staging_songs%%' "
                            "AND state = 'active'")
                copying = cur.fetchone()[0]
            watcher.rollback()
            if copying:
                break
            time.sleep(0.05)
        watcher.close()
        assert load.poll() is None, "the load ended before it read the song files"
        time.sleep(0.5)
        server.stop()
        time.sleep(2)
        server = _moto(port)
        out, err = load.communicate(timeout=300)
    finally:
        server.stop()
    files = scalar(conn, "SELECT COUNT(*) FROM load_files")
    rejected = scalar(conn, "SELECT COUNT(*) FROM load_errors")
    if load.returncode == 0:
        assert files == 3001 and rejected == 0, (files, rejected, out)
        assert scalar(conn, "SELECT COUNT(*) FROM staging_songs") == 3000
    else:  # it may fail, naming a file, with nothing staged and nothing counted as rejected
        (line,) = err.strip().splitlines()
        assert "s3://outage/" in line and "cannot be read" in line
        assert files == 0 and rejected == 0
