"""The star in analytics, the loader's tables in etl, each table where sql/tables.toml says, described in the
catalog; a warehouse of the earlier layout (every table in public) moved by 400_schemas.sql with nothing
reloaded, on PostgreSQL and on the Redshift emulator, where a move that stops halfway leaves the old layout whole."""

import os
import re
import shutil

import psycopg2
import pytest
from conftest import fresh_database, rows, run_cli, table_digest
from redshift_emulator import EmulatedRedshift, NotRedshift

from sparkify_dwh import catalog, config, migrations, pipeline, sqlfiles
from sparkify_dwh.config import load_settings

pytestmark = pytest.mark.integration

PLACED = ("SELECT table_schema, table_name FROM information_schema.tables "
          "WHERE table_schema IN ('public', 'etl', 'analytics') AND table_type = 'BASE TABLE' ORDER BY 2")


def placement(conn) -> dict[str, str]:
    return {table: schema for schema, table in rows(conn, PLACED)}


def expected() -> dict[str, str]:
    return {t.name: t.schema for t in catalog.tables().values()}


@pytest.fixture
def plain_database(pg_server):
    """A database with the server's default search_path ("$user", public): only the loader sets its own."""
    with fresh_database(pg_server, search_path=None) as url:
        yield url


def test_every_table_is_where_tables_toml_says_and_the_loader_finds_them_itself(plain_database, env):
    env["DATABASE_URL"] = plain_database
    run_cli("load", env)
    run_cli("verify", env)
    run_cli("report", env)
    with psycopg2.connect(plain_database) as conn:
        assert placement(conn) == expected()  # nothing left in public, nothing the catalog does not name
        assert rows(conn, "SHOW search_path") == [('"$user", public',)]  # the database's own: not set for it
        assert rows(conn, "SELECT COUNT(*) FROM analytics.songplays")[0][0] > 0


def test_the_move_names_every_table_of_the_earlier_files_and_sends_each_where_tables_toml_says():
    before = [t for f in sqlfiles.files("schema") if f.number < migrations.MOVED
              for t in migrations._CREATE_TABLE.findall(f.text)]
    for dialect in ("postgres", "redshift"):
        text = next(f for f in sqlfiles.files("schema", dialect) if f.number == migrations.MOVED).text
        moved = dict(re.findall(r"^ALTER TABLE public\.(\w+) SET SCHEMA (\w+);", text, re.M)) if dialect == "postgres" \
            else {t: s for s, t in re.findall(r"^CREATE TABLE (\w+)\.(\w+) \(LIKE public\.\w+\);", text, re.M)}
        assert moved == {t: expected()[t] for t in ["schema_history"] + before}, dialect
    after = [t for f in sqlfiles.files("schema") if f.number > migrations.MOVED
             for t in migrations._CREATE_TABLE.findall(f.text)]  # made in etl by the files after the move
    assert set(expected()) == {"schema_history", *before, *after}  # every table the schema files create is described
    assert all(expected()[t] == "etl" for t in after)


def test_every_star_table_and_column_is_described_in_the_catalog(conn):
    migrations.migrate(conn)
    star = {t.name for t in catalog.star()}
    assert star == {"songplays", "users", "songs", "artists", "time", "user_levels", "sessions", "page_events"}
    described = rows(conn, "SELECT c.relname, a.attname, col_description(c.oid, a.attnum) FROM pg_attribute AS a "
                           "JOIN pg_class AS c ON a.attrelid = c.oid JOIN pg_namespace AS n ON c.relnamespace = n.oid "
                           "WHERE n.nspname = 'analytics' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped")
    assert {t for t, _, _ in described} == star
    assert [(t, c) for t, c, text in described if not text] == []
    for t in catalog.star():
        assert rows(conn, "SELECT obj_description(CAST(%s AS REGCLASS))", t.qualified) == [(t.description,)]
    assert catalog.describe(conn) == 0  # a second run changes nothing
    with conn.cursor() as cur:
        cur.execute("COMMENT ON COLUMN analytics.users.level IS 'stale'")
    conn.commit()
    assert catalog.describe(conn) == 1  # an edited description is put back, alone


