"""The generator: deterministic, in the public layout, with the features the load must handle."""

import json

from sparkify_dwh.generate import generate


def test_same_seed_same_bytes_and_the_public_layout(tmp_path):
    a = generate(tmp_path / "a", events=800, songs=30, seed=5)
    generate(tmp_path / "b", events=800, songs=30, seed=5)
    files_a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*.json"))
    files_b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*.json"))
    assert files_a == files_b and len(files_a) == a.song_files + a.log_files
    assert all((tmp_path / "a" / f).read_bytes() == (tmp_path / "b" / f).read_bytes() for f in files_a)
    song = next(f for f in files_a if f.parts[0] == "song_data")
    assert len(song.parts) == 5 and song.name.startswith("TR") and song.name[2:5] == "".join(song.parts[1:4])
    log = next(f for f in files_a if f.parts[0] == "log_data")
    assert log.parts[1:3] == ("2018", "11") and log.name.endswith("-events.json")


def test_events_follow_sessions_and_include_logged_out_traffic(tmp_path):
    result = generate(tmp_path, events=3000, songs=50, seed=1)
    events = [json.loads(line) for f in sorted(tmp_path.rglob("*-events.json")) for line in f.read_text().splitlines()]
    assert len(events) == result.events
    assert any(e["userId"] == "" and e["auth"] == "Logged Out" for e in events)
    assert sum(1 for e in events if e["page"] == "NextSong" and e["userId"]) == result.plays
    sessions = {}
    for e in events:
        sessions.setdefault(e["sessionId"], []).append(e)
    for items in sessions.values():
        assert [e["itemInSession"] for e in items] == sorted(e["itemInSession"] for e in items)
        assert [e["ts"] for e in items] == sorted(e["ts"] for e in items)
