"""The report without a database: query headers, terminal tables, and a page that escapes and fetches nothing."""

import re
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from sparkify_dwh import report, sqlfiles

HOSTILE = '<script>alert("x")</script> & "Ca$h" O\'Brien Zoë 夜明け'


def answer(rows, chart=None, columns=("song", "plays"), name="top_songs"):
    return report.Answer(name, 'Which "songs" <win>?', "Notes & more <b>.", columns, tuple(rows), chart)


def test_every_report_query_is_numbered_with_a_question_and_a_grain():
    found = sqlfiles.files("reports")
    assert len(found) >= 9
    for f in found:
        question, notes, _ = report.parse_header(f.text)
        assert question.endswith("?"), f.path.name
        assert "Grain:" in notes, f.path.name
        assert len(f.statements) == 1, f.path.name
        for word in ("::", "ILIKE", "GENERATE_SERIES", "DISTINCT ON", "FILTER ("):
            assert word not in f.text.upper(), f"{f.path.name} uses {word}"


def test_header_gives_question_notes_and_chart():
    text = "-- Who?\n-- Grain: one row per x.\n-- chart: barh a,b n\n\nSELECT 1 AS a;\n-- trailing\n"
    question, notes, chart = report.parse_header(text)
    assert question == "Who?"
    assert notes == "Grain: one row per x."
    assert chart == report.Chart("barh", ("a", "b"), "n")


def test_terminal_tables_align_and_format_numbers_times_and_decimals():
    a = report.Answer("x", "When?", "", ("day", "at", "plays", "pct"),
                      ((date(2018, 11, 1), datetime(2018, 11, 1, 9, 5, 7, 796000), 12345, Decimal("18.0")),), None)
    out = report.terminal([a])
    assert out.splitlines()[:2] == ["When?", "====="]
    assert out.splitlines()[-1].split("  ") == ["2018-11-01", "2018-11-01 09:05:07", " 12,345", " 18.0"]
    assert "(no rows)" in report.terminal([report.Answer("y", "None?", "", ("a",), (), None)])


def test_page_escapes_all_data_and_keeps_it_readable():
    chart = report.Chart("barh", ("song",), "plays")
    page = report.html([answer([(HOSTILE, 3)], chart)], warehouse="postgres",
                       generated_at=datetime(2020, 1, 1, tzinfo=UTC))
    assert "<script" not in page.lower()
    assert "<win>" not in page and "<b>." not in page
    assert "&lt;script&gt;" in page
    assert "Zoë 夜明け" in page
    # in the SVG too: "$" is text, not mathtext
    svg = page[page.index("<svg"):page.index("</svg>")]
    assert "Ca$h" in svg and "&lt;script&gt;" in svg
    assert 'id="top_songs-bar-0"' in svg


def test_page_fetches_nothing_and_inlines_every_chart():
    answers = [
        answer([("a", 3), ("b", 2)], report.Chart("bar", ("song",), "plays"), name="one"),
        answer([("a", 3)], report.Chart("barh", ("song",), "plays"), name="two"),
        report.Answer("three", "Daily?", "", ("day", "users"),
                      tuple((date(2018, 11, d), d) for d in range(1, 31)), report.Chart("line", ("day",), "users")),
        answer([("a", 3)], None, name="four"),
        answer([], report.Chart("bar", ("song",), "plays"), name="five"),
    ]
    page = report.html(answers, warehouse="postgres")
    assert report.external_references(page) == []
    assert "<?xml" not in page and "<!DOCTYPE svg" not in page
    assert page.count("<svg") == 3
    assert 'id="three-line"' in page
    assert len(re.findall(r'id="one-bar-\d+"', page)) == 2
    assert "No rows." in page


def test_the_external_reference_check_catches_what_a_browser_would_fetch():
    for bad in ('<img src="https://cdn.example/x.png">', "<link href='//cdn.example/x.css'>",
                '<div style="background: url(http://x/y.png)">', "<style>@import 'x.css';</style>",
                '<use xlink:href="http://x/sprite.svg#a"/>'):
        assert report.external_references(bad), bad
    for fine in ('<svg xmlns="http://www.w3.org/2000/svg">', '<a href="#top_songs">', 'clip-path="url(#p1)"'):
        assert not report.external_references(fine), fine


@pytest.mark.parametrize("kind", ["bar", "barh", "line"])
def test_each_chart_kind_renders_one_svg_element(kind):
    a = answer([("x", 1), ("y", 2)], report.Chart(kind, ("song",), "plays"))
    svg = report.chart_svg(a)
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
