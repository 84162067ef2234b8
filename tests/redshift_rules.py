"""What Redshift's documentation says a statement must not hold, as checks a test can run on SQL text.

Each list below is copied from the page it names; a statement is checked with its string literals and
comments removed, so a value or a note that mentions NOW() is not mistaken for a call.
"""

from __future__ import annotations

import re

# https://docs.aws.amazon.com/redshift/latest/dg/c_SQL_functions_leader_node_only.html: "A query that uses
# a leader-node function must run exclusively on the leader node, not on the compute nodes, or it will
# return an error." System information: CURRENT_SCHEMA, CURRENT_SCHEMAS, HAS_*_PRIVILEGE; string: SUBSTR;
# math: FACTORIAL, LOG. Deprecated date functions: AGE, CURRENT_TIME, CURRENT_TIMESTAMP, LOCALTIME,
# ISFINITE, NOW (and LOCALTIMESTAMP, on the date functions page: "Use GETDATE function or SYSDATE
# instead"); string: GETBIT, GET_BYTE, SET_BIT, SET_BYTE, TO_ASCII.
LEADER_NODE_ONLY_WORDS = ("CURRENT_SCHEMA", "CURRENT_SCHEMAS", "CURRENT_TIME", "CURRENT_TIMESTAMP", "LOCALTIME",
                          "LOCALTIMESTAMP")
LEADER_NODE_ONLY_CALLS = ("HAS_DATABASE_PRIVILEGE", "HAS_SCHEMA_PRIVILEGE", "HAS_TABLE_PRIVILEGE", "SUBSTR",
                          "FACTORIAL", "LOG", "AGE", "ISFINITE", "NOW", "GETBIT", "GET_BYTE", "SET_BIT", "SET_BYTE",
                          "TO_ASCII")

# https://docs.aws.amazon.com/redshift/latest/dg/c_unsupported-postgresql-functions.html: "These
# PostgreSQL functions are not supported in Amazon Redshift."
UNSUPPORTED_CALLS = (
    "STRING_AGG", "ARRAY_AGG", "EVERY", "XML_AGG", "CORR", "COVAR_POP", "COVAR_SAMP", "REGR_AVGX", "REGR_AVGY",
    "REGR_COUNT", "REGR_INTERCEPT", "REGR_R2", "REGR_SLOPE", "REGR_SXX", "REGR_SXY", "REGR_SYY",
    "CLOCK_TIMESTAMP", "JUSTIFY_DAYS", "JUSTIFY_HOURS", "JUSTIFY_INTERVAL", "PG_SLEEP", "TRANSACTION_TIMESTAMP",
    "DIV", "SETSEED", "WIDTH_BUCKET", "GENERATE_SERIES", "GENERATE_SUBSCRIPTS",
    "BIT_LENGTH", "OVERLAY", "CONVERT", "CONVERT_FROM", "CONVERT_TO", "ENCODE", "FORMAT", "QUOTE_NULLABLE",
    "REGEXP_MATCHES", "REGEXP_SPLIT_TO_ARRAY", "REGEXP_SPLIT_TO_TABLE",
    "PG_ADVISORY_LOCK", "PG_TRY_ADVISORY_LOCK", "PG_ADVISORY_XACT_LOCK", "PG_ADVISORY_UNLOCK", "NEXTVAL", "CURRVAL",
    "SETVAL", "ARRAY",
)

