"""The data dictionary: docs/data-dictionary.md and .html, and the Tables page's table
(docs/tables.md), written by `make docs`.

Each star table with its grain (sql/tables.toml), its columns with their types and descriptions as the
warehouse's catalog holds them (format_type, col_description: what a BI tool shows), its key, and the
joins (sql/tables.toml's one description of them; no foreign key is declared) drawn as an ER diagram:
Mermaid in the Markdown, an SVG of its own in the offline page. A test regenerates all three and fails when
they differ from what is committed.
"""

from __future__ import annotations

import html
import math
import re
from dataclasses import dataclass
from pathlib import Path

from . import catalog, config

DICTIONARY_MD = "docs/data-dictionary.md"
DICTIONARY_HTML = "docs/data-dictionary.html"
TABLES_PAGE = "docs/tables.md"  # the page whose Tables table make docs writes
BEGIN = "<!-- tables: written by make docs from sql/tables.toml -->"
END = "<!-- end of tables -->"

COLUMNS = ("SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), col_description(c.oid, a.attnum), "
           "obj_description(c.oid) FROM pg_attribute AS a INNER JOIN pg_class AS c ON a.attrelid = c.oid "
           "INNER JOIN pg_namespace AS n ON c.relnamespace = n.oid "
           "WHERE n.nspname = 'analytics' AND c.relkind = 'r' AND a.attnum > 0 AND NOT a.attisdropped "
           "ORDER BY c.relname, a.attnum")


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    description: str


@dataclass(frozen=True)
class Described:
    table: catalog.Table
    description: str  # as the catalog holds it
    columns: list[Column]


def read(conn) -> list[Described]:
    """Each star table of sql/tables.toml, with what the warehouse's catalog says of it and its columns."""
    with conn.cursor() as cur:
        cur.execute(COLUMNS)
        found: dict[str, tuple[str, list[Column]]] = {}
        for table, column, kind, text, table_text in cur.fetchall():
            found.setdefault(table, (table_text or "", []))[1].append(Column(column, kind, text or ""))
    conn.rollback()
    missing = [t.name for t in catalog.star() if t.name not in found]
    if missing:
        raise RuntimeError(f"not in the warehouse yet: {', '.join(missing)} (make migrate first)")
    return [Described(t, found[t.name][0], found[t.name][1]) for t in catalog.star()]


def _keys(d: Described) -> dict[str, str]:
    """column -> what it is as a key: PK, and FK with the column it joins."""
    out = {c: "PK" for c in d.table.key}
    for j in catalog.joins():
        if j.table == d.table.name:
            out[j.column] = (out.get(j.column, "") + " " if j.column in out else "") + f"FK {j.to_table}.{j.to_column}"
    return out


def mermaid(described: list[Described]) -> str:
    lines = ["erDiagram"]
    for j in catalog.joins():
        lines.append(f'    {j.to_table} ||--o{{ {j.table} : "{j.label}"')
    for d in described:
        keys = _keys(d)
        lines.append(f"    {d.table.name} {{")
        for c in d.columns:
            short = c.type.replace("character varying", "varchar").replace("timestamp without time zone", "timestamp")
            kind = re.sub(r"[^A-Za-z0-9_]+", "_", short.replace("double precision", "double")).strip("_")
            marks = ",".join(m for m in ("PK", "FK") if m in keys.get(c.name, ""))
            lines.append(f"        {kind} {c.name}{' ' + marks if marks else ''}")
        lines.append("    }")
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(described: list[Described]) -> str:
    out = ["# Data dictionary", "",
           "The star schema analysts read: schema `analytics`, through the read-only login of `make grant-reader`. "
           "Written by `make docs` from the warehouse's catalog (types, and the descriptions `COMMENT ON` put there "
           "from `sql/tables.toml`) and from `sql/tables.toml` (grains, keys, joins): edit that file, not this one.",
           "", "## How the tables join", "",
           "No foreign key is declared (Redshift enforces none); the checks of `make verify` prove each join's "
           "fact side.", "", "```mermaid", mermaid(described), "```", ""]
    for d in described:
        kind = f" ({d.table.kind})" if d.table.kind else ""
        out += [f"## `{d.table.qualified}`{kind}", "", d.description, "", f"Grain: one row per {d.table.grain}.", "",
                "| column | type | key | description |", "| --- | --- | --- | --- |"]
        keys = _keys(d)
        out += [f"| `{c.name}` | `{c.type}` | {keys.get(c.name, '')} | {_cell(c.description)} |" for c in d.columns]
        out.append("")
    return "\n".join(out)


