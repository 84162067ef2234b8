"""The docs kept true: a short README linking every page, links and anchors that resolve, each command's
--help as the command prints it, every test the guarantees page names, a changelog entry for this version."""

import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import ROOT
from markdown_it import MarkdownIt

PAGES = sorted((ROOT / "docs").glob("*.md"))
DOCUMENTS = [ROOT / "README.md", ROOT / "CHANGELOG.md", *PAGES]
MARKDOWN = MarkdownIt("commonmark").enable("table")


def _tokens(path: Path):
    """Every token of the file, inline children included."""
    for token in MARKDOWN.parse(path.read_text(encoding="utf-8")):
        yield token
        yield from token.children or ()


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation dropped (hyphens and underscores kept),
    each space a hyphen."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    tokens = MARKDOWN.parse(path.read_text(encoding="utf-8"))
    seen: dict[str, int] = {}
    found = set()
    for opening, inline in zip(tokens, tokens[1:]):
        if opening.type == "heading_open":
            text = "".join(child.content for child in inline.children if child.type in ("text", "code_inline"))
            base = slug(text)
            found.add(base if base not in seen else f"{base}-{seen[base]}")  # GitHub numbers repeats
            seen[base] = seen.get(base, 0) + 1
    return found


def links(path: Path) -> list[str]:
    """The target of every link and image of the file."""
    targets = []
    for token in _tokens(path):
        if token.type == "link_open":
            targets.append(token.attrs["href"])
        elif token.type == "image":
            targets.append(token.attrs["src"])
    return targets


def broken_links(path: Path) -> list[str]:
    broken = []
    for target in links(path):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto: and the like: not checked here
            continue
        file, _, anchor = target.partition("#")
        linked = (path.parent / file).resolve() if file else path
        if not linked.exists():
            broken.append(f"{target}: no such file")
        elif anchor and (linked.suffix != ".md" or anchor not in anchors(linked)):
            broken.append(f"{target}: no such heading")
    return broken


def test_the_readme_is_short():
    lines = (ROOT / "README.md").read_text(encoding="utf-8").count("\n")
    assert lines <= 200, f"README.md has {lines} lines; the reference belongs in docs/"


def test_the_readme_links_every_page_and_the_changelog():
    linked = {(ROOT / target.partition("#")[0]).resolve() for target in links(ROOT / "README.md")}
    missing = [p.name for p in [*PAGES, ROOT / "CHANGELOG.md"] if p.resolve() not in linked]
    assert not missing, f"pages the README does not link to: {missing}"


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_and_anchor_resolves(path):
    assert not broken_links(path)


def test_the_link_checker_finds_a_missing_file_and_a_missing_heading(tmp_path):
    (tmp_path / "other.md").write_text("# Other page\n\n## A `code` heading: with punctuation\n")
    page = tmp_path / "page.md"
    page.write_text("# Page\n\n[ok](other.md#a-code-heading-with-punctuation) [ok](#page) [ok](https://example.org)\n"
                    "[gone](missing.md) [no heading](other.md#nowhere) [here](#nowhere)\n")
    assert broken_links(page) == ["missing.md: no such file", "other.md#nowhere: no such heading",
                                  "#nowhere: no such heading"]


def _cog_check(root: Path, env: dict) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "cogapp", "--check", "docs/commands.md"], cwd=root, env=env,
                          capture_output=True, text=True)


# settings and a terminal width that would change the text if they reached the commands
HOSTILE = {"REPORT_OUT": "/elsewhere/page.html", "DEMO_EVENTS": "7", "COLUMNS": "200", "WAREHOUSE": "redshift",
           "ENV_FILE": "/nonexistent/.env", "MAX_ERRORS": "x"}


def test_each_command_s_help_in_the_commands_page_is_what_it_prints_whatever_the_settings():
    proc = _cog_check(ROOT, {**os.environ, **HOSTILE})
    assert proc.returncode == 0, f"docs/commands.md is out of date: run `make docs-commands`\n{proc.stdout}"
    page = (ROOT / "docs" / "commands.md").read_text(encoding="utf-8")
    assert str(ROOT) not in page  # nothing of the machine that generated it
    for command in (p.name for p in (ROOT / "bin").iterdir() if p.is_file()):
        assert f"### `bin/{command}`\n\n```\nusage: {command} " in page


def test_a_help_that_changed_makes_the_commands_page_out_of_date(tmp_path):
    for name in ("bin", "sparkify_dwh", "sql"):
        (tmp_path / name).symlink_to(ROOT / name)
    (tmp_path / "docs").mkdir()
    page = (ROOT / "docs" / "commands.md").read_text(encoding="utf-8")
    (tmp_path / "docs" / "commands.md").write_text(page)
    assert _cog_check(tmp_path, dict(os.environ)).returncode == 0
    changed = page.replace("show this help message and exit", "show the help", 1)
    assert changed != page
    (tmp_path / "docs" / "commands.md").write_text(changed)
    assert _cog_check(tmp_path, dict(os.environ)).returncode != 0


def _test_names() -> tuple[set[str], set[str]]:
    """(names of the test functions, paths of the test files relative to tests/ and to tests/integration/)."""
    names, files = set(), set()
    for path in (ROOT / "tests").rglob("test_*.py"):
        names |= set(re.findall(r"^(?:async )?def (test_\w+)", path.read_text(encoding="utf-8"), re.M))
        files |= {str(path.relative_to(ROOT / "tests")), path.name}
    return names, files


def unknown_tests(page: str) -> list[str]:
    """The tests a guarantees table names (`file.py::name`, `unit/file.py`, `name`, `::name` after a file,
    a `*` ending a prefix) that do not exist."""
    names, files = _test_names()
    missing = []
    for line in page.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) < 3 or not line.startswith("|"):
            continue
        refs = re.findall(r"`([^`]+)`", cells[-1])
        for ref in (r for r in refs if re.fullmatch(r"[\w/]+\.py(::[\w*]+)?|::[\w*]+|test_[\w*]+", r)):
            file, _, name = ref.rpartition("::") if "::" in ref else ((ref, "", "") if ref.endswith(".py")
                                                                       else ("", "", ref))
            if file and file not in files:
                missing.append(ref)
            if name and not (any(n.startswith(name[:-1]) for n in names) if name.endswith("*") else name in names):
                missing.append(ref)
    return missing


def test_every_test_the_guarantees_page_names_exists():
    page = (ROOT / "docs" / "guarantees.md").read_text(encoding="utf-8")
    assert len(re.findall(r"`(?:[\w/]+\.py::)?test_\w+\*?`", page)) > 50  # the table is where it is read
    assert not unknown_tests(page)


def test_a_test_that_does_not_exist_is_found():
    page = ("| fault | outcome | test |\n| --- | --- | --- |\n"
            "| a | b | `test_docs.py::test_a_test_that_does_not_exist_is_found`, `::test_the_readme_is_short` |\n"
            "| c | d | `test_no_such_thing`, `unit/test_nowhere.py`, `test_docs.py::test_the_readme_*`, "
            "`test_docs.py::test_gone_*`, `MAX_ERRORS=5000` (a setting, not a test) |\n")
    assert unknown_tests(page) == ["test_no_such_thing", "unit/test_nowhere.py", "test_docs.py::test_gone_*"]


def test_the_changelog_has_an_entry_for_this_version():
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    entries = re.findall(r"^## (\d+\.\d+\.\d+)$", (ROOT / "CHANGELOG.md").read_text(encoding="utf-8"), re.M)
    assert entries and entries[0] == version, f"CHANGELOG.md's first entry is not {version}: {entries}"
