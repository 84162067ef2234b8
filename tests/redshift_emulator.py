"""A stand-in for a Redshift connection in tests: a real PostgreSQL database behind it, with Redshift's
own behaviour emulated where the load depends on it, as the documentation describes it.

- COPY ... FROM 's3://...manifest' MANIFEST FORMAT AS JSON ... GZIP reads the manifest and its parts from
  S3 (moto's server), every entry mandatory, each line a JSON object; 'auto' matches keys to column
  names case-sensitively, a JSONPaths file maps paths to columns in order; TIMEFORMAT 'epochmillisecs'
  turns a number into a timestamp. A value too long for a VARCHAR counts bytes of UTF-8 ("CHAR and
  VARCHAR data types are defined in terms of bytes, not characters"), a NULL for a NOT NULL column or
  a number out of range is an error; an erroneous row is skipped and logged in sys_load_error_detail,
  whose file_name is character(256). "If the load returns the error_count number of errors or greater,
  the load fails" (MAXERROR 0 or 1: at the first), with the message a cluster gives (naming
  stl_load_errors) or, `serverless=True`, the one Serverless gives (naming sys_load_error_detail). A
  failed COPY aborts the transaction. NOLOAD checks the rows and loads none.
- A JSON number bound for a BIGINT column is read as a double ("You might lose precision when loading
  numbers from data files in JSON format"): past 2^53 it is rounded, as Redshift would; a string holding
  the number loads it exactly.
- COPY's REGION (else the cluster's own, `region`) must be the Region of every bucket it reads: "If the
  REGION parameter is specified, all resources, including a manifest file or multiple Amazon S3 buckets,
  must be located in the specified Region." Otherwise the COPY fails as S3 answers a request sent to the
  wrong Region (a 301 PermanentRedirect), and logs no error rows.
- STATUPDATE ON needs "the table owner or a superuser": from anyone else the COPY fails.
- Text compares as Redshift compares it, trailing blanks ignored ("Trailing spaces in VARCHAR and CHAR
  values are treated as semantically insignificant when values are compared"): every VARCHAR(n) of a CREATE
  TABLE becomes a domain over PostgreSQL's bpchar (rs_varchar_n), which keeps its value as written and
  ignores trailing blanks wherever it is compared, joined, grouped, partitioned, sorted or made DISTINCT.
  Functions that take text (||, MD5, RTRIM) see the value without its trailing blanks, which is where the
  emulator differs from Redshift; the widths stay the declared ones, in bytes.
- SELECT pg_last_copy_count() answers the rows the last COPY loaded (0 when it failed).
- The loading user is not a superuser unless `superuser=True` (pg_user answers so) and holds the RBAC
  system permissions in `privileges` (svv_system_privileges answers so, for the user itself).
- Every statement is checked against the documented rules (redshift_rules.problems) before it runs,
  and kept, as the client sent it, in `sent`.
- The server reports no standard_conforming_strings, as Redshift does.
- Keys are not enforced: "Uniqueness, primary key, and foreign key constraints are informational only;
  they are not enforced by Amazon Redshift when you populate a table" (t_Defining_constraints). CREATE
  TABLE and ALTER TABLE ... ADD run without their PRIMARY KEY, UNIQUE and REFERENCES clauses, so a
  duplicate key is stored, as Redshift stores it, and only the checks can catch it.

Hooks let a test make Redshift do what the documentation allows and the data alone would not:
`refuse(table, row) -> (column, code, message) | None`, `lose_rows` rows loaded silently fewer,
`copy_error` a COPY of the parts' manifest that fails before loading and logs no error rows (an access
error, say),
`faults` a list (shared by every connection a test makes) of (pattern, kind): the first statement that
matches a pattern (a regular expression) fails, and its entry is used up. kind "drop": the connection is
lost, as when a node restarts or a NAT drops it (the server's session ends and the client raises
OperationalError "server closed the connection unexpectedly", with no SQLSTATE); kind "1023": Redshift's
serializable isolation error, "ERROR:1023 DETAIL: Serializable isolation violation on table in Redshift"
(Troubleshooting serializable isolation errors), which cancels the transaction (it is left aborted);
`late_errors` error rows that appear late: each read of sys_load_error_detail after a COPY sees the rows
of one more of its parts than the read before (system views fill in per node, and no delay is
documented), `role_not_ready` a list holding how many COPYs still fail because the IAM role cannot be
assumed yet (shared by every connection a test makes), `on_statement(sql)` before each statement.
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


_COPY = re.compile(r"^\s*COPY\s+([\w.]+)\s*\(([^)]*)\)\s*FROM\s+'([^']+)'", re.S)
_TABLE_ATTRIBUTES = re.compile(r"\)\s*\n\s*(DISTSTYLE|DISTKEY|SORTKEY)[^;]*$", re.S)
_LIKE_ERRORS = re.compile(r"\bFROM\s+sys_load_error_detail\b", re.I)
_VACUUM = re.compile(r"^\s*VACUUM\s+DELETE\s+ONLY\s+([\w.]+)\s+TO\s+100\s+PERCENT\s*$", re.I)
_SUPERUSER = re.compile(r"\bSELECT\s+usesuper\s+FROM\s+pg_user\b", re.I)
_PRIVILEGES = re.compile(r"\bFROM\s+svv_system_privileges\b", re.I)
_CREATE_TABLE = re.compile(r"^\s*CREATE\s+(?:TEMP\s+|TEMPORARY\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?[\w.]+\s*"
                           r"\((?!\s*LIKE\b)", re.I)
_VARCHAR = re.compile(r"\b(?:VARCHAR|CHARACTER\s+VARYING)\s*\(\s*(\d+)\s*\)", re.I)
_DOMAIN = re.compile(r"rs_varchar_(\d+)")
# S3's answer to a request for a bucket of another Region, as COPY reports it
WRONG_REGION = ("S3ServiceException:The bucket you are attempting to access must be addressed using the specified "
                "endpoint. Please send all future requests to this endpoint.,Status 301,Error PermanentRedirect")
NOT_ASSUMABLE = ("User arn:aws:redshift:us-west-2:123456789012:dbuser:emulated/admin is not authorized to assume IAM "
                 "Role {role}")

_DEFINES_TABLE = re.compile(r"^\s*(CREATE\s+TABLE|ALTER\s+TABLE)\b", re.I | re.M)
_KEYS = (re.compile(r",\s*(CONSTRAINT\s+\w+\s+)?(PRIMARY\s+KEY|UNIQUE)\s*\([^)]*\)", re.I),  # table constraints
         re.compile(r"\s+(PRIMARY\s+KEY|UNIQUE)\b(?!\s*\()", re.I),  # column constraints
         re.compile(r"\s+REFERENCES\s+\w+(\s*\([^)]*\))?", re.I))


_ADD_KEY = re.compile(r"^\s*ALTER\s+TABLE\s+[\w.]+\s+ADD\s+(CONSTRAINT\s+\w+\s+)?(PRIMARY\s+KEY|UNIQUE|FOREIGN\s+KEY)",
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


def _bucket_region(s3, uri: str) -> str:
    constraint = s3.get_bucket_location(Bucket=urlsplit(uri).netloc).get("LocationConstraint")
    return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(constraint, constraint)


class EmulatedRedshift:
    def __init__(self, dsn: str, s3, *, refuse=None, lose_rows: int = 0, copy_error: str | None = None,
                 on_statement=None, sent: list | None = None, region: str = "us-west-2", serverless: bool = False,
                 late_errors: bool = False, superuser: bool = False, privileges=(), role_not_ready: list | None = None,
                 faults: list | None = None):
        self.pg = REAL_CONNECT(dsn)
        self.s3 = s3
        self.sent: list[str] = [] if sent is None else sent
        # sys_load_error_detail: file_name, line_number, column, code, message; and the read it shows from
        self.errors: list[tuple] = []
        self.visible_from: list[int] = []
        self.error_reads = 0
        self.last_copy_count = 0
        self.refuse, self.lose_rows, self.copy_error = refuse, lose_rows, copy_error
        self.region, self.serverless, self.late_errors = region, serverless, late_errors
        self.superuser, self.privileges = superuser, set(privileges)
        self.role_not_ready = role_not_ready
        self.on_statement = on_statement  # a test's callback(sql) before each statement
        self.faults = faults  # [(pattern, "drop" | "1023")], used up as they strike

    def fault(self, sql: str) -> None:
        """Raise the first fault whose pattern `sql` matches, using it up."""
        for n, (pattern, kind) in enumerate(self.faults or ()):
            if re.search(pattern, sql):
                del self.faults[n]
                if kind == "drop":
                    self.pg.close()
                    raise psycopg2.OperationalError("server closed the connection unexpectedly\n\tThis probably "
                                                    "means the server terminated abnormally\n\tbefore or while "
                                                    "processing the request.")
                self._abort()
                raise psycopg2.InternalError("1023\nDETAIL:  Serializable isolation violation on table - 100305, "
                                             "transactions forming the cycle are: 4521, 4522 (pid:17012)")

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

    # --- DDL: Redshift's VARCHAR, trailing blanks insignificant when compared ---
    def ddl(self, cur, sql: str) -> str:
        if not _CREATE_TABLE.match(sql):
            return sql
        for width in sorted({int(n) for n in _VARCHAR.findall(sql)}):
            cur.execute(f"DO $$BEGIN CREATE DOMAIN public.rs_varchar_{width} AS BPCHAR; "
                        "EXCEPTION WHEN duplicate_object THEN NULL; END$$")
        return _VARCHAR.sub(lambda m: f"public.rs_varchar_{m.group(1)}", sql)

    # --- COPY, as the documentation describes it ---
    def _columns(self, table: str) -> dict[str, tuple[str, int | None, bool]]:
        with self.pg.cursor() as cur:
            cur.execute("SELECT a.attname, format_type(a.atttypid, NULL), NULL, NOT a.attnotnull, t.typname "
                        "FROM pg_attribute AS a INNER JOIN pg_type AS t ON a.atttypid = t.oid "
                        "WHERE a.attrelid = CAST(%s AS REGCLASS) AND a.attnum > 0 AND NOT a.attisdropped", (table,))
            out = {}
            for name, kind, width, nullable, domain in cur.fetchall():
                declared = _DOMAIN.fullmatch(domain or "")
                if declared:
                    kind, width = "character varying", int(declared.group(1))
                out[name] = (kind, width, nullable)
            return out

    def _owns(self, table: str) -> bool:
        with self.pg.cursor() as cur:
            cur.execute("SELECT COUNT(*) FROM pg_class WHERE oid = CAST(%s AS REGCLASS) "
                        "AND relowner = (SELECT oid FROM pg_roles WHERE rolname = CURRENT_USER)", (table,))
            return cur.fetchone()[0] > 0

    def _fail(self, message: str):
        self.last_copy_count = 0
        self._abort()
        raise psycopg2.InternalError(message)

    def copy(self, sql: str) -> None:
        table, columns, source = _COPY.match(sql).groups()
        columns = [c.strip() for c in columns.split(",")]
        json_format = re.search(r"FORMAT AS JSON '([^']+)'", sql).group(1)
        maxerror = re.search(r"\bMAXERROR (\d+)", sql)
        maxerror = int(maxerror.group(1)) if maxerror else 0
        manifest_copy = bool(re.search(r"\bMANIFEST\b", sql))
        noload = bool(re.search(r"\bNOLOAD\b", sql))
        role = re.search(r"IAM_ROLE '([^']+)'", sql)
        assert re.search(r"\bGZIP\b", sql) and role and (manifest_copy or noload)
        epoch_ms = "TIMEFORMAT 'epochmillisecs'" in sql
        region = re.search(r"\bREGION '([^']+)'", sql)
        region = region.group(1) if region else self.region
        if self.role_not_ready is not None and self.role_not_ready[0] > 0:
            self.role_not_ready[0] -= 1
            self._fail(NOT_ASSUMABLE.format(role=role.group(1)))
        if self.copy_error and manifest_copy:
            self._fail(self.copy_error)
        statupdate = re.search(r"\bSTATUPDATE (ON|OFF)\b", sql)
        if statupdate and statupdate.group(1) == "ON" and not (self.superuser or self._owns(table)):
            self._fail(f"STATUPDATE ON needs the owner of {table} or a superuser")
        reads = [source] + ([] if json_format == "auto" else [json_format])
        if any(_bucket_region(self.s3, uri) != region for uri in reads):
            self._fail(WRONG_REGION)
        paths = None if json_format == "auto" else json.loads(_s3_get(self.s3, json_format))["jsonpaths"]
        entries = json.loads(_s3_get(self.s3, source))["entries"] if manifest_copy else [
            {"url": source, "mandatory": True}]
        if any(_bucket_region(self.s3, e["url"]) != region for e in entries):
            self._fail(WRONG_REGION)
        types = self._columns(table)
        rows, errors, visible = [], [], []
        late = 0  # parts with errors so far: with late_errors, the n-th one's rows show from the n-th read on
        for entry in entries:
            assert entry["mandatory"] is True
            body = gzip.decompress(_s3_get(self.s3, entry["url"]))  # a missing mandatory part raises
            first = len(errors)
            for number, line in enumerate(body.decode("utf-8").split("\n"), start=1):
                if not line:
                    continue
                record = json.loads(line)
                values = [record.get(c) for c in columns] if paths is None else \
                    [record.get(p.removeprefix("$.")) for p in paths]
                values = [self._as_read(types[c][0], v) for c, v in zip(columns, values)]
                error = self._check(table, dict(zip(columns, values)), types)
                if error:
                    errors.append((entry["url"][:256], number, *error))
                    continue
                if epoch_ms:
                    values = [datetime(1970, 1, 1) + timedelta(milliseconds=v) if types[c][0].startswith("timestamp")
                              and isinstance(v, int) else v for c, v in zip(columns, values)]
                rows.append(values)
            if len(errors) > first:
                late += 1
                visible += [self.error_reads + late if self.late_errors else 0] * (len(errors) - first)
        self.errors += errors
        self.visible_from += visible
        if errors and len(errors) >= max(maxerror, 1):
            view = "sys_load_error_detail" if self.serverless else "stl_load_errors"
            self._fail(f"Load into table '{table}' failed. Check '{view}' system table for details.")
        rows = rows[: len(rows) - self.lose_rows] if self.lose_rows else rows
        if noload:
            rows = []
        with self.pg.cursor() as cur:
            if rows:
                execute_values(cur, f"INSERT INTO {table} ({', '.join(columns)}) VALUES %s", rows, page_size=1000)
        self.last_copy_count = len(rows)

    @staticmethod
    def _as_read(kind: str, value):
        """A JSON value as COPY reads it into a column of `kind`: a number for a BIGINT as a double."""
        if kind == "bigint" and type(value) is int:
            return int(float(value))
        return value

    def _check(self, table, row: dict, types) -> tuple | None:
        for column, value in row.items():
            kind, width, nullable = types[column]
            if value is None:
                if not nullable:
                    return column, 1213, "Missing data for not-null field"
                continue
            if kind == "character varying" and len(str(value).encode("utf-8")) > width:
                return column, 1204, "String length exceeds DDL length"
            if kind in ("integer", "bigint") and type(value) is str:
                if not re.fullmatch(r"-?\d+", value):
                    return column, 1207, "Invalid digit, Value '.', Pos 0, Type: Long"
                value = int(value)
            bits = 31 if kind == "integer" else 63
            if kind in ("integer", "bigint") and not -(2**bits) <= value < 2**bits:
                return column, 1216, "Invalid digit, Value out of range"
        if self.refuse:
            return self.refuse(table, row)
        return None

    def error_detail(self, prefix: str) -> list[tuple]:
        """sys_load_error_detail as one read sees it."""
        self.error_reads += 1
        return sorted((f, n, c, code, m) for (f, n, c, code, m), shown in zip(self.errors, self.visible_from)
                      if f.startswith(prefix) and shown <= self.error_reads)

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
        if conn.faults:
            conn.fault(sql)
        self._rows = None
        if _COPY.match(sql):
            return conn.copy(sql)
        if sql.strip() == "SELECT pg_last_copy_count()":
            self._rows = [(conn.last_copy_count,)]
            return None
        if _LIKE_ERRORS.search(sql):
            self._rows = conn.error_detail(params[0].rstrip("%"))
            return None
        if _SUPERUSER.search(sql):
            self._rows = [(conn.superuser,)]
            return None
        if _PRIVILEGES.search(sql):
            self._rows = [(1 if params[0] in conn.privileges else 0,)]
            return None
        vacuum = _VACUUM.match(sql)
        if vacuum:  # Redshift's form; PostgreSQL vacuums the table as a whole, and neither in a transaction
            assert conn.pg.autocommit, "VACUUM inside a transaction block"
            return self._cur.execute(f"VACUUM {vacuum.group(1)}")
        return self._cur.execute(conn.ddl(self._cur, _TABLE_ATTRIBUTES.sub(")", unkeyed(sql))), params)

    def fetchall(self):
        return list(self._rows) if self._rows is not None else self._cur.fetchall()

    def fetchone(self):
        if self._rows is not None:
            return self._rows.pop(0) if self._rows else None
        return self._cur.fetchone()

    def fetchmany(self, size=None):
        if self._rows is not None:
            size = len(self._rows) if size is None else size
            taken, self._rows = self._rows[:size], self._rows[size:]
            return taken
        return self._cur.fetchmany(size) if size is not None else self._cur.fetchmany()

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
