"""An incremental load gives exactly the star a full rebuild of the same sources gives: every table, every
column, ids included, after every step of random sequences of file arrivals, re-deliveries, changed
files, late song files and tier changes (hypothesis draws them, and shrinks a failure to its smallest)."""

import json
import shutil
from contextlib import closing
from pathlib import Path

import psycopg2
import pytest
from conftest import fresh_database, table_digest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from sparkify_dwh import checks, pipeline, transform
from sparkify_dwh.config import load_settings

pytestmark = pytest.mark.integration

STAR = ("songplays", "users", "songs", "artists", "time", "user_levels", "sessions", "page_events")
DAY = 86_400_000
T0 = 1_541_030_400_000  # 2018-11-01 00:00 UTC
SONGS = [("Halo", "Beyoncé", 261.0), ("Yellow", "Coldplay", 269.0), ("Hurt", "Johnny Cash", 218.5),
         ("Paranoid", "Black Sabbath", 170.1), ("Heavy Soul ", "The Black Keys", 190.2)]
USERS = ["10", "11", "12", "13"]

# --- what can happen to the sources ----------------------------------------------------------------

play = st.fixed_dictionaries({
    "user": st.sampled_from(USERS), "session": st.integers(1, 4), "item": st.integers(0, 3),
    "minute": st.integers(0, 5), "level": st.sampled_from(["free", "paid"]),
    "song": st.integers(0, len(SONGS)),  # len(SONGS): a song the catalogue does not have
    "page": st.sampled_from(["NextSong", "NextSong", "NextSong", "Home"]),
})
new_log = st.tuples(st.just("new_log"), st.integers(0, 3), st.lists(play, min_size=1, max_size=6))
redeliver = st.tuples(st.just("redeliver"), st.integers(0, 10))
change_log = st.tuples(st.just("change_log"), st.integers(0, 10), st.sampled_from(["drop", "level", "add"]), play)
late_song = st.tuples(st.just("song"), st.integers(0, len(SONGS) - 1), st.sampled_from(["A", "B"]))
change_song = st.tuples(st.just("change_song"), st.integers(0, 10), st.floats(100, 300).map(lambda d: round(d, 1)))
STEP = st.one_of(new_log, redeliver, change_log, late_song, change_song)


def event(day: int, p: dict) -> dict:
    title, artist, length = SONGS[p["song"]] if p["song"] < len(SONGS) else ("Unknown", "Nobody", 100.0)
    if artist == "Beyoncé":  # the logs double-encode it ("BeyoncÃ©"): its plays match once repaired
        artist = artist.encode("utf-8").decode("latin-1")
    nextsong = p["page"] == "NextSong"
    return {"artist": artist if nextsong else None, "auth": "Logged In", "firstName": "F" + p["user"],
            "gender": "F", "itemInSession": p["item"], "lastName": "L" + p["user"],
            "length": length if nextsong else None,
            "level": p["level"], "location": "Austin, TX", "method": "PUT", "page": p["page"],
            "registration": 1540919166796.0, "sessionId": p["session"], "song": title if nextsong else None,
            "status": 200, "ts": T0 + day * DAY + p["minute"] * 60_000 + p["item"] * 1000, "userAgent": "UA",
            "userId": p["user"]}


