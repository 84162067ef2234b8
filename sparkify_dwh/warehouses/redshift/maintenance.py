"""After a load on Redshift: fresh statistics for the tables it changed, and the space of deleted rows given
back when a load deleted much of a table.

An incremental load replaces rows with DELETE + INSERT. Redshift marks deleted rows and keeps them until a
VACUUM ("Amazon Redshift automatically performs a DELETE ONLY vacuum in the background" on its own
schedule, pausing under load); until then every scan reads them too. So when a load deleted at least
VACUUM_SHARE of a star table (a FULL_REFRESH, a big re-delivery), the loader runs VACUUM DELETE ONLY on it
at once, TO 100 PERCENT (by default DELETE ONLY stops once "at least 95 percent of the remaining rows are
not marked for deletion", which can be no work at all just past the share); smaller deletions it leaves
to the automatic vacuum. ANALYZE runs on every star table the load changed (Redshift skips it when fewer
than analyze_threshold_percent of the rows changed, so it costs little). FULL_REFRESH=1 also deletes the
whole of staging, the ledger and the rejects before loading them again ("After deleting a large number of
rows from a table: Vacuum the table", DELETE), so those get the same ANALYZE and VACUUM (EMPTIED).

Who may: "Superuser; Users with the VACUUM privilege; Table owner; Database owner whom the table is shared
to" (VACUUM, Required privileges), and ANALYZE likewise ("Superuser; Users with the ANALYZE privilege;
Owner of the relation; ..."). A user without them gets no error from VACUUM: "the operation completes
successfully but has no effect". So before each statement the loader asks, in that order and each
question once: does it own the table (pg_tables), is it a superuser (pg_user.usesuper), does it hold the
RBAC system permission, itself or through a role granted to it (svv_system_privileges, svv_user_grants;
a role granted to another role is not followed, and a question Redshift refuses to answer counts as no).
A table it may not maintain is reported, not counted as done: its owner runs the statement, or the
automatic vacuum and analyze do. VACUUM cannot run inside a transaction block ("You can't run VACUUM
within a transaction block") and only one runs at a time on a cluster ("If you attempt to run multiple
vacuum operations concurrently, Amazon Redshift returns an error"), so all of it runs after the load
commits, in autocommit, and a refusal is reported, not fatal: the automatic vacuum will do it.
"""

from __future__ import annotations

from collections.abc import Callable

import psycopg2

from ...transform import changes

VACUUM_SHARE = 0.05
COUNT = "SELECT COUNT(*) FROM {table}"
ANALYZE = "ANALYZE {table}"
VACUUM = "VACUUM DELETE ONLY {table} TO 100 PERCENT"
# what FULL_REFRESH=1 deletes whole before loading it again (staging.refresh_statements)
EMPTIED = ("staging_songs", "staging_events", "load_files", "load_errors")
# the owners of the tables of that name (in any schema: CURRENT_SCHEMA is a leader-node function, kept out),
# each compared with the loading user in SQL (CURRENT_USER may come back as blank-padded CHAR)
OWNER = ("SELECT DISTINCT tableowner, CASE WHEN tableowner = CURRENT_USER THEN 1 ELSE 0 END FROM pg_tables "
         "WHERE tablename = %s")
SUPERUSER = "SELECT usesuper FROM pg_user WHERE usename = CURRENT_USER"
# the RBAC system permission (ANALYZE or VACUUM) granted to the user itself or to a role granted to it
PRIVILEGE = ("SELECT COUNT(*) FROM svv_system_privileges WHERE system_privilege = %s AND ("
             "(identity_type = 'user' AND identity_name = CURRENT_USER) OR (identity_type = 'role' AND "
             "identity_name IN (SELECT g.role_name FROM svv_user_grants AS g WHERE g.user_name = CURRENT_USER)))")


class Rights:
    """What the loading user may maintain, each question asked once, on a cursor in autocommit."""

    def __init__(self, cur):
        self.cur = cur
        self._owners: dict[str, list[tuple[str, int]]] = {}
        self._superuser: bool | None = None
        self._privileges: dict[str, bool] = {}

    def _ask(self, sql: str, params=()) -> list:
        try:
            self.cur.execute(sql, params or None)
            return self.cur.fetchall()
        except psycopg2.Error:  # a view this user may not read answers no
            return []

    def owners(self, table: str) -> list[tuple[str, int]]:
        if table not in self._owners:
            self._owners[table] = [(str(name).strip(), mine) for name, mine in self._ask(OWNER, (table,))]
        return self._owners[table]

    def owns(self, table: str) -> bool:
        return [mine for _, mine in self.owners(table)] == [1]

    def superuser(self) -> bool:
        if self._superuser is None:
            self._superuser = any(bool(s) for (s,) in self._ask(SUPERUSER))
        return self._superuser

    def privilege(self, command: str) -> bool:
        if command not in self._privileges:
            self._privileges[command] = any(n for (n,) in self._ask(PRIVILEGE, (command,)))
        return self._privileges[command]

    def allows(self, command: str, table: str) -> bool:
        return self.owns(table) or self.superuser() or self.privilege(command)


def statements(table: str, deleted: int | None, rows_now: int | None) -> list[str]:
    """ANALYZE; and VACUUM when the rows deleted were VACUUM_SHARE or more of the rows the table held
    (the live ones and those marked deleted), or when the table was emptied (`deleted` None)."""
    out = [ANALYZE.format(table=table)]
    if deleted is None or (deleted and deleted >= VACUUM_SHARE * ((rows_now or 0) + deleted)):
        out.append(VACUUM.format(table=table))
    return out


def run(conn, results, say: Callable[[str], None] = print, rows: dict[str, int] | None = None,
        emptied: tuple[str, ...] = ()) -> list[str]:
    """ANALYZE and, where a load deleted much, VACUUM DELETE ONLY; returns the statements that ran. `rows`:
    each table's rows now, when the caller has counted them already (else they are counted here, and only
    for a table the load deleted from). `emptied`: tables the load deleted whole (FULL_REFRESH=1)."""
    ran = []
    conn.commit()
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            rights = Rights(cur)
            work = [(table, deleted) for table, (_, deleted) in sorted(changes(results).items())]
            for table, deleted in work + [(table, None) for table in emptied]:
                rows_now = (rows or {}).get(table)
                if rows_now is None and deleted:
                    cur.execute(COUNT.format(table=table))
                    (rows_now,) = cur.fetchone()
                for statement in statements(table, deleted, rows_now):
                    command = statement.split()[0]
                    if not rights.allows(command, table):
                        owner = " and ".join(name for name, _ in rights.owners(table)) or "nobody"
                        say(f"{statement}: not run, {table} is owned by {owner}; the loading user is not its owner, "
                            f"not a superuser and holds no {command} permission, and "
                            f"{'VACUUM by anyone else does nothing' if command == 'VACUUM' else 'ANALYZE is refused'}; "
                            f"its owner may run it, or the automatic {command.lower()} will")
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
