"""After a load on Redshift: fresh statistics for the star tables it changed, and the space of deleted rows
given back when a load deleted much of a table.

An incremental load replaces rows with DELETE + INSERT. Redshift marks deleted rows and keeps them until a
VACUUM ("Amazon Redshift automatically performs a DELETE ONLY vacuum in the background" on its own
schedule, pausing under load); until then every scan reads them too. So when a load deleted at least
VACUUM_SHARE of a table (a FULL_REFRESH, a big re-delivery), the loader runs VACUUM DELETE ONLY on it at
once, TO 100 PERCENT (by default DELETE ONLY stops once "at least 95 percent of the remaining rows are
not marked for deletion", which can be no work at all just past the share); smaller deletions it leaves
to the automatic vacuum. ANALYZE runs on every table the load changed (Redshift skips it when fewer than
analyze_threshold_percent of the rows changed, so it costs little).
VACUUM needs the table's owner (or a superuser, or the VACUUM privilege), and a user without it gets
no error: "the operation completes successfully but has no effect". So the owner is read first
(pg_tables, a catalog query of its own), and a table the loading user does not own is reported, not
counted as vacuumed: the owner runs the VACUUM, or the automatic one does. VACUUM cannot run inside a
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
VACUUM = "VACUUM DELETE ONLY {table} TO 100 PERCENT"
# the owners of the tables of that name (in any schema: CURRENT_SCHEMA is a leader-node function, kept out),
# each compared with the loading user in SQL (CURRENT_USER may come back as blank-padded CHAR)
OWNER = ("SELECT DISTINCT tableowner, CASE WHEN tableowner = CURRENT_USER THEN 1 ELSE 0 END FROM pg_tables "
         "WHERE tablename = %s")


def statements(table: str, deleted: int, rows_now: int | None) -> list[str]:
    """ANALYZE; and VACUUM when the rows deleted were VACUUM_SHARE or more of the rows the table held
    (the live ones and those marked deleted)."""
    out = [ANALYZE.format(table=table)]
    if deleted and deleted >= VACUUM_SHARE * ((rows_now or 0) + deleted):
        out.append(VACUUM.format(table=table))
    return out


def run(conn, results, say: Callable[[str], None] = print, rows: dict[str, int] | None = None) -> list[str]:
    """ANALYZE and, where a load deleted much, VACUUM DELETE ONLY; returns the statements that ran. `rows`:
    each table's rows now, when the caller has counted them already (else they are counted here, and only
    for a table the load deleted from)."""
    ran = []
    conn.commit()
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            for table, (_, deleted) in sorted(changes(results).items()):
                rows_now = (rows or {}).get(table)
                if rows_now is None and deleted:
                    cur.execute(COUNT.format(table=table))
                    (rows_now,) = cur.fetchone()
                for statement in statements(table, deleted, rows_now):
                    if statement.startswith("VACUUM"):
                        cur.execute(OWNER, (table,))
                        owners = cur.fetchall()
                        if [mine for _, mine in owners] != [1]:
                            owner = " and ".join(str(name).strip() for name, _ in owners) or "nobody"
                            say(f"{statement}: not run, {table} is owned by {owner}, not by the loading user, and "
                                "VACUUM by anyone else does nothing; its owner may run it, or the automatic vacuum "
                                "will")
                            continue
                    try:
                        cur.execute(statement)
                        ran.append(statement)
                    except psycopg2.Error as err:
                        say(f"{statement}: skipped ({str(err).strip().splitlines()[0]}); Redshift's automatic "
                            "vacuum and analyze will catch up")
    finally:
        conn.autocommit = False
    return ran
