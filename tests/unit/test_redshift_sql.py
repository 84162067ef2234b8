"""What the Redshift load sends, read against the documentation: every generated statement parses under
sqlfluff's redshift dialect and breaks none of the documented rules; MAXERROR is the budget plus one;
the JSONPaths file maps every staging_events column; DRY_RUN=1 prints it all, bookkeeping included,
without a cluster and without secrets."""

import os
import re
import uuid

import pytest
import sqlfluff
from conftest import ROOT, run_cli
from redshift_rules import problems

from sparkify_dwh import records, sqlfiles, staging
from sparkify_dwh.config import SettingsError
from sparkify_dwh.warehouses.redshift import copy, maintenance, rejects

TARGET = copy.Target("s3://stage-bucket/loads", "20260101T000000-abcdef12", "20260101T000000-abcdef12",
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
    "events": copy.stage_copy("events", TARGET, 5),
    "songs": copy.stage_copy("songs", TARGET, 0),
    "loaded": copy.LOADED,
    "rejects": rejects.READ % "'s3://stage-bucket/loads/x/%'",
    "vacuum": maintenance.VACUUM.format(table="songplays"),
    "analyze": maintenance.ANALYZE.format(table="songplays"),
    "owner": maintenance.OWNER % "'songplays'",
    "superuser": maintenance.SUPERUSER,
    "privilege": maintenance.PRIVILEGE % "'VACUUM'",
    "events without statistics": copy.stage_copy("events", TARGET, 5, statupdate=False),
    "the role's proof": copy.probe_copy(TARGET),
}


@pytest.mark.parametrize("name", GENERATED)
def test_generated_statements_parse_as_redshift_and_break_no_rule(name):
    assert _parses(GENERATED[name] + ";")
    assert problems(GENERATED[name]) == []


@pytest.mark.parametrize(("deleted", "rows_now", "vacuum"), [(0, 100, False), (5, 100, False), (6, 100, True),
                                                            (100, 0, True), (100, 100, True)])
def test_a_vacuum_follows_a_delete_of_five_percent_of_the_rows_held(deleted, rows_now, vacuum):
    # the share is of the rows the table held: the live ones and those the load marked deleted (5 of 105 is
    # under 5 %, where DELETE ONLY's default of 95 % would leave nothing to do)
    sent = maintenance.statements("songplays", deleted, rows_now)
    assert sent[0] == "ANALYZE songplays"
    assert (sent[1:] == ["VACUUM DELETE ONLY songplays TO 100 PERCENT"]) is vacuum


def test_the_events_copy_names_its_jsonpaths_role_and_options():
    sql = GENERATED["events"]
    for clause in ("IAM_ROLE 'arn:aws:iam::123456789012:role/sparkify-dwh-copy'",
                   "FORMAT AS JSON 's3://stage-bucket/loads/20260101T000000-abcdef12/events/jsonpaths.json'",
                   "FROM 's3://stage-bucket/loads/20260101T000000-abcdef12/events/manifest.json'",
                   "GZIP", "MANIFEST", "TIMEFORMAT 'epochmillisecs'", "REGION 'us-west-2'", "MAXERROR 6",
                   "COMPUPDATE OFF", "STATUPDATE ON"):
        assert clause in sql


@pytest.mark.parametrize("budget,maxerror", [(0, 1), (2, 3), (3, 4), (99_999, 100_000), (10**6, 100_000), (-1, 1)])
def test_maxerror_is_the_budget_plus_one(budget, maxerror):
    # "If the load returns the error_count number of errors or greater, the load fails."
    assert copy.maxerror(budget) == maxerror


def test_jsonpaths_map_every_staging_events_column_in_order():
    columns = _ddl_columns("staging_events")
    paths = copy.jsonpaths()["jsonpaths"]
    assert sorted(copy.EVENT_COLUMNS) == sorted(columns)
    assert len(paths) == len(copy.EVENT_COLUMNS) == len(columns)
    source_name = dict(zip(records.Event.__struct_fields__, records.Event.__struct_encode_fields__))
    for column, path in zip(copy.EVENT_COLUMNS, paths):
        assert path == f"$.{source_name.get(column, column)}"
    assert "$.firstName" in paths and "$.userId" in paths and paths.count("$.ts") == 1


