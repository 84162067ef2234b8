"""Each transform on a small hand-made input, with the exact rows expected out."""

import datetime as dt
import hashlib
import json

import pytest
from conftest import run_cli

pytestmark = pytest.mark.integration

T0 = 1541105830796  # 2018-11-01 20:57:10.796 UTC, a Thursday of ISO week 44
UA = '"Mozilla/5.0 (X11; Linux x86_64)"'
AGENT = ("Mozilla/5.0 (X11; Linux x86_64)", "Other", "Linux", "Other")  # unquoted; browser, os, device
PLACE = ("Austin, TX", "Austin", "TX")  # location, metro, state
MOJIBAKE = "Représente".encode().decode("latin-1").encode().decode("latin-1")  # "ReprÃ\x83Â©sente"


def event(ts, user_id, page="NextSong", level="free", song=None, artist=None, length=None, session=5, item=0,
          first="Ann", last="Lee", auth="Logged In"):
    return {"artist": artist, "auth": auth, "firstName": first if user_id else None, "gender": "F",
            "itemInSession": item, "lastName": last if user_id else None, "length": length, "level": level,
            "location": "Austin, TX", "method": "PUT", "page": page, "registration": 1540919166796.0,
            "sessionId": session, "song": song, "status": 200, "ts": ts, "userAgent": UA, "userId": user_id}


def song(song_id, title, artist_id, artist_name, duration, year=2008, location="", lat=None, lon=None):
    return {"num_songs": 1, "artist_id": artist_id, "artist_latitude": lat, "artist_longitude": lon,
            "artist_location": location, "artist_name": artist_name, "song_id": song_id, "title": title,
            "duration": duration, "year": year}


def write_dataset(root, songs, events):
    for relative, record in songs.items():
        path = root / "song_data" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    path = root / "log_data" / "2018" / "11" / "2018-11-01-events.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(json.dumps(e, ensure_ascii=False) for e in events) + "\n", encoding="utf-8")


def rows(conn, sql):
    with conn.cursor() as cur:
        cur.execute(sql)
        return cur.fetchall()


@pytest.fixture
def loaded(tmp_path, env, conn):
    songs = {
        "A/A/A/TRAAA1.json": song("SOHALO", "Halo", "ARBEY", "Beyoncé", 261.0, location="Houston, TX",
                                  lat=29.76, lon=-95.37),
        # the same song id again, read later: the first one read wins
        "A/A/B/TRAAB1.json": song("SOHALO", "Halo (copy)", "ARBEY", "Beyoncé", 261.0),
        "B/B/B/TRBBB1.json": song("SOYELL", "Yellow", "ARCOLD", "Coldplay", 269.0, year=0),
        "C/C/C/TRCCC1.json": song("SOREPR", "Représente", "ARALLI", "Alliance Ethnik", 240.5),
    }
    events = [
        event(T0, "10", song="Halo", artist="Beyoncé", length=261.0, item=0),
        # the user upgrades: later plays are paid; this song matches nothing in the catalogue
        event(T0 + 1000, "10", level="paid", song="Unknown", artist="Nobody", length=100.0, item=1),
        # another user plays in the very same millisecond
        event(T0 + 1000, "11", song="Yellow", artist="Coldplay", length=269.0, session=6, item=0,
              first="Bo", last="Ng"),
        # logged-out traffic is never a play, even on a NextSong page
        event(T0 + 2000, "", page="Home", auth="Logged Out", session=7),
        event(T0 + 3000, "", song="Yellow", artist="Coldplay", length=269.0, auth="Logged Out", session=7, item=1),
        # a later non-play event does not change the user's level
        event(T0 + 4000, "10", page="Home", level="free", item=2),
        # the logs write the title double-encoded (UTF-8 read as Latin-1, twice): the repaired text matches
        event(T0 + 5000, "11", song=MOJIBAKE, artist="Alliance Ethnik", length=240.5, session=6, item=1,
              first="Bo", last="Ng"),
        # a logged-in user who never plays: sessions and page events, no users row
        event(T0 + 6000, "12", page="Home", session=8, first="Cy", last="Oz"),
    ]
    write_dataset(tmp_path / "in", songs, events)
    env.update(SONG_DATA=str(tmp_path / "in" / "song_data"), LOG_DATA=str(tmp_path / "in" / "log_data"))
    run_cli("load", env)
    return conn


def ts(offset_ms):
    return dt.datetime(2018, 11, 1, 20, 57, 10, 796000) + dt.timedelta(milliseconds=offset_ms)


