"""The SQL as files: numbered in the order they run, one text for PostgreSQL and Redshift.

Where the two dialects must differ, the difference sits in the file itself, on lines of their own:

    CREATE TABLE songplays (
        ...
    )
    -- redshift: DISTSTYLE KEY DISTKEY (start_time) SORTKEY (start_time)
    ;
    -- postgres: ALTER TABLE staging_events SET UNLOGGED;

A line `-- <dialect>: TEXT` is TEXT for that dialect and a comment for the other. Rendering keeps
every line where it was, so a message about line N points at line N of the file. The `shared` rendering
keeps every marked line a comment: the SQL both dialects accept, which the benchmark gives DuckDB.
"""

from __future__ import annotations

import functools
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import sqlparse

from . import config

_NUMBERED = re.compile(r"^(\d+)_([a-z0-9_]+)\.sql$")
DIALECTS = ("postgres", "redshift")
SHARED = "shared"
_DIALECT_LINE = re.compile(r"^(\s*)-- (" + "|".join(DIALECTS) + r"): (.*)$", re.M)


def render(text: str, dialect: str) -> str:
    """The text as `dialect` runs it: that dialect's lines become SQL, the other's stay comments."""
    if dialect not in DIALECTS + (SHARED,):
        raise ValueError(f"unknown SQL dialect {dialect!r}")
    return _DIALECT_LINE.sub(lambda m: m.group(1) + m.group(3) if m.group(2) == dialect else m.group(0), text)


@dataclass(frozen=True)
class SqlFile:
    number: int
    name: str
    path: Path
    dialect: str = "postgres"

    @property
    def text(self) -> str:
        return render(self.path.read_text(encoding="utf-8"), self.dialect)

    @property
    def checksum(self) -> str:
        normalized = self.text.replace("\r\n", "\n").encode("utf-8")
        return hashlib.sha256(normalized).hexdigest()

    @property
    def statements(self) -> list[str]:
        return split(self.text)

    @property
    def title(self) -> str:
        """The first line of the file's header comment, for tables of results."""
        for line in self.text.splitlines():
            line = line.strip()
            if line.startswith("--"):
                return line.lstrip("- ").strip()
            if line:
                break
        return self.name


def files(folder: str, dialect: str = "postgres", root: Path | None = None) -> list[SqlFile]:
    """The numbered files of `sql/<folder>/` in order, rendered for `dialect`."""
    if dialect not in DIALECTS + (SHARED,):
        raise ValueError(f"unknown SQL dialect {dialect!r}")
    base = (root or config.SQL_DIR) / folder
    found: list[SqlFile] = []
    for path in sorted(base.glob("*.sql")):
        match = _NUMBERED.match(path.name)
        if not match:
            raise ValueError(f"{path}: SQL files are named NNN_name.sql")
        found.append(SqlFile(int(match.group(1)), match.group(2), path, dialect))
    numbers = [f.number for f in found]
    if len(numbers) != len(set(numbers)):
        raise ValueError(f"{base}: two files share a number")
    return sorted(found, key=lambda f: f.number)


_COMMENTS = re.compile(r"--[^\n]*|/\*.*?\*/", re.S)


@functools.lru_cache(maxsize=256)
def _split(text: str) -> tuple[str, ...]:
    out = []
    for statement in sqlparse.split(text):
        if _COMMENTS.sub("", statement).strip().rstrip(";").strip():  # not only comments
            out.append(statement.strip().rstrip(";").strip())
    return tuple(out)


def split(text: str) -> list[str]:
    """The statements of a SQL text, without those that hold only comments."""
    return list(_split(text))


def folders(root: Path | None = None) -> list[str]:
    root = root or config.SQL_DIR
    return sorted(p.name for p in root.iterdir() if p.is_dir())


def write_rendered(dialect: str, out: Path, root: Path | None = None) -> list[Path]:
    """Every SQL file rendered for `dialect` under `out` (same names), for `make lint`."""
    written = []
    for folder in folders(root):
        for f in files(folder, dialect, root):
            target = out / folder / f.path.name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(f.text, encoding="utf-8")
            written.append(target)
    return written


if __name__ == "__main__":
    import sys

    # python -m sparkify_dwh.sqlfiles render DIALECT FOLDER: write every file as DIALECT runs it
    if len(sys.argv) == 4 and sys.argv[1] == "render":
        for path in write_rendered(sys.argv[2], Path(sys.argv[3])):
            print(path)
    else:
        sys.exit("usage: python -m sparkify_dwh.sqlfiles render postgres|redshift FOLDER")
