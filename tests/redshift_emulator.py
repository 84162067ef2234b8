"""A stand-in for a Redshift connection in tests: a real PostgreSQL database behind it, with Redshift's
own behaviour emulated where the load depends on it, as the documentation describes it.

- COPY ... FROM 's3://...manifest' MANIFEST FORMAT AS JSON ... GZIP reads the manifest and its parts from
  S3 (moto's server), every entry mandatory, each line a JSON object; 'auto' matches keys to column
  names case-sensitively, a JSONPaths file maps paths to columns in order; TIMEFORMAT 'epochmillisecs'
  turns a number into a timestamp. A value too long for a VARCHAR counts bytes of UTF-8 ("CHAR and
  VARCHAR data types are defined in terms of bytes, not characters"), a NULL for a NOT NULL column or
  a number out of range is an error; an erroneous row is skipped and logged in sys_load_error_detail,
  whose file_name is character(256). "If the load returns the error_count number of errors or greater,
  the load fails" (MAXERROR 0 or 1: at the first). A failed COPY aborts the transaction.
- SELECT pg_last_copy_count() answers the rows the last COPY loaded (0 when it failed).
- Every statement is checked against the documented rules (redshift_rules.problems) before it runs,
  and kept, as the client sent it, in `sent`.
- The server reports no standard_conforming_strings, as Redshift does.
- Keys are not enforced: "Uniqueness, primary key, and foreign key constraints are informational only;
  they are not enforced by Amazon Redshift when you populate a table" (t_Defining_constraints). CREATE
  TABLE and ALTER TABLE ... ADD run without their PRIMARY KEY, UNIQUE and REFERENCES clauses, so a
  duplicate key is stored, as Redshift stores it, and only the checks can catch it.

Hooks let a test make Redshift do what the documentation allows and the data alone would not:
`refuse(table, row) -> (column, code, message) | None`, `lose_rows` rows loaded silently fewer,
`copy_error` a COPY that fails before loading (an access error, say).
"""

from __future__ import annotations

import gzip
import json
import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit

import psycopg2
from psycopg2.extras import execute_values
from redshift_rules import problems

REAL_CONNECT = psycopg2.connect  # tests put the emulator in psycopg2.connect's place for Redshift's host


class NotRedshift(AssertionError):
    """A statement Redshift's documentation says it would not run."""


_COPY = re.compile(r"^\s*COPY\s+(\w+)\s*\(([^)]*)\)\s*FROM\s+'([^']+)'", re.S)
_TABLE_ATTRIBUTES = re.compile(r"\)\s*\n\s*(DISTSTYLE|DISTKEY|SORTKEY)[^;]*$", re.S)
_LIKE_ERRORS = re.compile(r"\bFROM\s+sys_load_error_detail\b", re.I)
_VACUUM = re.compile(r"^\s*VACUUM\s+DELETE\s+ONLY\s+(\w+)\s+TO\s+100\s+PERCENT\s*$", re.I)
_DEFINES_TABLE = re.compile(r"^\s*(CREATE\s+TABLE|ALTER\s+TABLE)\b", re.I | re.M)
_KEYS = (re.compile(r",\s*(CONSTRAINT\s+\w+\s+)?(PRIMARY\s+KEY|UNIQUE)\s*\([^)]*\)", re.I),  # table constraints
         re.compile(r"\s+(PRIMARY\s+KEY|UNIQUE)\b(?!\s*\()", re.I),  # column constraints
         re.compile(r"\s+REFERENCES\s+\w+(\s*\([^)]*\))?", re.I))


_ADD_KEY = re.compile(r"^\s*ALTER\s+TABLE\s+\w+\s+ADD\s+(CONSTRAINT\s+\w+\s+)?(PRIMARY\s+KEY|UNIQUE|FOREIGN\s+KEY)",
                      re.I | re.M)


def unkeyed(sql: str) -> str:
    """A table's definition without its comments and the keys Redshift would not enforce; a statement that
    only adds a key becomes one that does nothing."""
    code = _COMMENT_LINES.sub("", sql)
    if _ADD_KEY.search(code):
        return "SELECT 1 WHERE FALSE"
    if not _DEFINES_TABLE.search(code):
        return sql
    for pattern in _KEYS:
        code = pattern.sub("", code)
    return code


_COMMENT_LINES = re.compile(r"--[^\n]*")


def _s3_get(s3, uri: str) -> bytes:
    parts = urlsplit(uri)
    return s3.get_object(Bucket=parts.netloc, Key=parts.path.lstrip("/"))["Body"].read()