def _diagram_svg(described: list[Described]) -> str:
    """The joins as boxes and lines: the fact in the middle, the dimensions around it."""
    names = [d.table.name for d in described]
    fact = next((d.table.name for d in described if d.table.kind == "fact"), names[0])
    others = [n for n in names if n != fact]
    width, height, box_w, box_h = 900, 520, 150, 40
    centre = (width / 2, height / 2)
    spots = {fact: centre}
    for i, name in enumerate(others):
        angle = 2 * math.pi * i / max(len(others), 1) - math.pi / 2
        spots[name] = (centre[0] + 330 * math.cos(angle), centre[1] + 190 * math.sin(angle))
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
             f'height="{height}" role="img" aria-label="how the star tables join">']
    for n, j in enumerate(catalog.joins()):
        (x1, y1), (x2, y2) = spots[j.table], spots[j.to_table]
        parts.append(f'<line id="join-{n}" x1="{x1:.0f}" y1="{y1:.0f}" x2="{x2:.0f}" y2="{y2:.0f}" '
                     'stroke="#888" stroke-width="2"/>')
        parts.append(f'<text x="{(x1 + x2) / 2:.0f}" y="{(y1 + y2) / 2 - 4:.0f}" font-size="12" fill="#555" '
                     f'text-anchor="middle">{html.escape(j.column)} = {html.escape(j.to_table)}.'
                     f'{html.escape(j.to_column)}</text>')
    for name, (x, y) in spots.items():
        parts.append(f'<g id="table-{name}"><rect x="{x - box_w / 2:.0f}" y="{y - box_h / 2:.0f}" width="{box_w}" '
                     f'height="{box_h}" rx="6" fill="{"#fde2c8" if name == fact else "#dbe8f7"}" stroke="#333"/>'
                     f'<text x="{x:.0f}" y="{y + 5:.0f}" font-size="15" text-anchor="middle" '
                     f'font-family="monospace">{html.escape(name)}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def page(described: list[Described]) -> str:
    """The dictionary as one offline HTML page: no script, no request."""
    body = [f"<figure class=\"diagram\">{_diagram_svg(described)}<figcaption>How the tables join (no foreign "
            "key is declared; the checks of make verify prove each join's fact side)</figcaption></figure>"]
    for d in described:
        keys = _keys(d)
        cells = "".join(f"<tr><td><code>{html.escape(c.name)}</code></td><td><code>{html.escape(c.type)}</code></td>"
                        f"<td>{html.escape(keys.get(c.name, ''))}</td><td>{html.escape(c.description)}</td></tr>"
                        for c in d.columns)
        kind = f" ({d.table.kind})" if d.table.kind else ""
        body.append(f'<section id="{d.table.name}"><h2><code>{html.escape(d.table.qualified)}</code>{kind}</h2>'
                    f"<p>{html.escape(d.description)}</p><p>Grain: one row per "
                    f"{html.escape(d.table.grain.replace('`', ''))}.</p><table><thead><tr><th>column</th><th>type</th>"
                    f"<th>key</th><th>description</th></tr></thead><tbody>{cells}</tbody></table></section>")
    style = ("body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}"
             "table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.3rem .5rem;"
             "text-align:left;vertical-align:top}th{background:#f3f3f3}figure{margin:1rem 0}svg{max-width:100%}")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>Sparkify data dictionary</title>"
            f"<style>{style}</style></head><body><h1>Sparkify data dictionary</h1><p>The star schema analysts read: "
            "schema <code>analytics</code>. Written by <code>make docs</code> from the warehouse's catalog and "
            "<code>sql/tables.toml</code>.</p>" + "".join(body) + "</body></html>\n")


def readme_tables() -> str:
    """The Tables page's table: every table, its schema, grain and notes, from sql/tables.toml."""
    out = [BEGIN, "| table | schema | grain (one row per ...) | notes |", "| --- | --- | --- | --- |"]
    for t in catalog.tables().values():
        kind = f" ({t.kind})" if t.kind == "fact" else ""
        columns = f"`{', '.join(t.columns)}`; " if t.columns else ""
        out.append(f"| `{t.name}`{kind} | `{t.schema}` | {t.grain} | {columns}{_cell(t.notes)} |")
    out.append(END)
    return "\n".join(out)


def with_readme_tables(readme: str) -> str:
    start, end = readme.index(BEGIN), readme.index(END) + len(END)
    return readme[:start] + readme_tables() + readme[end:]


def write(conn, root: Path | None = None) -> list[Path]:
    """Write the three files from the warehouse `conn` and sql/tables.toml; the paths written."""
    root = root or config.ROOT
    described = read(conn)
    written = []
    for name, text in ((DICTIONARY_MD, markdown(described)), (DICTIONARY_HTML, page(described))):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)
    readme = root / TABLES_PAGE
    readme.write_text(with_readme_tables(readme.read_text(encoding="utf-8")), encoding="utf-8")
    return written + [readme]
