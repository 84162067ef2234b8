"""The Redshift load end to end: compaction and parts on moto's S3, COPY and everything else against the
Redshift emulator (a real PostgreSQL behind Redshift's documented behaviour, tests/redshift_emulator.py).

Each defect the Redshift path had is planted here and must be caught: MAXERROR off by one, a failed COPY
that ended in success, a leader-node-only function, the load lock held while files were read, counts
assumed rather than proved, rejects that differed between warehouses, parts left in S3.
"""

import json
import os
import re
import uuid
from contextlib import closing

import boto3
import pytest
from conftest import GOOD_EVENT, GOOD_SONG, SAMPLE_FIGURES, hostile_dataset, rejects_match, table_digest
from redshift_emulator import REAL_CONNECT, EmulatedRedshift

from sparkify_dwh import db, pipeline, sources, staging
from sparkify_dwh.config import load_settings
from sparkify_dwh.warehouses.base import StagingError
from sparkify_dwh.warehouses.redshift import connection as redshift_connection
from sparkify_dwh.warehouses.redshift import parts, rejects

pytestmark = pytest.mark.integration

STAR = ("songplays", "users", "songs", "artists", "time", "user_levels", "sessions", "page_events")
ROLE = "arn:aws:iam::123456789012:role/sparkify-dwh-copy"


class Rig:
    """Loads one dataset on the emulated Redshift (test database) and, to compare, on PostgreSQL."""

    def __init__(self, monkeypatch, tmp_path, database, pg_url, s3, staging_uri):
        self.monkeypatch, self.tmp_path, self.database, self.pg_url = monkeypatch, tmp_path, database, pg_url
        self.s3, self.staging = s3, staging_uri
        self.connections: list[dict] = []  # what each connection to the cluster asked for
        self.hooks: dict = {}
        self.events: list[str] = []  # statements sent and parts uploaded, in the order they happened
        monkeypatch.setattr(db.psycopg2, "connect", self._connect)
        self.waits: list[float] = []  # the pauses between readings of sys_load_error_detail, made instant
        monkeypatch.setattr(rejects, "pause", self.waits.append)
        real_upload = parts.upload

        def upload(result, target, client, workers):
            real_upload(result, target, client, workers)
            self.events.append(f"uploaded {result.kind}")

        monkeypatch.setattr(parts, "upload", upload)

    def _connect(self, dsn=None, **kwargs):
        if kwargs.get("host") != "dwh.example":
            return REAL_CONNECT(dsn, **kwargs)
        self.connections.append(kwargs)
        return EmulatedRedshift(self.database, self.s3, sent=self.events, **self.hooks)

    def settings(self, root, warehouse="redshift", **env):
        self.monkeypatch.setenv("ENV_FILE", os.devnull)
        values = {"WAREHOUSE": warehouse, "STAGING_PREFIX": self.staging, "REDSHIFT_ROLE_ARN": ROLE,
                  "REDSHIFT_HOST": "dwh.example", "DB_PASSWORD": "Secret123abc", "SONG_DATA": str(root / "song_data"),
                  "LOG_DATA": str(root / "log_data"), "MAX_ERRORS": "0", "FULL_REFRESH": "0",
                  "DATABASE_URL": self.pg_url, **env}
        for key, value in values.items():
            self.monkeypatch.setenv(key, value)
        return load_settings()

    def load(self, root, say=lambda *_: None, **env):
        return pipeline.load(self.settings(root, **env), quiet=True, say=say)

    def load_postgres(self, root, **env):
        return pipeline.load(self.settings(root, warehouse="postgres", **env), quiet=True, say=lambda *_: None)

    def staged_objects(self) -> list[str]:
        bucket, prefix = sources.split_s3(self.staging + "/")
        return [o["Key"] for o in self.s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("Contents", [])]


@pytest.fixture
def rig(monkeypatch, tmp_path, database, other_database, aws_env):
    s3 = boto3.client("s3", endpoint_url=aws_env["AWS_ENDPOINT_URL"], region_name="us-west-2")
    bucket = "stage-" + uuid.uuid4().hex[:10]
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    return Rig(monkeypatch, tmp_path, database, other_database, s3, f"s3://{bucket}/loads")


def digests(conn, tables=STAR):
    out = {t: table_digest(conn, t) for t in tables}
    conn.rollback()
    return out


