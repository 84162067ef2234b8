"""A Sparkify-like dataset of any size, deterministic from a seed, in the public layout.

song_data/X/Y/Z/TRXYZ....json: one song object per file.
log_data/YYYY/MM/YYYY-MM-DD-events.json: JSON lines, one event each, in time order.

Events follow users through sessions (items numbered in order, timestamps increasing), with
logged-out traffic, free users upgrading and paid users downgrading, a Zipf-like song popularity,
a share of plays that match the catalogue exactly and a share that do not, and names and places
with non-ASCII text. Song `i` and user `u` are pure functions of the seed and their number, so
memory stays flat however large the dataset: only the users' current levels are kept.
"""

from __future__ import annotations

import bisect
import math
import random
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec

_encode = msgspec.json.encode
_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_FIRST = ["Walter", "Kaylee", "Aleena", "Jacob", "Lily", "Chloe", "Tegan", "Jayden", "Björn", "Zoë", "Amélie",
          "José", "Łukasz", "Søren", "Mía", "Anaïs", "Kenji", "Priya", "Olumide", "Ivan", "Noah", "Ava", "Mateo"]
_LAST = ["Frye", "Summers", "Kirby", "Klein", "Koch", "Cuevas", "Levine", "Graves", "Østergaard", "Müller",
         "Nguyễn", "García", "Kowalski", "O'Brien", "Dubois", "Sato", "Iyer", "Adeyemi", "Petrov", "Smith"]
_PLACES = [
    ("San Francisco-Oakland-Hayward, CA", 37.77, -122.42), ("Phoenix-Mesa-Scottsdale, AZ", 33.45, -112.07),
    ("New York-Newark-Jersey City, NY-NJ-PA", 40.71, -74.01), ("Chicago-Naperville-Elgin, IL-IN-WI", 41.88, -87.63),
    ("São Paulo, Brazil", -23.55, -46.63), ("Reykjavík, Iceland", 64.15, -21.94), ("Zürich, Switzerland", 47.37, 8.54),
    ("Kraków, Poland", 50.06, 19.94), ("東京, Japan", 35.68, 139.69), ("Москва, Russia", 55.76, 37.62),
    ("Atlanta-Sandy Springs-Roswell, GA", 33.75, -84.39), ("Lagos, Nigeria", 6.52, 3.38),
]
_AGENTS = [
    '"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_9_4) AppleWebKit/537.36 (KHTML, like Gecko) '
    'Chrome/36.0.1985.143 Safari/537.36"',
    '"Mozilla/5.0 (Windows NT 6.1; WOW64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/35.0.1916.153 Safari/537.36"',
    "Mozilla/5.0 (Windows NT 6.1; WOW64; rv:31.0) Gecko/20100101 Firefox/31.0",
    '"Mozilla/5.0 (iPhone; CPU iPhone OS 7_1_2 like Mac OS X) AppleWebKit/537.51.2 (KHTML, like Gecko) '
    'Version/7.0 Mobile/11D257 Safari/9537.53"',
]
_WORDS = ["Love", "Night", "Heart", "Fire", "Dream", "Rain", "Blue", "Road", "Home", "Light", "Ghost", "Gold",
          "River", "Summer", "Électrique", "Corazón", "Sehnsucht", "Ljós", "夜明け", "Amor", "Wild", "Ocean"]
_OTHER_PAGES = ["Home", "Settings", "Help", "About", "Add to Playlist", "Thumbs Up", "Thumbs Down", "Add Friend"]


def _rng(seed: int, kind: int, number: int) -> random.Random:
    return random.Random(seed * 1_000_003 + kind * 7_919_000_000 + number)


def _code(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(_ALPHABET) for _ in range(n))


@dataclass(frozen=True)
class Song:
    track_id: str
    song_id: str
    title: str
    duration: float
    year: int
    artist_id: str
    artist_name: str
    artist_location: str
    artist_latitude: float | None
    artist_longitude: float | None


def artist(seed: int, number: int) -> tuple[str, str, str, float | None, float | None]:
    rng = _rng(seed, 1, number)
    name = " ".join(rng.sample(_WORDS, rng.randint(1, 2))) + rng.choice(["", " Band", " & The Echoes", " Trio", ""])
    if rng.random() < 0.3:
        name = f"{rng.choice(_FIRST)} {rng.choice(_LAST)}"
    place, lat, lon = rng.choice(_PLACES)
    located = rng.random() < 0.5
    return (
        "AR" + _code(rng, 16),
        name,
        place if rng.random() < 0.6 else "",
        round(lat + rng.uniform(-0.5, 0.5), 5) if located else None,
        round(lon + rng.uniform(-0.5, 0.5), 5) if located else None,
    )


