"""The report on the public sample: every answer equals the same answer computed from the raw JSON,
and the page opens offline in headless Chromium with its charts, no console error and no request.
"""

from __future__ import annotations

import json
import os
import tempfile
import uuid
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import psycopg2
import pytest
from conftest import ROOT, SEARCH_PATH, _with_database, run_cli

from sparkify_dwh import report, sqlfiles

pytestmark = pytest.mark.integration

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts"
# Playwright adds --headless itself and takes the profile folder as an argument.
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WEEKDAYS = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"]
EPOCH = datetime(1970, 1, 1)


# --- the sample, loaded once for the module ------------------------------------------------------

@pytest.fixture(scope="module")
def loaded(sample, pg_server, tmp_path_factory):
    """Environment of a database holding the public sample, loaded by bin/load."""
    name = "t_" + uuid.uuid4().hex[:12]
    admin = psycopg2.connect(pg_server)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
        cur.execute(f'ALTER DATABASE "{name}" SET search_path TO {SEARCH_PATH}')  # the test's reads, unqualified
    tmp = tmp_path_factory.mktemp("report")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SONG_DATA", "LOG_DATA", "MAX_", "FULL_"))}
    env.update(DATABASE_URL=_with_database(pg_server, name), ENV_FILE=os.devnull,
               DEMO_DIR=str(tmp / "demo"), PYTHONPATH=str(ROOT), REPORT_OUT=str(tmp / "out" / "report.html"),
               SONG_DATA=str(sample / "song_data"), LOG_DATA=str(sample / "log_data"))
    run_cli("load", env)
    try:
        yield env
    finally:
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


@pytest.fixture(scope="module")
def answers(loaded) -> dict[str, report.Answer]:
    with psycopg2.connect(loaded["DATABASE_URL"]) as conn:
        return {a.name: a for a in report.run(conn)}


# --- the same answers, straight from the raw JSON -----------------------------------------------

@pytest.fixture(scope="module")
def raw(sample):
    """Plays (NextSong events of logged-in users) in songplays order, and the song objects."""
    plays = []
    for path in sorted((sample / "log_data").rglob("*.json")):
        for line_number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            event = json.loads(line)
            if event["page"] == "NextSong" and event["userId"] != "":
                event["at"] = EPOCH + timedelta(milliseconds=event["ts"])
                event["order"] = (event["ts"], event["userId"], event["sessionId"], event["itemInSession"],
                                  str(path), line_number)
                plays.append(event)
    plays.sort(key=lambda e: e["order"])
    songs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((sample / "song_data").rglob("*.json"))]
    return plays, songs


def _latest(plays):
    return {e["userId"]: e for e in plays}  # plays are in time order: the last one wins


def _pct(part, whole, places):
    return (Decimal(100 * part) / Decimal(whole)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)


def expected(name, plays, songs):
    if name == "top_songs":
        counts = Counter((e["song"].rstrip(" "), e["artist"].rstrip(" ")) for e in plays)  # as Redshift compares
        return sorted(((s, a, n) for (s, a), n in counts.items()), key=lambda r: (-r[2], r[0], r[1]))[:10]
    if name == "top_artists":
        by = defaultdict(list)
        for e in plays:
            by[e["artist"].rstrip(" ")].append(e)
        rows = [(a, len(es), len({e["song"].rstrip(" ") for e in es}), len({e["userId"] for e in es}))
                for a, es in by.items()]
        return sorted(rows, key=lambda r: (-r[1], r[0]))[:10]
    if name in ("plays_by_hour", "plays_by_weekday"):
        by = defaultdict(list)
        for e in plays:
            by[e["at"].hour if name == "plays_by_hour" else e["at"].isoweekday() % 7].append(e["userId"])
        if name == "plays_by_hour":
            return [(k, len(v), len(set(v))) for k, v in sorted(by.items())]
        return [(k, WEEKDAYS[k], len(v), len(set(v))) for k, v in sorted(by.items())]
    if name == "free_vs_paid":
        now = Counter(e["level"] for e in _latest(plays).values())
        by = defaultdict(list)
        for e in plays:
            by[e["level"]].append(e["userId"])
        return [(level, len(v), len(set(v)), _pct(len(v), len(plays), 1), now[level])
                for level, v in sorted(by.items())]
    if name == "top_users":
        latest = _latest(plays)
        by = defaultdict(list)
        for e in plays:
            by[e["userId"]].append(e["sessionId"])
        rows = [(u, latest[u]["level"], f"{latest[u]['firstName']} {latest[u]['lastName']}", len(s), len(set(s)))
                for u, s in by.items()]
        return sorted(rows, key=lambda r: (-r[3], r[0]))[:10]
    if name == "tier_changes":
        latest, previous, rows = _latest(plays), {}, []
        for e in plays:
            before = previous.get(e["userId"])
            if before is not None and before["level"] != e["level"]:
                who = latest[e["userId"]]
                rows.append((e["at"], e["userId"], before["level"], e["level"], before["at"],
                             f"{who['firstName']} {who['lastName']}"))
            previous[e["userId"]] = e
        return sorted(rows, key=lambda r: (r[0], r[1]), reverse=True)[:50]
    if name == "song_match_share":
        catalogue = defaultdict(list)
        for s in songs:
            catalogue[(s["title"].rstrip(" "), s["artist_name"].rstrip(" "), s["duration"])].append(s["song_id"])
        keys = [(e["song"].rstrip(" "), e["artist"].rstrip(" "), e["length"]) for e in plays]
        matched = [min(catalogue[k]) for k in keys if k in catalogue]
        return [(len(plays), len(matched), _pct(len(matched), len(plays), 3), len(set(matched)),
                 len({s["song_id"] for s in songs}))]
    if name == "daily_active_users":
        by = defaultdict(list)
        for e in plays:
            by[e["at"].date()].append(e["userId"])
        return [(day, len(set(v)), len(v)) for day, v in sorted(by.items())]
    if name == "paid_users_per_day":
        level, out = {}, []
        days = sorted({e["at"].date() for e in plays})
        for day in days:  # each user's level at the end of the day: that of their last play by then
            for e in plays:
                if e["at"].date() <= day:
                    level[e["userId"]] = e["level"]
            counts = Counter(level.values())
            out.append((day, counts["paid"], counts["free"]))
        return out
    raise AssertionError(f"no independent answer for report {name!r}: add one here")


