"""The analysts' read-only login: it reads every star table (those made later too) and nothing of etl, its queries
name the star unqualified, its password is generated, kept (never printed, never sent in clear), rotated and
dropped; the embedded server reachable over TCP with that password at EMBEDDED_PORT; on Redshift (the emulator),
the same grants with an MD5 verifier and the password in a Secrets Manager secret (moto)."""

import os
import re
import shutil
import socket
import subprocess
import uuid

import psycopg2
import pytest
from conftest import GOOD_EVENT, rows, run_cli
from redshift_emulator import REAL_CONNECT, EmulatedRedshift

from sparkify_dwh import catalog, config, db, embedded, reader, sqlfiles, warehouses
from sparkify_dwh.config import load_settings

pytestmark = pytest.mark.integration

STAR = ("songplays", "users", "songs", "artists", "time", "user_levels", "sessions", "page_events")
REFUSED = ("staging_events", "load_errors", "load_files", "staging_songs", "schema_history")


def env_values(path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in path.read_text().splitlines() if "=" in line and line[0] != "#")


def as_reader(url: str, user: str, password: str | None, **params):
    conninfo = {**psycopg2.extensions.parse_dsn(url), "user": user, **params}
    if password:
        conninfo["password"] = password
    return psycopg2.connect(**conninfo)


def assert_reads_the_star_only(conn):
    for table in STAR:
        rows(conn, f"SELECT COUNT(*) FROM {table}")  # unqualified: its search_path is analytics
    for table in REFUSED:
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            rows(conn, f"SELECT COUNT(*) FROM etl.{table}")
        conn.rollback()
    with pytest.raises(psycopg2.errors.UndefinedTable):  # etl is not on its path either
        rows(conn, "SELECT COUNT(*) FROM staging_events")
    conn.rollback()
    etl = {t.name for t in catalog.tables().values() if t.schema == "etl"}
    ran = 0
    for report in sqlfiles.files("reports"):  # the analysts' questions, as written: unqualified
        reads_etl = etl & set(re.findall(r"\b(?:FROM|JOIN)\s+(\w+)", report.text, re.I))
        for statement in report.statements:
            if reads_etl:  # a question still asked of staging: refused to the reader like the rest of etl
                with pytest.raises(psycopg2.errors.UndefinedTable), conn.cursor() as cur:
                    cur.execute(statement)
                conn.rollback()
            else:
                with conn.cursor() as cur:  # as the report runs it: no parameters (its LIKE '%-%' is text)
                    cur.execute(statement)
                conn.rollback()
                ran += 1
    assert ran >= 8


@pytest.fixture
def reader_env(env, tmp_path):
    env.update(ENV_FILE=str(tmp_path / "settings.env"), READER_USER=f"reader_{uuid.uuid4().hex[:8]}")
    (tmp_path / "settings.env").write_text("# a settings file of the test's\nMAX_ERRORS=0\n")
    return env


def test_the_reader_reads_every_star_table_and_nothing_of_etl_and_its_password_is_kept_not_shown(reader_env, database,
                                                                                                    conn, tmp_path):
    run_cli("load", reader_env)
    user = reader_env["READER_USER"]
    out = run_cli("reader", reader_env, "grant")
    password = env_values(tmp_path / "settings.env")["READER_PASSWORD"]
    assert re.fullmatch(r"[A-Za-z0-9]{32}", password) and password not in out.stdout + out.stderr
    assert f"{user}: created" in out.stdout and "MAX_ERRORS=0" in (tmp_path / "settings.env").read_text()
    (stored,) = rows(conn, "SELECT rolpassword FROM pg_authid WHERE rolname = %s", user)[0]
    assert stored.startswith("SCRAM-SHA-256$4096:") and password not in stored

    with as_reader(database, user, password) as r:
        assert rows(r, "SHOW search_path") == [("analytics",)]
        assert_reads_the_star_only(r)
        with conn.cursor() as cur:  # a star table made after the grant: the default privileges cover it
            cur.execute("CREATE TABLE analytics.later (x INTEGER)")
        conn.commit()
        assert rows(r, "SELECT COUNT(*) FROM later") == [(0,)]
        with pytest.raises(psycopg2.errors.InsufficientPrivilege):
            rows(r, "DELETE FROM songplays")
        r.rollback()

    shown = run_cli("db", reader_env, "url", "--reader").stdout
    assert f"user={user}" in shown and "password='***'" in shown and password not in shown

    again = run_cli("reader", reader_env, "grant")  # a rotation: a new password, the grants as they were
    rotated = env_values(tmp_path / "settings.env")["READER_PASSWORD"]
    assert "new password (rotated)" in again.stdout and rotated != password
    assert rows(conn, "SELECT rolpassword FROM pg_authid WHERE rolname = %s", user)[0][0] != stored

    down = run_cli("reader", reader_env, "revoke")
    assert f"{user}: dropped" in down.stdout
    assert rows(conn, "SELECT COUNT(*) FROM pg_roles WHERE rolname = %s", user) == [(0,)]
    assert env_values(tmp_path / "settings.env")["READER_PASSWORD"] == ""
    assert "no such user" in run_cli("reader", reader_env, "revoke").stdout


