"""The benchmark runs end to end on a small size, and its equality check catches a planted difference."""

import gzip
import json
import re

from conftest import run_cli

from sparkify_dwh import bench


def test_the_benchmark_runs_and_every_contender_builds_the_same_star(env, tmp_path):
    proc = run_cli("bench", env, "--events", "1500", "--songs", "60", "--data", str(tmp_path / "data"),
                   "--results", str(tmp_path / "results"), "--row-limit", "1000", "--log-mb", "2", "--gzip-mb", "48")
    for contender in bench.CONTENDERS:
        assert f" {contender} " in proc.stdout
    (saved,) = (tmp_path / "results").glob("*.json")
    results = json.loads(saved.read_text())["results"]
    assert {r["contender"] for r in results} == set(bench.CONTENDERS)
    built = [r for r in results if r["digests"] is not None and r["contender"] not in bench.OWN_INPUT]
    assert {r["contender"] for r in built} == {"load", "row", "floor", "duckdb", "increment", "load-s3"}
    assert all(r["equal"] for r in built)
    reference = built[0]["digests"]
    assert reference["songplays"][0] > 0 and reference["songs"][0] == 60
    assert all(r["digests"] == reference for r in built)
    s3_read = next(r for r in results if r["contender"] == "s3-read")
    assert s3_read["digests"] is None and "GETs the 90 objects" in s3_read["note"]
    assert "only reading the same objects = " in proc.stdout
    row = next(r for r in results if r["contender"] == "row")
    assert row["note"].startswith("extrapolated from 1,000 of 1,500 events")
    increment = next(r for r in results if r["contender"] == "increment")
    assert increment["loaded"] == 50 and increment["note"].startswith("the last of 30 daily files")
    assert "the last day's load is " in proc.stdout and "full load / DuckDB = " in proc.stdout
    # the last day alone: every song, the last day's plays only (a star of its own, not the floor's)
    alone = next(r for r in results if r["contender"] == "day-alone")
    assert alone["loaded"] == 50 and alone["equal"] and alone["digests"]["songs"] == reference["songs"]
    assert 0 < alone["digests"]["songplays"][0] < reference["songplays"][0]
    assert "the last day's load / the same day alone = " in proc.stdout
    # Redshift's parts: every record of both sources in gzip parts, uploaded (and removed again)
    parts = next(r for r in results if r["contender"] == "redshift-parts")
    assert parts["digests"] is None and re.match(r"no tables: 1,560 rows in \d+ parts ", parts["note"])
    assert "Redshift's parts (read, parse, compact, gzip, upload) / only reading the same objects = " in proc.stdout
    # the memory contenders: one large file each, loaded whole (every event of it read), memory reported
    big = next(r for r in results if r["contender"] == "big-log")
    assert big["digests"] is None and big["note"].startswith("one log file of 2 MB") and big["loaded"] > 1500
    padded = next(r for r in results if r["contender"] == "gzip-1gb")
    assert re.match(r"one \.json\.gz of 0\.\d MB expanding to 48 MB \(50 events\)$", padded["note"])
    assert padded["loaded"] == 50 and padded["peak_rss_mb"] > 0
    (packed,) = (tmp_path / "data").rglob("*.json.gz")
    with gzip.open(packed) as f:
        assert 47 << 20 < sum(len(chunk) for chunk in iter(lambda: f.read(1 << 20), b"")) <= 48 << 20


def test_repeat_reports_the_median_run_and_the_spread(env, tmp_path):
    proc = run_cli("bench", env, "--events", "600", "--songs", "20", "--only", "floor,day-alone", "--repeat", "3",
                   "--data", str(tmp_path / "data"), "--results", str(tmp_path / "results"))
    (saved,) = (tmp_path / "results").glob("*.json")
    written = json.loads(saved.read_text())
    assert " --repeat 3 " in written["command"] and len(written["load_average"]["before"]) == 3
    for r in written["results"]:
        assert len(r["runs"]) == 3 and r["seconds"] == sorted(r["runs"])[1] and r["equal"]
        spread = f"{min(r['runs']):.2f}-{max(r['runs']):.2f}"
        assert re.search(rf" {r['contender']} +{r['seconds']:.2f} +{spread} ", proc.stdout)
    assert proc.stderr.count("(run 3 of 3)") == 2


def test_a_contender_that_builds_a_different_star_fails_the_run(env, tmp_path):
    proc = run_cli("bench", env, "--events", "800", "--songs", "30", "--only", "load,floor",
                   "--data", str(tmp_path / "data"), "--results", str(tmp_path / "results"),
                   "--plant-difference", "load", check=False)
    assert proc.returncode == 1
    assert "load: users differs from floor" in proc.stderr
    assert not (tmp_path / "results").exists()


def test_the_checksum_reads_a_whole_number_of_seconds_alike_on_postgresql_and_duckdb(database):
    """A song of exactly 247.0 s: PostgreSQL writes it "247", DuckDB "247.0"; the checksum must not care."""
    import duckdb

    from sparkify_dwh import db

    rows = [("a", "Song A", "ar", 2001, 247.0), ("b", "Song B", "ar", 0, 182.42245), ("c", "C", "ar", None, None)]
    duck = duckdb.connect()
    duck.execute("CREATE TABLE songs (song_id VARCHAR, title VARCHAR, artist_id VARCHAR, year INTEGER, "
                 "duration DOUBLE)")
    duck.executemany("INSERT INTO songs VALUES (?, ?, ?, ?, ?)", rows)
    conn = db.connect_url(database)
    with conn.cursor() as cur:
        cur.execute("CREATE TABLE songs (song_id VARCHAR, title VARCHAR, artist_id VARCHAR, year INTEGER, "
                    "duration DOUBLE PRECISION)")
        cur.executemany("INSERT INTO songs VALUES (%s, %s, %s, %s, %s)", rows)
        cur.execute(bench.checksum_sql("songs"))
        on_postgres = cur.fetchone()
    conn.close()
    assert duck.execute(bench.checksum_sql("songs")).fetchone() == on_postgres
