"""--repeat: the median run stands for a contender, and a run that built other tables is caught."""

from sparkify_dwh.bench import Outcome, compare, median_of


def outcome(seconds, rss=50.0, digest="a", contender="load"):
    return Outcome(contender, 1000, seconds, rss, {"users": [3, digest]}, [["stage", seconds]])


def test_the_median_run_stands_for_the_contender_with_every_run_kept():
    merged, problems = median_of([outcome(5.0, 40), outcome(3.0, 70), outcome(4.0, 60)])
    assert problems == [] and merged.seconds == 4.0 and merged.steps == [["stage", 4.0]]
    assert merged.runs == [5.0, 3.0, 4.0] and merged.peak_rss_mb == 70 and merged.spread == "3.00-5.00"
    even, _ = median_of([outcome(2.0), outcome(9.0)])
    assert even.seconds == 2.0  # the lower middle run: an actual run, its steps with it
    assert median_of([outcome(1.0)])[0].spread == ""


def test_a_run_that_built_other_tables_than_the_first_is_a_problem():
    merged, problems = median_of([outcome(5.0), outcome(3.0, digest="b"), outcome(4.0)])
    assert problems == ["load: run 2 of 3 built other tables than run 1"] and merged.equal is False


def test_the_day_alone_is_not_held_to_the_floors_tables():
    floor, alone, load = outcome(1.0, contender="floor"), outcome(1.0, digest="day", contender="day-alone"), \
        outcome(1.0, digest="other")
    assert compare([floor, alone, load]) == ["load: users differs from floor (rows, md5: [3, 'other'] vs [3, 'a'])"]
    assert alone.equal and floor.equal and load.equal is False


def test_the_memory_of_a_process_started_by_the_contender_is_counted_with_its_own():
    import subprocess
    import sys
    import time

    from sparkify_dwh.bench import _TreeMemory, peak_rss_mb

    memory = _TreeMemory(interval=0.02)
    child = subprocess.Popen([sys.executable, "-c", "import time; b = bytearray(120 << 20); time.sleep(1.5)"])
    time.sleep(1.2)
    child.wait()
    tree = memory.stop()
    assert tree > 120 and peak_rss_mb(tree) >= tree  # the child alone held 120 MB
