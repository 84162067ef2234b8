"""Answers to the analysts' questions: the numbered queries of `sql/reports/`, one question each.

Each answer prints as an aligned table, and the same answers make one self-contained HTML page:
charts are SVG drawn by matplotlib and inlined, styles are inline, and nothing is fetched.
A query's header comment gives the question (first line), notes (the other lines) and, optionally,
its chart: `-- chart: bar|barh|line LABEL[,LABEL...] VALUE`, naming columns of its result.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import psycopg2.errors
from tabulate import tabulate

from . import db, sqlfiles

# What a browser would fetch: src/href/action/data to another origin, CSS url() to one, @import.
_EXTERNAL = re.compile(
    r"""\b(?:src|href|action|poster|data)\s*=\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//"""
    r"""|url\(\s*["']?\s*(?:[a-z][a-z0-9+.-]*:)?//|@import""",
    re.IGNORECASE,
)
_CHART = re.compile(r"^chart:\s*(bar|barh|line)\s+(\S+)\s+(\S+)$")
_LABEL_WIDTH = 48
_ACCENT = "#2b6cb0"
TEMPLATES = Path(__file__).resolve().parent / "templates"


@dataclass(frozen=True)
class Chart:
    kind: str
    labels: tuple[str, ...]
    value: str


@dataclass(frozen=True)
class Answer:
    name: str
    question: str
    notes: str
    columns: tuple[str, ...]
    rows: tuple[tuple, ...]
    chart: Chart | None

    def column(self, name: str) -> list:
        i = self.columns.index(name)
        return [row[i] for row in self.rows]


def parse_header(text: str) -> tuple[str, str, Chart | None]:
    """(question, notes, chart) from the `--` comment lines that open a query."""
    lines = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped.startswith("--"):
            if stripped:
                break
            continue
        lines.append(stripped[2:].strip())
    chart = None
    notes = []
    for line in lines[1:]:
        match = _CHART.match(line)
        if match:
            chart = Chart(match.group(1), tuple(match.group(2).split(",")), match.group(3))
        else:
            notes.append(line)
    return (lines[0] if lines else ""), " ".join(notes), chart


def run(conn, dialect: str = "postgres") -> list[Answer]:
    """Run every report query, read-only, and collect its columns and rows."""
    answers = []
    try:
        with conn.cursor() as cur:
            for f in sqlfiles.files("reports", dialect):
                (statement,) = f.statements
                cur.execute(statement)
                question, notes, chart = parse_header(f.text)
                columns = tuple(d[0] for d in cur.description)
                if chart and not set(chart.labels + (chart.value,)) <= set(columns):
                    raise ValueError(f"{f.path.name}: its chart names a column the query does not return")
                answers.append(Answer(f.name, question, notes, columns, tuple(cur.fetchall()), chart))
    except psycopg2.errors.UndefinedTable as err:
        raise db.DatabaseError(f"{str(err).splitlines()[0]}: load the warehouse first (make load)") from None
    finally:
        conn.rollback()
    return answers


def cell(value) -> object:
    """A value as shown to a person: times to the second, numbers left as numbers."""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _decimals(values: list) -> str:
    places = [-v.as_tuple().exponent for v in values if isinstance(v, Decimal) and v.is_finite()]
    return f".{max(places)}f" if places else "g"


def table(answer: Answer, fmt: str = "simple") -> str:
    if not answer.rows:
        return "(no rows)"
    floatfmt = [_decimals(answer.column(c)) for c in answer.columns]
    rows = [[cell(v) for v in row] for row in answer.rows]
    return tabulate(rows, headers=answer.columns, tablefmt=fmt, intfmt=",", floatfmt=floatfmt)


def terminal(answers: list[Answer]) -> str:
    """Every answer as a titled, aligned table."""
    blocks = []
    for a in answers:
        blocks.append(f"{a.question}\n{'=' * len(a.question)}\n{table(a)}")
    return "\n\n".join(blocks)


def _shorten(text: str) -> str:
    return text if len(text) <= _LABEL_WIDTH else text[: _LABEL_WIDTH - 1] + "\u2026"