def test_the_songs_copy_fills_every_staging_songs_column_by_its_lowercase_name():
    assert sorted(copy.SONG_COLUMNS) == sorted(_ddl_columns("staging_songs"))
    assert all(c == c.lower() for c in copy.SONG_COLUMNS)  # 'auto' matching "is case-sensitive"
    assert "FORMAT AS JSON 'auto'" in GENERATED["songs"]


def test_bookkeeping_rows_name_every_column_of_their_table():
    assert sorted(staging.LEDGER_COLUMNS) == sorted(_ddl_columns("load_files"))
    assert sorted(staging.ERROR_COLUMNS) == sorted(_ddl_columns("load_errors"))


def test_the_staging_widths_are_the_parser_s():
    for table, struct in (("staging_events", records.Event), ("staging_songs", records.Song)):
        (f,) = [f for f in sqlfiles.files("schema", "redshift") if f.name == table]
        declared = {name: int(width) for name, width in re.findall(r"^\s{4}([a-z_]+) VARCHAR\((\d+)\)", f.text, re.M)}
        declared = {k: v for k, v in declared.items() if k not in ("source_file", "load_id")}
        assert declared == records.widths(struct), table


@pytest.mark.parametrize("value", ["it's", "a b", "x\\y", "s3://b/k';DROP TABLE users;--"])
def test_literals_refuse_what_would_need_escaping(value):
    with pytest.raises(SettingsError):
        copy.literal(value)


def _dry_run(tmp_path, **extra):
    canary = "Canary" + uuid.uuid4().hex[:12] + "X9"
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "ENV_FILE": os.devnull,
           "WAREHOUSE": "redshift", "DRY_RUN": "1", "STAGING_PREFIX": "s3://stage-bucket/loads",
           "REDSHIFT_ROLE_ARN": "arn:aws:iam::123456789012:role/sparkify-dwh-copy",
           "REDSHIFT_HOST": "127.0.0.1", "DB_PORT": "1", "DB_PASSWORD": canary,
           "SONG_DATA": "s3://udacity-dend/song_data", "LOG_DATA": "s3://udacity-dend/log_data",
           "DEMO_DIR": str(tmp_path / "demo"), **extra}
    proc = run_cli("load", env)
    assert canary not in proc.stdout + proc.stderr
    assert not (tmp_path / "demo").exists()
    return ["\n".join(line for line in s.splitlines() if not line.startswith("--")).strip()
            for s in proc.stdout.split(";\n") if s.strip()]


@pytest.mark.parametrize("serverless", [{}, {"REDSHIFT_WORKGROUP": "sparkify", "DB_PORT": "5439"}],
                         ids=["cluster", "serverless"])
def test_dry_run_prints_every_statement_none_of_them_postgresql_only(tmp_path, serverless):
    statements = [s for s in _dry_run(tmp_path, MAX_ERRORS="3", **serverless) if s]
    assert all(_parses(s + ";") for s in statements)
    assert [p for s in statements for p in problems(s)] == []
    (probe,) = [s for s in statements if s.startswith("COPY") and s.endswith("NOLOAD")]  # the role proved first
    assert statements.index(probe) < statements.index("LOCK TABLE load_lock")
    copies = [s for s in statements if s.startswith("COPY") and s != probe]
    assert [c.split()[1] for c in copies] == ["staging_songs", "staging_events"]
    assert all("MAXERROR 4" in c for c in copies)  # MAX_ERRORS=3: the budget plus one
    assert all("IAM_ROLE 'arn:aws:iam::123456789012:role/sparkify-dwh-copy'" in c for c in copies)
    firsts = [" ".join(s.split()[:3]) for s in statements]
    for bookkeeping in ("SET statement_timeout TO", "INSERT INTO schema_history", "INSERT INTO load_errors",
                        "INSERT INTO load_files", "LOCK TABLE load_lock"):
        assert bookkeeping in firsts
    lock = statements.index("LOCK TABLE load_lock")
    assert statements[lock + 1].startswith("SELECT source_file, size_bytes, version FROM load_files")
    assert len([s for s in statements if s.startswith("INSERT INTO songplays")]) == 1


def test_a_postgres_dry_run_connects_to_nothing(tmp_path):
    statements = _dry_run(tmp_path, WAREHOUSE="postgres", PGDATA_DIR=str(tmp_path / "pgdata"))
    assert any(s.startswith("COPY staging_events") and "FROM STDIN" in s for s in statements)
    assert not (tmp_path / "pgdata").exists()  # the embedded server was not started
