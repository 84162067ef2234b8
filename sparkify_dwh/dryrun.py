"""DRY_RUN=1: every statement a load would send, in order, for the warehouse the settings name, without
connecting or writing anything. The statements come from the same builders the load calls; a test
runs a real load beside it and checks that the load sent nothing the dry run does not show.

Every source file is taken as new (nothing is listed); the statements that run only in some loads
(a changed file's replacement, the rejects kept over MAX_ERRORS) are shown with a note saying when.
"""

from __future__ import annotations

import sys
from datetime import datetime

from . import catalog, checks, db, history, lock, migrations, pipeline, sqlfiles, staging, transform, warehouses
from .config import Settings
from .records import Reject
from .sources import SourceFile
from .warehouses.base import Copied, FileCount, Plan

LOAD_ID = "<load_id>"


def shown(value) -> str:
    """A bind parameter as a person reads it in SQL (display only: the load sends parameters)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool | int | float):
        return str(value)
    if isinstance(value, datetime):
        value = value.isoformat(sep=" ")
    return "'" + str(value).replace("'", "''") + "'"


class Printer:
    def __init__(self, out, secrets: tuple[str, ...] = ()):
        self.out, self.secrets = out, secrets

    def __call__(self, sql: str, params: tuple = (), note: str | None = None) -> None:
        text = sql.replace("%s", "{}").format(*(shown(p) for p in params)) if params else sql
        if note:
            self.comment(note)
        print(db.mask(text, *self.secrets) + ";\n", file=self.out)

    def comment(self, text: str) -> None:
        print(db.mask(f"-- {text}", *self.secrets), file=self.out)


def _plan(kind: str, settings: Settings) -> Plan:
    """A plan whose one file is new to the ledger and changed since its last load, so that every
    statement of the staging transaction is shown."""
    source = settings.source(kind)
    changed = SourceFile(f"<a changed file of {source}>", 0, "")
    return Plan(kind, staging.TABLES[kind], source, [changed], {changed.uri: (1, "")}, [changed],
                settings.full_refresh)


def _forget_rejects(plans: list[Plan]) -> tuple[str, tuple]:
    """One DELETE of what an earlier attempt left in load_errors for a file this load reads."""
    uri = plans[-1].todo[0].uri
    return staging.FORGET_REJECTS.format(among="source_file IN (%s)"), ("<an earlier load id>", uri)


def print_load(settings: Settings, out=None) -> None:
    out = out or sys.stdout
    warehouse = warehouses.of(settings)
    run = Printer(out, (*warehouse.secrets, *db.secrets_of(settings.extra.get("DATABASE_URL"), settings.extra)))
    dialect = warehouse.caps.dialect
    stager = warehouse.stager(LOAD_ID, quiet=True, dry_run=True)
    run.comment(f"{warehouse.name} load, dry run: {warehouse.describe()}")
    run.comment("Nothing is connected to or written; every source file is taken as new.\n")
    run("SET statement_timeout TO %s", (settings.statement_timeout_ms,), note="each connection: milliseconds, 0 = none")
    run(db.EXISTING_SCHEMAS, note="each connection: search the project's schemas that exist, then public")
    run(db.search_path(db.SCHEMAS))
    for statement in warehouse.caps.session_setup:
        run(statement)

    run(migrations.HISTORY_MOVED, note="schema: where schema_history is (etl, or public before the move)")
    run(migrations.FLAT, note="before the move")
    run(migrations.HISTORY_DDL.strip(), note="schema: files not yet in schema_history, each in its transaction")
    run(migrations.PENDING)
    for f in sqlfiles.files("schema", dialect):
        run(migrations.HISTORY_MOVED, note=f"{f.path.name}: applied once")
        run(migrations.FLAT if f.number < migrations.MOVED else db.search_path(db.SCHEMAS),
            note="in public before the move" if f.number < migrations.MOVED else None)
        run(migrations.LOCK)
        run(migrations.APPLIED, (f.number,))
        for statement in f.statements:
            run(statement)
        run(db.EXISTING_SCHEMAS)
        run(db.search_path(db.SCHEMAS))
        run(migrations.RECORD, (f.number, f.name, f.checksum[:12] + "...", "<now>"))
        run("COMMIT")
    run(catalog.TABLE_COMMENTS, note="descriptions: each table's and star column's, where the catalog's differs "
                                     "from sql/tables.toml's, in one transaction")
    run(catalog.COLUMN_COMMENTS)
    for t in catalog.tables().values():
        run(f"COMMENT ON TABLE {t.qualified} IS %s", (t.description,))
        for column, text in t.columns.items():
            run(f"COMMENT ON COLUMN {t.qualified}.{column} IS %s", (text,))
    run("COMMIT")

    plans = [_plan(kind, settings) for kind in staging.TABLES]
    for p in plans:
        run(staging.LEDGER_READ, (p.kind,), note=f"{p.kind}: the files already loaded (no lock held)")
    for statement, params, note in stager.prepare_statements():
        run(statement, params, note=note)
    run(lock.LOCK, note="staging: one transaction, under the load lock")
    for p in plans:
        if not p.full_refresh:
            run(staging.LEDGER_READ, (p.kind,), note=f"{p.kind}: the ledger again; if another load moved it, "
                                                      "roll back and plan again")
    for p in plans:
        for n, (statement, params) in enumerate(staging.refresh_statements(p) if p.full_refresh
                                                else staging.replace_statements(p)):
            note = ("FULL_REFRESH=1" if p.full_refresh else f"{p.kind}: only for files changed since their last "
                    "load, 500 a statement") if n == 0 else None
            run(statement, params, note=note)
        if not p.full_refresh:
            run(staging.UNPUBLISHED, (p.kind,), note=f"{p.kind}: files the star never showed; those gone from the "
                                                     "source are taken out as a changed file is, above")
    forget = _forget_rejects(plans)
    for p in plans:
        run(staging.REJECTED_FILES, (p.kind,), note=f"{p.kind}: what earlier attempts left in load_errors for the "
                                                   "files this load reads")
    run(*forget)
    for p in plans:
        for statement, params, note in stager.statements(p, settings.max_errors):
            run(statement, params, note=note)
    reject = Reject(plans[-1].todo[0].uri, 7, "<reason>", "<the start of the record>")
    example = staging.error_rows([(plans[-1].kind, reject)], LOAD_ID, "<now>")
    errors = stager.insert_statement("load_errors", staging.ERROR_COLUMNS)
    run(errors, () if "STDIN" in errors else example[0],
        note="every rejected record, with its file, line and reason (500 a statement, or COPY)")
    copied = Copied(files=[FileCount(plans[0].todo[0], read=10, staged=9, rejected=1)])
    row = staging.ledger_rows(plans[0], copied, LOAD_ID, "<now>")[0]
    ledger = stager.insert_statement("load_files", staging.LEDGER_COLUMNS)
    run(ledger, () if "STDIN" in ledger else row, note="the ledger: one row per file read")
    run("COMMIT")
    run.comment("over MAX_ERRORS instead: ROLLBACK, then in a transaction of its own:")
    run(lock.LOCK)
    for p in plans:
        run(staging.REJECTED_FILES, (p.kind,))
    run(*forget, note="the rows of the version each file has in the ledger stay")
    run(errors, () if "STDIN" in errors else example[0])
    run("COMMIT")

    run(checks.STAGING_LOST, note="before the transform: staging lost while the star reflects loads stops it")
    for f, statement in transform.statements(warehouse.caps, settings.full_refresh):
        note = "transform: one transaction, under the load lock" if f is None and statement == lock.LOCK else (
            f.path.name if f is not None and statement.lstrip().upper().startswith("DELETE") else None)
        run(statement, note=note)
    run(checks.REBUILD, note="the gate: every check of sql/checks/, before the transform commits; a failing one "
                             "(not a warning) rolls it back")
    for check in checks.load(dialect):
        run(check.whole, note=f"{check.name}: on a rebuild" + ("" if check.scoped else ", and on every transform"))
        if check.scoped:
            run(check.scoped, note=f"{check.name}: on an incremental transform")
    if settings.max_event_age_hours:
        run(checks.NEWEST, note="freshness (MAX_EVENT_AGE), a warning here")
    run(pipeline.STAGED_COUNTS, note="the summary's counts, once the gate has passed, before the commit")
    for table in pipeline.STAR_TABLES:
        run(f"SELECT COUNT(*) FROM {table}")
    for statement, params, when in warehouse.before_commit_statements():
        run(statement, params, note=when)
    run("COMMIT")
    for statement, params, when in warehouse.maintenance_statements():
        run(statement, params, note=when)
    example = history.Run(LOAD_ID, "load", warehouse.name, "<start>", "<end>", steps={"stage": 1.0},
                          tables={t: 0 for t in history.TABLES})
    run(db.insert_sql("load_runs", history.LOAD_COLUMNS, 1), example.load_row(),
        note="the history, however the load ended: one row per load, and one per check of the gate")
    run(db.insert_sql("check_runs", history.CHECK_COLUMNS, 1),
        (LOAD_ID, "load", "<check>", "error", "passed", 0, 0.0, "<end>"))
    run("COMMIT")