def chart_svg(answer: Answer) -> str | None:
    """The answer's chart as an inline `<svg>` element, or None when it has no chart or no rows.

    Bars carry ids `<name>-bar-<n>` and the line `<name>-line`, so the page can be checked.
    Text stays text (svg.fonttype none): the browser draws it, any script or accent included.
    """
    chart = answer.chart
    if chart is None or not answer.rows:
        return None
    import matplotlib
    from matplotlib.figure import Figure

    labels = [" \u00b7 ".join(str(cell(row[answer.columns.index(c)])) for c in chart.labels) for row in answer.rows]
    values = [float(v or 0) for v in answer.column(chart.value)]
    settings = {"svg.fonttype": "none", "text.parse_math": False, "svg.hashsalt": answer.name,
                "font.size": 10, "axes.spines.top": False, "axes.spines.right": False}
    with matplotlib.rc_context(settings), warnings.catch_warnings():
        # Widths are measured with matplotlib's own font; the browser draws any glyph it lacks.
        warnings.filterwarnings("ignore", message="Glyph .* missing from font")
        if chart.kind == "barh":
            fig = Figure(figsize=(8, 0.6 + 0.32 * len(labels)), layout="constrained")
            ax = fig.subplots()
            bars = ax.barh(range(len(labels)), values, color=_ACCENT)
            ax.set_yticks(range(len(labels)), [_shorten(label) for label in labels])
            ax.invert_yaxis()
            ax.bar_label(bars, labels=[f"{v:,.0f}" for v in values], padding=3, fontsize=9)
            ax.set_xlabel(chart.value)
            ax.margins(x=0.08)
        elif chart.kind == "bar":
            fig = Figure(figsize=(8, 3.2), layout="constrained")
            ax = fig.subplots()
            bars = ax.bar(range(len(labels)), values, color=_ACCENT)
            ax.set_xticks(range(len(labels)), labels)
            ax.set_ylabel(chart.value)
        else:
            fig = Figure(figsize=(8, 3.2), layout="constrained")
            ax = fig.subplots()
            xs = answer.column(chart.labels[0])
            if len(chart.labels) > 1 or not all(isinstance(x, date) for x in xs):
                xs = labels
            (line,) = ax.plot(xs, values, color=_ACCENT, marker="o", markersize=3)
            line.set_gid(f"{answer.name}-line")
            if isinstance(xs[0], date):
                import matplotlib.dates

                locator = matplotlib.dates.AutoDateLocator()
                ax.xaxis.set_major_locator(locator)
                ax.xaxis.set_major_formatter(matplotlib.dates.ConciseDateFormatter(locator))
            ax.set_ylabel(chart.value)
            ax.set_ylim(bottom=0)
            ax.grid(axis="y", alpha=0.3)
            bars = []
        for i, bar in enumerate(bars):
            bar.set_gid(f"{answer.name}-bar-{i}")
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    svg = buffer.getvalue()
    return svg[svg.index("<svg"):]


def html(answers: list[Answer], *, warehouse: str, generated_at: datetime | None = None) -> str:
    """One self-contained page: every answer's question, notes, chart and table. All data is escaped."""
    from jinja2 import Environment, FileSystemLoader
    from markupsafe import Markup

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True, trim_blocks=True, lstrip_blocks=True)
    sections = []
    for a in answers:
        svg = chart_svg(a)
        formats = [_decimals(a.column(c)) for c in a.columns]
        rows = [[_html_value(v, f) for v, f in zip(row, formats)] for row in a.rows]
        numeric = [all(isinstance(v, int | float | Decimal) for v in a.column(c) if v is not None) and bool(a.rows)
                   for c in a.columns]
        sections.append({"answer": a, "svg": Markup(svg) if svg else None, "rows": rows, "numeric": numeric})
    generated = (generated_at or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M UTC")
    return env.get_template("report.html").render(sections=sections, warehouse=warehouse, generated=generated)


def _html_value(value, fmt: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, Decimal | float):
        return format(value, "," + fmt) if fmt != "g" else str(value)
    return str(cell(value))


def external_references(page: str) -> list[str]:
    """Every reference in `page` that would make a browser fetch something."""
    return _EXTERNAL.findall(page)


def write_html(answers: list[Answer], path: Path, *, warehouse: str) -> Path:
    page = html(answers, warehouse=warehouse)
    found = external_references(page)
    if found:
        raise ValueError(f"the page would fetch {found[0]!r}; it must open offline")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
