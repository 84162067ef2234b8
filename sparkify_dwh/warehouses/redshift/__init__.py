"""Amazon Redshift: the PostgreSQL warehouse's interface, with its own connection and its own way for rows
to reach staging.

prepare (no lock): the new and changed files are read in parallel, parsed by `records` exactly as on
PostgreSQL, and written as gzip JSON-lines parts to STAGING_PREFIX/<load>/ (parts.py); then, on a
connection of its own, a COPY ... NOLOAD of one line proves the role usable, and while IAM has not
propagated it yet that is tried again, for a bounded time (copy.ROLE_NOT_READY).
copy (in the staging transaction): one COPY per staging table from the parts' manifest (copy.py), with
STATUPDATE ON when the loading user owns the table or is a superuser (else OFF, and said); what
Redshift says it loaded is compared with the rows written, and the difference must be exactly the
rows it refused, read back and traced to their source lines (rejects.py).
discard (always, on every way out): the load's parts are deleted from S3; they hold personal data.
"""

from __future__ import annotations

import gzip
import json
import tempfile
from pathlib import Path

import psycopg2

from ... import aws, db, embedded, sources, transform
from ...config import ENV_EXAMPLE, Settings, SettingsError
from ..base import Capabilities, Copied, CopyRejected, Plan, Stager, StagingError
from ..postgres import Postgres
from . import connection, copy, maintenance, parts, rejects