class Sources:
    """A source folder that the steps change, as a user's S3 bucket would."""

    def __init__(self, root: Path):
        self.root = root
        (root / "song_data").mkdir(parents=True)
        (root / "log_data").mkdir(parents=True)
        self.song(0, "A")  # the sources are never empty

    def logs(self) -> list[Path]:
        return sorted((self.root / "log_data").rglob("*.json"))

    def songs(self) -> list[Path]:
        return sorted((self.root / "song_data").rglob("*.json"))

    def song(self, index: int, copy: str, duration: float | None = None) -> None:
        title, artist, length = SONGS[index]
        path = self.root / "song_data" / copy / f"TR{copy}{index}.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"num_songs": 1, "artist_id": f"AR{index}", "artist_latitude": None,
                                    "artist_longitude": None, "artist_location": "", "artist_name": artist,
                                    "song_id": f"SO{index}", "title": title, "duration": duration or length,
                                    "year": 2000 + index}, ensure_ascii=False))

    def apply(self, step) -> None:
        kind = step[0]
        if kind == "new_log":
            _, day, plays = step
            path = self.root / "log_data" / "2018" / "11" / f"2018-11-{day + 1:02d}-events.json"
            if path.exists():  # a second delivery of that day: another file name
                path = path.with_name(f"2018-11-{day + 1:02d}-events-{len(self.logs())}.json")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text("\n".join(json.dumps(event(day, p), ensure_ascii=False) for p in plays) + "\n")
        elif kind == "redeliver" and self.logs():
            source = self.logs()[step[1] % len(self.logs())]
            target = self.root / "log_data" / "resent" / f"{len(self.logs())}-{source.name}"
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target)
        elif kind == "change_log" and self.logs():
            _, n, how, p = step
            path = self.logs()[n % len(self.logs())]
            lines = [json.loads(line) for line in path.read_text().splitlines() if line]
            if how == "drop" and len(lines) > 1:
                lines.pop(p["item"] % len(lines))
            elif how == "level":
                chosen = lines[p["item"] % len(lines)]
                chosen["level"] = "paid" if chosen["level"] == "free" else "free"
            else:
                lines.append(event((lines[0]["ts"] - T0) // DAY, p))
            path.write_text("\n".join(json.dumps(e, ensure_ascii=False) for e in lines) + "\n")
        elif kind == "song":
            self.song(step[1], step[2])  # a song file, maybe after its plays, maybe a second copy
        elif kind == "change_song":
            path = self.songs()[step[1] % len(self.songs())]
            record = json.loads(path.read_text())
            record["duration"] = step[2]
            path.write_text(json.dumps(record, ensure_ascii=False))


def _load(database: str, root: Path, full: bool, monkeypatch) -> pipeline.LoadSummary:
    for key, value in {"DATABASE_URL": database, "SONG_DATA": str(root / "song_data"),
                       "LOG_DATA": str(root / "log_data"), "FULL_REFRESH": "1" if full else "0",
                       "MAX_ERRORS": "0", "WAREHOUSE": "postgres"}.items():
        monkeypatch.setenv(key, value)
    return pipeline.load(load_settings(), quiet=True, say=lambda *_: None)


def _star(database: str) -> tuple[dict, list[str]]:
    """Each star table's digest, and the data checks that fail."""
    with closing(psycopg2.connect(database)) as conn:
        out = {t: table_digest(conn, t) for t in STAR}
        failed = [c.name for c in checks.run(conn) if not c.passed]
    return out, failed


PAID = {"user": "10", "session": 2, "item": 0, "minute": 0, "level": "paid", "song": 1, "page": "NextSong"}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEP, min_size=1, max_size=5))
# a change exactly where a period starts: the play that opened the paid period turns free, or goes
@example(steps=[("new_log", 1, [PAID, dict(PAID, item=1)]), ("change_log", 1, "level", dict(PAID, item=0))])
@example(steps=[("new_log", 1, [PAID]), ("new_log", 2, [dict(PAID, level="free")]),
                ("change_log", 1, "drop", dict(PAID, item=0)), ("change_log", 1, "level", dict(PAID, item=0))])
# a session that goes on in the next day's file, whose first day then changes; a user who never plays
@example(steps=[("new_log", 1, [dict(PAID, session=3, page="Home")]), ("new_log", 2, [dict(PAID, session=3, item=1)]),
                ("change_log", 1, "drop", dict(PAID, item=0)), ("new_log", 3, [dict(PAID, user="13", page="Home")])])
# a late play inside a period, and a re-delivery that changes nothing
@example(steps=[("new_log", 2, [PAID]), ("new_log", 1, [dict(PAID, level="free", minute=3)]), ("redeliver", 0)])
# a play dropped from a file that is delivered again, changed
@example(steps=[("new_log", 1, [PAID, dict(PAID, item=1), dict(PAID, user="11")]), ("change_log", 1, "drop", PAID)])
# a song file that arrives after its plays, then a second copy of it
@example(steps=[("new_log", 1, [dict(PAID, song=2), dict(PAID, item=1, song=3)]), ("song", 2, "A"), ("song", 2, "B")])
def test_an_incremental_star_equals_a_full_rebuild_after_every_step(steps, pg_server, tmp_path_factory, monkeypatch):
    monkeypatch.setenv("ENV_FILE", "/dev/null")
    sources = Sources(tmp_path_factory.mktemp("sources"))
    with fresh_database(pg_server) as incremental, fresh_database(pg_server) as full:
        for step in [("new_log", 0, [{"user": "10", "session": 1, "item": 0, "minute": 0, "level": "free",
                                      "song": 0, "page": "NextSong"}])] + steps:
            sources.apply(step)
            _load(incremental, sources.root, False, monkeypatch)
            star, failed = _star(incremental)
            assert failed == [], (step, failed)
            _load(full, sources.root, True, monkeypatch)
            assert star == _star(full)[0], step


def _rows(database: str, sql: str) -> list[tuple]:
    with closing(psycopg2.connect(database)) as conn, conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


def test_a_song_file_that_arrives_after_its_plays_is_matched_to_them(pg_server, tmp_path, monkeypatch):
    monkeypatch.setenv("ENV_FILE", "/dev/null")
    sources = Sources(tmp_path / "sources")  # the catalogue holds song 0 only
    plays = [dict(PAID, song=2), dict(PAID, item=1, song=0), dict(PAID, item=2, song=3)]
    with fresh_database(pg_server) as database:
        sources.apply(("new_log", 0, plays))
        _load(database, sources.root, False, monkeypatch)
        matched = "SELECT song_id, artist_id FROM songplays ORDER BY start_time"
        assert _rows(database, matched) == [(None, None), ("SO0", "AR0"), (None, None)]
        sources.apply(("song", 2, "A"))  # Hurt, by Johnny Cash, in a later load: the first play is its
        summary = _load(database, sources.root, False, monkeypatch)
        assert _rows(database, matched) == [("SO2", "AR2"), ("SO0", "AR0"), (None, None)]
        # only the play it matches was rebuilt
        assert transform.changes(summary.transform)["songplays"] == (1, 1)


