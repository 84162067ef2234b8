"""The SQL files: ordered by number, dialect variants chosen, statements split, headers present."""

import pytest

from sparkify_dwh import config, sqlfiles

FOLDERS = ("schema", "transform", "checks")


@pytest.mark.parametrize("folder", FOLDERS)
def test_every_file_is_numbered_with_a_header(folder):
    found = sqlfiles.files(folder)
    assert found, folder
    assert [f.number for f in found] == sorted(f.number for f in found)
    for f in found:
        assert f.text.lstrip().startswith("--"), f"{f.path} has no header comment"


def test_a_dialect_line_is_sql_for_its_dialect_and_a_comment_for_the_other(tmp_path):
    (tmp_path / "schema").mkdir()
    (tmp_path / "schema" / "010_a.sql").write_text(
        "-- a\nCREATE TABLE a (\n    x INTEGER\n)\n-- redshift: DISTSTYLE ALL\n;\n"
        "-- postgres: ALTER TABLE a SET UNLOGGED;\n")
    (tmp_path / "schema" / "020_b.sql").write_text("-- b\nSELECT 3; SELECT 4;")
    pg = sqlfiles.files("schema", "postgres", tmp_path)
    rs = sqlfiles.files("schema", "redshift", tmp_path)
    assert [f.path.name for f in pg] == [f.path.name for f in rs] == ["010_a.sql", "020_b.sql"]
    assert [s.split("\n")[-1] for s in pg[0].statements] == ["-- redshift: DISTSTYLE ALL", "ALTER TABLE a SET UNLOGGED"]
    assert [s.split("\n")[-1] for s in rs[0].statements] == ["DISTSTYLE ALL"]
    assert len(pg[0].text.splitlines()) == len(rs[0].text.splitlines())  # line numbers kept
    assert pg[0].checksum != rs[0].checksum
    assert [s.splitlines()[-1] for s in rs[1].statements] == ["SELECT 3", "SELECT 4"]


def test_transform_sql_avoids_what_redshift_lacks():
    for f in sqlfiles.files("transform") + sqlfiles.files("checks"):
        text = f.text.upper()
        for word in ("ON CONFLICT", "SERIAL", "NEXTVAL", "ARRAY[", "TRUNCATE", "::", "GENERATE_SERIES"):
            assert word not in text, f"{f.path.name} uses {word}"


def test_badly_named_files_are_refused(tmp_path):
    (tmp_path / "schema").mkdir()
    (tmp_path / "schema" / "users.sql").write_text("SELECT 1;")
    with pytest.raises(ValueError, match="NNN_name.sql"):
        sqlfiles.files("schema", root=tmp_path)


def test_sql_dir_is_the_repo_folder():
    assert (config.SQL_DIR / "transform").is_dir()
