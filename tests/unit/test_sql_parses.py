"""Every SQL file parses under sqlfluff: postgres for all, redshift for every Redshift-bound variant."""

import pytest
import sqlfluff

from sparkify_dwh import config, sqlfiles

ALL = sorted(config.SQL_DIR.rglob("*.sql"))
PG = [p for p in ALL if not p.name.endswith(".redshift.sql")]
RS = sqlfiles.redshift_bound()


def _unparsable(path, dialect):
    try:
        sqlfluff.parse(path.read_text(encoding="utf-8"), dialect=dialect)
    except sqlfluff.api.APIParsingError as err:
        return str(err)
    return None


@pytest.mark.parametrize("path", PG, ids=lambda p: str(p.relative_to(config.SQL_DIR)))
def test_parses_as_postgres(path):
    assert _unparsable(path, "postgres") is None


@pytest.mark.parametrize("path", RS, ids=lambda p: str(p.relative_to(config.SQL_DIR)))
def test_parses_as_redshift(path):
    assert _unparsable(path, "redshift") is None


def test_the_parser_refuses_postgres_only_ddl_under_redshift(tmp_path):
    ddl = tmp_path / "x.sql"
    ddl.write_text("CREATE TABLE t (a BIGINT, b TIMESTAMP GENERATED ALWAYS AS (a) STORED);")
    assert _unparsable(ddl, "redshift") is not None
