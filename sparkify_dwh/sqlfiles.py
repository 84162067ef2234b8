"""The SQL as files: ordered by their number, with a `NAME.redshift.sql` variant where the dialects differ."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import sqlparse

from . import config

_NUMBERED = re.compile(r"^(\d+)_([a-z0-9_]+)\.sql$")
DIALECTS = ("postgres", "redshift")


@dataclass(frozen=True)
class SqlFile:
    number: int
    name: str
    path: Path

    @property
    def text(self) -> str:
        return self.path.read_text(encoding="utf-8")

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
    """The numbered files of `sql/<folder>/` in order, each in the variant for `dialect`."""
    if dialect not in DIALECTS:
        raise ValueError(f"unknown SQL dialect {dialect!r}")
    base = (root or config.SQL_DIR) / folder
    found: list[SqlFile] = []
    for path in sorted(base.glob("*.sql")):
        if path.name.endswith(".redshift.sql"):
            continue
        match = _NUMBERED.match(path.name)
        if not match:
            raise ValueError(f"{path}: SQL files are named NNN_name.sql")
        variant = path.with_name(path.name[: -len(".sql")] + f".{dialect}.sql")
        chosen = variant if dialect != "postgres" and variant.exists() else path
        found.append(SqlFile(int(match.group(1)), match.group(2), chosen))
    numbers = [f.number for f in found]
    if len(numbers) != len(set(numbers)):
        raise ValueError(f"{base}: two files share a number")
    return sorted(found, key=lambda f: f.number)


def split(text: str) -> list[str]:
    """The statements of a SQL text, without those that hold only comments."""
    out = []
    for statement in sqlparse.split(text):
        body = sqlparse.format(statement, strip_comments=True).strip().rstrip(";").strip()
        if body:
            out.append(statement.strip().rstrip(";").strip())
    return out


def redshift_bound(root: Path | None = None) -> list[Path]:
    """Every file that runs on Redshift: the redshift variant of each numbered file of every folder."""
    root = root or config.SQL_DIR
    return [f.path for folder in sorted(p.name for p in root.iterdir() if p.is_dir())
            for f in files(folder, "redshift", root)]


if __name__ == "__main__":
    import sys

    if sys.argv[1:] == ["redshift"]:
        print("\n".join(str(p.relative_to(config.ROOT)) for p in redshift_bound()))
