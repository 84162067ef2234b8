"""Settings are strict: a value the loader cannot take exactly as meant is refused in one line naming the
setting (and, for the settings file, the file and line), never read as something else."""

import os
import re

import pytest
from conftest import ROOT

from sparkify_dwh.config import SettingsError, defaults, load_settings

SETTINGS = set(re.findall(r"^# ?([A-Z][A-Z0-9_]+)=", (ROOT / "env.example").read_text(encoding="utf-8"), re.M))
FLAGS = {"FULL_REFRESH": "full_refresh", "DRY_RUN": "dry_run", "TRACEBACK": "traceback",
         "EMBEDDED_STOP": "embedded_stop"}
REDSHIFT_FLAGS = {"PUBLICLY_ACCESSIBLE": "publicly_accessible", "FINAL_SNAPSHOT": "final_snapshot"}


@pytest.fixture
def clean(monkeypatch):
    """No setting in the environment but those a test gives; no settings file."""
    for key in SETTINGS | {"ENV_FILE"}:
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("ENV_FILE", os.devnull)

    def settings(**values):
        for key, value in values.items():
            monkeypatch.setenv(key, value)
        return load_settings()
    return settings


def refused(settings, **values) -> str:
    with pytest.raises(SettingsError) as caught:
        settings(**values)
    message = str(caught.value)
    assert "\n" not in message
    return message


ON = ["1", "true", "TRUE", "True", "yes", "YES", "on", "On", " 1 "]
OFF = ["0", "false", "FALSE", "no", "No", "off", "OFF"]
WRONG = ["2", "y", "n", "1 2", "maybe", "abc", "enabled", "-1", "1.0", "tru", "yess"]


@pytest.mark.parametrize("name", sorted(FLAGS))
def test_a_flag_takes_the_usual_spellings_in_any_case_and_empty_means_the_default(clean, name):
    attribute = FLAGS[name]
    for raw in ON:
        assert getattr(clean(**{name: raw}), attribute) is True, raw
    for raw in OFF + [""]:
        assert getattr(clean(**{name: raw}), attribute) is False, raw


@pytest.mark.parametrize("name", sorted(FLAGS) + sorted(REDSHIFT_FLAGS))
def test_anything_else_is_refused_naming_the_setting(clean, name):
    for raw in WRONG:
        def settings(**values):
            s = clean(**values)
            if name in REDSHIFT_FLAGS:
                return s.redshift
            return s
        message = refused(settings, **{name: raw})
        assert message.startswith(f"{name}={raw.strip()!r}") and "expected 1 or 0" in message


def test_redshift_flags_take_the_same_spellings(clean):
    rs = clean(PUBLICLY_ACCESSIBLE="Yes", FINAL_SNAPSHOT="on").redshift
    assert rs.publicly_accessible is True and rs.final_snapshot is True
    rs = clean(PUBLICLY_ACCESSIBLE="OFF", FINAL_SNAPSHOT="").redshift
    assert rs.publicly_accessible is False and rs.final_snapshot is False


@pytest.mark.parametrize(("name", "raw"), [
    ("MAX_ERRORS", "-1"), ("MAX_ERRORS", "1.5"), ("MAX_ERRORS", "1e3"), ("MAX_ERRORS", "ten"),
    ("MAX_ERRORS", "\u0661\u0662"),  # digits of another script: int() takes them, the setting does not
    ("READ_WORKERS", "0"), ("READ_WORKERS", "-3"), ("READ_WORKERS", "257"),
    ("DEMO_EVENTS", "0"), ("DEMO_SONGS", "-1"),
])
def test_numbers_out_of_range_or_not_whole_are_refused(clean, name, raw):
    message = refused(clean, **{name: raw})
    assert message.startswith(f"{name}=")


def test_numbers_in_range_are_taken(clean):
    s = clean(MAX_ERRORS="1_000", READ_WORKERS="1", DEMO_EVENTS="+5", DEMO_SONGS="256")
    assert (s.max_errors, s.read_workers, s.demo_events, s.demo_songs) == (1000, 1, 5, 256)
    assert clean(READ_WORKERS="").read_workers == 16


def test_redshift_numbers_out_of_range_are_refused(clean):
    for raw in ("0", "70000", "-5439"):
        assert refused(lambda **v: clean(**v).redshift, DB_PORT=raw).startswith("DB_PORT=")
    assert clean(DB_PORT="5440").redshift.db_port == 5440


@pytest.mark.parametrize("raw", ["inf", "nan", "NaN", "-inf", "infs", "nanh", "1e400", "1e3s", "-5s", "0.0001",
                                 "0.5ms", "0.00099s", "30d", "abc", "5x", "s", ""])
def test_a_duration_that_is_not_a_finite_number_of_milliseconds_is_refused(clean, raw):
    if raw == "":  # empty is the default, not a refusal
        assert clean(STATEMENT_TIMEOUT=raw).statement_timeout_ms == 3_600_000
        return
    message = refused(clean, STATEMENT_TIMEOUT=raw)
    assert message.startswith(f"STATEMENT_TIMEOUT={raw.lower()!r}")