def song(seed: int, number: int, artists: int) -> Song:
    rng = _rng(seed, 2, number)
    artist_id, name, location, lat, lon = artist(seed, rng.randrange(artists))
    title = " ".join(rng.sample(_WORDS, rng.randint(1, 3)))
    if rng.random() < 0.05:
        title += ' (Live "Unplugged") \\ Remix'
    return Song(
        track_id="TR" + _code(rng, 16),
        song_id="SO" + _code(rng, 16),
        title=title,
        duration=round(rng.uniform(90, 480), 5),
        year=0 if rng.random() < 0.3 else rng.randint(1960, 2018),
        artist_id=artist_id,
        artist_name=name,
        artist_location=location,
        artist_latitude=lat,
        artist_longitude=lon,
    )


@dataclass(frozen=True)
class User:
    user_id: str
    first_name: str
    last_name: str
    gender: str
    location: str
    user_agent: str
    registration: float
    paid: bool


def user(seed: int, number: int) -> User:
    rng = _rng(seed, 3, number)
    return User(
        user_id=str(number + 1),
        first_name=rng.choice(_FIRST),
        last_name=rng.choice(_LAST),
        gender=rng.choice("MF"),
        location=rng.choice(_PLACES)[0],
        user_agent=rng.choice(_AGENTS),
        registration=float(1_540_000_000_000 + rng.randrange(0, 5_000_000) * 1000 + 796),
        paid=rng.random() < 0.25,
    )


class _Zipf:
    """Song numbers with a Zipf-like popularity (s = 1.1) over `n` songs, by inverse transform."""

    def __init__(self, n: int, s: float = 1.1, buckets: int = 4096):
        self.n = n
        self.edges = [int(n ** (i / buckets)) for i in range(buckets + 1)]
        weights = [sum(1 / (k + 1) ** s for k in range(lo, max(lo + 1, hi))) if hi - lo < 64
                   else (_hz(hi, s) - _hz(lo, s)) for lo, hi in zip(self.edges, self.edges[1:])]
        total = sum(weights)
        acc, self.cdf = 0.0, []
        for w in weights:
            acc += w
            self.cdf.append(acc / total)

    def __call__(self, rng: random.Random) -> int:
        i = min(bisect.bisect_left(self.cdf, rng.random()), len(self.cdf) - 1)
        lo, hi = self.edges[i], max(self.edges[i] + 1, self.edges[i + 1])
        return min(rng.randrange(lo, hi), self.n - 1)


def _hz(x: int, s: float) -> float:
    return (x ** (1 - s)) / (1 - s) if x > 0 else 0.0


@dataclass
class GenerateResult:
    song_files: int = 0
    log_files: int = 0
    events: int = 0
    plays: int = 0


def generate(
    out: str | Path,
    *,
    events: int = 20_000,
    songs: int = 2_000,
    seed: int = 42,
    match_share: float = 0.6,
    start: datetime = datetime(2018, 11, 1, tzinfo=UTC),
    events_per_day: int | None = None,
    writer=None,
) -> GenerateResult:
    """Write `songs` song files and about `events` events (whole sessions) under `out`: a folder or
    an s3://bucket/prefix. Memory is bounded by one day of events (at most 50,000 by default)."""
    if writer is None:
        writer = S3Writer(str(out)) if str(out).startswith("s3://") else _local_writer(Path(out))
    try:
        return _generate(writer, events, songs, seed, match_share, start, events_per_day)
    finally:
        close = getattr(writer, "close", None)
        if close:
            close()