def test_a_bad_reader_name_is_refused_in_one_line(reader_env):
    reader_env["READER_USER"] = "Robert'); DROP TABLE songplays; --"
    proc = run_cli("reader", reader_env, "grant", check=False)
    assert proc.returncode == 2 and proc.stderr.strip().startswith("error: READER_USER=")  # bad settings
    assert len(proc.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("name", ["loader", "public"])
def test_the_loader_s_own_login_or_a_kept_name_is_refused_as_the_reader_and_left_as_it_was(name, reader_env, database):
    with psycopg2.connect(database) as conn, conn.cursor() as cur:
        cur.execute("SELECT current_user")
        loader = cur.fetchone()[0]
        cur.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (loader,))
        before = cur.fetchone()
    conn.close()
    reader_env["READER_USER"] = loader if name == "loader" else name
    proc = run_cli("reader", reader_env, "grant", check=False)
    assert proc.returncode != 0 and "name a login of its own" in proc.stderr
    with psycopg2.connect(database) as conn, conn.cursor() as cur:
        cur.execute("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (loader,))
        assert cur.fetchone() == before  # the loader's password untouched
    conn.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_embedded_port_serves_the_reader_over_tcp_with_its_password_and_the_loader_on_the_socket(tmp_path):
    port = _free_port()
    pgdata = tmp_path / "pgdata"
    settings_file = tmp_path / "settings.env"
    settings_file.write_text("")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SONG_DATA", "LOG_DATA", "DATABASE_URL"))}
    env.update(ENV_FILE=str(settings_file), PGDATA_DIR=str(pgdata), EMBEDDED_PORT=str(port),
               DEMO_DIR=str(tmp_path / "demo"), DEMO_EVENTS="500", DEMO_SONGS="50", PYTHONPATH=str(config.ROOT),
               READER_USER="bi_reader")
    psql = shutil.which("psql") or str(embedded.program("psql"))
    try:
        run_cli("load", env)
        admin = psycopg2.connect(embedded.url(pgdata, port=port))  # the socket, as the loader connects
        admin.autocommit = True
        with admin.cursor() as cur:
            cur.execute("ALTER SYSTEM SET log_statement = 'all'")  # every statement in the server's log
            cur.execute("SELECT pg_reload_conf()")
        run_cli("reader", env, "grant")
        password = env_values(settings_file)["READER_PASSWORD"]

        def over_tcp(user: str, secret: str | None):
            return subprocess.run([psql, f"host=127.0.0.1 port={port} dbname=postgres user={user}", "-XAtc",
                                   "SELECT COUNT(*) FROM songplays"], capture_output=True, text=True, timeout=30,
                                  env={"PATH": os.environ["PATH"], **({"PGPASSWORD": secret} if secret else {})})

        ok = over_tcp("bi_reader", password)
        assert ok.returncode == 0, ok.stderr
        assert int(ok.stdout) == rows(admin, "SELECT COUNT(*) FROM analytics.songplays")[0][0] > 0
        wrong = over_tcp("bi_reader", "Not" + password[3:])
        assert wrong.returncode != 0 and "password authentication failed" in wrong.stderr
        assert over_tcp("bi_reader", None).returncode != 0  # no password, no login
        assert over_tcp("postgres", None).returncode != 0  # nor as the admin: the socket stays the loader's way in
        run_cli("verify", env)  # the loader, on the socket, as before
        log = (pgdata / "log").read_text(errors="replace")
        assert "CREATE USER bi_reader PASSWORD 'SCRAM-SHA-256$" in log  # the statement was logged ...
        assert password not in log  # ... with the verifier only
        shown = run_cli("db", env, "url", "--reader").stdout
        assert f"host=127.0.0.1 port={port}" in shown and password not in shown

        run_cli("db", env, "stop")
        env.pop("EMBEDDED_PORT")  # started again without it: the socket only
        run_cli("verify", env)
        assert over_tcp("bi_reader", password).returncode != 0
        env["EMBEDDED_PORT"] = str(port)  # a running server that does not listen as asked is named, not used
        refused = run_cli("verify", env, check=False)
        assert refused.returncode == 1 and "listens on its socket only" in refused.stderr and "make db-stop" in \
            refused.stderr
        admin.close()
    finally:
        embedded.stop(pgdata)


def test_on_redshift_the_reader_gets_an_md5_verifier_and_its_password_lives_in_secrets_manager(
        monkeypatch, database, conn, aws_env, tmp_path):
    def connect(dsn=None, **kwargs):
        if kwargs.get("host") != "dwh.example":
            return REAL_CONNECT(dsn, **kwargs)
        return EmulatedRedshift(database, None)

    monkeypatch.setattr(db.psycopg2, "connect", connect)
    user = f"reader_{uuid.uuid4().hex[:8]}"
    for key, value in {"ENV_FILE": os.devnull, "WAREHOUSE": "redshift", "REDSHIFT_HOST": "dwh.example",
                       "DB_PASSWORD": "Secret123abc", "CLUSTER_IDENTIFIER": f"rs-{uuid.uuid4().hex[:8]}",
                       "STAGING_PREFIX": "s3://unused/loads", "READER_USER": user}.items():
        monkeypatch.setenv(key, value)
    warehouse = warehouses.of(load_settings())
    rs_conn = warehouse.connect()
    from sparkify_dwh import migrations

    migrations.migrate(rs_conn, "redshift")
    with rs_conn.cursor() as cur:
        cur.execute("INSERT INTO songplays (songplay_id, start_time, user_id) VALUES ('p', '2018-11-01', %s)",
                    (GOOD_EVENT["userId"],))
    rs_conn.commit()
    password, existed = reader.grant(rs_conn, user, warehouse.caps.password_hash)
    assert not existed
    sent = [s for s in rs_conn.sent if user in s]
    created = [s for s in sent if s.startswith("CREATE USER")]
    assert created == [f"CREATE USER {user} PASSWORD '{reader.md5(password, user)}'"]
    assert password not in " ".join(rs_conn.sent)
    assert rows(conn, "SELECT rolpassword FROM pg_authid WHERE rolname = %s", user) == [(reader.md5(password, user),)]
    assert "created" in warehouse.keep_reader_password(password)
    assert warehouse.reader_password() == password
    params = warehouse.reader_params(password)
    assert (params["host"], params["user"], params["sslmode"]) == ("dwh.example", user, "require")

    with as_reader(database, user, password) as r:  # the emulator's PostgreSQL, as that user
        assert_reads_the_star_only(r)
        assert rows(r, "SELECT songplay_id FROM songplays") == [("p",)]

    rotated, existed = reader.grant(rs_conn, user, warehouse.caps.password_hash)
    assert existed and rotated != password and "updated" in warehouse.keep_reader_password(rotated)
    assert warehouse.reader_password() == rotated
    assert reader.revoke(rs_conn, user)
    assert "deleted" in warehouse.forget_reader_password()
    assert warehouse.reader_password() is None
    assert rows(conn, "SELECT COUNT(*) FROM pg_roles WHERE rolname = %s", user) == [(0,)]
    rs_conn.close()
