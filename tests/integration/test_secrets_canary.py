"""A secret is never printed, whatever form it takes: canary secrets, made at run time, through every
command and every form of DATABASE_URL (a URL with raw `@ / : % ' "` in the password, the same
percent-encoded, a key=value string, a service file), with TRACEBACK=0 and 1, on success and on failure,
including errors raised through the command boundary and statements of the dry run that hold a secret.
No piece of a canary may appear in any output, in the server's log or in a file the commands wrote.

The server is an embedded PostgreSQL of this module's, started by the project's own code, where the
canary role must log in with its password (scram-sha-256): a form that reached libpq cut or still
percent-encoded fails to connect."""

import json
import os
import sys
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import psycopg2
import psycopg2.extensions
import pytest
from conftest import GOOD_EVENT, GOOD_SONG, ROOT

from sparkify_dwh import embedded

pytestmark = pytest.mark.integration

# unique pieces around the characters a URL gives meaning to: none may show, whatever a parser splits on
PIECES = [uuid.uuid4().hex[:10] for _ in range(3)]
PASSWORD = f"{PIECES[0]}@/:%'\"{PIECES[1]}#?{PIECES[2]}"
AWS_SECRET = "aws/" + uuid.uuid4().hex  # read by boto3 from the environment
REDSHIFT_PASSWORD = "Rs" + uuid.uuid4().hex[:14] + "X9"
WEBHOOK_TOKEN = "hook" + uuid.uuid4().hex[:16]  # the path of ALERT_WEBHOOK_URL, as Slack's holds its token
CANARIES = [*PIECES, AWS_SECRET, AWS_SECRET.removeprefix("aws/"), REDSHIFT_PASSWORD, WEBHOOK_TOKEN]
ROLE = "canary_loader"
FORMS = ("raw url", "encoded url", "key=value", "service file")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """(the socket folder, the data folder) of a server where ROLE logs in with PASSWORD only."""
    pgdata = tmp_path_factory.mktemp("canary") / "pgdata"
    admin_url = embedded.url(pgdata)
    admin = psycopg2.connect(admin_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"CREATE ROLE {ROLE} LOGIN SUPERUSER PASSWORD %s", (PASSWORD,))
        cur.execute(f"CREATE DATABASE dwh OWNER {ROLE}")
    hba = pgdata / "pg_hba.conf"
    hba.write_text(f"local all {ROLE} scram-sha-256\n" + hba.read_text())
    with admin.cursor() as cur:
        cur.execute("SELECT pg_reload_conf()")
    admin.close()
    yield psycopg2.extensions.parse_dsn(admin_url)["host"], pgdata
    embedded.stop(pgdata)


def form(name: str, sockets: str, tmp: Path, password: str = PASSWORD) -> dict[str, str]:
    """The settings that reach the canary database with `password`, in form `name`."""
    if name == "raw url":
        return {"DATABASE_URL": f"postgresql://{ROLE}:{password}@/dwh?host={quote(sockets, safe='/')}"}
    if name == "encoded url":
        return {"DATABASE_URL": f"postgresql://{ROLE}:{quote(password, safe='')}@/dwh?host={quote(sockets, safe='/')}"}
    if name == "key=value":
        escaped = password.replace("\\", "\\\\").replace("'", "\\'")
        return {"DATABASE_URL": f"host='{sockets}' dbname=dwh user={ROLE} password='{escaped}'"}
    services = tmp / f"pg_service-{uuid.uuid4().hex[:6]}.conf"
    services.write_text(f"[canary]\nhost={sockets}\ndbname=dwh\nuser={ROLE}\npassword={password}\n")
    return {"DATABASE_URL": "service=canary", "PGSERVICEFILE": str(services)}


