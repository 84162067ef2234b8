"""Running unattended, without a database: each error's exit code, which failures are transient, the
retry loop's bound and its output, the unknown-field counts, and the alerts' shared time budget."""

import socket
import time

import psycopg2
import pytest

from sparkify_dwh import alerts, checks, db, outcomes, records, retry, sources, staging
from sparkify_dwh.config import SettingsError, load_settings
from sparkify_dwh.warehouses.base import StagingError

LOST = "server closed the connection unexpectedly\n\tThis probably means the server terminated abnormally"
ERROR_1023 = "1023\nDETAIL:  Serializable isolation violation on table - 100305, transactions forming the cycle"


def _from(cause: BaseException, err: BaseException, explicit: bool = True) -> BaseException:
    """`err` raised while handling `cause`: `raise err from cause`, or `from None` (which keeps it as the
    context only)."""
    try:
        try:
            raise cause
        except BaseException as caught:
            raise err from (caught if explicit else None)
    except BaseException as raised:
        return raised


@pytest.mark.parametrize(("err", "code"), [
    (None, 0),
    (checks.GateFailed([]), 1),
    (RuntimeError("a bug"), 1),
    (SettingsError("MAX_ERRORS='x' is not a whole number"), 2),
    (sources.Overlapping("SONG_DATA and LOG_DATA overlap"), 2),
    (SystemExit(2), 2),  # argparse's usage error
    (staging.TooManyErrors([], 0), 3),
    (sources.Unreadable("s3://b/day.json: cannot be read"), 4),
    (sources.SourceError("/data/log_data: no such folder"), 4),
    (db.Unreachable("cannot connect to postgresql://u:***@h/db: Connection refused"), 75),
    (db.DatabaseError("cannot connect to postgresql://u:***@h/db: password authentication failed"), 1),
    (psycopg2.OperationalError(LOST), 75),
    (psycopg2.InterfaceError("connection already closed"), 75),
    (psycopg2.InternalError(ERROR_1023), 75),
    (psycopg2.errors.QueryCanceled("canceling statement due to statement timeout"), 1),
    (psycopg2.errors.UniqueViolation("duplicate key value violates unique constraint"), 1),
    (_from(psycopg2.OperationalError(LOST), StagingError("COPY into staging_events failed")), 75),
    # a refused password: psycopg2's OperationalError carries no SQLSTATE, and the project's error replaced it
    (_from(psycopg2.OperationalError("FATAL:  password authentication failed for user \"r\""),
           db.DatabaseError("cannot connect to postgresql://r:***@h/db: password authentication failed"), False), 1),
    (_from(psycopg2.errors.SyntaxError("syntax error"), StagingError("COPY into staging_events failed")), 1),
    (KeyboardInterrupt(), 130),
])
def test_each_error_has_its_exit_code(err, code):
    assert outcomes.exit_code(err) == code


def test_a_refused_connection_is_unreachable_a_refused_password_is_not():
    with pytest.raises(db.Unreachable):
        db.connect("nowhere", host="127.0.0.1", port=1, dbname="x", user="x")
    assert not issubclass(db.DatabaseError, db.Unreachable)


@pytest.fixture
def settings(monkeypatch):
    def make(**values):
        monkeypatch.setenv("ENV_FILE", "/dev/null")
        for key, value in values.items():
            monkeypatch.setenv(key, value)
        return load_settings()
    return make


def test_retries_double_their_wait_say_each_masked_and_stop_at_the_bound(settings, monkeypatch, capsys):
    waits = []
    monkeypatch.setattr(retry, "_sleep", waits.append)
    s = settings(RETRIES="3", RETRY_WAIT="2s", DB_PASSWORD="Hidden-pw-123")
    tries = []

    def attempt(n):
        tries.append(n)
        raise psycopg2.OperationalError(f"{LOST} (password Hidden-pw-123)")

    with pytest.raises(psycopg2.OperationalError):
        retry.call(s, attempt)
    assert tries == [1, 2, 3, 4] and waits == [2.0, 4.0, 8.0]
    said = capsys.readouterr().err.splitlines()
    assert len(said) == 3 and said[2].endswith("retrying in 8 s (retry 3 of 3)")
    assert all("Hidden-pw-123" not in line and line.startswith("transient failure: server closed") for line in said)


def test_a_failure_that_is_not_transient_is_raised_at_once_and_a_later_success_returns(settings, monkeypatch):
    waits = []
    monkeypatch.setattr(retry, "_sleep", waits.append)

    def refused(n):
        raise db.DatabaseError("password authentication failed")

    with pytest.raises(db.DatabaseError):
        retry.call(settings(), refused)
    assert waits == []

    def second_time(n):
        if n == 1:
            raise psycopg2.InternalError(ERROR_1023)
        return "done"

    assert retry.call(settings(RETRY_WAIT="0"), second_time) == "done" and waits == [0.0]
    with pytest.raises(psycopg2.InternalError):
        retry.call(settings(RETRIES="0"), lambda n: second_time(1))


