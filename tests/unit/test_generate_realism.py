"""The generated data has the shape of Sparkify's: popular songs, plays that match and plays that do
not, users changing tier, non-ASCII text, time order; and its memory does not grow with its size."""

import json
import tracemalloc
from collections import Counter

import pytest

from sparkify_dwh.generate import generate


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("realism")
    result = generate(root, events=12_000, songs=400, seed=11, match_share=0.6)
    songs = [json.loads(p.read_bytes()) for p in sorted((root / "song_data").rglob("*.json"))]
    logs = sorted((root / "log_data").rglob("*.json"))
    events = [json.loads(line) for p in logs for line in p.read_bytes().splitlines()]
    return result, songs, logs, events


def test_a_share_of_plays_match_the_catalogue_and_the_rest_do_not(dataset):
    result, songs, _, events = dataset
    catalogue = {(s["title"], s["artist_name"], s["duration"]) for s in songs}
    plays = [e for e in events if e["page"] == "NextSong" and e["userId"]]
    matched = sum((e["song"], e["artist"], e["length"]) in catalogue for e in plays)
    assert len(plays) == result.plays
    assert 0.55 < matched / len(plays) < 0.65


def test_song_popularity_is_zipf_like(dataset):
    _, songs, _, events = dataset
    by_key = {(s["title"], s["artist_name"], s["duration"]): s["song_id"] for s in songs}
    counts = Counter(by_key[k] for e in events if (k := (e["song"], e["artist"], e["length"])) in by_key)
    ranked = [n for _, n in counts.most_common()]
    top = sum(ranked[: len(songs) // 100 or 1])
    assert top > 0.1 * sum(ranked)  # the top 1% of songs take over a tenth of the plays
    assert ranked[0] > 5 * ranked[len(ranked) // 2]


def test_free_users_upgrade_and_paid_users_downgrade(dataset):
    events = dataset[3]
    pages = Counter(e["page"] for e in events)
    assert pages["Submit Upgrade"] > 0 and pages["Submit Downgrade"] > 0
    levels: dict[str, set] = {}
    for e in events:
        if e["userId"]:
            levels.setdefault(e["userId"], set()).add(e["level"])
    assert sum(1 for seen in levels.values() if seen == {"free", "paid"}) > 0


def test_names_and_places_hold_non_ascii_text(dataset):
    _, songs, _, events = dataset
    text = [e["firstName"] or "" for e in events] + [e["lastName"] or "" for e in events]
    text += [e["location"] or "" for e in events] + [s["artist_name"] + s["title"] for s in songs]
    assert any(not t.isascii() for t in text)
    assert sum(not t.isascii() for t in text) < len(text) / 2


def test_each_log_file_is_one_day_in_time_order(dataset):
    logs = dataset[2]
    for path in logs:
        stamps = [json.loads(line)["ts"] for line in path.read_bytes().splitlines()]
        assert stamps == sorted(stamps)
        assert path.name.startswith("2018-11-")


def test_memory_is_bounded_by_one_day_not_by_the_size(tmp_path):
    def peak(events: int) -> int:
        written = []
        tracemalloc.start()
        generate(tmp_path, events=events, songs=50, seed=2, events_per_day=1000,
                 writer=lambda path, data: written.append(len(data)))
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        return peak

    small, large = peak(2_000), peak(10_000)
    assert large < 1.5 * small