def rejects_of(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT source_file, line_number, reason FROM load_errors ORDER BY 1, 2")
        rows = cur.fetchall()
    conn.rollback()
    return rows


STAGED = ("SELECT COUNT(*), MD5(COALESCE(STRING_AGG(r, '|' ORDER BY r), '')) FROM (SELECT CONCAT_WS(',', {}) AS r "
          "FROM {}) AS t")


def staged(conn, table):
    """Count and digest of a staging table without its load_id (each load has its own)."""
    with conn.cursor() as cur:
        cur.execute("SELECT column_name FROM information_schema.columns WHERE table_name = %s "
                    "AND column_name <> 'load_id' ORDER BY column_name", (table,))
        # CONCAT renders a value as its type prints it: trailing blanks kept (a CAST of Redshift's emulated
        # VARCHAR, a bpchar, would drop them)
        columns = [f"CASE WHEN {c} IS NULL THEN 'NULL' ELSE CONCAT('', {c}) END" for (c,) in cur.fetchall()]
        cur.execute(STAGED.format(", ".join(columns), table))
        out = cur.fetchone()
    conn.rollback()
    return out


def same_everywhere(rig, conn):
    """Star, staging and rejects equal between the emulated Redshift and PostgreSQL."""
    import psycopg2

    with psycopg2.connect(rig.pg_url) as pg:
        assert digests(conn) == digests(pg)
        for table in ("staging_events", "staging_songs"):
            assert staged(conn, table) == staged(pg, table)
        assert rejects_of(conn) == rejects_of(pg)


def test_the_sample_gives_the_same_tables_on_redshift_as_on_postgres(rig, sample, conn):
    summary = rig.load(sample)
    for table in ("staging_events", "staging_songs", "songplays", "users", "songs", "artists", "time"):
        assert summary.tables[table] == SAMPLE_FIGURES[table]
    rig.load_postgres(sample)
    same_everywhere(rig, conn)
    assert rig.staged_objects() == []  # the parts went once the load committed


GOOD, SONG = GOOD_EVENT, GOOD_SONG
TRICKY = ['back\\slash and \\\\ double', 'say "hi"', "tab\there", "new\nline", "carriage\rreturn",
          "\x01\x08\x0c\x19\x1f", "NULL", "\\N", "",
          "emoji 😀🎵", "日本語の歌", "Ελληνικά", "עברית", "\u2028 and \x7f", "'single'", "a/b"]


def write_dataset(root, events: list[bytes], songs: dict[str, bytes]):
    logs = root / "log_data" / "2018" / "11"
    logs.mkdir(parents=True, exist_ok=True)
    (logs / "2018-11-01-events.json").write_bytes(b"\n".join(events) + b"\n")
    for name, body in songs.items():
        path = root / "song_data" / "A" / "B" / "C" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    return root


def event(**changes) -> bytes:
    return json.dumps(dict(GOOD, **changes), ensure_ascii=False).encode()


@pytest.fixture
def tricky(tmp_path):
    """Text that tests every escape, and multibyte values at their columns' widths and one byte over."""
    lines, songs = [], {}
    for i, text in enumerate(TRICKY):
        songs[f"TRABC{i}.json"] = json.dumps(dict(SONG, song_id=f"SO{i:03d}", title=text, artist_name=text,
                                                  duration=100.0 + i)).encode()
        lines.append(event(song=text, artist=text, length=100.0 + i, ts=GOOD["ts"] + i, itemInSession=i))
    at_limit = {"gender": "é" * 8, "level": "ü" * 8, "firstName": "€" * 85 + "a", "userId": "🎵" * 16}
    over = {"gender": "é" * 8 + "x", "level": "ü" * 9, "firstName": "€" * 86, "userId": "🎵" * 16 + "1"}
    for n, (field, value) in enumerate(at_limit.items()):
        lines.append(event(ts=GOOD["ts"] + 100 + n, **{field: value}))
    for n, (field, value) in enumerate(over.items()):
        lines.append(event(ts=GOOD["ts"] + 200 + n, **{field: value}))
    songs["TRABCW.json"] = json.dumps(dict(SONG, song_id="SOWIDE", title="ß" * 513)).encode()  # 1026 bytes
    return write_dataset(tmp_path / "tricky", lines, songs), len(over) + 1


def test_same_input_same_rows_and_same_rejects_on_both_warehouses(rig, tricky, conn):
    root, rejected = tricky
    summary = rig.load(root, MAX_ERRORS="10")
    assert summary.rejected == rejected
    rig.load_postgres(root, MAX_ERRORS="10")
    same_everywhere(rig, conn)
    reasons = [r for _, _, r in rejects_of(conn)]
    assert sorted(reasons) == sorted([
        "`$.gender` is 17 bytes of UTF-8, longer than its column (at most 16)",
        "`$.level` is 18 bytes of UTF-8, longer than its column (at most 16)",
        "`$.firstName` is 258 bytes of UTF-8, longer than its column (at most 256)",
        "`$.userId` is 65 bytes of UTF-8, longer than its column (at most 64)",
        "`$.title` is 1,026 bytes of UTF-8, longer than its column (at most 1,024)",
    ])
    with conn.cursor() as cur:
        cur.execute("SELECT title FROM songs WHERE song_id LIKE 'SO0%%' ORDER BY song_id")
        assert [r[0] for r in cur.fetchall()] == TRICKY  # every character back as it was
        cur.execute("SELECT COUNT(*) FROM songplays WHERE song_id LIKE 'SO0%%'")
        assert cur.fetchone()[0] == len(TRICKY)  # and every tricky title still matched its play


def test_record_level_problems_and_hostile_files_give_the_same_rejects_on_both_warehouses(rig, tmp_path, conn):
    root, expected = hostile_dataset(tmp_path / "hostile")
    summary = rig.load(root, MAX_ERRORS=str(len(expected)))
    assert summary.rejected == len(expected)
    rig.load_postgres(root, MAX_ERRORS=str(len(expected)))
    same_everywhere(rig, conn)
    assert rejects_match(rejects_of(conn), expected)
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM staging_events WHERE source_file LIKE '%%.gz'")
        assert cur.fetchone()[0] == 0  # the truncated gzip: a reject at line 0, none of its rows
        cur.execute("SELECT COUNT(*) FROM staging_events WHERE song = %s", ("a \\u0000 b",))
        assert cur.fetchone()[0] == 1
    conn.rollback()


def test_maxerror_is_the_budget_plus_one_and_over_it_the_load_fails_keeping_the_rejects(rig, small_dataset, conn):
    rig.load(small_dataset)
    before = digests(conn)
    refused = {2, 3, 5}  # Redshift refuses these lines of events (a reason only it knows)
    rig.hooks["refuse"] = lambda table, row: ("user_agent", 1204, "String length exceeds DDL length") if (
        table == "staging_events" and row["source_line"] in refused) else None
    changed = small_dataset.parent / "changed"
    import shutil

    shutil.copytree(small_dataset, changed)
    day = next((changed / "log_data").rglob("*.json"))
    day.write_bytes(day.read_bytes() + event(ts=GOOD["ts"] + 5) + b"\n")

    with pytest.raises(staging.TooManyErrors) as err:
        rig.load(changed, MAX_ERRORS="2")
    copies = [s for s in rig.events if s.startswith("COPY staging_events")]
    assert "MAXERROR 3" in copies[-1]  # a budget of 2: the COPY fails at its 3rd error, not its 2nd
    assert err.value.rejected == 3
    assert digests(conn) == before  # the star is untouched ...
    kept = rejects_of(conn)
    assert sorted(line for _, line, _ in kept) == [2, 3, 5]  # ... and every refused row is kept, traced
    assert all(reason.startswith("rejected by COPY: String length exceeds DDL length (column user_agent, error 1204)")
               for _, _, reason in kept)
    assert rig.staged_objects() == []

    summary = rig.load(changed, MAX_ERRORS="3")  # within the budget the COPY goes through: MAXERROR 4
    assert "MAXERROR 4" in [s for s in rig.events if s.startswith("COPY staging_events")][-1]
    (events,) = [s for s in summary.staged if s.kind == "events"]
    assert events.records_rejected == 3 and events.rows_staged == events.records_read - 3
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM staging_events WHERE ts = %s", (GOOD["ts"] + 5,))
        assert cur.fetchone()[0] == 1  # the new line is staged
    conn.rollback()


def test_a_copy_that_fails_never_ends_in_a_successful_run(rig, small_dataset, conn):
    rig.load(small_dataset)
    before = digests(conn)
    staged_before = staged(conn, "staging_events")
    rig.hooks["copy_error"] = "S3ServiceException:Access Denied,Status 403"
    changed = small_dataset.parent / "changed-copy"
    import shutil

    shutil.copytree(small_dataset, changed)
    with pytest.raises(StagingError, match="COPY into staging_songs failed: S3ServiceException:Access Denied"):
        rig.load(changed, MAX_ERRORS="100")
    assert digests(conn) == before and staged(conn, "staging_events") == staged_before
    assert rig.staged_objects() == []
    # an access error logs no error rows: none are read, and the load does not wait for them
    assert [s for s in rig.events if rejects.READ.split(" WHERE")[0] in s] == [] and rig.waits == []


def test_rows_loaded_must_equal_rows_written_less_the_rows_refused(rig, small_dataset, conn):
    rig.hooks["lose_rows"] = 1  # COPY reports one row fewer and names no error for it
    with pytest.raises(StagingError, match="loaded .* of the .* rows written"):
        rig.load(small_dataset)
    assert digests(conn) == {t: (0, "d41d8cd98f00b204e9800998ecf8427e") for t in STAR}
    assert staged(conn, "staging_songs")[0] == 0
    assert rig.staged_objects() == []


def test_rejects_are_traced_under_the_longest_staging_prefix(rig, small_dataset, conn):
    rig.staging = rig.staging + "/" + "p" * (200 - len(rig.staging) - 1)
    assert len(rig.staging) == 200
    rig.hooks["refuse"] = lambda table, row: ("status", 1207, "Invalid digit") if (
        table == "staging_events" and row["source_line"] == 4) else None
    summary = rig.load(small_dataset, MAX_ERRORS="1")
    ((source, line, reason),) = rejects_of(conn)
    assert line == 4 and source.endswith(".json") and "Invalid digit" in reason
    assert summary.rejected == 1
    with conn.cursor() as cur:
        cur.execute("SELECT SUM(records_read - rows_staged - records_rejected), SUM(records_rejected) FROM load_files")
        assert cur.fetchone() == (0, 1)


def test_the_load_lock_is_taken_after_the_files_are_read_and_uploaded(rig, small_dataset):
    rig.load(small_dataset)
    log = rig.events
    lock = log.index("LOCK TABLE load_lock")
    assert log.index("uploaded songs") < lock and log.index("uploaded events") < lock
    staging_tx = log[lock:log.index("COMMIT", lock)]
    assert sum(s.startswith("SELECT source_file, size_bytes, version FROM load_files") for s in staging_tx) == 2
    assert [s.split()[1] for s in staging_tx if s.startswith("COPY")] == ["staging_songs", "staging_events"]


def test_a_ledger_moved_by_another_load_is_read_again_under_the_lock(rig, small_dataset, conn):
    import psycopg2

    moved = []

    def another_load_stages(sql):
        if sql == "LOCK TABLE load_lock" and not moved:
            with psycopg2.connect(rig.database) as other, other.cursor() as cur:
                cur.execute("SELECT source_file FROM load_files LIMIT 1")  # nothing yet: add an older version
                first = sorted(sources.list_files(str(small_dataset / "log_data")), key=lambda f: f.uri)[0]
                cur.execute("INSERT INTO load_files VALUES (%s, 'events', 1, 'older', 'other', 0, 0, 0, NOW())",
                            (first.uri,))
            moved.append(first.uri)

    rig.hooks["on_statement"] = another_load_stages
    summary = rig.load(small_dataset)
    assert moved and summary.staged[1].files_replaced == 1  # planned again: that file is now a changed one
    assert sum(1 for s in rig.events if s == "LOCK TABLE load_lock") >= 3  # staging twice, then the transform
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*), COUNT(DISTINCT source_file) FROM load_files")
        count, distinct = cur.fetchone()
    assert count == distinct
    rig.load_postgres(small_dataset)
    same_everywhere(rig, conn)


