#!/usr/bin/env python3
"""Mutation run over the load path: each mutant of tests/mutants.toml applied alone to a scratch copy of the
tree, and only the tests that cover it run there. A mutant is killed when a test fails, and survives when
every test passes with the bug in place.

examples:
  make mutants                             every mutant, one after another
  make mutants MUTANTS=B2,B3               just these
  .venv/bin/python tests/mutants.py --list the mutants and their tests, nothing run

Prints each mutant with "killed" (and the first test that caught it) or "survived", then the score and the
time taken. Exits 1 when a mutant survives that is not listed as equivalent (with its reason), or when a
mutant's tests pass the time cap or cannot run; 2 when the list no longer fits the code or the tests fail
on the code as it is (the baseline), so that no result is read from a broken run.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LIST = ROOT / "tests" / "mutants.toml"
SAMPLE = ROOT.parent / "shared" / "data" / "sparkify"
GRACE = 30  # seconds a timed-out pytest gets to stop its servers before it is killed
_FAILED = re.compile(r"^(FAILED|ERROR) (\S+)", re.M)


@dataclass
class Mutant:
    id: str
    title: str
    file: str
    pattern: str
    replacement: str
    tests: list[str]
    timeout: float
    equivalent: str = ""


@dataclass
class Outcome:
    mutant: Mutant | None
    status: str  # killed, survived, timeout, error
    seconds: float
    detail: str = ""
    output: str = field(default="", repr=False)


class ListError(Exception):
    """The list does not fit the code: a pattern is missing or not unique, a field is missing."""


def read_list(path: Path = LIST) -> list[Mutant]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    default = float(data.get("timeout", 600))
    out, seen = [], set()
    for entry in data.get("mutant", []):
        missing = {"id", "title", "file", "pattern", "replacement", "tests"} - set(entry)
        if missing:
            raise ListError(f"{entry.get('id', '?')}: missing {', '.join(sorted(missing))}")
        m = Mutant(entry["id"], entry["title"], entry["file"], entry["pattern"], entry["replacement"],
                   list(entry["tests"]), float(entry.get("timeout", default)), entry.get("equivalent", ""))
        if m.id in seen:
            raise ListError(f"{m.id}: listed twice")
        seen.add(m.id)
        target = ROOT / m.file
        if not target.is_file():
            raise ListError(f"{m.id}: {m.file} does not exist")
        found = target.read_text(encoding="utf-8").count(m.pattern)
        if found != 1:
            raise ListError(f"{m.id}: its pattern occurs {found} times in {m.file}, not once: update the list")
        if m.pattern == m.replacement:
            raise ListError(f"{m.id}: the replacement is the pattern")
        for test in m.tests:
            path, _, name = test.partition("::")
            if not (ROOT / path).is_file():
                raise ListError(f"{m.id}: no test file {path}")
            if name and f"def {name.split('[')[0]}(" not in (ROOT / path).read_text(encoding="utf-8"):
                raise ListError(f"{m.id}: no test {name} in {path}")
        out.append(m)
    return out


def tracked_files() -> list[str]:
    """The tree as git sees it: committed files and new ones not ignored (so a test being written counts)."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=ROOT,
                            capture_output=True, check=True).stdout.decode()
    return [name for name in listed.split("\0") if name and (ROOT / name).is_file()]


def snapshot(into: Path, files: list[str]) -> Path:
    """The tree as it is when the run starts: every mutant is applied to a copy of this, so an edit made
    while the run goes on changes none of its results."""
    for name in files:
        target = into / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    return into


def environment(tree: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "PYTEST_ADDOPTS"}}
    env.update(PYTHONPATH=str(tree), PYTHONDONTWRITEBYTECODE="1", HYPOTHESIS_PROFILE="ci", ENV_FILE="/dev/null")
    if SAMPLE.is_dir():  # the copy has no sample beside it: the tests are told where it is, and must find it
        env.update(SPARKIFY_SAMPLE=str(SAMPLE), REQUIRE_SAMPLE="1")
    return env


def run_tests(tree: Path, tests: list[str], timeout: float, stop_at_first: bool = True) -> tuple[int | None, str]:
    """pytest on `tests` inside `tree`: (exit status, or None past `timeout`; its output)."""
    basetemp = tree / ".pytest-tmp"
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp", str(basetemp),
               "-o", "addopts=-rfE", *(["-x"] if stop_at_first else []), *tests]
    proc = subprocess.Popen(command, cwd=tree, env=environment(tree), stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=timeout)
        return proc.returncode, out
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGINT)  # pytest's teardown stops the servers it started
        try:
            out, _ = proc.communicate(timeout=GRACE)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, _ = proc.communicate()
        return None, out


def apply(m: Mutant, tree: Path) -> None:
    target = tree / m.file
    text = target.read_text(encoding="utf-8")
    assert text.count(m.pattern) == 1, m.id
    target.write_text(text.replace(m.pattern, m.replacement), encoding="utf-8")