@pytest.mark.parametrize(("raw", "ms"), [("0", 0), ("0s", 0), ("1ms", 1), ("0.001", 1), ("1.5ms", 2), ("90s", 90_000),
                                          ("30m", 1_800_000), ("2H", 7_200_000), ("24d", 2_073_600_000)])
def test_a_duration_is_read_in_milliseconds(clean, raw, ms):
    assert clean(STATEMENT_TIMEOUT=raw).statement_timeout_ms == ms


def test_freshness_takes_whole_hours_or_days_of_at_least_one_hour(clean):
    assert clean(MAX_EVENT_AGE="36h").max_event_age_hours == 36
    assert clean(MAX_EVENT_AGE="7d").max_event_age_hours == 168
    assert clean(MAX_EVENT_AGE="").max_event_age_hours is None
    for raw in ("0", "0h", "-1", "1.5h", "inf", "2w"):
        assert refused(clean, MAX_EVENT_AGE=raw).startswith("MAX_EVENT_AGE=")


def test_a_pgdata_dir_with_a_control_character_is_refused(clean):
    message = refused(clean, PGDATA_DIR="/tmp/a\nb")
    assert message.startswith("PGDATA_DIR holds a control character")
    assert str(clean(PGDATA_DIR="/tmp/with space/`x`/$(y)").pgdata) == "/tmp/with space/`x`/$(y)"


def test_a_database_url_libpq_cannot_read_is_refused_without_repeating_it(clean):
    for raw in ("host=db password=pa ss-Canary42", "postgresql://u:pw@h/db?nosuchoption=1", "nonsense"):
        message = refused(clean, DATABASE_URL=raw)
        assert message.startswith("DATABASE_URL is neither")
        assert "Canary42" not in message and "pw" not in message


# --- the settings file ------------------------------------------------------------------------------

def test_the_environment_wins_over_the_settings_file(clean, tmp_path, monkeypatch):
    env_file = tmp_path / "settings.env"
    env_file.write_text("MAX_ERRORS=3\nREAD_WORKERS=4\nexport DEMO_SONGS=7\nDRY_RUN=1\n")
    monkeypatch.setenv("ENV_FILE", str(env_file))
    s = clean(MAX_ERRORS="5", DRY_RUN="0")
    assert s.max_errors == 5 and s.dry_run is False  # set in both: the environment's
    assert s.read_workers == 4 and s.demo_songs == 7  # only in the file: the file's
    monkeypatch.delenv("DRY_RUN")
    assert clean().dry_run is True


def test_a_bad_value_in_the_settings_file_is_refused_like_one_in_the_environment(clean, tmp_path, monkeypatch):
    env_file = tmp_path / "settings.env"
    env_file.write_text("DRY_RUN=y\n")
    monkeypatch.setenv("ENV_FILE", str(env_file))
    assert refused(clean).startswith("DRY_RUN='y'")


def test_a_line_the_settings_file_cannot_parse_is_refused_naming_the_file_and_line_not_its_text(
        clean, tmp_path, monkeypatch):
    env_file = tmp_path / "settings.env"
    env_file.write_text("MAX_ERRORS=3\nDATABASE_URL postgresql://u:Canary-77fe@h/db\n")
    monkeypatch.setenv("ENV_FILE", str(env_file))
    message = refused(clean)
    assert message.startswith(f"{env_file}, line 2: not a setting")
    assert "Canary-77fe" not in message


def test_a_settings_file_that_is_not_utf8_is_refused_naming_the_file_and_line(clean, tmp_path, monkeypatch):
    env_file = tmp_path / "settings.env"
    env_file.write_bytes(b"MAX_ERRORS=3\n# caf\xe9\n")
    monkeypatch.setenv("ENV_FILE", str(env_file))
    assert refused(clean) == f"{env_file}, line 2: not valid UTF-8 (see env.example)"


def test_an_env_file_named_but_missing_is_an_error(clean, tmp_path, monkeypatch):
    missing = tmp_path / "nope.env"
    monkeypatch.setenv("ENV_FILE", str(missing))
    message = refused(clean)
    assert message.startswith(f"ENV_FILE={missing}: no such file")
    # the commands that write the file (bin/provision, bin/teardown) may start without it
    assert load_settings(missing_file_ok=True).max_errors == 0
    monkeypatch.setenv("ENV_FILE", str(tmp_path))
    assert refused(clean).startswith(f"{tmp_path}: is a folder")


def test_the_settings_with_nothing_set_are_the_documented_defaults():
    s = defaults()
    assert (s.warehouse, s.max_errors, s.dry_run, s.read_workers, s.statement_timeout_ms) == (
        "postgres", 0, False, 16, 3_600_000)
    assert s.database_url is None and s.pgdata == ROOT / ".pgdata"


def test_a_settings_file_saved_with_a_byte_order_mark_is_read_whole(clean, tmp_path, monkeypatch):
    env_file = tmp_path / "settings.env"
    env_file.write_bytes("\ufeffMAX_ERRORS=3\r\nREAD_WORKERS=4\r\n".encode())
    monkeypatch.setenv("ENV_FILE", str(env_file))
    s = clean()
    assert (s.max_errors, s.read_workers) == (3, 4)
