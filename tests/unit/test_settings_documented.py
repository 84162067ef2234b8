"""Each setting documented once: what the code reads, env.example and docs/settings.md's table are the same set."""

import re

from conftest import ROOT

# read by boto3 itself, documented because users set them
BOTO3 = {"AWS_PROFILE", "AWS_ENDPOINT_URL"}
# libpq's own (and the home folder): read only to find a service file's password, which is then masked
LIBPQ = {"PGSERVICE", "PGSERVICEFILE", "PGSYSCONFDIR", "HOME"}


def in_code() -> set[str]:
    found = set()
    for path in list((ROOT / "sparkify_dwh").rglob("*.py")) + [p for p in (ROOT / "bin").iterdir() if p.is_file()]:
        text = path.read_text(encoding="utf-8")
        found |= set(re.findall(r'(?:_text|_int|_flag|_seconds|_hours)\(values, "([A-Z0-9_]+)"', text))
        found |= set(re.findall(r'(?:values|extra|environ)\.get\("([A-Z0-9_]+)"', text))
    return found - {"PATH"} - LIBPQ


def in_env_example() -> list[str]:
    return re.findall(r"^# ?([A-Z][A-Z0-9_]+)=", (ROOT / "env.example").read_text(encoding="utf-8"), re.M)


def in_docs() -> list[str]:
    text = (ROOT / "docs" / "settings.md").read_text(encoding="utf-8")
    return re.findall(r"^\| `([A-Z][A-Z0-9_]+)` \|", text, re.M)


def test_the_code_env_example_and_the_settings_page_name_the_same_settings():
    code = in_code()
    assert "STATEMENT_TIMEOUT" in code and "WAREHOUSE" in code  # the scan finds them
    assert set(in_env_example()) == code | BOTO3
    assert set(in_docs()) == code | BOTO3


def test_each_setting_is_documented_once():
    for names in (in_env_example(), in_docs()):
        assert len(names) == len(set(names)), [n for n in names if names.count(n) > 1]