def test_retry_settings_are_strict(settings):
    for name, raw in (("RETRIES", "11"), ("RETRIES", "-1"), ("RETRY_WAIT", "inf"), ("UNKNOWN_FIELDS", "loud"),
                      ("ALERT_WEBHOOK_URL", "ftp://hooks.example/T/B/secret-token")):
        with pytest.raises(SettingsError) as err:
            load_settings(env_file=__import__("pathlib").Path("/dev/null"), overrides={name: raw})
        assert str(err.value).startswith(name) and "secret-token" not in str(err.value)
    assert settings(UNKNOWN_FIELDS="FAIL").unknown_fields == "fail"


def test_the_webhook_url_is_masked_like_a_password(settings):
    url = "https://hooks.slack.com/services/T000/B000/abcdefSECRET"
    s = settings(ALERT_WEBHOOK_URL=url)
    assert url not in repr(s)
    assert url not in db.mask(f"posting to {url} failed", *db.secrets_of(None, s.extra))


EVENT = b'{"ts": 1541105830796, "userId": "10", "page": "NextSong"'


def test_unknown_fields_are_counted_by_name_per_file_and_a_file_read_again_counts_once():
    fields = records.UnknownFields("warn")
    data = EVENT + b', "newField": 1}\n' + EVENT + b'}\n' + EVENT + b', "newField": [1], "b": {"c": 2}}\n'
    for _ in range(2):  # a file read again (a retried attempt) starts afresh
        out = list(records.events("day.json", data, fields))
        assert [type(x) for x in out] == [tuple] * 3
    list(records.events("other.json", EVENT + b', "newField": 1}\n', fields))
    assert fields.counts() == {"b": (1, 1), "newField": (3, 2)}
    assert fields.counts(["other.json"]) == {"newField": (1, 1)}
    assert list(records.events("day.json", data)) == out  # the rows are those the fields would not change


def test_unknown_fields_fail_rejects_naming_them_and_ignore_says_nothing():
    fields = records.UnknownFields("fail")
    data = EVENT + b', "newField": 1}\n' + EVENT + b'}\n' + b'{"ts": "x", "newField": 1}\n'
    out = list(records.events("day.json", data, fields))
    assert out[0].reason.startswith("unknown field `newField`: UNKNOWN_FIELDS=fail")
    assert type(out[1]) is tuple
    assert out[2].reason.startswith("Expected `int`, got `str`")  # a record invalid anyway says why
    assert fields.counts() == {}
    ignored = records.UnknownFields("ignore")
    assert all(type(x) is tuple for x in records.events("day.json", EVENT + b', "x": 1}\n', ignored))
    assert ignored.counts() == {}
    song = b'{"song_id": "SO1", "artist_id": "AR1", "genre": "folk"}'
    watch = records.UnknownFields("warn")
    assert type(next(records.songs("TR.json", song, watch))) is tuple and watch.counts() == {"genre": (1, 1)}
    assert next(records.songs("TR.json", song, records.UnknownFields("fail"))).reason.startswith(
        "unknown field `genre`")


def test_alerts_of_one_run_share_one_time_budget():
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen()
    said = []
    try:
        started = time.monotonic()
        sent = alerts.send(f"http://127.0.0.1:{silent.getsockname()[1]}/hook", [alerts.message("warning")] * 4,
                           timeout=0.5, say=said.append)
        elapsed = time.monotonic() - started
    finally:
        silent.close()
    assert sent == 0 and elapsed < 2.0
    assert said == ["alert not sent to ALERT_WEBHOOK_URL (no answer)", "3 more alerts not sent"]


def test_check_alerts_name_the_check_and_count_its_rows_never_show_them():
    failing = checks.CheckResult("songplays_key", "one row per play", 2, ("songplay_id", "first_name"),
                                 (("x1", "Annabelle"), ("x2", "Bartholomew")))
    warned = checks.CheckResult("freshness", "the newest event is recent", 1, ("newest",), (("2018",),), "warning")
    passed = checks.CheckResult("users_key", "one row per user", 0, (), ())
    bodies = alerts.for_checks([failing, warned, passed], load_id="L1", exit_code=1, what="load")
    assert [b["text"].split(" (")[0] for b in bodies] == ["sparkify: check failed", "sparkify: warning"]
    assert "songplays_key" in bodies[0]["text"] and "rows breaking it 2" in bodies[0]["text"]
    assert "Annabelle" not in str(bodies) and "Bartholomew" not in str(bodies)