@pytest.fixture(scope="module")
def refusing_aws():
    """An AWS endpoint that refuses every request at once as AWS does a bad key (403, not retried)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Refuse(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 - the name http.server calls
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.headers.get("X-Amz-Target"):  # the JSON protocol (Redshift Serverless)
                body, kind = b'{"__type": "UnrecognizedClientException", "message": "invalid token"}', "json"
            else:
                body, kind = (b"<ErrorResponse><Error><Type>Sender</Type><Code>InvalidClientTokenId</Code><Message>"
                              b"The security token included in the request is invalid.</Message></Error>"
                              b"<RequestId>1</RequestId></ErrorResponse>"), "xml"
            self.send_response(403)
            self.send_header("Content-Type", f"application/{'x-amz-json-1.1' if kind == 'json' else 'xml'}")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_PUT = do_HEAD = do_DELETE = do_POST

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Refuse)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


@pytest.fixture
def base(tmp_path, refusing_aws):
    """Every canary in the environment; AWS refusing the key (fast failures); small demo data; no settings file."""
    return {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(ROOT), "ENV_FILE": os.devnull, "HOME": str(tmp_path),
            "DEMO_DIR": str(tmp_path / "demo"), "DEMO_EVENTS": "300", "DEMO_SONGS": "20",
            "AWS_ACCESS_KEY_ID": "AKIACANARYTEST", "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
            "AWS_ENDPOINT_URL": refusing_aws, "AWS_DEFAULT_REGION": "us-west-2",
            "DB_PASSWORD": REDSHIFT_PASSWORD, "STAGING_PREFIX": "s3://canary-staging/loads",
            "REPORT_OUT": str(tmp_path / "report.html"),
            # alerts go to the endpoint that refuses everything (each refusal said, without the URL); transient
            # failures are retried at once, each retry said
            "ALERT_WEBHOOK_URL": f"{refusing_aws}/services/T0/B0/{WEBHOOK_TOKEN}", "RETRY_WAIT": "0"}


def leaks(text: str) -> list[str]:
    return [c for c in CANARIES if c in text]


def run(command: str, env: dict, *args: str, stdin: str | None = None):
    """bin/COMMAND (or a script path); returns (exit status, stdout + stderr)."""
    import subprocess

    path = command if "/" in command else str(ROOT / "bin" / command)
    proc = subprocess.run([sys.executable, path, *args], env=env, capture_output=True, text=True, timeout=300,
                          cwd=ROOT, input=stdin)
    return proc.returncode, proc.stdout + proc.stderr


def assert_no_leak(runs: list[tuple[str, int, str]]) -> None:
    leaked = [(what, leaks(out), out[-2000:]) for what, _, out in runs if leaks(out)]
    assert not leaked, leaked


# A command that fails with the secrets in its message: what any error raised through the command boundary
# shows (TRACEBACK=1 adds the traceback, which repeats the message)
BOUNDARY = """
import os, sys
from pathlib import Path
from sparkify_dwh import cli, db
known = sys.argv[1] == "known"

def main(settings):
    services = os.environ.get("PGSERVICEFILE")
    text = " | ".join([os.environ["DATABASE_URL"], settings.database_url, str(db.password_of(settings.database_url)),
                       Path(services).read_text() if services else "", os.environ["AWS_SECRET_ACCESS_KEY"],
                       os.environ["DB_PASSWORD"], repr(os.environ["DATABASE_URL"])])
    raise (db.DatabaseError if known else RuntimeError)("failed near " + text)