def test_a_file_that_cannot_be_read_fails_the_load_naming_it_and_leaves_nothing(rig, small_dataset, conn, tmp_path,
                                                                                 monkeypatch):
    import shutil

    root = tmp_path / "src"
    shutil.copytree(small_dataset, root)
    song = sorted((root / "song_data").rglob("*.json"))[5]
    real_list = sources.list_source
    monkeypatch.setattr(sources, "_sleep", lambda _: None)

    def list_then_lose(uri, *args, **kwargs):  # the file goes between the listing and the reading
        listing = real_list(uri, *args, **kwargs)
        if uri.endswith("song_data"):
            song.unlink()
        return listing

    monkeypatch.setattr(sources, "list_source", list_then_lose)
    with pytest.raises(sources.Unreadable, match=f"^{re.escape(str(song.resolve()))}: cannot be read"):
        rig.load(root, MAX_ERRORS="100")
    assert rig.staged_objects() == []
    assert not any(s.startswith("COPY") for s in rig.events)
    assert staged(conn, "staging_songs")[0] == 0
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM load_errors")
        assert cur.fetchone()[0] == 0
    conn.rollback()


def test_parts_are_removed_when_the_load_is_interrupted(rig, small_dataset, conn):
    def interrupt(sql):
        if sql.startswith("COPY staging_events"):
            raise KeyboardInterrupt

    rig.hooks["on_statement"] = interrupt
    with pytest.raises(KeyboardInterrupt):
        rig.load(small_dataset)
    assert any(s.startswith("uploaded") for s in rig.events)
    assert rig.staged_objects() == []
    assert staged(conn, "staging_songs")[0] == 0  # the songs' COPY went with the rolled-back transaction


