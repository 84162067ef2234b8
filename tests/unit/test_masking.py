"""Secrets never reach a message, whatever form they take."""

import uuid
from urllib.parse import quote

import psycopg2.extensions

from sparkify_dwh import db

CANARY = "s3cr3t-Canary-9431"


def test_passwords_in_urls_and_dsns_are_masked():
    url = f"postgresql://loader:{CANARY}@db.example:5432/dwh"
    assert CANARY not in db.mask(f"could not connect: {url}")
    assert CANARY not in db.mask(f"host=db password={CANARY} user=x")
    assert CANARY not in db.mask(f"some error mentioning {CANARY}", CANARY)
    assert db.display_url(url) == "postgresql://loader:***@db.example:5432/dwh"


def test_a_url_without_password_is_shown_as_is():
    url = "postgresql://postgres:@/postgres?host=/tmp/x"
    assert db.display_url(url) == url


# --- every form a password takes ------------------------------------------------------------------

# unique pieces around the characters a URL gives meaning to: no piece may show, whatever a parser splits on
PIECES = [uuid.uuid4().hex[:10] for _ in range(3)]
PASSWORD = f"{PIECES[0]}@/:%'\"{PIECES[1]}#?{PIECES[2]}"


def _no_piece(text: str) -> bool:
    return not any(piece in text for piece in PIECES)


def test_a_raw_password_in_a_url_reaches_libpq_whole_and_is_never_shown():
    raw = f"postgresql://loader:{PASSWORD}@db.example:5432/dwh?sslmode=prefer"
    url = db.normalized(raw)
    assert psycopg2.extensions.parse_dsn(url) == {"user": "loader", "password": PASSWORD, "host": "db.example",
                                                  "port": "5432", "dbname": "dwh", "sslmode": "prefer"}
    assert db.password_of(url) == PASSWORD
    for shown in (db.display_url(raw), db.display_url(url)):
        assert shown == "postgresql://loader:***@db.example:5432/dwh?sslmode=prefer"
    secrets = db.secrets_of(raw, {})
    for text in (raw, url, f"error near {PASSWORD!r}", f"'{PASSWORD.replace(chr(39), chr(39) * 2)}'",
                 quote(PASSWORD, safe="")):
        assert _no_piece(db.mask(f"failed: {text}", *secrets)), text


def test_a_percent_encoded_password_is_kept_as_written_and_decoded_for_libpq():
    url = f"postgresql://loader:{quote(PASSWORD, safe='')}@db.example/dwh"
    assert db.normalized(url) == url
    assert db.password_of(url) == PASSWORD
    conninfo, password = db.without_password(url)
    assert password == PASSWORD and _no_piece(conninfo)
    assert psycopg2.extensions.parse_dsn(conninfo) == {"user": "loader", "host": "db.example", "dbname": "dwh"}
    assert _no_piece(db.mask(f"{url} {PASSWORD}", *db.secrets_of(url, {})))


def test_a_key_value_dsn_is_shown_and_handed_to_psql_without_its_password():
    escaped = PASSWORD.replace("\\", "\\\\").replace("'", "\\'")
    dsn = f"host=db.example port=5432 dbname=dwh user=loader password='{escaped}'"
    assert db.normalized(dsn) == dsn and db.password_of(dsn) == PASSWORD
    shown = db.display_url(dsn)
    assert "password=***" in shown and _no_piece(shown)
    assert psycopg2.extensions.parse_dsn(shown)["host"] == "db.example"
    conninfo, password = db.without_password(dsn)
    assert password == PASSWORD
    assert psycopg2.extensions.parse_dsn(conninfo) == {"host": "db.example", "port": "5432", "dbname": "dwh",
                                                       "user": "loader"}
    assert _no_piece(db.mask(f"{dsn} / {PASSWORD}", *db.secrets_of(dsn, {})))
    # unquoted, with a backslash-escaped blank: the pattern alone masks the whole value
    assert db.mask(r"password=a\ b" + PIECES[0]) == "password=***"


def test_a_service_files_password_is_masked(tmp_path):
    services = tmp_path / "pg_service.conf"
    services.write_text(f"[dwh]\nhost=db.example\nuser=loader\npassword={PASSWORD}\n")
    for conninfo in ("service=dwh", "postgresql:///?service=dwh"):
        secrets = db.secrets_of(conninfo, {"PGSERVICEFILE": str(services)})
        assert PASSWORD in secrets
        assert db.display_url(conninfo) == conninfo
    assert db.secrets_of(None, {}) == ()
    assert db.secrets_of("service=dwh", {"PGSERVICE": "dwh", "PGSERVICEFILE": str(tmp_path / "none")}) == ()


def test_the_other_secret_settings_are_masked():
    environ = {"DB_PASSWORD": "Redshift-" + PIECES[0], "AWS_SECRET_ACCESS_KEY": "aws/" + PIECES[1],
               "AWS_SESSION_TOKEN": "tok+" + PIECES[2], "PGPASSWORD": "pg-" + PIECES[0]}
    secrets = db.secrets_of(None, environ)
    assert _no_piece(db.mask(" ".join(environ.values()) + repr(environ), *secrets))


def test_another_database_on_the_same_server_keeps_every_form_whole():
    url = db.normalized(f"postgresql://loader:{PASSWORD}@db.example:5432/dwh?sslmode=prefer")
    assert psycopg2.extensions.parse_dsn(db.with_database(url, "bench_1")) == {
        "user": "loader", "password": PASSWORD, "host": "db.example", "port": "5432", "dbname": "bench_1",
        "sslmode": "prefer"}
    dsn = r"host='/tmp/with space' user=loader password='it\'s'"
    assert psycopg2.extensions.parse_dsn(db.with_database(dsn, "bench_1")) == {
        **psycopg2.extensions.parse_dsn(dsn), "dbname": "bench_1"}


def test_a_password_in_a_urls_query_is_masked_too():
    url = f"postgresql:///dwh?host=/tmp/s&password={quote(PASSWORD, safe='')}&sslmode=disable"
    assert db.password_of(url) == PASSWORD
    assert _no_piece(db.display_url(url)) and "password=***" in db.display_url(url)
    conninfo, password = db.without_password(url)
    assert password == PASSWORD and _no_piece(conninfo)
