"""The benchmark runs end to end on a small size, and its equality check catches a planted difference."""

import json

from conftest import run_cli

from sparkify_dwh import bench


def test_the_benchmark_runs_and_every_contender_builds_the_same_star(env, tmp_path):
    proc = run_cli("bench", env, "--events", "1500", "--songs", "60", "--data", str(tmp_path / "data"),
                   "--results", str(tmp_path / "results"), "--row-limit", "1000")
    for contender in bench.CONTENDERS:
        assert f" {contender} " in proc.stdout
    (saved,) = (tmp_path / "results").glob("*.json")
    results = json.loads(saved.read_text())["results"]
    assert {r["contender"] for r in results} == set(bench.CONTENDERS)
    built = [r for r in results if r["contender"] != "s3-read"]
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


def test_a_contender_that_builds_a_different_star_fails_the_run(env, tmp_path):
    proc = run_cli("bench", env, "--events", "800", "--songs", "30", "--only", "load,floor",
                   "--data", str(tmp_path / "data"), "--results", str(tmp_path / "results"),
                   "--plant-difference", "load", check=False)
    assert proc.returncode == 1
    assert "load: users differs from floor" in proc.stderr
    assert not (tmp_path / "results").exists()