def test_bookkeeping_and_every_statement_hold_against_redshift_s_rules(rig, small_dataset, conn):
    """The emulator refuses any statement with a leader-node-only function or an unsupported PostgreSQL
    feature; a whole load, a rerun and a full refresh send none."""
    from redshift_rules import problems

    rig.load(small_dataset)
    rig.load(small_dataset)
    rig.load(small_dataset, FULL_REFRESH="1")
    sent = [s for s in rig.events if not s.startswith("uploaded")]
    assert any(s.startswith("INSERT INTO schema_history") for s in sent)
    assert any(s.startswith("INSERT INTO load_files") for s in sent)
    assert all(not problems(s) for s in sent)
    # each load, and a connection of its own for the role's proof when a load has rows to copy (not the rerun)
    assert sent.count("SET statement_timeout TO 3600000") == len(rig.connections) == 5
    assert sent.count("SET extra_float_digits TO 2") == 5
    for asked in rig.connections:  # TLS, keepalives, and the password only where psycopg2 needs it
        assert asked["sslmode"] == "require" and asked["keepalives"] == 1 and asked["keepalives_idle"] == 60
        assert asked["password"] == "Secret123abc" and asked["port"] == 5439


def _shape(sql: str) -> str:
    """A statement with its values, value lists and comments reduced to placeholders."""
    import re

    from redshift_rules import code

    text = re.sub(r"''::\w+", "''", code(sql))
    text = re.sub(r"(?<![\w.])\d+(\.\d+)?\b", "N", text)
    text = re.sub(r"\((\s*(N|''|NULL|%s)\s*,?)+\)", "(V)", text)
    text = re.sub(r"\(V\)(\s*,\s*\(V\))+", "(V)", text)
    return " ".join(text.split())


def test_the_dry_run_shows_every_statement_a_load_sends(rig, small_dataset, tmp_path):
    import io

    from sparkify_dwh import dryrun

    changed = tmp_path / "changed"
    import shutil

    shutil.copytree(small_dataset, changed)
    rig.load(changed)
    day = next((changed / "log_data").rglob("*.json"))
    day.write_bytes(day.read_bytes() + event(ts=GOOD["ts"] + 5) + b"\n")
    rig.load(changed)  # a changed file: the replace statements
    rig.load(changed, FULL_REFRESH="1")
    sent = {_shape(s) for s in rig.events if not s.startswith("uploaded")} - {"COMMIT", "ROLLBACK"}
    shown = set()
    for refresh in ("0", "1"):
        out = io.StringIO()
        dryrun.print_load(rig.settings(changed, FULL_REFRESH=refresh), out)
        shown |= {_shape(s) for s in out.getvalue().split(";\n") if _shape(s)}
    assert sent - shown == set()