def try_mutant(m: Mutant, pristine: Path, workdir: Path) -> Outcome:
    started = time.monotonic()
    tree = shutil.copytree(pristine, workdir / m.id)
    try:
        apply(m, tree)
        status, out = run_tests(tree, m.tests, m.timeout)
    finally:
        shutil.rmtree(tree, ignore_errors=True)
    seconds = time.monotonic() - started
    failed = _FAILED.search(out)
    if status is None:
        return Outcome(m, "timeout", seconds, f"its tests ran past the {m.timeout:.0f} s cap", out)
    if status == 0:
        return Outcome(m, "survived", seconds, "every test passed", out)
    if status in (1, 2):  # a test failed, or the mutant broke collection (an import error, say)
        return Outcome(m, "killed", seconds, f"by {failed.group(2)}" if failed else "at collection", out)
    return Outcome(m, "error", seconds, f"pytest exited {status}", out)


def baseline(mutants: list[Mutant], pristine: Path, workdir: Path) -> Outcome:
    """Every test the mutants name, on the code as it is: they must pass, or no kill means anything."""
    started = time.monotonic()
    tests = list(dict.fromkeys(t for m in mutants for t in m.tests))
    tree = shutil.copytree(pristine, workdir / "baseline")
    try:
        status, out = run_tests(tree, tests, sum(m.timeout for m in mutants), stop_at_first=False)
    finally:
        shutil.rmtree(tree, ignore_errors=True)
    return Outcome(None, "passed" if status == 0 else "failed", time.monotonic() - started, "", out)


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)} min {seconds % 60:.0f} s" if seconds >= 60 else f"{seconds:.1f} s"


def report(outcome: Outcome) -> str:
    m = outcome.mutant
    status = outcome.status
    note = outcome.detail
    if m.equivalent:
        note = (f"listed as equivalent ({m.equivalent}) but killed {note}: remove its equivalent line"
                if status == "killed" else f"equivalent: {m.equivalent}")
    return f"{m.id:<4} {status:<9} {outcome.seconds:7.1f} s  {m.title} ({m.file}): {note}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.strip().splitlines()[0],
                                     epilog="\n".join(__doc__.strip().splitlines()[3:]),
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("ids", nargs="*", help="mutant ids (default: every mutant); also MUTANTS=A1,B2")
    parser.add_argument("--list", action="store_true", help="print the mutants and their tests, run nothing")
    parser.add_argument("--jobs", type=int, default=1, help="mutants run at once (default 1)")
    parser.add_argument("--no-baseline", action="store_true", help="skip the run of every test on the code as it is")
    parser.add_argument("--verbose", action="store_true", help="print the tests' output of each survivor")
    args = parser.parse_args(argv)
    try:
        mutants = read_list()
    except (ListError, tomllib.TOMLDecodeError) as err:
        print(f"error: tests/mutants.toml: {err}", file=sys.stderr)
        return 2
    wanted = [i for chunk in args.ids or [os.environ.get("MUTANTS", "")] for i in chunk.replace(",", " ").split()]
    unknown = set(wanted) - {m.id for m in mutants}
    if unknown:
        print(f"error: no mutant {', '.join(sorted(unknown))} in tests/mutants.toml", file=sys.stderr)
        return 2
    if wanted:
        mutants = [m for m in mutants if m.id in wanted]
    if args.list:
        for m in mutants:
            print(f"{m.id:<4} {m.title}\n     {m.file}: {m.pattern.strip()!r} -> {m.replacement.strip()!r}")
            for test in m.tests:
                print(f"     {test}")
        return 0
    if not SAMPLE.is_dir():
        print(f"note: the public sample is not at {SAMPLE}: tests that need it skip", file=sys.stderr)
    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="sparkify-mutants-") as tmp:
        workdir = Path(tmp)
        pristine = snapshot(workdir / "tree", tracked_files())
        if not args.no_baseline:
            base = baseline(mutants, pristine, workdir)
            print(f"baseline  {base.status:<9} {base.seconds:7.1f} s  the mutants' tests on the code as it is",
                  flush=True)
            if base.status != "passed":
                print(base.output[-6000:], file=sys.stderr)
                print("error: the tests fail on the code as it is; fix them first", file=sys.stderr)
                return 2
        outcomes = []
        with ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            for outcome in pool.map(lambda m: try_mutant(m, pristine, workdir), mutants):
                outcomes.append(outcome)
                print(report(outcome), flush=True)
                if outcome.status != "killed" and (args.verbose or outcome.status == "error"):
                    print(outcome.output[-6000:], flush=True)
    killed = [o for o in outcomes if o.status == "killed"]
    equivalent = [o for o in outcomes if o.status != "killed" and o.mutant.equivalent]
    failing = [o for o in outcomes if o.status != "killed" and not o.mutant.equivalent]
    counted = len(outcomes) - len(equivalent)
    score = f"{len(killed)}/{counted} killed ({100 * len(killed) / counted:.0f}%)" if counted else "nothing to score"
    print(f"\n{len(outcomes)} mutants: {score}, {len(equivalent)} equivalent; {_minutes(time.monotonic() - started)}")
    if failing:
        print("not killed: " + ", ".join(f"{o.mutant.id} ({o.status})" for o in failing))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
