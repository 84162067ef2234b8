"""What each table is, from sql/tables.toml: its schema, grain and description, each star column's description,
and the joins of the star. The warehouse's catalog gets the descriptions (COMMENT ON, on both warehouses);
`make docs` and the Tables page (docs/tables.md) are written from them.

Redshift's COMMENT: "COMMENT ON { TABLE object_name | COLUMN object_name.column_name | ... } IS 'text' | NULL",
and "You must be a superuser or the owner of a database object to add or update a comment"; its examples read
them back with obj_description and col_description (https://docs.aws.amazon.com/redshift/latest/dg/r_COMMENT.html).
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass, field

from . import config, db

SCHEMAS = (db.STAR_SCHEMA, db.LOADER_SCHEMA)
_NAME = re.compile(r"[a-z][a-z0-9_]*")


@dataclass(frozen=True)
class Table:
    name: str
    schema: str
    grain: str
    description: str
    notes: str = ""
    kind: str = ""  # fact or dimension, for the star
    key: tuple[str, ...] = ()
    columns: dict[str, str] = field(default_factory=dict)  # name -> description, in the order written

    @property
    def qualified(self) -> str:
        return f"{self.schema}.{self.name}"


@dataclass(frozen=True)
class Join:
    table: str
    column: str
    to_table: str
    to_column: str
    label: str


def _name(text: str, where: str) -> str:
    if not _NAME.fullmatch(text):
        raise ValueError(f"sql/tables.toml: {where}: {text!r} is not a plain lower-case name")
    return text


@functools.cache
def _read() -> dict:
    return tomllib.loads((config.SQL_DIR / "tables.toml").read_text(encoding="utf-8"))


def tables() -> dict[str, Table]:
    """Every table of the warehouse, as sql/tables.toml describes it, in the order written there."""
    out = {}
    for name, t in _read()["tables"].items():
        schema = t["schema"]
        if schema not in SCHEMAS:
            raise ValueError(f"sql/tables.toml: {name}: schema {schema!r} is not one of {', '.join(SCHEMAS)}")
        columns = {_name(c, name): text for c, text in t.get("columns", {}).items()}
        out[_name(name, "table")] = Table(name, schema, t["grain"], t["description"], t.get("notes", ""),
                                          t.get("kind", ""), tuple(t.get("key", ())), columns)
    return out


def star() -> list[Table]:
    """The star's tables: what analysts read."""
    return [t for t in tables().values() if t.schema == db.STAR_SCHEMA]


def joins() -> list[Join]:
    out = []
    for j in _read().get("joins", []):
        (table, column), (to_table, to_column) = j["from"].split("."), j["to"].split(".")
        out.append(Join(table, column, to_table, to_column, j.get("label", "")))
    return out


# The descriptions the catalog holds now, for the project's schemas
TABLE_COMMENTS = ("SELECT n.nspname, c.relname, obj_description(c.oid) FROM pg_class AS c "
                  "INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid "
                  "WHERE c.relkind = 'r' AND n.nspname IN ('analytics', 'etl')")
COLUMN_COMMENTS = ("SELECT c.relname, a.attname, col_description(c.oid, a.attnum) FROM pg_attribute AS a "
                   "INNER JOIN pg_class AS c ON a.attrelid = c.oid "
                   "INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid "
                   "WHERE c.relkind = 'r' AND n.nspname = 'analytics' AND a.attnum > 0 AND NOT a.attisdropped")


def comment_statements(cur) -> list[tuple[str, tuple]]:
    """(COMMENT ON ..., (text,)) for each table and star column whose description in the catalog differs from
    sql/tables.toml's; tables not made yet are left for a later run."""
    cur.execute(TABLE_COMMENTS)
    present = {(schema, table): text for schema, table, text in cur.fetchall()}
    cur.execute(COLUMN_COMMENTS)
    columns = {(table, column): text for table, column, text in cur.fetchall()}
    out = []
    for t in tables().values():
        if (t.schema, t.name) not in present:
            continue
        if present[(t.schema, t.name)] != t.description:
            out.append((f"COMMENT ON TABLE {t.qualified} IS %s", (t.description,)))
        for column, text in t.columns.items():
            if (t.name, column) in columns and columns[(t.name, column)] != text:
                out.append((f"COMMENT ON COLUMN {t.qualified}.{column} IS %s", (text,)))
    return out


def describe(conn) -> int:
    """Put sql/tables.toml's descriptions in the warehouse's catalog, in one transaction; how many changed."""
    with db.transaction(conn) as cur:
        todo = comment_statements(cur)
        for statement, params in todo:
            cur.execute(statement, params)
        conn.commit()
    return len(todo)