def test_postgresql_would_be_quoted_differently(conn):
    """What the check guards: with standard_conforming_strings reported, psycopg2 writes a backslash as
    is ('on') or as E'...' ('off'); Redshift reads a backslash as an escape and knows no E'...'."""
    with conn.cursor() as cur:
        assert cur.mogrify("%s", ("a\\b",)) == b"'a\\b'"
    with pytest.raises(redshift_connection.QuotingError):
        redshift_connection.check_quoting(conn)


def test_after_a_load_that_deleted_much_the_tables_are_vacuumed_and_analyzed(rig, small_dataset, conn):
    rig.load(small_dataset)
    first = [s for s in rig.events if s.startswith(("ANALYZE", "VACUUM"))]
    assert "ANALYZE songplays" in first and not [s for s in first if s.startswith("VACUUM")]  # nothing deleted
    rig.events.clear()
    rig.load(small_dataset, FULL_REFRESH="1")  # deletes every star row, then inserts them again
    vacuum = "VACUUM DELETE ONLY songplays TO 100 PERCENT"
    assert {vacuum, "VACUUM DELETE ONLY time TO 100 PERCENT", "ANALYZE users"} <= set(rig.events)
    lock = rig.events.index("LOCK TABLE load_lock", rig.events.index("DELETE FROM star_loads") - 5)
    assert rig.events.index(vacuum) > rig.events.index("COMMIT", lock)  # after the commit


@pytest.fixture
def someone_else(conn):
    """Gives tables to another role (the loading user then no longer owns them); gives them back after."""
    role = "someone_" + uuid.uuid4().hex[:8]
    given = []
    with conn.cursor() as cur:
        cur.execute(f"CREATE ROLE {role}")
    conn.commit()

    def give(*tables):
        with conn.cursor() as cur:
            for table in tables:
                cur.execute(f"ALTER TABLE {table} OWNER TO {role}")
                given.append(table)
        conn.commit()
        return role

    yield give
    conn.rollback()
    with conn.cursor() as cur:
        for table in given:
            cur.execute(f"ALTER TABLE {table} OWNER TO CURRENT_USER")
        cur.execute(f"DROP ROLE {role}")
    conn.commit()


def test_a_table_the_loading_user_may_not_maintain_is_reported_not_maintained(rig, small_dataset, someone_else):
    # VACUUM by a user without the table's permissions "completes successfully but has no effect"
    rig.load(small_dataset)
    role = someone_else("time")
    rig.events.clear()
    said = []
    rig.load(small_dataset, FULL_REFRESH="1", say=said.append)
    assert {"VACUUM DELETE ONLY songplays TO 100 PERCENT", "ANALYZE songplays"} <= set(rig.events)
    assert not {"VACUUM DELETE ONLY time TO 100 PERCENT", "ANALYZE time"} & set(rig.events)
    assert [line.split(":")[0] for line in said if f"time is owned by {role}" in line] == [
        "ANALYZE time", "VACUUM DELETE ONLY time TO 100 PERCENT"]


@pytest.mark.parametrize("hooks", [{"superuser": True}, {"privileges": {"ANALYZE", "VACUUM"}}],
                         ids=["superuser", "permissions"])
def test_a_superuser_or_a_user_with_the_permissions_maintains_what_it_does_not_own(rig, small_dataset,
                                                                                   someone_else, hooks):
    # "Superuser; Users with the VACUUM privilege; Table owner; ..." (VACUUM, Required privileges)
    rig.load(small_dataset)
    someone_else("time")
    rig.hooks.update(hooks)
    rig.events.clear()
    summary = rig.load(small_dataset, FULL_REFRESH="1")
    assert {"VACUUM DELETE ONLY time TO 100 PERCENT", "ANALYZE time"} <= set(summary.maintenance)


def test_a_full_refresh_vacuums_staging_the_ledger_and_the_rejects(rig, small_dataset):
    """FULL_REFRESH=1 deletes the whole of staging, the ledger and the rejects: "After deleting a large number
    of rows from a table: Vacuum the table" (DELETE). After the load commits they get ANALYZE and VACUUM."""
    rig.load(small_dataset)
    emptied = ("staging_songs", "staging_events", "load_files", "load_errors")
    wanted = {f"{verb} {table}" for table in emptied for verb in ("ANALYZE", "VACUUM DELETE ONLY")}
    summary = rig.load(small_dataset, FULL_REFRESH="1")
    assert wanted <= {s.removesuffix(" TO 100 PERCENT") for s in summary.maintenance}
    vacuum = rig.events.index("VACUUM DELETE ONLY staging_events TO 100 PERCENT")
    assert rig.events.index("DELETE FROM staging_events") < rig.events.index("COMMIT", rig.events.index(
        "DELETE FROM staging_events")) < vacuum  # after the staging deletes were committed
    again = rig.load(small_dataset)  # nothing new: staging untouched, nothing of it maintained
    assert not [s for s in again.maintenance if re.search(r"(?:ANALYZE|ONLY) (\w+)", s).group(1) in emptied]


