"""What the Redshift load sends: every COPY parses under sqlfluff's redshift dialect, the JSONPaths file maps
every staging_events column, and DRY_RUN=1 prints it all without a cluster and without secrets."""

import re
import uuid

import pytest
import sqlfluff
from conftest import ROOT, run_cli

from sparkify_dwh import records, redshift, sqlfiles
from sparkify_dwh.config import SettingsError

TARGET = redshift.Target("s3://stage-bucket/loads", "20260101T000000-abcdef12",
                         "arn:aws:iam::123456789012:role/sparkify-dwh-copy", "us-west-2")


def _ddl_columns(name: str) -> list[str]:
    (f,) = [f for f in sqlfiles.files("schema", "redshift") if f.name == name]
    body = f.text.split("(", 1)[1]
    return re.findall(r"^\s{4}([a-z_]+) ", body, re.M)


def _parses(sql: str) -> bool:
    try:
        sqlfluff.parse(sql, dialect="redshift")
    except sqlfluff.api.APIParsingError:
        return False
    return True


GENERATED = {
    "events": redshift.stage_copy("events", TARGET, 5),
    "songs": redshift.stage_copy("songs", TARGET, 0),
    "load_errors": redshift.errors_copy(TARGET),
    "load_files": redshift.ledger_copy(TARGET),
    **{f"replace_{n}": s for n, s in enumerate(redshift.replace_statements(TARGET.load_id))},
    **{f"refresh_{n}": s for n, s in enumerate(redshift.full_refresh_statements("events"))},
    "lock": redshift.LOCK,
}


@pytest.mark.parametrize("name", GENERATED)
def test_generated_statements_parse_as_redshift(name):
    assert _parses(GENERATED[name] + ";")


def test_the_events_copy_names_its_jsonpaths_role_and_options():
    sql = GENERATED["events"]
    for clause in ("IAM_ROLE 'arn:aws:iam::123456789012:role/sparkify-dwh-copy'",
                   "FORMAT AS JSON 's3://stage-bucket/loads/20260101T000000-abcdef12/events/jsonpaths.json'",
                   "FROM 's3://stage-bucket/loads/20260101T000000-abcdef12/events/manifest.json'",
                   "GZIP", "MANIFEST", "TIMEFORMAT 'epochmillisecs'", "REGION 'us-west-2'", "MAXERROR 5",
                   "COMPUPDATE OFF", "STATUPDATE ON"):
        assert clause in sql


def test_jsonpaths_map_every_staging_events_column_in_order():
    columns = _ddl_columns("staging_events")
    paths = redshift.jsonpaths()["jsonpaths"]
    assert sorted(redshift.EVENT_COLUMNS) == sorted(columns)
    assert len(paths) == len(redshift.EVENT_COLUMNS) == len(columns)
    source_name = dict(zip(records.Event.__struct_fields__, records.Event.__struct_encode_fields__))
    for column, path in zip(redshift.EVENT_COLUMNS, paths):
        assert path == f"$.{source_name.get(column, column)}"
    assert "$.firstName" in paths and "$.userId" in paths and paths.count("$.ts") == 1


def test_the_songs_copy_fills_every_staging_songs_column_by_name():
    assert sorted(redshift.SONG_COLUMNS) == sorted(_ddl_columns("staging_songs"))
    assert "FORMAT AS JSON 'auto'" in GENERATED["songs"]


def test_ledger_and_error_rows_name_every_column_of_their_table():
    assert sorted(redshift.LEDGER_COLUMNS) == sorted(_ddl_columns("load_files"))
    assert sorted(redshift.ERROR_COLUMNS) == sorted(_ddl_columns("load_errors"))


@pytest.mark.parametrize("value", ["it's", "a b", "x\\y", "s3://b/k';DROP TABLE users;--"])
def test_literals_refuse_what_would_need_escaping(value):
    with pytest.raises(SettingsError):
        redshift.literal(value)


@pytest.mark.parametrize("slices,size,parts", [(2, 0, 2), (2, 10 << 20, 2), (4, 3 << 30, 12), (16, 1 << 20, 16)])
def test_part_count_is_a_multiple_of_the_slices(slices, size, parts):
    assert redshift.part_count(slices, size) == parts


def test_dry_run_prints_every_statement_without_a_cluster_or_secrets(tmp_path):
    canary = "Canary" + uuid.uuid4().hex[:12] + "X9"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "ENV_FILE": str(tmp_path / "none"),
           "WAREHOUSE": "redshift", "DRY_RUN": "1", "STAGING_PREFIX": "s3://stage-bucket/loads",
           "REDSHIFT_ROLE_ARN": "arn:aws:iam::123456789012:role/sparkify-dwh-copy",
           "REDSHIFT_HOST": "127.0.0.1", "DB_PORT": "1", "DB_PASSWORD": canary,
           "SONG_DATA": "s3://udacity-dend/song_data", "LOG_DATA": "s3://udacity-dend/log_data",
           "DEMO_DIR": str(tmp_path / "demo")}
    proc = run_cli("load", env)
    out = proc.stdout
    assert canary not in out + proc.stderr
    assert not (tmp_path / "demo").exists()
    statements = ["\n".join(line for line in s.splitlines() if not line.startswith("--")).strip()
                  for s in sqlfiles.split(out)]
    copies = [s for s in statements if s.lstrip().startswith("COPY")]
    assert [c.split()[1] for c in copies] == ["staging_songs", "staging_events", "load_errors", "load_files"]
    assert all("IAM_ROLE 'arn:aws:iam::123456789012:role/sparkify-dwh-copy'" in c for c in copies)
    assert all(_parses(s + ";") for s in statements)
    assert statements[statements.index("BEGIN") + 1] == "LOCK load_files"
    transform = [s for s in statements if s.startswith("INSERT INTO songplays")]
    assert len(transform) == 1
