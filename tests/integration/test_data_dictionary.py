"""make docs: the data dictionary and the Tables page's table (docs/tables.md) are what the warehouse's catalog and
sql/tables.toml give now (a stale committed copy fails), and the HTML page opens offline in headless Chromium."""

import tempfile
from pathlib import Path

import pytest
from conftest import ROOT
from test_report import CHROMIUM_FLAGS, chromium  # noqa: F401 - the fixture, as the report's test uses it

from sparkify_dwh import catalog, docs, migrations

pytestmark = pytest.mark.integration


@pytest.fixture
def described(conn):
    migrations.migrate(conn)
    return docs.read(conn)


def test_the_committed_dictionary_and_tables_page_are_what_make_docs_writes(described):
    assert (ROOT / docs.DICTIONARY_MD).read_text(encoding="utf-8") == docs.markdown(described), "run make docs"
    assert (ROOT / docs.DICTIONARY_HTML).read_text(encoding="utf-8") == docs.page(described), "run make docs"
    readme = (ROOT / docs.TABLES_PAGE).read_text(encoding="utf-8")
    assert docs.with_readme_tables(readme) == readme, "run make docs"


def test_the_dictionary_holds_each_star_column_with_its_type_and_description_from_the_catalog(described, conn):
    text = docs.markdown(described)
    for t in catalog.star():
        assert f"## `analytics.{t.name}`" in text and f"Grain: one row per {t.grain}." in text
        for column, description in t.columns.items():
            assert f"| `{column}` | " in text and description in text
    assert "| `songplay_id` | `character varying(32)` | PK |" in text  # the type as the catalog has it
    assert "| `user_id` | `character varying(64)` | FK users.user_id |" in text
    assert "users ||--o{ songplays : \"played by\"" in text
    with conn.cursor() as cur:  # a description changed in the catalog shows in what make docs writes
        cur.execute("COMMENT ON COLUMN analytics.users.gender IS 'changed in the catalog'")
    conn.commit()
    assert "changed in the catalog" in docs.markdown(docs.read(conn))


def test_the_dictionary_page_opens_offline_in_chromium_with_its_diagram(described, chromium, tmp_path):  # noqa: F811
    from playwright.sync_api import sync_playwright

    page_path = tmp_path / "data-dictionary.html"
    page_path.write_text(docs.page(described), encoding="utf-8")
    errors, requests = [], []
    with sync_playwright() as pw, tempfile.TemporaryDirectory() as profile:
        browser = pw.chromium.launch_persistent_context(profile, executable_path=str(chromium), headless=True,
                                                        args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page()
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("request", lambda r: requests.append(r.url))
            page.goto(page_path.as_uri(), wait_until="load")
            found = page.evaluate("""() => ({
                tables: document.querySelectorAll('section table').length,
                rows: document.querySelectorAll('section tbody tr').length,
                boxes: document.querySelectorAll('figure.diagram svg g[id^="table-"]').length,
                joins: document.querySelectorAll('figure.diagram svg line').length,
                drawn: document.querySelector('figure.diagram svg').getBBox().width > 300,
            })""")
        finally:
            browser.close()
    assert errors == [] and requests == [page_path.as_uri()]
    assert found["tables"] == found["boxes"] == len(catalog.star())
    assert found["rows"] == sum(len(d.columns) for d in described)
    assert found["joins"] == len(catalog.joins()) and found["drawn"]
    assert Path(page_path).stat().st_size > 5000