@pytest.mark.parametrize("name", [f.name for f in sqlfiles.files("reports")])
def test_each_answer_equals_the_one_computed_from_the_raw_json(name, answers, raw):
    plays, songs = raw
    assert [tuple(r) for r in answers[name].rows] == expected(name, plays, songs)


def test_answers_carry_the_sample_figures(answers):
    assert answers["song_match_share"].rows == ((6820, 1, Decimal("0.015"), 1, 71),)
    assert len({r[1] for r in answers["tier_changes"].rows}) == 8
    assert sum(r[2] for r in answers["daily_active_users"].rows) == 6820
    assert answers["top_songs"].rows[0] == ("You're The One", "Dwight Yoakam", 37)


# --- the command and the page ---------------------------------------------------------------------

def test_report_prints_every_answer_and_writes_the_page_to_report_out(loaded):
    out = run_cli("report", loaded).stdout
    page = Path(loaded["REPORT_OUT"])
    for f in sqlfiles.files("reports"):
        question = report.parse_header(f.text)[0]
        assert f"{question}\n{'=' * len(question)}\n" in out
    assert f"wrote {page}" in out
    assert "You're The One" in page.read_text(encoding="utf-8")
    assert report.external_references(page.read_text(encoding="utf-8")) == []


def test_no_html_writes_nothing_and_out_wins_over_report_out(loaded, tmp_path):
    run_cli("report", dict(loaded, REPORT_OUT=str(tmp_path / "a.html")), "--no-html")
    assert not (tmp_path / "a.html").exists()
    run_cli("report", dict(loaded, REPORT_OUT=str(tmp_path / "a.html")), "--out", str(tmp_path / "b.html"))
    assert (tmp_path / "b.html").is_file() and not (tmp_path / "a.html").exists()


def test_report_on_an_empty_warehouse_says_to_load_first(env):
    proc = run_cli("report", env, "--no-html", check=False)
    assert proc.returncode == 1
    assert "load the warehouse first" in proc.stderr and "Traceback" not in proc.stderr


def test_report_on_an_empty_star_gives_empty_answers(env):
    run_cli("migrate", env)
    out = run_cli("report", env, "--no-html").stdout
    assert out.count("(no rows)") == len(sqlfiles.files("reports")) - 1
    share = out.split("matched to a known song?")[1].splitlines()
    assert share[4].split() == ["0", "0", "0", "0"]  # plays, matched, known songs played, known songs; no share


def _missing(message: str):
    if os.environ.get("REQUIRE_SAMPLE"):
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def chromium() -> Path:
    """Debian's chromium, which .ci/run installs, and Playwright to drive it; CI fails without them."""
    if not CHROMIUM.exists():
        _missing(f"{CHROMIUM} is missing: install Debian's chromium (apt-get install chromium; .ci/run does)")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _missing("the playwright package is missing: make install")
    return CHROMIUM


def test_page_opens_offline_in_chromium_with_its_charts(loaded, answers, chromium):
    from playwright.sync_api import sync_playwright

    page_path = Path(loaded["REPORT_OUT"])
    run_cli("report", loaded)
    charted = {name: a for name, a in answers.items() if a.chart and a.rows}
    ARTIFACTS.mkdir(exist_ok=True)
    errors, requests = [], []
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        browser = pw.chromium.launch_persistent_context(
            profile, executable_path=str(chromium), headless=True, args=CHROMIUM_FLAGS,
            viewport={"width": 1100, "height": 900},
        )
        try:
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_path.as_uri(), wait_until="load")
            found = page.evaluate("""names => ({
                charts: document.querySelectorAll('figure.chart > svg').length,
                tables: document.querySelectorAll('section table').length,
                bars: Object.fromEntries(names.map(n => [n, document.querySelectorAll(`[id^="${n}-bar-"]`).length])),
                lines: document.querySelectorAll('[id$="-line"] path').length,
                drawn: [...document.querySelectorAll('figure.chart > svg')].every(s => s.getBBox().width > 100),
            })""", list(charted))
            page.screenshot(path=str(ARTIFACTS / "report.png"), full_page=True)
        finally:
            browser.close()
    assert errors == []
    assert requests == [page_path.as_uri()]
    assert found["charts"] == len(charted) > 0
    assert found["tables"] == len(answers)
    assert found["drawn"]
    assert found["bars"] == {n: len(a.rows) for n, a in charted.items() if a.chart.kind != "line"} | {
        n: 0 for n, a in charted.items() if a.chart.kind == "line"}
    assert found["lines"] >= 1
    assert (ARTIFACTS / "report.png").stat().st_size > 10_000
