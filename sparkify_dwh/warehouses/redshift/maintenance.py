"""After a load on Redshift: fresh statistics for the star tables it changed, and the space of deleted rows
given back when a load deleted much of a table.

An incremental load replaces rows with DELETE + INSERT. Redshift marks deleted rows and keeps them until a
VACUUM ("Amazon Redshift automatically performs a DELETE ONLY vacuum in the background" on its own
schedule, pausing under load); until then every scan reads them too. So when a load deleted at least
VACUUM_SHARE of a table (a FULL_REFRESH, a big re-delivery), the loader runs VACUUM DELETE ONLY on it at
once; smaller deletions it leaves to the automatic vacuum. ANALYZE runs on every table the load changed
(Redshift skips it when fewer than analyze_threshold_percent of the rows changed, so it costs little).
Both need the table's owner, which the loader is, as it created the tables. VACUUM cannot run inside a
transaction block ("You can't run VACUUM within a transaction block") and only one runs at a time on a
cluster ("If you attempt to run multiple vacuum operations concurrently, Amazon Redshift returns an
error"), so it runs after the load commits, in autocommit, and a refusal is reported, not fatal: the
automatic vacuum will do it.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg2

from ...transform import changes

VACUUM_SHARE = 0.05
COUNT = "SELECT COUNT(*) FROM {table}"
ANALYZE = "ANALYZE {table}"
VACUUM = "VACUUM DELETE ONLY {table}"


def statements(table: str, deleted: int, rows_now: int) -> list[str]:
    out = [ANALYZE.format(table=table)]
    if deleted and deleted >= VACUUM_SHARE * max(rows_now, 1):
        out.append(VACUUM.format(table=table))
    return out


def run(conn, results, say: Callable[[str], None] = print) -> list[str]:
    """ANALYZE and, where a load deleted much, VACUUM DELETE ONLY; returns the statements that ran."""
    ran = []
    conn.commit()
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for table, (_, deleted) in sorted(changes(results).items()):
                cur.execute(COUNT.format(table=table))
                (rows_now,) = cur.fetchone()
                for statement in statements(table, deleted, rows_now):
                    try:
                        cur.execute(statement)
                        ran.append(statement)
                    except psycopg2.Error as err:
                        say(f"{statement}: skipped ({str(err).strip().splitlines()[0]}); Redshift's automatic "
                            "vacuum and analyze will catch up")
    finally:
        conn.autocommit = False
    return ran