cli.run(main)
"""


@pytest.mark.parametrize("name", FORMS)
def test_no_secret_reaches_output_on_success_in_any_form(server, base, tmp_path, name):
    sockets, pgdata = server
    env = {**base, **form(name, sockets, tmp_path)}
    runs = []
    for args in (["db", "url"], ["load"], ["load", "--json"], ["verify"], ["report", "--no-html"],
                 ["migrate", "--list"], ["stage", "--only", "songs"], ["transform", "--dry-run"]):
        code, out = run(args[0], env, *args[1:])
        assert code == 0, out
        runs.append((" ".join(args), code, out))
    code, out = run("load", {**env, "DRY_RUN": "1"})
    assert code == 0 and "-- postgres load, dry run:" in out
    runs.append(("DRY_RUN=1 load", code, out))
    # psql logs in with the password decoded, which is on no command line (psql shows its own)
    code, out = run("db", env, "psql", stdin="SELECT 'user=' || current_user;\n\\! cat /proc/$PPID/cmdline\n")
    assert code == 0 and f"user={ROLE}" in out, out
    assert "\x00" in out  # psql's command line was printed (its arguments end in NULs) and is scanned below
    runs.append(("db psql", code, out))
    url = runs[0][2]
    assert ("***" in url) is (name != "service file") and url.strip().endswith(
        "service=canary" if name == "service file" else "")
    assert_no_leak(runs)


@pytest.mark.parametrize("name", FORMS)
def test_no_secret_reaches_output_on_failure_in_any_form(server, base, tmp_path, name):
    sockets, pgdata = server
    env = {**base, **form(name, sockets, tmp_path)}
    bad = tmp_path / "bad" / "log_data"
    bad.mkdir(parents=True)
    (bad / "x.json").write_text('{"ts": "not a number"}\n' + json.dumps(GOOD_EVENT) + "\n")
    (tmp_path / "bad" / "song_data").mkdir()
    (tmp_path / "bad" / "song_data" / "s.json").write_text(json.dumps(GOOD_SONG))
    boundary = tmp_path / "boundary.py"
    boundary.write_text(BOUNDARY)
    wrong = {**base, **form(name, sockets, tmp_path, password=PASSWORD + "!")}
    cases = []
    for traceback in ("0", "1"):
        e = {**env, "TRACEBACK": traceback}
        cases += [
            ("over MAX_ERRORS", "load", {**e, "LOG_DATA": str(bad), "SONG_DATA": str(bad.parent / "song_data")}, ()),
            ("missing source", "load", {**e, "LOG_DATA": str(tmp_path / "missing")}, ()),
            ("wrong password", "verify", {**wrong, "TRACEBACK": traceback}, ()),
            ("boundary, unexpected", str(boundary), e, ("unexpected",)),
            ("boundary, known", str(boundary), e, ("known",)),
            # a source whose path holds the password: the dry run's statements show it
            ("dry run", "load", {**e, "DRY_RUN": "1", "SONG_DATA": f"/data/{PASSWORD}/song_data"}, ()),
        ]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda c: (c[0], *run(c[1], c[2], *c[3])), cases))
    codes = {"dry run": 0, "over MAX_ERRORS": 3, "missing source": 4}
    for (what, _, e, _), (_, code, out) in zip(cases, results):
        assert code == codes.get(what, 1), (what, out)
        if e["TRACEBACK"] == "1" and what.startswith("boundary"):
            assert "Traceback (most recent call last)" in out and "failed near" in out
    assert_no_leak(results)


def test_no_secret_reaches_output_from_any_command(server, base, tmp_path):
    """Every command of bin/, each secret set (the AWS key, the Redshift password, the database password):
    the Redshift and AWS commands fail at the unreachable endpoint, the others run."""
    sockets, pgdata = server
    env = {**base, **form("raw url", sockets, tmp_path)}
    redshift = {**env, "WAREHOUSE": "redshift", "REDSHIFT_HOST": "127.0.0.1", "DB_PORT": "9"}
    out_dir = tmp_path / "generated"
    commands = sorted(p.name for p in (ROOT / "bin").iterdir() if p.is_file())
    cases = {
        "acceptance": (env, ("--events", "100", "--songs", "5")),
        "backfill": (redshift, ("--from", "2018-11-01", "--to", "2018-11-02")),
        "bench": (env, ("--events", "200", "--songs", "5", "--only", "load", "--data", str(tmp_path / "bench{t}"),
                        "--results", str(tmp_path / "results{t}"))),
        "db": (redshift, ("psql",)),
        "docs": (redshift, ()),
        "generate": (env, (str(out_dir) + "{t}", "--events", "50", "--songs", "5")),
        "history": (redshift, ()),
        "load": (redshift, ()),
        "migrate": (redshift, ()),
        "provision": (redshift, ()),
        "reader": (redshift, ("grant",)),
        "report": (redshift, ("--no-html",)),
        "stage": (redshift, ()),
        "status": (redshift, ()),
        "teardown": (redshift, ("--yes",)),
        "transform": (redshift, ()),
        "verify": (redshift, ()),
    }
    assert set(cases) == set(commands)  # a new command joins this test
    # bench once: two at once would drop each other's databases (it makes them afresh, by name)
    jobs = [(c, {**e, "TRACEBACK": t}, [x.replace("{t}", t) for x in a]) for c, (e, a) in cases.items()
            for t in (("0",) if c == "bench" else "01")]
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda j: (f"{j[0]} TRACEBACK={j[1]['TRACEBACK']}", *run(j[0], j[1], *j[2])), jobs))
    by_name = {what: (code, out) for what, code, out in results}
    for what in ("generate", "bench", "status", "provision", "load", "db", "backfill", "reader", "docs"):
        code, out = by_name[f"{what} TRACEBACK=0"]
        assert (code == 0) is (what in {"generate", "bench"}), (what, out)
    assert_no_leak(results)


def test_no_secret_reaches_the_server_log_or_any_file(server, base, tmp_path):
    """After the tests above (same module, same server): the server's log and every file written."""
    sockets, pgdata = server
    env = {**base, **form("raw url", sockets, tmp_path)}
    code, out = run("load", env)
    assert code == 0, out
    log = pgdata / "log"
    assert log.is_file() and log.stat().st_size > 0
    texts = {log: log.read_text(errors="replace")}
    skip = {".git", ".venv", ".pgdata", "data", ".uv"}
    for path in [*tmp_path.rglob("*"), *ROOT.rglob("*")]:
        if path.is_file() and not path.name.startswith("pg_service") and not skip & set(path.parts) and \
                path.stat().st_size < 5_000_000:
            texts[path] = path.read_bytes().decode(errors="replace")
    assert [p for p, text in texts.items() if leaks(text)] == []
