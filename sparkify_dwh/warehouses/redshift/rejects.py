"""What Redshift's COPY refused, read back from sys_load_error_detail and traced to its source file and
line; and the proof that every row written to the parts is either loaded or rejected.

sys_load_error_detail is a SYS monitoring view, on provisioned clusters and Serverless alike ("Unless
noted otherwise, these views are available for Amazon Redshift clusters and Amazon Redshift
Serverless workgroups"). Its file_name is character(256), "The complete path to the input file"; a
part's full URI always fits (the settings refuse a STAGING_PREFIX that would not), so the rows of this
load are found by their file names, which no other load shares. No delay before its rows appear is
documented, and system views fill in node by node, so a count that does not add up is read again for
about a minute before the load fails; after a failed COPY the rows are read until two readings agree.
A COPY that failed on its data says so, naming the view of its errors (a cluster: "Check
'stl_load_errors' system table for details"; Serverless names sys_load_error_detail); one that failed
for another reason (access denied, a role not usable yet, a bucket in another Region) logs no error
rows, and none are waited for.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from ... import records
from .parts import Compacted

READ = (
    "SELECT TRIM(file_name), line_number, TRIM(column_name), error_code, TRIM(error_message) "
    "FROM sys_load_error_detail WHERE file_name LIKE %s ORDER BY 1, 2"
)
FILE_NAME_WIDTH = 256
PATIENCE = (1, 2, 4, 8, 15, 30)  # seconds between readings when the count does not add up yet (a minute)
POINTS_TO_ERRORS = re.compile(r"\b(stl_load_errors|sys_load_error_detail)\b", re.I)
pause = time.sleep  # between readings (tests make it instant)


def read(cur, result: Compacted, prefix: str) -> list[tuple[int, int, records.Reject]]:
    """(part index, part line, reject traced to its source) of every row COPY refused from `prefix`."""
    cur.execute(READ, (prefix.rstrip("/") + "/%",))
    by_uri = {p.uri: n for n, p in enumerate(result.parts)}
    found: dict[tuple[int, int], list] = {}
    for file_name, line_number, column, code, message in cur.fetchall():
        n = by_uri.get((file_name or "").strip())
        if n is None or not 1 <= line_number <= result.parts[n].records:
            continue
        found.setdefault((n, line_number), []).append(
            f"{(message or '').strip()} (column {(column or '').strip()}, error {code})")
    out = []
    for (n, line_number), reasons in sorted(found.items()):
        part = result.parts[n]
        counted = result.files[part.origin_file[line_number - 1]]
        reason = "rejected by COPY: " + "; ".join(reasons)
        raw = part.line(line_number)[: records.RAW_LINE_LIMIT]
        out.append((n, line_number, records.Reject(counted.file.uri, part.origin_line[line_number - 1], reason, raw)))
    return out


def apply(result: Compacted, found: list[tuple[int, int, records.Reject]]) -> list[records.Reject]:
    """Move each refused row from staged to rejected in its file's ledger counts; return the rejects."""
    for n, line_number, _ in found:
        counted = result.files[result.parts[n].origin_file[line_number - 1]]
        counted.staged -= 1
        counted.rejected += 1
    return [reject for _, _, reject in found]


def after_failure(cur, result: Compacted, prefix: str, message: str, minimum: int = 1,
                  sleep: Callable[[float], None] | None = None) -> list:
    """After COPY failed with `message`: the rows it refused, at least `minimum` of them (the MAXERROR it
    failed at) once two readings agree; none, without a reading, when the message does not point to them."""
    if not POINTS_TO_ERRORS.search(message):
        return []
    previous = None
    for wait in (0, *PATIENCE):
        (sleep or pause)(wait)
        found = read(cur, result, prefix)
        if previous is not None and len(found) >= minimum and _lines(found) == _lines(previous):
            return found
        previous = found
    return previous or []


def _lines(found: list) -> list[tuple[int, int]]:
    return [(n, line_number) for n, line_number, _ in found]


def prove(cur, result: Compacted, prefix: str, loaded: int, sleep: Callable[[float], None] | None = None) -> list:
    """The rows COPY refused, once loaded + refused = rows written; None if that never holds."""
    written = result.rows
    if loaded == written:
        return []
    for wait in (0, *PATIENCE):
        (sleep or pause)(wait)
        found = read(cur, result, prefix)
        if loaded + len(found) == written:
            return found
    return None