def _generate(write, events, songs, seed, match_share, start, events_per_day) -> GenerateResult:
    result = GenerateResult()
    artists = max(1, songs * 3 // 4)
    for i in range(songs):
        s = song(seed, i, artists)
        record = {
            "num_songs": 1, "artist_id": s.artist_id, "artist_latitude": s.artist_latitude,
            "artist_longitude": s.artist_longitude, "artist_location": s.artist_location,
            "artist_name": s.artist_name, "song_id": s.song_id, "title": s.title,
            "duration": s.duration, "year": s.year,
        }
        tid = s.track_id
        write(f"song_data/{tid[2]}/{tid[3]}/{tid[4]}/{tid}.json", _encode(record))
        result.song_files += 1

    users = max(20, min(10_000, events // 80))
    levels = {}
    per_day = events_per_day or max(500, min(50_000, events // 30 or 1))
    days = max(1, math.ceil(events / per_day))
    pick_song = _Zipf(max(1, songs))
    session_id = 0
    for day in range(days):
        rng = _rng(seed, 4, day)
        date = start + timedelta(days=day)
        day_ms = int(date.timestamp() * 1000)
        target = min(per_day, events - result.events)
        lines: list[tuple[int, int, bytes]] = []
        produced = 0
        while produced < target:
            session_id += 1
            made = _session(seed, rng, session_id, day_ms, users, levels, songs, artists, pick_song,
                            match_share, min(target - produced, rng.randint(3, 60)), lines)
            produced += made[0]
            result.plays += made[1]
        lines.sort(key=lambda t: (t[0], t[1]))
        path = f"log_data/{date:%Y}/{date:%m}/{date:%Y-%m-%d}-events.json"
        write(path, b"\n".join(line for _, _, line in lines) + b"\n")
        result.log_files += 1
        result.events += produced
    return result


def _session(seed, rng, session_id, day_ms, users, levels, songs, artists, pick_song, match_share, size, lines):
    logged_in = rng.random() > 0.04
    number = rng.randrange(users)
    u = user(seed, number)
    level = levels.get(number, "paid" if u.paid else "free")
    ts = day_ms + rng.randrange(0, 86_000_000)
    plays = 0
    for item in range(size):
        if not logged_in:
            page = rng.choice(["Home", "Login", "Home", "Help"])
            event = _event(None, "Logged Out", "", level, None, item, page, session_id, ts, u)
            ts += rng.randrange(1_000, 30_000)
        else:
            roll = rng.random()
            if roll < 0.80 and songs:
                length = None
                if rng.random() < match_share:
                    s = song(seed, pick_song(rng), artists)
                    title, name, length = s.title, s.artist_name, s.duration
                else:
                    title = " ".join(rng.sample(_WORDS, 2)) + " " + _code(rng, 3).title()
                    name = artist(seed, rng.randrange(artists * 4))[1]
                    length = round(rng.uniform(90, 480), 5)
                event = _event((title, name, length), "Logged In", u.user_id, level, u, item, "NextSong",
                               session_id, ts, u)
                plays += 1
                ts += int(length * 1000) if length else 200_000
            elif roll < 0.81:
                level = "free" if level == "paid" else "paid"
                page = "Submit Upgrade" if level == "paid" else "Submit Downgrade"
                event = _event(None, "Logged In", u.user_id, level, u, item, page, session_id, ts, u)
            else:
                page = rng.choice(_OTHER_PAGES)
                event = _event(None, "Logged In", u.user_id, level, u, item, page, session_id, ts, u)
                ts += rng.randrange(1_000, 30_000)
        lines.append((event["ts"], item, _encode(event)))
    levels[number] = level
    return size, plays


def _event(play, auth, user_id, level, u, item, page, session_id, ts, who):
    artist_name, song_title, length = (play[1], play[0], play[2]) if play else (None, None, None)
    known = u is not None
    return {
        "artist": artist_name, "auth": auth, "firstName": who.first_name if known else None,
        "gender": who.gender if known else None, "itemInSession": item,
        "lastName": who.last_name if known else None, "length": length, "level": level,
        "location": who.location if known else None, "method": "PUT" if page == "NextSong" else "GET",
        "page": page, "registration": who.registration if known else None, "sessionId": session_id,
        "song": song_title, "status": 200 if page != "Submit Upgrade" else 307, "ts": ts,
        "userAgent": who.user_agent if known else None, "userId": user_id,
    }


def _local_writer(root: Path):
    def write(relative: str, data: bytes) -> None:
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    return write


class S3Writer:
    """Writes each file under s3://bucket/prefix/, `workers` uploads at a time; close() waits for
    them and raises the first failure. At most twice `workers` files wait in memory."""

    def __init__(self, uri: str, client=None, workers: int = 16):
        from . import sources

        self.bucket, prefix = sources.split_s3(uri)
        self.prefix = prefix.rstrip("/") + "/" if prefix.strip("/") else ""
        self.client = client or sources.s3_client()
        self.pool = ThreadPoolExecutor(max_workers=workers)
        self.slots = threading.BoundedSemaphore(workers * 2)
        self.errors: list[BaseException] = []

    def __call__(self, relative: str, data: bytes) -> None:
        if self.errors:
            raise self.errors[0]
        self.slots.acquire()
        self.pool.submit(self._put, self.prefix + relative, data)

    def _put(self, key: str, data: bytes) -> None:
        try:
            self.client.put_object(Bucket=self.bucket, Key=key, Body=data)
        except BaseException as err:  # reported by close(), never lost
            self.errors.append(err)
        finally:
            self.slots.release()

    def close(self) -> None:
        self.pool.shutdown(wait=True)
        if self.errors:
            raise self.errors[0]