# https://docs.aws.amazon.com/redshift/latest/dg/c_unsupported-postgresql-features.html and
# c_unsupported-postgresql-datatypes.html, as patterns; and what else the load must never send.
UNSUPPORTED_PATTERNS = {
    r"\bIS\s+(NOT\s+)?DISTINCT\s+FROM\b": "IS DISTINCT FROM (unsupported PostgreSQL function)",
    r"\bON\s+CONFLICT\b": "ON CONFLICT (unique constraints are informational only)",
    r"\b(BIG|SMALL)?SERIAL\b": "SERIAL types (sequences are unsupported)",
    r"\bCREATE\s+(UNIQUE\s+)?INDEX\b": "indexes",
    r"\bUNLOGGED\b": "unlogged tables",
    r"\bGENERATED\s+ALWAYS\s+AS\s*\(": "generated columns",
    r"\bCOLLATE\s+\"": "collations (locale or user-defined)",
    r"\b(FROM|JOIN)\s*\(\s*VALUES\b": "VALUES list used as a constant table",
    r"\bSAVEPOINT\b": "savepoints (ROLLBACK TO SAVEPOINT)",
    r"\bTRUNCATE\b": "TRUNCATE (it commits the transaction it runs in)",
    r"\bFROM\s+STDIN\b": "COPY FROM STDIN (Redshift's COPY reads S3, not the client)",
    r"\b(BYTEA|JSONB?|UUID|INET|CIDR|MONEY|XML|HSTORE)\b(?!\s*')": "an unsupported data type",
    r"\bTEXT\b": "TEXT (Redshift makes it VARCHAR(256), which cuts longer values)",
    r"\bE'": "E'...' strings (PostgreSQL 8.1 and later)",
    r"\bFILTER\s*\(\s*WHERE\b": "aggregate FILTER clauses",
    r"\bRETURNING\b": "RETURNING",
    r"\bLATERAL\b": "LATERAL",
    # https://docs.aws.amazon.com/redshift/latest/dg/r_ALTER_TABLE.html: its clauses are ADD, DROP CONSTRAINT,
    # OWNER TO, RENAME TO, RENAME COLUMN, ALTER COLUMN, ALTER DISTKEY/DISTSTYLE/SORTKEY/ENCODE, ADD/DROP COLUMN,
    # ROW LEVEL SECURITY, MASKING, SET LOCATION ... for external tables: no SET SCHEMA
    r"\bALTER\s+TABLE\s+[\w.\"]+\s+SET\s+SCHEMA\b": "ALTER TABLE ... SET SCHEMA (no such clause on Redshift)",
}

_STRINGS = re.compile(r"'(?:[^']|'')*'")
_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)
_OVER = re.compile(r"\bOVER\s*\(([^()]*)\)", re.I)
_AGGREGATE_OVER = re.compile(
    r"\b(SUM|COUNT|AVG|MIN|MAX|STDDEV\w*|VAR\w*|FIRST_VALUE|LAST_VALUE|NTH_VALUE|LISTAGG|MEDIAN)\s*\([^()]*\)\s*"
    r"OVER\s*\(([^()]*)\)", re.I)
_LAG = re.compile(r"\b(LAG|LEAD)\s*\(([^()]*(?:\([^()]*\))?[^()]*)\)", re.I)


def code(sql: str) -> str:
    """The statement without its comments and string literals."""
    return _STRINGS.sub("''", _COMMENTS.sub(" ", sql))


def problems(sql: str) -> list[str]:
    """What in `sql` Redshift's documentation says it does not run; empty when nothing."""
    text = code(sql)
    upper = text.upper()
    found = []
    for word in LEADER_NODE_ONLY_WORDS:
        if re.search(rf"\b{word}\b(?!\s*\()", upper) or re.search(rf"\b{word}\s*\(", upper):
            found.append(f"{word}: a leader-node-only function")
    for name in LEADER_NODE_ONLY_CALLS:
        if re.search(rf"(?<![.\w]){name}\s*\(", upper):
            found.append(f"{name}(): a leader-node-only function")
    for name in UNSUPPORTED_CALLS:
        if re.search(rf"(?<![.\w]){name}\s*[(\[]", upper):
            found.append(f"{name}(): a PostgreSQL function Redshift does not support")
    for pattern, what in UNSUPPORTED_PATTERNS.items():
        if re.search(pattern, text, re.I):
            found.append(what)
    # "NULLS clause in Window functions" is unsupported
    for window in _OVER.findall(text):
        if re.search(r"\bNULLS\s+(FIRST|LAST)\b", window, re.I):
            found.append("a NULLS clause in a window function")
    # "If an ORDER BY clause is used for an aggregate function, an explicit frame clause is required."
    for _, window in _AGGREGATE_OVER.findall(text):
        if re.search(r"\bORDER\s+BY\b", window, re.I) and not re.search(r"\bROWS\b", window, re.I):
            found.append("an aggregate window function ordered without a ROWS frame")
    # LAG and LEAD take (value, offset) and no default: "LAG (value_expr [, offset ])"
    for name, args in _LAG.findall(text):
        if args.count(",") > 1:
            found.append(f"{name} with a default value")
    return found
