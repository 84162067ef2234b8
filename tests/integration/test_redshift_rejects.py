"""Rows Redshift's COPY refuses, traced back to their source file and line when a part holds several files.

Three log files go into two parts (a cluster of two slices), so one part holds two files; the refused row is
in the second file of its part, after a blank line and a line the parser rejects, so that its line in the
part, its line in the file and the part's first file all differ. The expected file, line and counts are
written out by hand from the files below.
"""

import json

import pytest
from conftest import GOOD_EVENT
from test_redshift_load import rejects_of, rig  # noqa: F401 - rig is a fixture

from sparkify_dwh.warehouses.redshift import parts

pytestmark = pytest.mark.integration

REFUSED_AGENT = "an agent Redshift refuses"


def line(n: int, **changes) -> str:
    return json.dumps(dict(GOOD_EVENT, ts=GOOD_EVENT["ts"] + n, itemInSession=n, **changes))


@pytest.fixture
def three_days(tmp_path):
    root = tmp_path / "three"
    logs = root / "log_data" / "2018" / "11"
    logs.mkdir(parents=True)
    (logs / "2018-11-01-events.json").write_text("".join(line(n) + "\n" for n in range(5)))
    (logs / "2018-11-02-events.json").write_text("".join(line(10 + n) + "\n" for n in range(6)))
    (logs / "2018-11-03-events.json").write_text("\n".join([
        line(20),  # 1
        "",  # 2: blank, no record
        '{"ts": 1541105830796, "userId": "10"',  # 3: cut off, the parser rejects it
        line(21, userAgent=REFUSED_AGENT),  # 4: Redshift's COPY refuses it
        line(22),  # 5
    ]) + "\n")
    songs = root / "song_data" / "A" / "B" / "C"
    songs.mkdir(parents=True)
    (songs / "TRABC1.json").write_text(json.dumps({
        "num_songs": 1, "artist_id": "AR1", "artist_latitude": None, "artist_longitude": None,
        "artist_location": "", "artist_name": "Elena", "song_id": "SO1", "title": "Setanta matins",
        "duration": 269.58322, "year": 0}))
    return root


def test_a_refused_row_is_traced_to_its_own_file_and_line_when_its_part_holds_two_files(rig, three_days, conn,  # noqa: F811
                                                                                        monkeypatch):
    compacted = []
    real_compact = parts.compact

    def compact(*args, **kwargs):
        compacted.append(real_compact(*args, **kwargs))
        return compacted[-1]

    monkeypatch.setattr(parts, "compact", compact)
    rig.hooks["refuse"] = lambda table, row: ("user_agent", 1204, "String length exceeds DDL length") if (
        table == "staging_events" and row["user_agent"] == REFUSED_AGENT) else None
    summary = rig.load(three_days, MAX_ERRORS="2")

    day3 = str(three_days / "log_data" / "2018" / "11" / "2018-11-03-events.json")
    # what the fixture is for: the refused row's part holds another file before it, at other line numbers
    (events,) = [c for c in compacted if c.kind == "events"]
    (part,) = [p for p in events.parts if any(events.files[i].file.uri == day3 for i in p.origin_file)]
    at = [n for n, i in enumerate(part.origin_file) if events.files[i].file.uri == day3]
    assert events.files[part.origin_file[0]].file.uri != day3 and at[0] > 0
    assert [part.origin_line[n] for n in at] == [1, 4, 5] and at[1] + 1 != 4

    rejected = [(source, number, reason.split(":")[0]) for source, number, reason in rejects_of(conn)]
    assert rejected == [(day3, 3, "malformed JSON"), (day3, 4, "rejected by COPY")]
    with conn.cursor() as cur:
        cur.execute("SELECT source_file, records_read, rows_staged, records_rejected FROM load_files "
                    "WHERE kind = 'events' ORDER BY 1")
        assert [(f.rsplit("/", 1)[1], read, staged, refused) for f, read, staged, refused in cur.fetchall()] == [
            ("2018-11-01-events.json", 5, 5, 0), ("2018-11-02-events.json", 6, 6, 0),
            ("2018-11-03-events.json", 4, 2, 2)]
        cur.execute("SELECT source_line FROM staging_events WHERE source_file = %s ORDER BY 1", (day3,))
        assert cur.fetchall() == [(1,), (5,)]
    conn.rollback()
    assert summary.rejected == 2
