"""Every SQL file parses under sqlfluff in each dialect, as that dialect runs it."""

import pytest
import sqlfluff

from sparkify_dwh import sqlfiles

RENDERED = [(d, f) for d in sqlfiles.DIALECTS for folder in sqlfiles.folders() for f in sqlfiles.files(folder, d)]


def _unparsable(text, dialect):
    try:
        sqlfluff.parse(text, dialect=dialect)
    except sqlfluff.api.APIParsingError as err:
        return str(err)
    return None


@pytest.mark.parametrize("dialect,f", RENDERED, ids=lambda x: x if isinstance(x, str) else
                         f"{x.path.parent.name}/{x.path.name}")
def test_each_file_parses_as_its_dialect_runs_it(dialect, f):
    assert _unparsable(f.text, dialect) is None


def test_the_parser_refuses_postgres_only_ddl_under_redshift():
    assert _unparsable("CREATE TABLE t (a BIGINT, b TIMESTAMP GENERATED ALWAYS AS (a) STORED);", "redshift")


def test_the_schema_differs_between_dialects_only_on_marked_lines():
    for folder in sqlfiles.folders():
        for pg, rs in zip(sqlfiles.files(folder, "postgres"), sqlfiles.files(folder, "redshift")):
            raw = pg.path.read_text(encoding="utf-8").splitlines()
            for n, (a, b) in enumerate(zip(pg.text.splitlines(), rs.text.splitlines())):
                if a != b:
                    assert raw[n].lstrip().startswith(("-- postgres: ", "-- redshift: ")), f"{pg.path.name}:{n + 1}"