def test_statupdate_is_off_for_a_staging_table_the_loading_user_does_not_own(rig, small_dataset, someone_else):
    # STATUPDATE needs "the table owner or a superuser": the emulator fails a COPY that asks for it otherwise
    rig.load(small_dataset, MAX_ERRORS="10")
    role = someone_else("staging_events")
    said = []
    rig.events.clear()
    summary = rig.load(small_dataset, FULL_REFRESH="1", MAX_ERRORS="10", say=said.append)
    assert summary.tables["songplays"] > 0
    copies = {s.split()[1]: s for s in rig.events if s.startswith("COPY") and "MANIFEST" in s}
    assert "STATUPDATE OFF" in copies["staging_events"] and "STATUPDATE ON" in copies["staging_songs"]
    assert [line for line in said if "STATUPDATE OFF" in line] == [
        f"COPY into staging_events: STATUPDATE OFF, as staging_events is owned by {role} and the loading user is not "
        "a superuser; its statistics are left to Redshift's automatic analyze"]
    rig.hooks["superuser"] = True
    rig.events.clear()
    rig.load(small_dataset, FULL_REFRESH="1", MAX_ERRORS="10")
    assert all("STATUPDATE ON" in s for s in rig.events if s.startswith("COPY") and "MANIFEST" in s)


def test_a_refused_vacuum_is_reported_not_fatal(rig, small_dataset, conn):
    """"If you attempt to run multiple vacuum operations concurrently, Amazon Redshift returns an error": the
    load has committed by then, so it says so and goes on; the automatic vacuum will do it."""
    import psycopg2

    rig.load(small_dataset)
    before = digests(conn)

    def another_vacuum_runs(sql):
        if sql.startswith("VACUUM"):
            raise psycopg2.errors.InternalError_("VACUUM is running on another table")

    rig.hooks["on_statement"] = another_vacuum_runs
    said = []
    summary = rig.load(small_dataset, FULL_REFRESH="1", say=said.append)
    assert not [s for s in summary.maintenance if s.startswith("VACUUM")] and "ANALYZE songplays" in summary.maintenance
    assert "VACUUM DELETE ONLY songplays TO 100 PERCENT: skipped (VACUUM is running on another table); Redshift's " \
        "automatic vacuum and analyze will catch up" in said
    assert digests(conn) == before  # the rebuilt star is committed and the same


def test_incremental_loads_give_the_same_star_on_redshift_as_on_postgres(rig, tmp_path, conn):
    """Arrivals, a re-delivery, a changed file, a late song file and a changed song, one load each: after
    every load the emulated Redshift and PostgreSQL hold the same star, user_levels included."""
    from test_incremental import STAR, Sources

    p = {"user": "10", "session": 1, "item": 0, "minute": 0, "level": "free", "song": 1, "page": "NextSong"}
    steps = [("new_log", 0, [p, dict(p, item=1, level="paid", song=2), dict(p, user="11", song=4)]),
             ("new_log", 1, [dict(p, item=2, song=3), dict(p, user="12", level="paid")]),
             ("redeliver", 0), ("change_log", 1, "level", dict(p, item=1)), ("song", 2, "B"), ("song", 4, "A"),
             ("change_song", 0, 180.5), ("change_log", 0, "drop", dict(p, item=1))]
    sources = Sources(tmp_path / "sources")
    import psycopg2

    for step in steps:
        sources.apply(step)
        rig.load(sources.root)
        rig.load_postgres(sources.root)
        with psycopg2.connect(rig.pg_url) as pg:
            assert digests(conn, STAR) == digests(pg, STAR), step
    with conn.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM user_levels WHERE user_id = '10'")
        assert cur.fetchone()[0] >= 2  # a tier change went through


SYSTEM_VIEWS = re.compile(r"\b(stl|stv|svl|svcs)_\w+", re.I)


def test_on_serverless_the_load_verify_and_report_run_without_cluster_views_or_slices(rig, small_dataset, conn):
    # Serverless has no STL, STV, SVL or SVCS views and no slices to count; the workgroup names the warehouse
    from sparkify_dwh import checks, report, warehouses

    settings = rig.settings(small_dataset, REDSHIFT_WORKGROUP="sparkify-sls")
    assert settings.redshift.serverless and settings.redshift.slices == 8
    summary = pipeline.load(settings, quiet=True, say=lambda *_: None)
    assert summary.tables["songplays"] > 0
    warehouse = warehouses.of(settings)
    with closing(warehouse.connect()) as cluster:
        assert all(r.passed for r in checks.run(cluster, warehouse.caps.dialect))
        answers = report.run(cluster, warehouse.caps.dialect)
    assert answers and all(a.rows for a in answers)
    parts_sent = [s for s in rig.events if s.startswith("uploaded")]
    assert parts_sent
    assert [s for s in rig.events if SYSTEM_VIEWS.search(s)] == []
    rig.load_postgres(small_dataset)
    same_everywhere(rig, conn)


def _song(**changes) -> bytes:
    return json.dumps(dict(SONG, **changes)).encode()