def _layout_0_2(tmp_path, monkeypatch):
    """sql/ as 0.2 had it: the schema files before the move."""
    old = tmp_path / "sql-0.2"
    shutil.copytree(config.SQL_DIR, old)
    for f in (old / "schema").glob("*.sql"):
        if int(f.name[:3]) >= migrations.MOVED:
            f.unlink()
    monkeypatch.setattr(config, "SQL_DIR", old)
    return old


def test_a_warehouse_of_the_earlier_layout_is_moved_with_nothing_reloaded(tmp_path, monkeypatch, database, conn,
                                                                         small_dataset):
    for key, value in {"ENV_FILE": os.devnull, "DATABASE_URL": database, "WAREHOUSE": "postgres", "MAX_ERRORS": "0",
                       "SONG_DATA": str(small_dataset / "song_data"), "LOG_DATA": str(small_dataset / "log_data"),
                       "FULL_REFRESH": "0"}.items():
        monkeypatch.setenv(key, value)
    with monkeypatch.context() as m:
        _layout_0_2(tmp_path, m)
        pipeline.load(load_settings(), quiet=True, say=lambda *_: None)  # a warehouse as 0.2 left it
    assert set(placement(conn).values()) == {"public"}
    star = {t.name: table_digest(conn, f"public.{t.name}") for t in catalog.star()}
    ledger = rows(conn, "SELECT source_file, load_id, loaded_at FROM public.load_files ORDER BY 1")
    conn.rollback()

    summary = pipeline.load(load_settings(), quiet=True, say=lambda *_: None)
    assert summary.migrated[0] == "400_schemas.sql"  # then the files after it
    assert placement(conn) == expected()
    assert {t.name: table_digest(conn, t.qualified) for t in catalog.star()} == star
    assert rows(conn, "SELECT source_file, load_id, loaded_at FROM etl.load_files ORDER BY 1") == ledger  # not reloaded
    assert [s.files_loaded for s in summary.staged] == [0, 0] and all(s.files_unchanged for s in summary.staged)


def test_the_move_on_the_emulator_is_one_transaction_and_a_crash_halfway_leaves_the_old_layout(
        tmp_path, monkeypatch, database):
    _layout_0_2(tmp_path, monkeypatch)
    rs = EmulatedRedshift(database, None)
    migrations.migrate(rs, "redshift")
    with rs.cursor() as cur:
        cur.execute("INSERT INTO songs (song_id, title) VALUES ('S1', 'a'), ('S2', 'b')")
        cur.execute("INSERT INTO load_files VALUES ('f', 'songs', 1, 'v', 'L', 2, 2, 0, '2018-11-01')")
    rs.commit()
    monkeypatch.undo()

    def crash(sql):
        if sql.startswith("INSERT INTO analytics.time"):
            raise RuntimeError("the connection dropped")

    rs.on_statement = crash
    with pytest.raises(RuntimeError, match="dropped"):
        migrations.migrate(rs, "redshift")
    rs.rollback()
    assert set(placement(rs.pg).values()) == {"public"}
    assert rows(rs.pg, "SELECT COUNT(*) FROM public.songs") == [(2,)]
    rs.on_statement = None
    assert [a.file for a in migrations.migrate(rs, "redshift")][0] == "400_schemas.sql"
    assert placement(rs.pg) == expected()
    assert rows(rs.pg, "SELECT song_id FROM analytics.songs ORDER BY 1") == [("S1",), ("S2",)]
    assert rows(rs.pg, "SELECT records_read FROM etl.load_files") == [(2,)]
    assert rows(rs.pg, "SELECT COUNT(*) FROM etl.schema_history") == [(len(sqlfiles.files("schema")),)]
    rs.close()


def test_the_emulator_refuses_set_schema_as_redshift_does(database):
    rs = EmulatedRedshift(database, None)
    with rs.cursor() as cur:
        cur.execute("CREATE TABLE a (x INTEGER)")
        with pytest.raises(NotRedshift, match="SET SCHEMA"):
            cur.execute("ALTER TABLE public.a SET SCHEMA etl")
    rs.close()
