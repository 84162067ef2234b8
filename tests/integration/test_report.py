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

def fixed(text):
    """Text as the star holds it, by plain Python: without trailing blanks, and UTF-8 that was read as
    Latin-1 decoded again for as long as that works (the sample's mojibake is two such readings)."""
    text = text.rstrip(" ")
    while not text.isascii():
        try:
            text = text.encode("latin-1").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            break
    return text


@pytest.fixture(scope="module")
def raw(sample):
    """Plays (NextSong events of logged-in users) in songplays order, and the song objects; every event of a
    logged-in user (all pages) in the same order is `raw.events`."""
    events = []
    for path in sorted((sample / "log_data").rglob("*.json")):
        for line_number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            event = json.loads(line)
            if event["userId"] != "":
                event["at"] = EPOCH + timedelta(milliseconds=event["ts"])
                event["order"] = (event["ts"], event["userId"], event["sessionId"], event["itemInSession"],
                                  str(path), line_number)
                if event["page"] == "NextSong":
                    event["song"], event["artist"] = fixed(event["song"]), fixed(event["artist"])
                events.append(event)
    events.sort(key=lambda e: e["order"])
    plays = [e for e in events if e["page"] == "NextSong"]
    songs = [json.loads(p.read_text(encoding="utf-8")) for p in sorted((sample / "song_data").rglob("*.json"))]
    EVENTS.clear()
    EVENTS.extend(events)
    return plays, songs


EVENTS: list[dict] = []  # every event of a logged-in user, filled by `raw`


def _latest(plays):
    return {e["userId"]: e for e in plays}  # plays are in time order: the last one wins


def _pct(part, whole, places):
    return (Decimal(100 * part) / Decimal(whole)).quantize(Decimal(1).scaleb(-places), ROUND_HALF_UP)


def expected(name, plays, songs):
    if name == "top_songs":
        counts = Counter((e["song"], e["artist"]) for e in plays)  # repaired, trailing blanks dropped (`raw`)
        return sorted(((s, a, n) for (s, a), n in counts.items()), key=lambda r: (-r[2], r[0], r[1]))[:10]
    if name == "top_artists":
        by = defaultdict(list)
        for e in plays:
            by[e["artist"]].append(e)
        rows = [(a, len(es), len({e["song"] for e in es}), len({e["userId"] for e in es}))
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
        keys = [(e["song"], e["artist"], e["length"]) for e in plays]
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
    return expected_more(name, plays, EVENTS)


def _agent(event):
    from ua_parser import parse

    text = event["userAgent"].strip(" ")
    text = text[1:-1] if text.startswith('"') and text.endswith('"') else text
    found = parse(text)
    return tuple(x.family if x else "Other" for x in (found.device, found.os, found.user_agent))


def _sessions(events):
    by = defaultdict(list)
    for e in events:
        by[(e["userId"], e["sessionId"])].append(e)
    return by


def expected_more(name, plays, events):
    """The answers of the questions that need more than the plays."""
    if name == "plays_by_state":
        by = defaultdict(list)
        for e in plays:
            metro, _, states = fixed(e["location"]).rpartition(", ")
            for state in states.split("-"):
                by[state].append(e)
        rows = [(state, len(es), len({e["userId"] for e in es}),
                 sum(1 for e in es if "-" in e["location"].rpartition(", ")[2])) for state, es in by.items()]
        return sorted(rows, key=lambda r: (-r[1], r[0]))
    if name == "plays_by_device":
        by = defaultdict(list)
        for e in plays:
            by[_agent(e)].append(e["userId"])
        return sorted(((*k, len(v), len(set(v))) for k, v in by.items()), key=lambda r: (-r[3], r[0], r[1], r[2]))
    if name == "plays_by_gender":
        latest = _latest(plays)
        by = defaultdict(list)
        for e in plays:
            by[latest[e["userId"]]["gender"]].append(e["userId"])
        return [(g, len(v), len(set(v)), (Decimal(len(v)) / len(set(v))).quantize(Decimal("0.1"), ROUND_HALF_UP),
                 _pct(len(v), len(plays), 1)) for g, v in sorted(by.items())]
    if name == "plays_by_week":
        by = defaultdict(list)
        for e in plays:
            year, week, _ = e["at"].isocalendar()
            by[f"{year}-W{week:02d}"].append(e["userId"])
        return [(k, len(v), len(set(v))) for k, v in sorted(by.items())]
    if name == "session_length":
        bands = [(0, 0, "0"), (1, 1, "1"), (2, 5, "2-5"), (6, 10, "6-10"), (11, 20, "11-20"), (21, 50, "21-50"),
                 (51, 10**9, "over 50")]
        by = defaultdict(list)
        for es in _sessions(events).values():
            songs = sum(1 for e in es if e["page"] == "NextSong")
            band = next(n for n, (low, high, _) in enumerate(bands, 1) if low <= songs <= high)
            by[band].append(((max(e["ts"] for e in es) - min(e["ts"] for e in es)) // 1000, len(es)))
        return [(band, bands[band - 1][2], len(v),
                 (Decimal(sum(s for s, _ in v)) / len(v) / 60).quantize(Decimal("0.1"), ROUND_HALF_UP),
                 (Decimal(sum(n for _, n in v)) / len(v)).quantize(Decimal("0.1"), ROUND_HALF_UP))
                for band, v in sorted(by.items())]
    if name == "upgrade_funnel":
        visits = {}
        for e in events:
            if e["page"] == "Upgrade" and e["level"] == "free":
                visits.setdefault(e["userId"], e["ts"])
        submitted = {}
        for e in events:
            if e["page"] == "Submit Upgrade" and e["userId"] in visits and e["ts"] >= visits[e["userId"]]:
                submitted.setdefault(e["userId"], e["ts"])
        paid = {e["userId"] for e in plays if e["level"] == "paid" and e["userId"] in submitted
                and e["ts"] > submitted[e["userId"]]}
        return [(1, "visited Upgrade while free", len(visits)), (2, "then submitted an upgrade", len(submitted)),
                (3, "then played as paid", len(paid))]
    if name == "downgrades_and_churn":
        rows = []
        for step, page in enumerate(["Downgrade", "Submit Downgrade", "Cancel", "Cancellation Confirmation"], 1):
            these = [e for e in events if e["page"] == page]
            first = {}
            for e in these:
                first.setdefault(e["userId"], e["ts"])
            after = {e["userId"] for e in plays if e["userId"] in first and e["ts"] > first[e["userId"]]}
            rows.append((step, page, len(these), len(first), len(after)))
        return rows
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
    assert ("Björk", 33) in [row[:2] for row in answers["top_artists"].rows]  # "BjÃ\x83Â¶rk" in the logs
    assert sum(r[1] for r in answers["plays_by_state"].rows) > 6820  # a metro across states counts in each
    assert {r[0] for r in answers["plays_by_state"].rows} >= {"IL", "IN", "WI"}  # Chicago-Naperville-Elgin


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
    # one row per question of the three that always answer (the share; the funnel's steps and the pages
    # of the way out, each with 0)
    assert out.count("(no rows)") == len(sqlfiles.files("reports")) - 3
    share = out.split("matched to a known song?")[1].splitlines()
    assert share[4].split() == ["0", "0", "0", "0"]  # plays, matched, known songs played, known songs; no share
    funnel = out.split("go on to pay?")[1].split("\n\n")[0].splitlines()[4:]  # after the rule, header, dashes
    assert [line.split()[-1] for line in funnel] == ["0", "0", "0"]


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