class RedshiftStager(Stager):
    def __init__(self, settings: Settings, load_id: str, quiet: bool, *, s3=None, read_client=None,
                 dry_run: bool = False, notes: list[str] | None = None, connect=None):
        rs = settings.redshift
        self.settings, self.load_id, self.quiet = settings, load_id, quiet
        self.connect = connect  # a connection of its own, for the role's proof (none: not proved)
        self.role_proved = False
        self.notes = [] if notes is None else notes  # said after the load (Redshift.maintain)
        self.role = copy.role_arn(rs, dry_run=dry_run)
        self.s3 = s3
        self.read_client = read_client
        self.attempt = 0
        self.region = rs.region  # until prepare looks up the staging bucket's own
        self.target = self._target()
        self.compacted: dict[str, parts.Compacted] = {}
        self.copied: set[str] = set()
        self._workdir: tempfile.TemporaryDirectory | None = None

    def _target(self) -> copy.Target:
        rs = self.settings.redshift
        folder = self.load_id if self.attempt <= 1 else f"{self.load_id}.{self.attempt}"
        return copy.Target(rs.require_staging(), folder, self.load_id, self.role, self.region)

    @property
    def slices(self) -> int:
        return self.settings.redshift.slices

    def prepare(self, plans: list[Plan]) -> None:
        if self.s3 is None:
            self.s3 = sources.s3_client()
        if self.attempt == 0:
            self.region = copy.bucket_region(self.s3, self.settings.redshift.require_staging())
        self.attempt += 1
        self.target = self._target()
        self.compacted, self.copied = {}, set()
        if self._workdir is None:
            self._workdir = tempfile.TemporaryDirectory(prefix="sparkify-parts-")
        for p in plans:
            reader = self.read_client or (self.s3 if sources.is_s3(p.source) else None)
            self.compacted[p.kind] = parts.compact(
                p.kind, p.todo, p.source, self.target, self.slices, Path(self._workdir.name),
                read_client=reader, write_client=self.s3, workers=self.settings.read_workers, quiet=self.quiet,
                unknown=self.fields)
        if self.connect is not None and not self.role_proved and any(c.rows for c in self.compacted.values()):
            self._prove_role()

    def _prove_role(self) -> None:
        """COPY ... NOLOAD of one line, again while the role is not usable yet, for a bounded time."""
        parts.put(self.s3, self.target.probe(), gzip.compress(json.dumps(copy.PROBE_ROW).encode() + b"\n"))
        conn = self.connect()
        started = aws.clock()
        try:
            while True:
                try:
                    with conn.cursor() as cur:
                        cur.execute(copy.probe_copy(self.target))
                    conn.rollback()
                    self.role_proved = True
                    return
                except psycopg2.Error as err:
                    conn.rollback()
                    message = db.mask(str(err).strip())
                    waited = aws.clock() - started
                    if not copy.ROLE_NOT_READY.search(message) or waited + aws.IAM_RETRY_SECONDS > \
                            aws.IAM_PROPAGATION_SECONDS:
                        raise StagingError(f"COPY cannot read {self.target.uri()} with {self.role}"
                                           f"{' after ' + str(int(waited)) + ' s' if waited >= 1 else ''}: "
                                           f"{message.splitlines()[0]}") from None
                    self.notes.append(f"COPY's role is not usable yet (IAM propagates it in the background); tried "
                                      f"again after {aws.IAM_RETRY_SECONDS} s")
                    aws.pause(aws.IAM_RETRY_SECONDS)
        finally:
            conn.close()

    def _pending(self, but: str) -> list:
        """(kind, reject) the parser found in the sources not yet copied, `but` excluded."""
        return [(kind, r) for kind, c in self.compacted.items() if kind != but and kind not in self.copied
                for r in c.rejects]

    def copy(self, cur, plan: Plan, budget: int) -> Copied:
        c = self.compacted[plan.kind]
        later = self._pending(plan.kind)
        self.copied.add(plan.kind)
        # what COPY itself may still refuse: the budget less the parser's rejects, here and in what follows
        left = budget - len(c.rejects) - len(later)
        if left < 0:
            cur.connection.rollback()
            raise CopyRejected([(plan.kind, r) for r in c.rejects] + later, "the parser's rejects alone are over")
        if not c.rows:
            return Copied(c.files, c.rejects, c.seconds)
        prefix = self.target.uri(plan.kind)
        statupdate = self._may_update_statistics(cur, plan.table)
        try:
            cur.execute(copy.stage_copy(plan.kind, self.target, left, statupdate))
        except psycopg2.Error as err:
            if db.transient(err):  # the connection lost, error 1023: the load tries again (retry.py)
                raise
            failed = StagingError(f"COPY into {plan.table} failed: {db.mask(str(err).strip())}")
            conn = cur.connection
            try:
                conn.rollback()
                refused = rejects.apply(c, rejects.after_failure(cur, c, prefix, str(err), copy.maxerror(left)))
                conn.rollback()
            except psycopg2.InterfaceError:  # the connection itself is gone: say what failed first
                raise failed from None
            if not refused:  # failed for another reason than the data: say why
                raise failed from None
            raise CopyRejected([(plan.kind, r) for r in c.rejects + refused] + later,
                               f"COPY into {plan.table} refused {len(refused)} rows") from None
        cur.execute(copy.LOADED)
        (loaded,) = cur.fetchone()
        found = rejects.prove(cur, c, prefix, loaded)
        if found is None:
            raise StagingError(f"COPY into {plan.table} loaded {loaded:,} of the {c.rows:,} rows written, and "
                               "sys_load_error_detail does not name the rest: nothing of this load is kept")
        return Copied(c.files, c.rejects + rejects.apply(c, found), c.seconds)

    def _may_update_statistics(self, cur, table: str) -> bool:
        """Whether the COPY into `table` may say STATUPDATE ON: the loading user owns it or is a superuser."""
        rights = maintenance.Rights(cur)
        if rights.owns(table) or rights.superuser():
            return True
        owner = " and ".join(name for name, _ in rights.owners(table)) or "nobody"
        self.notes.append(f"COPY into {table}: STATUPDATE OFF, as {table} is owned by {owner} and the loading user "
                          "is not a superuser; its statistics are left to Redshift's automatic analyze")
        return False

    def prepare_statements(self) -> list[tuple[str, tuple, str | None]]:
        return [(copy.probe_copy(self.target), (), "once the parts are uploaded, on a connection of its own, in a "
                 "transaction rolled back: the role proved usable (one line, NOLOAD), again every "
                 f"{aws.IAM_RETRY_SECONDS} s while IAM propagates it, for at most {aws.IAM_PROPAGATION_SECONDS} s")]

    def statements(self, plan: Plan, budget: int) -> list[tuple[str, tuple, str | None]]:
        note = (f"{plan.kind}: new and changed files of {plan.source}, parsed, compacted into parts of "
                f"{self.target.uri(plan.kind)}/ ({self.slices} slices) before the lock")
        return [(maintenance.OWNER, (plan.table,), f"{plan.kind}: STATUPDATE ON when the loading user owns "
                 f"{plan.table} or is a superuser (asked when it does not own it), else OFF"),
                (maintenance.SUPERUSER, (), None),
                (copy.stage_copy(plan.kind, self.target, budget), (), note),
                (copy.LOADED, (), f"{plan.kind}: rows loaded, to prove against the rows written"),
                (rejects.READ, (self.target.uri(plan.kind) + "/%",),
                 f"{plan.kind}: when the two differ, the rows COPY refused, for load_errors")]

    def discard(self) -> None:
        if self.s3 is not None and self.attempt:
            for n in range(1, self.attempt + 1):
                folder = self.load_id if n == 1 else f"{self.load_id}.{n}"
                parts.remove(self.s3, "/".join((self.target.staging, folder)))
        if self._workdir is not None:
            self._workdir.cleanup()
            self._workdir = None