def play_id(user_id, session, item, offset_ms):
    """songplay_id: the MD5 of the play's key, as the transform derives it."""
    return hashlib.md5(f"{user_id}|{session}|{item}|{T0 + offset_ms}".encode()).hexdigest()


def test_songplays_are_keyed_by_the_play_itself(loaded):
    columns = ("songplay_id, start_time, user_id, level, song_id, artist_id, session_id, location, user_agent, "
               "song_title, artist_name, song_length, metro, state, browser, os, device")
    where, agent = PLACE[1:], AGENT[1:]
    assert rows(loaded, f"SELECT {columns} FROM songplays ORDER BY start_time, user_id") == [
        (play_id("10", 5, 0, 0), ts(0), "10", "free", "SOHALO", "ARBEY", 5, "Austin, TX", AGENT[0], "Halo", "Beyoncé",
         261.0, *where, *agent),
        (play_id("10", 5, 1, 1000), ts(1000), "10", "paid", None, None, 5, "Austin, TX", AGENT[0], "Unknown",
         "Nobody", 100.0, *where, *agent),
        (play_id("11", 6, 0, 1000), ts(1000), "11", "free", "SOYELL", "ARCOLD", 6, "Austin, TX", AGENT[0], "Yellow",
         "Coldplay", 269.0, *where, *agent),
        (play_id("11", 6, 1, 5000), ts(5000), "11", "free", "SOREPR", "ARALLI", 6, "Austin, TX", AGENT[0],
         "Représente", "Alliance Ethnik", 240.5, *where, *agent),
    ]


def test_a_title_the_logs_double_encode_is_repaired_and_matches_its_song(loaded):
    assert rows(loaded, "SELECT song FROM staging_events WHERE item_in_session = 1 AND user_id = '11'") == [
        (MOJIBAKE,)]  # staging keeps the source's value
    assert rows(loaded, "SELECT song_title, song_id FROM songplays WHERE song_id = 'SOREPR'") == [
        ("Représente", "SOREPR")]
    assert rows(loaded, "SELECT original, repaired FROM text_repairs") == [(MOJIBAKE, "Représente")]


def test_page_events_hold_every_event_of_a_logged_in_user(loaded):
    def event_id(user_id, session, item, offset_ms, page):
        return hashlib.md5(f"{user_id}|{session}|{item}|{T0 + offset_ms}|{page}".encode()).hexdigest()

    assert rows(loaded, "SELECT * FROM page_events ORDER BY start_time, user_id, page") == [
        (event_id("10", 5, 0, 0, "NextSong"), ts(0), "10", 5, 0, "NextSong", "free", 200, "PUT"),
        (event_id("10", 5, 1, 1000, "NextSong"), ts(1000), "10", 5, 1, "NextSong", "paid", 200, "PUT"),
        (event_id("11", 6, 0, 1000, "NextSong"), ts(1000), "11", 6, 0, "NextSong", "free", 200, "PUT"),
        (event_id("10", 5, 2, 4000, "Home"), ts(4000), "10", 5, 2, "Home", "free", 200, "PUT"),
        (event_id("11", 6, 1, 5000, "NextSong"), ts(5000), "11", 6, 1, "NextSong", "free", 200, "PUT"),
        (event_id("12", 8, 0, 6000, "Home"), ts(6000), "12", 8, 0, "Home", "free", 200, "PUT"),
    ]


def test_sessions_hold_each_session_of_a_logged_in_user(loaded):
    where, agent = PLACE, AGENT
    assert rows(loaded, "SELECT * FROM sessions ORDER BY user_id, session_id") == [
        ("10", 5, ts(0), ts(4000), 4, 3, 2, "free", "free", *where, *agent),
        ("11", 6, ts(1000), ts(5000), 4, 2, 2, "free", "free", *where, *agent),
        ("12", 8, ts(6000), ts(6000), 0, 1, 0, "free", "free", *where, *agent),
    ]
    # user 12 never played: sessions and page events, but no users row, and the checks allow it
    assert rows(loaded, "SELECT COUNT(*) FROM users WHERE user_id = '12'") == [(0,)]


def test_user_levels_hold_each_period_on_a_level(loaded):
    assert rows(loaded, "SELECT * FROM user_levels ORDER BY user_id, valid_from") == [
        ("10", "free", ts(0), ts(1000)),
        ("10", "paid", ts(1000), None),
        ("11", "free", ts(1000), None),
    ]


def test_users_carry_the_level_of_their_latest_play(loaded):
    registered = dt.datetime(2018, 10, 30, 17, 6, 6, 796000)  # 1540919166796 ms
    assert rows(loaded, "SELECT * FROM users ORDER BY user_id") == [
        ("10", "Ann", "Lee", "F", "paid", registered, ts(0), ts(1000)),
        ("11", "Bo", "Ng", "F", "free", registered, ts(1000), ts(5000)),
    ]


