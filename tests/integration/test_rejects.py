"""load_errors holds one row per bad record: for each file the rows of its latest attempt, whatever load ids
earlier attempts had; a rerun replaces them, never appends. The check load_errors_latest_attempt (make
verify, and the gate) holds it for every file in the ledger."""

import gzip
import json

import pytest
from conftest import GOOD_EVENT, GOOD_SONG, rows, run_cli

pytestmark = pytest.mark.integration


def line(**changes) -> bytes:
    return json.dumps(dict(GOOD_EVENT, **changes)).encode()


def write(path, data: bytes):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@pytest.fixture
def source(tmp_path, env):
    root = tmp_path / "source"
    write(root / "song_data" / "A" / "TRA.json", json.dumps(GOOD_SONG).encode())
    env.update(SONG_DATA=str(root / "song_data"), LOG_DATA=str(root / "log_data"))
    return root


def day(root, bad: int, name: str = "2018-11-01-events.json") -> str:
    """A log file of good lines with `bad` malformed ones between them; its path."""
    body = [line(itemInSession=0)]
    for i in range(1, bad + 1):
        body += [b'{"ts": 1541105830796, "userId": "10"', line(itemInSession=i, ts=GOOD_EVENT["ts"] + i)]
    path = root / "log_data" / "2018" / "11" / name
    write(path, b"\n".join(body) + b"\n")
    return str(path)


def rejects(conn, path):
    return rows(conn, "SELECT load_id, line_number FROM load_errors WHERE source_file = %s ORDER BY 1, 2", path)


def test_a_file_over_max_errors_rerun_keeps_one_row_per_bad_record(source, env, conn):
    path = day(source, bad=1)
    for attempt in range(3):
        failed = run_cli("load", dict(env, MAX_ERRORS="0"), check=False)
        assert failed.returncode == 3 and "over MAX_ERRORS=0" in failed.stderr
        assert [n for _, n in rejects(conn, path)] == [2], attempt  # the latest attempt's row, alone
    run_cli("load", dict(env, MAX_ERRORS="5"))
    ((load_id, number),) = rejects(conn, path)
    assert number == 2
    assert rows(conn, "SELECT load_id, records_rejected FROM load_files WHERE source_file = %s", path) == [(load_id, 1)]
    assert "0 failed" in run_cli("verify", env).stdout


def test_the_line_0_row_of_a_file_that_could_not_be_read_goes_once_the_file_loads(source, env, conn):
    day(source, bad=0)
    broken = source / "log_data" / "2018" / "11" / "2018-11-02-events.json.gz"
    write(broken, b"this is not gzip")
    run_cli("load", dict(env, MAX_ERRORS="5"))
    assert [n for _, n in rejects(conn, str(broken))] == [0]
    write(broken, gzip.compress(line(ts=GOOD_EVENT["ts"] + 86_400_000) + b"\n"))
    run_cli("load", dict(env, MAX_ERRORS="5"))
    assert rejects(conn, str(broken)) == []
    assert rows(conn, "SELECT rows_staged, records_rejected FROM load_files WHERE source_file = %s",
                str(broken)) == [(1, 0)]
    assert "0 failed" in run_cli("verify", env).stdout


def test_a_failed_attempt_at_a_staged_file_keeps_the_staged_version_s_rows_beside_its_own(source, env, conn):
    path = day(source, bad=1)
    run_cli("load", dict(env, MAX_ERRORS="1"))
    ((staged_by, _),) = rejects(conn, path)

    day(source, bad=3)  # a new version of the file, with more bad records than allowed
    for _ in range(2):
        assert run_cli("load", dict(env, MAX_ERRORS="1"), check=False).returncode == 3
        kept = rejects(conn, path)
        assert [n for load, n in kept if load == staged_by] == [2]  # the staged version's row, as the ledger says
        assert len({load for load, _ in kept if load != staged_by}) == 1  # and the latest failed attempt's
        assert sorted(n for load, n in kept if load != staged_by) == [2, 4, 6]
        assert "0 failed" in run_cli("verify", env).stdout  # staging, ledger and rejects still agree

    run_cli("load", dict(env, MAX_ERRORS="3"))  # the next attempt that stages it replaces both
    kept = rejects(conn, path)
    assert len({load for load, _ in kept}) == 1 and sorted(n for _, n in kept) == [2, 4, 6]
    assert {load for load, _ in kept} == {r[0] for r in rows(conn, "SELECT load_id FROM load_files WHERE "
                                                            "source_file = %s", path)}
    assert "0 failed" in run_cli("verify", env).stdout
