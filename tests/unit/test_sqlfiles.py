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


def test_a_check_file_gives_its_whole_form_its_scoped_form_and_its_severity(tmp_path, monkeypatch):
    from sparkify_dwh import checks

    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "010_a.sql").write_text("-- a holds\n-- severity: warning\nSELECT 1;\n\n"
                                                    "-- scoped: the rows in scope\nSELECT 2;\n")
    (tmp_path / "checks" / "020_b.sql").write_text("-- b holds\nSELECT 3;\n")
    monkeypatch.setattr(config, "SQL_DIR", tmp_path)
    a, b = checks.load()
    assert (a.name, a.title, a.severity, a.whole.splitlines()[-1], a.scoped.splitlines()[-1]) == (
        "a", "a holds", "warning", "SELECT 1", "SELECT 2")
    assert (b.severity, b.scoped) == ("error", None)
    assert [s.splitlines()[-1] for _, s in checks.gate_statements("postgres", scoped=True)] == ["SELECT 2", "SELECT 3"]
    assert [s.splitlines()[-1] for _, s in checks.gate_statements("postgres", scoped=False)] == ["SELECT 1", "SELECT 3"]


@pytest.mark.parametrize("text, problem", [
    ("-- c\nSELECT 1;\nSELECT 2;\n", "holds one query"),
    ("-- c\n-- scoped: x\nSELECT 1;\n", "holds one query"),
    ("-- c\n-- severity: fatal\nSELECT 1;\n", "severity 'fatal'"),
])
def test_a_check_file_of_another_shape_is_refused_naming_it(tmp_path, monkeypatch, text, problem):
    from sparkify_dwh import checks

    (tmp_path / "checks").mkdir()
    (tmp_path / "checks" / "010_c.sql").write_text(text)
    monkeypatch.setattr(config, "SQL_DIR", tmp_path)
    with pytest.raises(ValueError, match=f"010_c.sql: .*{problem}"):
        checks.load()


def test_every_check_of_the_repo_has_a_scoped_form_over_the_transform_s_scope():
    from sparkify_dwh import checks

    for dialect in sqlfiles.DIALECTS:
        for check in checks.load(dialect):
            assert check.scoped and check.severity == "error", check.name


def test_the_migration_to_logged_staging_is_nothing_on_redshift():
    (logged,) = [f for f in sqlfiles.files("schema", "redshift") if f.name == "staging_logged"]
    assert logged.statements == []
    (pg,) = [f for f in sqlfiles.files("schema", "postgres") if f.name == "staging_logged"]
    assert [s.split()[2] for s in (s.splitlines()[-1] for s in pg.statements)] == [
        "staging_events", "staging_songs", "load_files", "load_errors", "removed_plays", "removed_songs"]