def test_songs_one_row_per_id_first_read_wins(loaded):
    assert rows(loaded, "SELECT * FROM songs ORDER BY song_id") == [
        ("SOHALO", "Halo", "ARBEY", 2008, 261.0),
        ("SOREPR", "Représente", "ARALLI", 2008, 240.5),
        ("SOYELL", "Yellow", "ARCOLD", None, 269.0),
    ]


def test_artists_prefer_the_record_with_a_place(loaded):
    assert rows(loaded, "SELECT * FROM artists ORDER BY artist_id") == [
        ("ARALLI", "Alliance Ethnik", None, None, None),
        ("ARBEY", "Beyoncé", "Houston, TX", 29.76, -95.37),
        ("ARCOLD", "Coldplay", None, None, None),
    ]


def test_time_one_row_per_distinct_start_time(loaded):
    assert rows(loaded, "SELECT * FROM time ORDER BY start_time") == [
        (ts(0), 20, 1, 44, 11, 2018, 4),
        (ts(1000), 20, 1, 44, 11, 2018, 4),
        (ts(5000), 20, 1, 44, 11, 2018, 4),
    ]


def test_staging_keeps_every_record_and_field(loaded):
    assert rows(loaded, "SELECT COUNT(*) FROM staging_events") == [(8,)]
    assert rows(loaded, "SELECT COUNT(*) FROM staging_songs") == [(4,)]
    # an empty string stays empty in staging; NULL stays NULL
    assert rows(loaded, "SELECT artist_location, artist_latitude FROM staging_songs WHERE song_id = 'SOYELL'") == [
        ("", None)
    ]
    assert rows(loaded, "SELECT user_id, first_name FROM staging_events WHERE page = 'Home' ORDER BY ts") == [
        ("", None), ("10", "Ann"), ("12", "Cy")
    ]
    assert rows(loaded, "SELECT DISTINCT user_agent FROM staging_events") == [(UA,)]  # with its quotes


def load_logs(root, env, songs, logs):
    """Write song files and several log files ({path under log_data: events}), then load them."""
    for relative, record in songs.items():
        path = root / "song_data" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")
    for relative, events in logs.items():
        path = root / "log_data" / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("".join(json.dumps(e, ensure_ascii=False) + "\n" for e in events), encoding="utf-8")
    env.update(SONG_DATA=str(root / "song_data"), LOG_DATA=str(root / "log_data"))
    return run_cli("load", env)


HALO = {"A/A/A/TRAAA1.json": song("SOHALO", "Halo", "ARBEY", "Beyoncé", 261.0)}


@pytest.mark.parametrize("arrival", ["together", "first copy first", "first copy last"])
def test_a_play_delivered_twice_takes_level_and_location_from_the_copy_read_first(arrival, tmp_path, env, conn):
    # the same play (user, session, item, ts) in two files that disagree on level and location: the copy in
    # the file that sorts first (log_data/2018/... before log_data/resent/...) gives them, in whatever
    # order the files arrive
    first = event(T0, "10", song="Halo", artist="Beyoncé", length=261.0)
    again = dict(first, level="paid", location="Boston, MA")
    files = {"2018/11/2018-11-01-events.json": [first], "resent/2018-11-01-events.json": [again]}
    order = {"together": [files], "first copy first": [dict(list(files.items())[:1]), files],
             "first copy last": [dict(list(files.items())[1:]), files]}[arrival]
    written = set()
    for logs in order:  # each load: the files that arrived since the last
        load_logs(tmp_path / "in", env, HALO, {k: v for k, v in logs.items() if k not in written})
        written |= set(logs)
    assert rows(conn, "SELECT songplay_id, start_time, user_id, level, song_id, artist_id, session_id, location, "
                      "user_agent, metro, state FROM songplays") == [
        (play_id("10", 5, 0, 0), ts(0), "10", "free", "SOHALO", "ARBEY", 5, "Austin, TX", UA.strip('"'),
         "Austin", "TX")]
    assert rows(conn, "SELECT user_id, level FROM users") == [("10", "free")]
    assert rows(conn, "SELECT * FROM user_levels") == [("10", "free", ts(0), None)]