def test_a_day_s_load_onto_a_history_deletes_and_inserts_only_that_day_s_rows(pg_server, tmp_path, monkeypatch):
    monkeypatch.setenv("ENV_FILE", "/dev/null")
    sources = Sources(tmp_path / "sources")
    p = {"session": 1, "minute": 0, "level": "free", "song": 0, "page": "NextSong"}
    with fresh_database(pg_server) as database:
        for day in range(3):  # the history: users 10 and 11 play on three days
            sources.apply(("new_log", day, [dict(p, user="10", item=0, minute=day), dict(p, user="11", item=1)]))
            _load(database, sources.root, False, monkeypatch)
        before = _rows(database, "SELECT COUNT(*) FROM songplays")[0][0]
        # the new day: user 11 again, twice, at two instants; user 12 for the first time; one Home event
        sources.apply(("new_log", 3, [dict(p, user="11", item=0), dict(p, user="11", item=1, minute=1),
                                      dict(p, user="12", item=0, minute=2), dict(p, user="12", item=1, page="Home")]))
        summary = _load(database, sources.root, False, monkeypatch)
        changed = transform.changes(summary.transform)  # (rows inserted, rows deleted) per star table
        assert changed["songplays"] == (3, 0)
        assert changed["time"] == (3, 0)
        assert changed["users"] == (2, 1)  # 11 and 12 written; 11's earlier row replaced
        assert changed["songs"] == (0, 0) and changed["artists"] == (0, 0)
        assert _rows(database, "SELECT COUNT(*) FROM songplays")[0][0] == before + 3 == 9


def test_a_play_removed_from_a_changed_file_leaves_the_star(pg_server, tmp_path, monkeypatch):
    monkeypatch.setenv("ENV_FILE", "/dev/null")
    sources = Sources(tmp_path / "sources")
    plays = [dict(PAID, item=0), dict(PAID, item=1, minute=1), dict(PAID, user="11", item=0, minute=2)]
    with fresh_database(pg_server) as database:
        sources.apply(("new_log", 0, plays))
        _load(database, sources.root, False, monkeypatch)
        played = "SELECT user_id, CAST(start_time AS VARCHAR) FROM songplays ORDER BY start_time"
        assert _rows(database, played) == [("10", "2018-11-01 00:00:00"), ("10", "2018-11-01 00:01:01"),
                                           ("11", "2018-11-01 00:02:00")]
        sources.apply(("change_log", 0, "drop", dict(PAID, item=2)))  # the file again, without user 11's play
        _load(database, sources.root, False, monkeypatch)
        assert _rows(database, played) == [("10", "2018-11-01 00:00:00"), ("10", "2018-11-01 00:01:01")]
        assert _rows(database, "SELECT CAST(start_time AS VARCHAR) FROM time ORDER BY 1") == [
            ("2018-11-01 00:00:00",), ("2018-11-01 00:01:01",)]
        assert _rows(database, "SELECT user_id FROM users") == [("10",)]
        assert _rows(database, "SELECT user_id, level FROM user_levels") == [("10", "paid")]


def _unsummarized(database: str) -> list[int]:
    """Per BRIN index of staging_events, the page ranges it did not summarize (summarizing them to count)."""
    from sparkify_dwh.warehouses.postgres import SUMMARIZE

    with closing(psycopg2.connect(database)) as conn, conn.cursor() as cur:
        cur.execute(SUMMARIZE, ("staging_events",))
        counts = [n for (n,) in cur.fetchall()]
        conn.commit()
    return counts


def test_a_later_load_summarizes_the_ranges_a_first_load_left_to_autovacuum(pg_server, tmp_path, monkeypatch):
    # the first load's transform reads all of staging, so its BRIN summaries would serve nothing of it; a later
    # load's transform finds its rows through them, so that load summarizes every range not summarized yet,
    # whether it brings events (a day) or not (a song file alone)
    monkeypatch.setenv("ENV_FILE", "/dev/null")
    p = {"user": "10", "session": 1, "item": 0, "minute": 0, "level": "free", "song": 0, "page": "NextSong"}
    # a BRIN range is 128 pages (1 MB) and only whole ranges are summarized: the history holds two of them
    history = [dict(p, session=n // 50, item=n % 50, minute=n % 6) for n in range(6000)]
    later = {"first load only": None, "a day": ("new_log", 1, [dict(p, item=1)]), "a song file": ("song", 1, "A")}
    for name, step in later.items():
        sources = Sources(tmp_path / name.replace(" ", "-"))
        with fresh_database(pg_server) as database:
            sources.apply(("new_log", 0, history))
            _load(database, sources.root, False, monkeypatch)
            if step:
                sources.apply(step)
                _load(database, sources.root, False, monkeypatch)
            assert _unsummarized(database) == ([0, 0] if step else [2, 2]), name
