"""The mutation run's list (tests/mutants.toml) fits the code: each pattern occurs once in its file and each
test it names exists, so `make mutants` plants what it says. The run itself is `make mutants`, not this."""

import sys

import pytest
from conftest import ROOT

sys.path.insert(0, str(ROOT / "tests"))
import mutants  # noqa: E402


def test_every_mutant_is_one_change_of_the_code_as_it_is_with_tests_that_exist():
    listed = mutants.read_list()
    ids = [m.id for m in listed]
    issue = ["A1", "A2", "A3", "A4", "B1", "B2", "B3", "C1", "C2", "C3", "C4", "D1", "D2", "D3", "D4", "E1",
             "F1", "F2", "F3", "F4", "F5", "G1", "G2", "H1", "I1", "J1", "K1"]
    assert set(issue) <= set(ids)
    assert all(m.tests and m.timeout > 0 for m in listed)


def test_a_stale_pattern_is_refused(tmp_path):
    stale = tmp_path / "mutants.toml"
    stale.write_text('[[mutant]]\nid = "X1"\ntitle = "t"\nfile = "sparkify_dwh/staging.py"\n'
                     'pattern = "no such text"\nreplacement = "x"\ntests = ["tests/unit/test_masking.py"]\n')
    with pytest.raises(mutants.ListError, match="X1: its pattern occurs 0 times in sparkify_dwh/staging.py"):
        mutants.read_list(stale)