class EmulatedRedshift:
    def __init__(self, dsn: str, s3, *, refuse=None, lose_rows: int = 0, copy_error: str | None = None,
                 on_statement=None, sent: list | None = None):
        self.pg = REAL_CONNECT(dsn)
        self.s3 = s3
        self.sent: list[str] = [] if sent is None else sent
        self.errors: list[tuple] = []  # sys_load_error_detail: file_name, line_number, column, code, message
        self.last_copy_count = 0
        self.refuse, self.lose_rows, self.copy_error = refuse, lose_rows, copy_error
        self.on_statement = on_statement  # a test's callback(sql) before each statement

    # --- the DB-API surface the load uses ---
    def cursor(self):
        return EmulatedCursor(self)

    def commit(self):
        self.sent.append("COMMIT")
        self.pg.commit()

    def rollback(self):
        self.sent.append("ROLLBACK")
        self.pg.rollback()

    def close(self):
        self.pg.close()

    @property
    def closed(self):
        return self.pg.closed

    @property
    def autocommit(self):
        return self.pg.autocommit

    @autocommit.setter
    def autocommit(self, value):
        self.pg.autocommit = value

    def get_parameter_status(self, name):
        return None if name == "standard_conforming_strings" else self.pg.get_parameter_status(name)

    # --- COPY, as the documentation describes it ---
    def _columns(self, table: str) -> dict[str, tuple[str, int | None, bool]]:
        with self.pg.cursor() as cur:
            cur.execute("SELECT column_name, data_type, character_maximum_length, is_nullable = 'YES' "
                        "FROM information_schema.columns WHERE table_name = %s", (table,))
            return {name: (kind, width, nullable) for name, kind, width, nullable in cur.fetchall()}

    def copy(self, sql: str) -> None:
        table, columns, source = _COPY.match(sql).groups()
        columns = [c.strip() for c in columns.split(",")]
        json_format = re.search(r"FORMAT AS JSON '([^']+)'", sql).group(1)
        maxerror = int(re.search(r"\bMAXERROR (\d+)", sql).group(1))
        assert re.search(r"\bMANIFEST\b", sql) and re.search(r"\bGZIP\b", sql) and "IAM_ROLE '" in sql
        epoch_ms = "TIMEFORMAT 'epochmillisecs'" in sql
        if self.copy_error:
            self.last_copy_count = 0
            self._abort()
            raise psycopg2.InternalError(self.copy_error)
        paths = None if json_format == "auto" else json.loads(_s3_get(self.s3, json_format))["jsonpaths"]
        manifest = json.loads(_s3_get(self.s3, source))
        types = self._columns(table)
        rows, errors = [], []
        for entry in manifest["entries"]:
            assert entry["mandatory"] is True
            body = gzip.decompress(_s3_get(self.s3, entry["url"]))  # a missing mandatory part raises
            for number, line in enumerate(body.decode("utf-8").split("\n"), start=1):
                if not line:
                    continue
                record = json.loads(line)
                values = [record.get(c) for c in columns] if paths is None else \
                    [record.get(p.removeprefix("$.")) for p in paths]
                error = self._check(table, dict(zip(columns, values)), types)
                if error:
                    errors.append((entry["url"][:256], number, *error))
                    continue
                if epoch_ms:
                    values = [datetime(1970, 1, 1) + timedelta(milliseconds=v) if types[c][0].startswith("timestamp")
                              and isinstance(v, int) else v for c, v in zip(columns, values)]
                rows.append(values)
        self.errors += errors
        if errors and len(errors) >= max(maxerror, 1):
            self.last_copy_count = 0
            self._abort()
            raise psycopg2.InternalError(f"Load into table '{table}' failed. Check 'sys_load_error_detail' system "
                                         "table for details.")
        rows = rows[: len(rows) - self.lose_rows] if self.lose_rows else rows
        with self.pg.cursor() as cur:
            if rows:
                execute_values(cur, f"INSERT INTO {table} ({', '.join(columns)}) VALUES %s", rows, page_size=1000)
        self.last_copy_count = len(rows)

    def _check(self, table, row: dict, types) -> tuple | None:
        for column, value in row.items():
            kind, width, nullable = types[column]
            if value is None:
                if not nullable:
                    return column, 1213, "Missing data for not-null field"
                continue
            if kind == "character varying" and len(str(value).encode("utf-8")) > width:
                return column, 1204, "String length exceeds DDL length"
            if kind == "integer" and not -(2**31) <= value < 2**31:
                return column, 1216, "Invalid digit, Value out of range"
        if self.refuse:
            return self.refuse(table, row)
        return None

    def _abort(self):
        """Leave the PostgreSQL transaction aborted, as a failed COPY leaves Redshift's."""
        try:
            with self.pg.cursor() as cur:
                cur.execute("SELECT 1 / 0")
        except psycopg2.Error:
            pass


class EmulatedCursor:
    def __init__(self, conn: EmulatedRedshift):
        self.connection = conn
        self._cur = conn.pg.cursor()
        self._rows: list | None = None

    def execute(self, sql, params=None):
        conn = self.connection
        rendered = self._cur.mogrify(sql, params).decode() if params else sql
        conn.sent.append(rendered)
        found = problems(sql)
        if found:
            raise NotRedshift(f"{found}: {sql[:200]}")
        if conn.on_statement:
            conn.on_statement(sql)
        self._rows = None
        if _COPY.match(sql):
            return conn.copy(sql)
        if sql.strip() == "SELECT pg_last_copy_count()":
            self._rows = [(conn.last_copy_count,)]
            return None
        if _LIKE_ERRORS.search(sql):
            prefix = params[0].rstrip("%")
            self._rows = sorted((f, n, c, code, m) for f, n, c, code, m in conn.errors if f.startswith(prefix))
            return None
        vacuum = _VACUUM.match(sql)
        if vacuum:  # Redshift's form; PostgreSQL vacuums the table as a whole, and neither in a transaction
            assert conn.pg.autocommit, "VACUUM inside a transaction block"
            return self._cur.execute(f"VACUUM {vacuum.group(1)}")
        return self._cur.execute(_TABLE_ATTRIBUTES.sub(")", unkeyed(sql)), params)

    def fetchall(self):
        return list(self._rows) if self._rows is not None else self._cur.fetchall()

    def fetchone(self):
        if self._rows is not None:
            return self._rows.pop(0) if self._rows else None
        return self._cur.fetchone()

    @property
    def rowcount(self):
        return self._cur.rowcount

    @property
    def description(self):
        return self._cur.description

    def copy_expert(self, *args, **kwargs):
        raise NotRedshift("COPY FROM STDIN: Redshift's COPY reads S3, not the client")

    def close(self):
        self._cur.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