def test_artists_take_coordinates_then_a_location_whatever_record_is_read_first(tmp_path, env, conn):
    songs = {
        # ARPLACE: the record read first has a location but no coordinates; the later one has both
        "A/A/A/TRAAA1.json": song("SO1", "One", "ARPLACE", "Placed", 100.0, location="Paris"),
        "B/B/B/TRBBB1.json": song("SO2", "Two", "ARPLACE", "Placed", 101.0, location="Lyon", lat=45.76, lon=4.84),
        # ARTOWN: neither has coordinates; the later one has a location
        "A/A/B/TRAAB1.json": song("SO3", "Three", "ARTOWN", "Towned", 102.0),
        "B/B/C/TRBBC1.json": song("SO4", "Four", "ARTOWN", "Towned", 103.0, location="Oslo"),
        # ARNONE: nothing anywhere; the record read first names the artist
        "A/A/C/TRAAC1.json": song("SO5", "Five", "ARNONE", "First name", 104.0),
        "B/B/D/TRBBD1.json": song("SO6", "Six", "ARNONE", "Later name", 105.0),
    }
    load_logs(tmp_path / "in", env, songs, {"2018/11/2018-11-01-events.json": [event(T0, "10")]})
    assert rows(conn, "SELECT * FROM artists ORDER BY artist_id") == [
        ("ARNONE", "First name", None, None, None),
        ("ARPLACE", "Placed", "Lyon", 45.76, 4.84),
        ("ARTOWN", "Towned", "Oslo", None, None),
    ]


DAY = 86_400_000


def test_time_numbers_weekdays_from_sunday_and_weeks_as_iso(tmp_path, env, conn):
    # T0 is a Thursday; the plays fall on a Saturday, a Sunday, a Monday and on Monday 31 December 2018,
    # which is in ISO week 1 (of 2019)
    offsets = [2 * DAY, 3 * DAY, 4 * DAY, 60 * DAY]
    plays = [event(T0 + offset, "10", item=n) for n, offset in enumerate(offsets)]
    load_logs(tmp_path / "in", env, HALO, {"2018/11/2018-11-01-events.json": plays})
    assert rows(conn, "SELECT * FROM time ORDER BY start_time") == [
        (ts(2 * DAY), 20, 3, 44, 11, 2018, 6),
        (ts(3 * DAY), 20, 4, 44, 11, 2018, 0),
        (ts(4 * DAY), 20, 5, 45, 11, 2018, 1),
        (ts(60 * DAY), 20, 31, 1, 12, 2018, 1),
    ]


def test_the_funnel_and_the_way_out_on_planted_events(tmp_path, env, conn):
    from sparkify_dwh import report

    song = {"song": "Halo", "artist": "Beyoncé", "length": 261.0}
    events = [
        # user 20: free, visits Upgrade, submits, plays as paid; later downgrades, cancels, and is gone
        event(T0, "20", page="Upgrade", item=0),
        event(T0 + 1000, "20", page="Submit Upgrade", item=1),
        event(T0 + 2000, "20", level="paid", item=2, **song),
        event(T0 + 3000, "20", page="Downgrade", level="paid", item=3),
        event(T0 + 4000, "20", page="Submit Downgrade", level="paid", item=4),
        event(T0 + 5000, "20", page="Cancel", item=5),
        event(T0 + 6000, "20", page="Cancellation Confirmation", item=6),
        # user 21: visits Upgrade twice but never submits; visits Downgrade (as the sample's users do)
        event(T0 + 1000, "21", page="Upgrade", session=9, item=0),
        event(T0 + 2000, "21", page="Upgrade", session=9, item=1),
        event(T0 + 3000, "21", session=9, item=2, **song),
        # user 22: submits an upgrade without visiting Upgrade first: not in the funnel
        event(T0 + 1000, "22", page="Submit Upgrade", session=10, item=0),
        event(T0 + 2000, "22", level="paid", session=10, item=1, **song),
    ]
    write_dataset(tmp_path / "in", {"A/A/A/TRAAA1.json": song_record()}, events)
    env.update(SONG_DATA=str(tmp_path / "in" / "song_data"), LOG_DATA=str(tmp_path / "in" / "log_data"))
    run_cli("load", env)
    answers = {a.name: a.rows for a in report.run(conn)}
    assert answers["upgrade_funnel"] == ((1, "visited Upgrade while free", 2), (2, "then submitted an upgrade", 1),
                                         (3, "then played as paid", 1))
    assert answers["downgrades_and_churn"] == ((1, "Downgrade", 1, 1, 0), (2, "Submit Downgrade", 1, 1, 0),
                                               (3, "Cancel", 1, 1, 0), (4, "Cancellation Confirmation", 1, 1, 0))
    assert "0 failed" in run_cli("verify", env).stdout


def song_record():
    return song("SOHALO", "Halo", "ARBEY", "Beyoncé", 261.0)
