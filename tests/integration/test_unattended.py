"""Running unattended: exit codes a scheduler can act on, retries of transient warehouse failures inside a
run (on PostgreSQL and on the Redshift emulator), alerts to a webhook, the history in load_runs and
check_runs, and fields the parser does not know."""

import json
import re
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import psycopg2
import psycopg2.extensions
import pytest
from conftest import GOOD_EVENT, GOOD_SONG, ROOT, rows, run_cli, scalar, table_digest
from test_gate import NOWHERE, new_day, source, tree  # noqa: F401 - fixtures shared with the gate's tests
from test_redshift_load import rig, same_everywhere  # noqa: F401 - the Redshift emulator's rig

from sparkify_dwh import history, outcomes, pipeline, retry
from sparkify_dwh.config import load_settings

pytestmark = pytest.mark.integration

STAR = ("songplays", "users", "songs", "artists", "time", "user_levels")
REAL_CONNECT = psycopg2.connect


def star(url):
    with REAL_CONNECT(url) as conn:
        out = {t: table_digest(conn, t) for t in STAR}
    conn.close()
    return out


# --- Exit codes, from the real commands ---------------------------------------------------------------

def test_each_exit_code_from_the_real_commands(source, env, database, tree, tmp_path):  # noqa: F811
    assert run_cli("load", env).returncode == outcomes.OK
    # 2: bad settings, bad usage, bad dates
    assert run_cli("load", dict(env, MAX_ERRORS="many"), check=False).returncode == 2
    assert run_cli("backfill", env, "--from", "2018-11-05", check=False).returncode == 2
    assert run_cli("backfill", env, "--from", "2018-11-07", "--to", "2018-11-05", check=False).returncode == 2
    # 4: a source that cannot be read
    missing = run_cli("load", dict(env, LOG_DATA=str(tmp_path / "missing")), check=False)
    assert missing.returncode == 4 and "no such folder" in missing.stderr
    # 3: more rejects than MAX_ERRORS
    day = new_day(source)
    day.write_bytes(day.read_bytes() + b"{not json\n")
    over = run_cli("load", env, check=False)
    assert over.returncode == 3 and "over MAX_ERRORS=0" in over.stderr
    day.unlink()
    # 1: a check failed, in the gate and in verify
    (tree.sql / "checks" / "900_no_play_from_nowhere.sql").write_text(NOWHERE)
    new_day(source, days=2, location="Nowhere")
    gated = tree("load", env)
    assert gated.returncode == 1 and "no_play_from_nowhere" in gated.stderr
    with REAL_CONNECT(database) as conn, conn.cursor() as cur:
        cur.execute("INSERT INTO songplays SELECT * FROM songplays WHERE songplay_id = "
                    "(SELECT MIN(songplay_id) FROM songplays)")
    conn.close()
    assert run_cli("verify", env, check=False).returncode == 1
    # 75: the warehouse unreachable, after the retries, each said
    gone = dict(env, DATABASE_URL="postgresql://loader:pw@127.0.0.1:1/dwh", RETRIES="2", RETRY_WAIT="0")
    for command in ("load", "verify", "transform"):
        proc = run_cli(command, gone, check=False)
        assert proc.returncode == 75, (command, proc.stderr)
        said = [line for line in proc.stderr.splitlines() if line.startswith("transient failure:")]
        assert len(said) == 2 and said[1].endswith("retrying in 0 s (retry 2 of 2)")
    # the image's entrypoint passes each code through
    entry = subprocess.run([sys.executable, "-m", "sparkify_dwh", "load"], env=dict(env, MAX_ERRORS="many"),
                           capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert entry.returncode == 2
    entry = subprocess.run([sys.executable, "-m", "sparkify_dwh", "verify"], env=gone, capture_output=True,
                           text=True, timeout=120, cwd=ROOT)
    assert entry.returncode == 75


# --- Retries inside a run -------------------------------------------------------------------------------

def faulty(monkeypatch, admin_url: str, faults: list):
    """Connections whose statements meet real faults of a real PostgreSQL: before the first statement that
    matches a fault's pattern, "drop" ends the session from another connection (pg_terminate_backend, as an
    operator or a failover would), "40001" makes the server raise a serialization failure. Each fault is
    used up when it strikes."""

    class Cursor(psycopg2.extensions.cursor):
        def execute(self, sql, params=None):
            self.strike(sql)
            return super().execute(sql, params)

        def copy_expert(self, sql, *args, **kwargs):
            self.strike(sql)
            return super().copy_expert(sql, *args, **kwargs)

        def strike(self, sql):
            text = sql if isinstance(sql, str) else sql.decode()
            for n, (pattern, kind) in enumerate(faults):
                if re.search(pattern, text):
                    del faults[n]
                    if kind == "drop":
                        admin = REAL_CONNECT(admin_url)
                        admin.autocommit = True
                        with admin.cursor() as cur:
                            cur.execute("SELECT pg_terminate_backend(%s, 5000)", (self.connection.get_backend_pid(),))
                        admin.close()
                    elif kind == "57014":  # a statement timeout, as the server gives it
                        super().execute("SET LOCAL statement_timeout = 1; SELECT pg_sleep(1)")
                    else:
                        super().execute("DO $$BEGIN RAISE EXCEPTION 'could not serialize access due to concurrent "
                                        "update' USING ERRCODE = 'serialization_failure'; END$$")
                    return

    def connect(*args, **kwargs):
        return REAL_CONNECT(*args, cursor_factory=Cursor, **kwargs)

    monkeypatch.setattr(psycopg2, "connect", connect)


@pytest.fixture
def settings_for(monkeypatch, small_dataset, database):
    waits = []
    monkeypatch.setattr(retry, "_sleep", waits.append)

    def make(**env):
        values = {"ENV_FILE": "/dev/null", "DATABASE_URL": database, "SONG_DATA": str(small_dataset / "song_data"),
                  "LOG_DATA": str(small_dataset / "log_data"), "MAX_ERRORS": "0", "FULL_REFRESH": "0", **env}
        for key, value in values.items():
            monkeypatch.setenv(key, value)
        return load_settings()

    make.waits = waits
    return make


@pytest.mark.parametrize("pattern,kind", [
    (r"INSERT INTO songplays", "drop"),  # mid-transform
    (r"^COPY staging_events", "drop"),  # mid-staging
    (r"^LOCK TABLE load_lock", "40001"),  # a serialization failure as staging begins
])
def test_a_transient_failure_mid_load_is_retried_and_gives_the_same_star(
        settings_for, monkeypatch, pg_server, database, other_database, capsys, pattern, kind):
    pipeline.load(settings_for(DATABASE_URL=other_database), quiet=True, say=lambda *_: None)
    expected = star(other_database)
    faulty(monkeypatch, pg_server, [(pattern, kind)])
    summary = pipeline.load(settings_for(RETRY_WAIT="3s"), quiet=True, say=lambda *_: None)
    assert summary.attempts == 2 and settings_for.waits == [3.0]
    (line,) = [x for x in capsys.readouterr().err.splitlines() if x.startswith("transient failure")]
    assert line.endswith("retrying in 3 s (retry 1 of 2)")
    assert star(database) == expected
    assert rows(REAL_CONNECT(database), "SELECT status, exit_code, attempts FROM load_runs") == [("succeeded", 0, 2)]


def test_retries_spent_fail_with_75_and_the_failed_run_is_in_the_history(settings_for, monkeypatch, pg_server,
                                                                          database):
    settings = settings_for(RETRIES="2", RETRY_WAIT="1s")
    faulty(monkeypatch, pg_server, [("INSERT INTO songplays", "drop")] * 3)
    with pytest.raises(psycopg2.OperationalError) as err:
        pipeline.load(settings, quiet=True, say=lambda *_: None)
    assert outcomes.exit_code(err.value) == 75 and settings_for.waits == [1.0, 2.0]
    conn = REAL_CONNECT(database)
    assert rows(conn, "SELECT status, exit_code, attempts, songplays_rows FROM load_runs") == [("failed", 75, 3, None)]
    assert scalar(conn, "SELECT COUNT(*) FROM songplays") == 0  # nothing half-published
    # and the next run, the warehouse back, completes what the failed one began
    monkeypatch.setattr(psycopg2, "connect", REAL_CONNECT)
    assert pipeline.load(settings, quiet=True, say=lambda *_: None).attempts == 1
    assert scalar(conn, "SELECT COUNT(*) FROM songplays") > 0
    conn.close()


def test_a_failure_that_is_not_transient_is_not_retried(settings_for, monkeypatch, pg_server, tmp_path):
    bad = tmp_path / "log_data"
    bad.mkdir()
    (bad / "day.json").write_text("{not json\n")
    with pytest.raises(Exception) as err:
        pipeline.load(settings_for(LOG_DATA=str(bad)), quiet=True, say=lambda *_: None)
    assert outcomes.exit_code(err.value) == 3 and settings_for.waits == []
    faulty(monkeypatch, pg_server, [("INSERT INTO songplays", "57014")])
    with pytest.raises(psycopg2.errors.QueryCanceled) as err:  # a statement timeout would strike again
        pipeline.load(settings_for(), quiet=True, say=lambda *_: None)
    assert outcomes.exit_code(err.value) == 1 and settings_for.waits == []


def test_the_redshift_load_retries_a_dropped_connection_and_error_1023(rig, small_dataset, conn, capsys):  # noqa: F811
    waits = []
    rig.monkeypatch.setattr(retry, "_sleep", waits.append)
    rig.hooks["faults"] = [(r"^\s*COPY staging_events", "drop"), (r"INSERT INTO songplays", "1023")]
    summary = rig.load(small_dataset, RETRY_WAIT="2s")
    assert summary.attempts == 3 and waits == [2.0, 4.0]
    said = [x for x in capsys.readouterr().err.splitlines() if x.startswith("transient failure")]
    assert "server closed the connection unexpectedly" in said[0] and "retry 1 of 2" in said[0]
    assert "Serializable isolation violation" in said[1] and "retry 2 of 2" in said[1]
    assert rig.staged_objects() == []  # every attempt's parts removed
    rig.load_postgres(small_dataset)
    same_everywhere(rig, conn)
    with REAL_CONNECT(rig.pg_url) as pg:
        pg_runs = rows(pg, "SELECT songplays_rows FROM load_runs")
        pg_columns = rows(pg, "SELECT column_name, data_type FROM information_schema.columns "
                              "WHERE table_name IN ('load_runs', 'check_runs') ORDER BY table_name, ordinal_position")
    pg.close()
    (redshift_run,) = rows(conn, "SELECT warehouse, status, exit_code, attempts, songplays_rows FROM load_runs")
    assert redshift_run == ("redshift", "succeeded", 0, 3, pg_runs[0][0])
    # the same plain columns on both (the emulator's VARCHAR is a domain over bpchar: compared by name)
    names = rows(conn, "SELECT column_name FROM information_schema.columns WHERE table_name IN ('load_runs', "
                       "'check_runs') ORDER BY table_name, ordinal_position")
    assert [n for (n,) in names] == [n for n, _ in pg_columns]
    assert scalar(conn, "SELECT COUNT(*) FROM check_runs") == len(summary.checks) > 0


# --- History ---------------------------------------------------------------------------------------------

def test_every_load_and_verify_is_in_the_history_and_make_history_prints_it(source, env, database, tree):  # noqa: F811
    assert run_cli("load", env).returncode == 0
    (tree.sql / "checks" / "900_no_play_from_nowhere.sql").write_text(NOWHERE)
    new_day(source, location="Nowhere")
    assert tree("load", env).returncode == 1
    assert run_cli("verify", env).returncode == 0  # the star was kept as it was
    conn = REAL_CONNECT(database)
    runs = rows(conn, "SELECT load_id, status, exit_code, error, files_read, records_rejected, songplays_rows, "
                      "stage_seconds, transform_seconds FROM load_runs ORDER BY started_at")
    assert [(r[1], r[2]) for r in runs] == [("succeeded", 0), ("failed", 1)]
    assert runs[0][4] > 0 and runs[0][5] == 0 and runs[0][6] > 0 and runs[0][7] >= 0
    assert runs[1][3].startswith("check failed before publishing: no_play_from_nowhere")
    assert "Nowhere" not in runs[1][3]  # the name of the check, never its rows
    gate = dict(rows(conn, "SELECT check_name, status FROM check_runs WHERE run_id = %s", runs[1][0]))
    assert gate["no_play_from_nowhere"] == "failed" and gate["songplays_key"] == "passed"
    verify = rows(conn, "SELECT command, status, COUNT(*) FROM check_runs WHERE command = 'verify' GROUP BY 1, 2")
    assert verify == [("verify", "passed", len(gate) - 1)]  # verify runs sql/checks of this checkout
    conn.close()
    shown = run_cli("history", env).stdout
    assert shown.index(runs[1][0]) < shown.index(runs[0][0])  # newest first
    assert "no_play_from_nowhere" in shown and "failed" in shown
    # bin/transform alone (without that check) publishes the staged day, and is in the history as a transform
    assert run_cli("transform", env).returncode == 0
    conn = REAL_CONNECT(database)
    (last,) = rows(conn, "SELECT command, status, exit_code, files_read, songplays_rows, stage_seconds, "
                         "transform_seconds FROM load_runs ORDER BY started_at DESC LIMIT 1")
    assert last[:4] == ("transform", "succeeded", 0, None) and last[4] > runs[0][6] and last[5] is None
    assert last[6] > 0
    assert scalar(conn, "SELECT COUNT(*) FROM check_runs WHERE command = 'transform' AND status = 'passed'") == \
        len(gate) - 1
    conn.close()


def test_load_runs_has_a_column_for_every_star_table():
    assert set(history.TABLES) == set(pipeline.STAR_TABLES)
    ddl = (ROOT / "sql" / "schema" / "410_load_runs.sql").read_text()
    for column in history.LOAD_COLUMNS:
        assert re.search(rf"^\s+{column} ", ddl, re.M), column


# --- Alerts ----------------------------------------------------------------------------------------------

@pytest.fixture
def webhook():
    received: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the standard library's name
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/services/T0/B0/token-{id(received)}", received
    server.shutdown()


def test_a_failed_check_a_warning_and_a_failed_load_each_post_one_message(source, env, tree, webhook):  # noqa: F811
    url, received = webhook
    env = dict(env, ALERT_WEBHOOK_URL=url)
    assert tree("load", env).returncode == 0 and received == []  # nothing to say
    (tree.sql / "checks" / "900_no_play_from_nowhere.sql").write_text(NOWHERE)
    (tree.sql / "checks" / "910_no_play_from_elsewhere.sql").write_text(
        NOWHERE.replace("Nowhere", "Elsewhere").replace("Elsewhere\n", "Elsewhere\n-- severity: warning\n", 1))
    day = new_day(source, location="Nowhere", firstName="Zyxwvut")
    failed = tree("load", env)
    assert failed.returncode == 1
    (message,) = received
    assert message["text"].startswith("sparkify: check failed (load: no play comes from Nowhere)")
    assert "check no_play_from_nowhere" in message["text"] and "rows breaking it 1" in message["text"]
    assert "exit code 1" in message["text"] and re.search(r"load \d{8}T\d{6}-\w{8}", message["text"])
    day.write_bytes(day.read_bytes().replace(b'"Nowhere"', b'"Elsewhere"'))
    received.clear()
    assert tree("load", env).returncode == 0
    (message,) = received
    assert message["text"].startswith("sparkify: warning") and "no_play_from_elsewhere" in message["text"]
    day.write_bytes(day.read_bytes() + b'{"ts": "a string", "firstName": "Qwertyu"}\n')
    received.clear()
    assert tree("load", env).returncode == 3
    (message,) = received
    assert message["text"].startswith("sparkify: load failed") and "exit code 3" in message["text"]
    assert "rejected 1" in message["text"] and "MAX_ERRORS 0" in message["text"]
    everything = json.dumps(received)
    for personal in ("Zyxwvut", "Qwertyu", "a string"):
        assert personal not in everything
    for proc in (failed,):
        assert url not in proc.stdout + proc.stderr and "token-" not in proc.stdout + proc.stderr


def test_a_webhook_that_never_answers_does_not_fail_the_load(source, env, tmp_path):  # noqa: F811
    import socket

    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()  # accepts, never answers
    try:
        hook = f"http://127.0.0.1:{silent.getsockname()[1]}/hooks/secret-path-token"
        (source / "log_data" / "new-events.json").write_text(json.dumps(dict(GOOD_EVENT, newField=1)) + "\n")
        loaded = run_cli("load", dict(env, ALERT_WEBHOOK_URL=hook))
    finally:
        silent.close()
    assert loaded.returncode == 0
    assert "alert not sent to ALERT_WEBHOOK_URL (no answer)" in loaded.stderr
    assert "secret-path-token" not in loaded.stdout + loaded.stderr


# --- Fields the parser does not know ----------------------------------------------------------------------

def _new_fields_source(root):
    logs, songs = root / "log_data", root / "song_data"
    logs.mkdir(parents=True)
    songs.mkdir(parents=True)
    (logs / "day-events.json").write_text("\n".join([
        json.dumps(GOOD_EVENT), json.dumps(dict(GOOD_EVENT, ts=GOOD_EVENT["ts"] + 1, newField="x")),
        json.dumps(dict(GOOD_EVENT, ts=GOOD_EVENT["ts"] + 2, newField=2, otherField=None))]) + "\n")
    (songs / "TRA.json").write_text(json.dumps(dict(GOOD_SONG, genre="folk")))
    return root


def test_new_fields_are_counted_named_and_kept_in_the_history_on_both_warehouses(rig, tmp_path, conn):  # noqa: F811
    root = _new_fields_source(tmp_path / "src")
    summary = rig.load(root)
    assert summary.unknown_fields == {"genre": (1, 1), "newField": (2, 1), "otherField": (1, 1)}
    assert summary.tables["staging_events"] == 3 and summary.rejected == 0
    out = __import__("io").StringIO()
    pipeline.print_summary(summary, out)
    assert "note: new field `newField` in 2 records of 1 events file" in out.getvalue()
    assert "note: new field `genre` in 1 record of 1 songs file" in out.getvalue()
    assert rows(conn, "SELECT unknown_fields FROM load_runs") == [("genre 1, newField 2, otherField 1",)]
    again = rig.load(root)  # nothing read again: nothing new to say
    assert again.unknown_fields == {}
    pg = rig.load_postgres(root)
    assert pg.unknown_fields == summary.unknown_fields
    assert rig.load(root, UNKNOWN_FIELDS="ignore", FULL_REFRESH="1").unknown_fields == {}


def test_unknown_fields_fail_rejects_each_such_record_naming_it_alike_on_both_warehouses(rig, tmp_path,  # noqa: F811
                                                                                        conn):
    root = _new_fields_source(tmp_path / "src")
    with pytest.raises(Exception) as err:
        rig.load(root, UNKNOWN_FIELDS="fail", MAX_ERRORS="2")
    assert outcomes.exit_code(err.value) == 3
    summary = rig.load(root, UNKNOWN_FIELDS="fail", MAX_ERRORS="3")
    assert summary.rejected == 3 and summary.tables["staging_events"] == 1 and summary.tables["staging_songs"] == 0
    reasons = [r for (r,) in rows(conn, "SELECT reason FROM load_errors ORDER BY source_file, line_number")]
    assert reasons[0].startswith("unknown field `newField`: UNKNOWN_FIELDS=fail")  # log_data/ sorts first
    assert reasons[1].startswith("unknown fields `newField`, `otherField`: UNKNOWN_FIELDS=fail")
    assert reasons[2].startswith("unknown field `genre`: UNKNOWN_FIELDS=fail")
    rig.load_postgres(root, UNKNOWN_FIELDS="fail", MAX_ERRORS="3")
    same_everywhere(rig, conn)