def test_a_blank_only_location_is_no_location_on_both_warehouses(rig, tmp_path, conn):
    """Redshift ignores trailing blanks when it compares text (the emulator does too): '   ' = '' there.
    A blank-only location counts as none on both warehouses, so the record with a real one wins and an
    artist with blanks only has NULL; a location with a trailing blank is kept as written."""
    import psycopg2

    songs = {"TRA.json": _song(song_id="SOA", artist_id="ARBLANK", artist_location="   ", title="a"),
             "TRB.json": _song(song_id="SOB", artist_id="ARBLANK", artist_location="Austin, TX", title="b"),
             "TRC.json": _song(song_id="SOC", artist_id="ARONLY", artist_location="  ", title="c"),
             "TRD.json": _song(song_id="SOD", artist_id="ARKEPT", artist_location="Paris ", title="d")}
    root = write_dataset(tmp_path / "blanks", [event()], songs)
    rig.load(root)
    rig.load_postgres(root)
    expected = [("ARBLANK", "Austin, TX"), ("ARKEPT", "Paris "), ("ARONLY", None)]
    query = "SELECT artist_id, location FROM artists WHERE artist_id IN ('ARBLANK', 'ARONLY', 'ARKEPT') ORDER BY 1"
    with psycopg2.connect(rig.pg_url) as pg, pg.cursor() as cur:
        cur.execute(query)
        assert cur.fetchall() == expected
    with conn.cursor() as cur:
        cur.execute(query)
        assert cur.fetchall() == expected
    conn.rollback()
    same_everywhere(rig, conn)


@pytest.fixture
def eu_staging(rig, aws_env):
    """The rig's staging prefix in a bucket of another Region than the warehouse's (AWS_REGION us-west-2)."""
    bucket = "stage-eu-" + uuid.uuid4().hex[:8]
    eu = boto3.client("s3", endpoint_url=aws_env["AWS_ENDPOINT_URL"], region_name="eu-central-1")
    eu.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "eu-central-1"})
    rig.staging = f"s3://{bucket}/loads"
    return rig


def test_a_staging_bucket_in_another_region_is_read_with_its_own_region(eu_staging, small_dataset, conn):
    rig = eu_staging
    summary = rig.load(small_dataset, AWS_REGION="us-west-2")
    assert summary.tables["songplays"] > 0
    copies = [s for s in rig.events if s.startswith("COPY")]
    assert copies and all("REGION 'eu-central-1'" in c for c in copies)
    assert rig.staged_objects() == []
    rig.load_postgres(small_dataset)
    same_everywhere(rig, conn)


def test_a_copy_naming_another_region_than_its_bucket_s_is_refused(eu_staging, small_dataset, conn, monkeypatch):
    """What the test above guards: COPY's REGION taken from the settings instead of the bucket fails."""
    from sparkify_dwh.warehouses.redshift import copy

    rig = eu_staging
    monkeypatch.setattr(copy, "bucket_region", lambda s3, staging: "us-west-2")
    with pytest.raises(StagingError, match="PermanentRedirect"):
        rig.load(small_dataset, AWS_REGION="us-west-2")
    assert staged(conn, "staging_songs")[0] == 0 and staged(conn, "staging_events")[0] == 0
    assert rig.staged_objects() == []


def test_error_rows_that_appear_late_are_read_until_two_readings_agree(rig, tmp_path, conn):
    """System views fill in node by node: after a COPY that failed on its data, the emulator shows the error
    rows of one more part at each reading. Every row it refused is kept, traced, not only the first ones."""
    root = write_dataset(tmp_path / "late", [event(ts=GOOD["ts"] + n, itemInSession=n) for n in range(4)],
                         {"TRABC.json": _song()})
    day2 = [event(ts=GOOD["ts"] + 86_400_000 + n, itemInSession=n) for n in range(4)]
    (root / "log_data" / "2018" / "11" / "2018-11-02-events.json").write_bytes(b"\n".join(day2) + b"\n")
    refused = {("2018-11-01", 2), ("2018-11-01", 3), ("2018-11-02", 4)}
    rig.hooks.update(late_errors=True, refuse=lambda table, row: ("user_agent", 1204, "String length exceeds DDL "
                     "length") if table == "staging_events" and (row["source_file"].rsplit("/", 1)[-1][:10],
                                                                  row["source_line"]) in refused else None)
    with pytest.raises(staging.TooManyErrors) as err:
        rig.load(root, MAX_ERRORS="2")  # MAXERROR 3: the COPY fails at the third
    assert err.value.rejected == 3
    kept = {(source.rsplit("/", 1)[-1][:10], line) for source, line, _ in rejects_of(conn)}
    assert kept == refused
    assert 0 < len(rig.waits) < len(rejects.PATIENCE) + 1  # it waited, and stopped once two readings agreed


def test_a_session_id_past_two_to_the_53_reaches_redshift_exactly(rig, tmp_path, conn):
    """"You might lose precision when loading numbers from data files in JSON format" (the emulator reads a
    number bound for a BIGINT as a double, as Redshift may): session_id goes to the parts as a string."""
    big = 2**53 + 1
    root = write_dataset(tmp_path / "big", [event(sessionId=big), event(sessionId=-big, ts=GOOD["ts"] + 1)],
                         {"TRABC.json": _song()})
    rig.load(root)
    with conn.cursor() as cur:
        cur.execute("SELECT session_id FROM staging_events ORDER BY ts")
        assert [r[0] for r in cur.fetchall()] == [big, -big]
        cur.execute("SELECT session_id FROM songplays ORDER BY start_time")
        assert [r[0] for r in cur.fetchall()] == [big, -big]
    conn.rollback()
    rig.load_postgres(root)
    same_everywhere(rig, conn)