class Redshift(Postgres):
    """Builds on the PostgreSQL warehouse (same driver, same SQL files in their Redshift rendering)."""

    name = "redshift"
    # the reader's password as Redshift takes a hash of it: "'md5' || md5(password || user name)" (reader.py)
    caps = Capabilities(dialect="redshift", session_setup=connection.SESSION_SETUP, password_hash="md5")

    def __init__(self, settings: Settings):
        super().__init__(settings)
        self.notes: list[str] = []  # what the load's stagers found to say, said by maintain
        settings.redshift  # noqa: B018 - checks every Redshift setting now, naming the one that is wrong
        if settings.max_errors > copy.MAXERROR_LIMIT - 1:  # MAXERROR is the budget plus one
            raise SettingsError(f"MAX_ERRORS={settings.max_errors}: at most {copy.MAXERROR_LIMIT - 1:,} on Redshift, "
                                f"whose COPY allows MAXERROR up to {copy.MAXERROR_LIMIT} (see {ENV_EXAMPLE})")

    def password(self) -> str:
        return connection.master_password(self.settings.redshift)

    def connect(self):
        return connection.connect(self.settings, self.password())

    def stager(self, load_id: str, *, quiet: bool = False, dry_run: bool = False) -> Stager:
        return RedshiftStager(self.settings, load_id, quiet, dry_run=dry_run, notes=self.notes,
                              connect=None if dry_run else self.connect)

    def url(self) -> str:
        return connection.where(self.settings.redshift)

    def describe(self) -> str:
        rs = self.settings.redshift
        if not rs.host:
            what = f"workgroup {rs.workgroup}" if rs.serverless else f"cluster {rs.cluster_identifier}"
            return f"{what} (REDSHIFT_HOST not set yet: make provision writes it)"
        return f"{connection.where(rs)} (sslmode={rs.sslmode})"

    def psql(self) -> tuple[list[str], dict[str, str]]:
        password = self.password()
        p = connection.params(self.settings.redshift, password)
        dsn = " ".join(f"{k}={v}" for k, v in p.items() if k != "password")
        return [str(embedded.program("psql")), dsn], {"PGPASSWORD": password}

    def reader_params(self, password: str | None) -> dict[str, str]:
        """The warehouse's endpoint over TLS, as READER_USER."""
        params = {k: str(v) for k, v in connection.params(self.settings.redshift, password or "").items()}
        params["user"] = self.settings.reader_user
        if not password:
            params.pop("password")
        return params

    def _secrets(self):
        return aws.client("secretsmanager", self.settings.redshift.region)

    def keep_reader_password(self, password: str) -> str:
        rs = self.settings.redshift
        done = aws.put_reader_secret(self._secrets(), rs, self.settings.reader_user, password)
        return f"the Secrets Manager secret {aws.reader_secret(rs)} ({done})"

    def reader_password(self) -> str | None:
        found = aws.get_reader_secret(self._secrets(), self.settings.redshift)
        return found["password"] if found else None

    def forget_reader_password(self) -> str:
        said = []
        aws.delete_reader_secret(self._secrets(), self.settings.redshift, said.append)
        return said[0] if said else "no secret kept"

    def stop(self) -> str:
        return f"nothing to stop: {self.describe()} runs on AWS (make teardown deletes it)"

    def before_commit(self, cur, results) -> list[str]:
        """Nothing: Redshift's ANALYZE and VACUUM run after the commit, in autocommit (maintenance.py)."""
        return []

    def before_commit_statements(self) -> list[tuple[str, tuple, str | None]]:
        return []

    def maintain(self, conn, results, say=print, rows=None) -> list[str]:
        for note in self.notes:
            say(note)
        self.notes.clear()
        emptied = maintenance.EMPTIED if self.settings.full_refresh else ()
        return maintenance.run(conn, results, say, rows, emptied)

    def maintenance_statements(self) -> list[tuple[str, tuple, str | None]]:
        share = f"{maintenance.VACUUM_SHARE:.0%}"
        out = [(maintenance.SUPERUSER, (), "after the load commits, in autocommit: may the loading user ANALYZE "
                "and VACUUM? Its own tables, a superuser, or the ANALYZE or VACUUM permission (each asked once, "
                "when needed)"),
               (maintenance.PRIVILEGE, ("ANALYZE",), None), (maintenance.PRIVILEGE, ("VACUUM",), None)]
        for n, table in enumerate(transform.STAR_TABLES):
            out += [(maintenance.COUNT.format(table=table), (),
                     "for each star table the load changed: its rows, when it deleted from it (unless the summary "
                     "counted them)" if n == 0 else None),
                    (maintenance.OWNER, (table,), None),
                    (maintenance.ANALYZE.format(table=table), (), None),
                    (maintenance.VACUUM.format(table=table), (),
                     f"when the load deleted {share} of the table's rows or more" if n == 0 else None)]
        for n, table in enumerate(maintenance.EMPTIED):
            out += [(maintenance.OWNER, (table,), "FULL_REFRESH=1: staging, the ledger and the rejects were deleted "
                     "whole and loaded again" if n == 0 else None),
                    (maintenance.ANALYZE.format(table=table), (), None),
                    (maintenance.VACUUM.format(table=table), (), None)]
        return out

    @property
    def secrets(self) -> tuple[str, ...]:
        password = self.settings.redshift.db_password
        return (password,) if password else ()