def test_a_role_iam_has_not_propagated_yet_is_waited_for_before_the_lock(rig, small_dataset, conn, monkeypatch):
    """A role used seconds after it was made or attached can be refused ("not authorized to assume IAM Role").
    Before the lock a COPY ... NOLOAD of one line proves it usable, tried again while it is refused."""
    from sparkify_dwh import aws

    paused = []
    monkeypatch.setattr(aws, "pause", paused.append)
    rig.hooks["role_not_ready"] = [2]  # the first two COPYs are refused, on any connection
    said = []
    summary = rig.load(small_dataset, say=said.append)
    assert summary.tables["songplays"] > 0 and paused == [aws.IAM_RETRY_SECONDS] * 2
    probes = [n for n, s in enumerate(rig.events) if s.startswith("COPY") and s.endswith("NOLOAD")]
    assert len(probes) == 3 and probes[-1] < rig.events.index("LOCK TABLE load_lock")
    assert said.count("COPY's role is not usable yet (IAM propagates it in the background); tried again after "
                      "10 s") == 2
    rig.load_postgres(small_dataset)
    same_everywhere(rig, conn)


def test_a_role_still_refused_after_the_time_fails_the_load_before_the_lock(rig, small_dataset, conn, monkeypatch):
    from sparkify_dwh import aws

    clock = iter(range(0, 10_000, 30))
    monkeypatch.setattr(aws, "pause", lambda seconds: None)
    monkeypatch.setattr(aws, "clock", lambda: next(clock))
    rig.hooks["role_not_ready"] = [1000]
    with pytest.raises(StagingError, match=r"COPY cannot read s3://.* after \d+ s: User .* is not authorized to "
                                           "assume IAM Role"):
        rig.load(small_dataset)
    assert "LOCK TABLE load_lock" not in rig.events and staged(conn, "staging_songs")[0] == 0
    assert rig.staged_objects() == []


def test_rejects_of_every_attempt_are_replaced_alike_on_both_warehouses(rig, tmp_path, conn):
    """A file over MAX_ERRORS loaded twice, then within it: one row per bad record on both warehouses, the
    parser's reject and the one Redshift's COPY refused alike (load_errors_latest_attempt holds)."""
    from sparkify_dwh import checks

    root = write_dataset(tmp_path / "bad", [event(), b'{"ts": 1541105830796', event(ts=GOOD["ts"] + 1, itemInSession=1),
                                            event(ts=GOOD["ts"] + 2, itemInSession=2)],
                         {"TRABC0.json": json.dumps(SONG).encode()})
    for _ in range(2):
        with pytest.raises(staging.TooManyErrors):
            rig.load(root, MAX_ERRORS="0")
        with pytest.raises(staging.TooManyErrors):
            rig.load_postgres(root, MAX_ERRORS="0")
    rig.load(root, MAX_ERRORS="1")
    rig.load_postgres(root, MAX_ERRORS="1")
    same_everywhere(rig, conn)
    assert [line for _, line, _ in rejects_of(conn)] == [2]

    # COPY's own refusals (Redshift alone) go the same way
    rig.hooks["refuse"] = lambda table, row: ("user_agent", 1204, "String length exceeds DDL length") if (
        table == "staging_events" and row["source_line"] == 4) else None
    day = next((root / "log_data").rglob("*.json"))
    day.write_bytes(day.read_bytes() + event(ts=GOOD["ts"] + 3, itemInSession=3) + b"\n")
    for _ in range(2):
        with pytest.raises(staging.TooManyErrors):
            rig.load(root, MAX_ERRORS="1")
    rig.load(root, MAX_ERRORS="2")
    assert [line for _, line, _ in rejects_of(conn)] == [2, 4]
    assert all(r.passed for r in checks.run(conn))


def test_a_duplicate_key_reaching_the_star_on_redshift_is_caught_by_the_gate(rig, small_dataset, conn, tmp_path,
                                                                             monkeypatch):
    """Redshift enforces no key (the emulator neither): a defect that stores a song twice is caught by the gate
    before the commit, and the previous star stays. PostgreSQL's enforced key refuses the same row itself."""
    import shutil

    import psycopg2

    from sparkify_dwh import checks, config

    rig.load(small_dataset)
    rig.load_postgres(small_dataset)
    before = digests(conn, STAR + ("user_levels",))
    sql = tmp_path / "sql"
    shutil.copytree(config.SQL_DIR, sql)
    (sql / "transform" / "095_plant_duplicate.sql").write_text(
        "-- a planted defect: a rebuilt song twice\nINSERT INTO songs (song_id, title, artist_id, year, duration)\n"
        "SELECT s.song_id, s.title, s.artist_id, s.year, s.duration\nFROM songs AS s\n"
        "WHERE s.song_id = (SELECT MIN(c.song_id) FROM changed_songs AS c);\n")
    monkeypatch.setattr(config, "SQL_DIR", sql)
    changed = tmp_path / "changed"  # the same data under another folder: every file is new to the ledger
    shutil.copytree(small_dataset, changed)

    with pytest.raises(checks.GateFailed) as failed:
        rig.load(changed)
    assert [r.name for r in failed.value.failed] == ["songs_key", "reconcile_star"]  # the key, and the count
    ((song_id, copies),) = failed.value.failed[0].sample
    assert copies == 2
    assert digests(conn, STAR + ("user_levels",)) == before
    with pytest.raises(psycopg2.errors.UniqueViolation):
        rig.load_postgres(changed)
