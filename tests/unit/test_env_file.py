"""The settings file the commands write: values replaced in place, and a password only in a file its owner
alone may read."""

import stat

from sparkify_dwh import aws


def _mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_values_replace_their_lines_and_keep_the_rest(tmp_path):
    path = tmp_path / ".env"
    path.write_text("# mine\nMAX_ERRORS=3\nREDSHIFT_HOST=old\n")
    assert aws.write_env(path, {"REDSHIFT_HOST": "new", "REDSHIFT_ROLE_ARN": "arn"}) is False
    assert path.read_text() == ("# mine\nMAX_ERRORS=3\nREDSHIFT_HOST=new\n\n# written by bin/provision\n"
                                "REDSHIFT_ROLE_ARN=arn\n")


def test_a_password_goes_to_a_new_file_made_for_its_owner_alone(tmp_path):
    path = tmp_path / ".env"
    assert aws.write_env(path, {"READER_PASSWORD": "s3cret"}, by="bin/reader", secret=True) is False
    assert _mode(path) == 0o600 and "READER_PASSWORD=s3cret" in path.read_text()


def test_a_file_others_may_read_is_narrowed_before_a_password_is_written_to_it(tmp_path):
    path = tmp_path / ".env"
    path.write_text("MAX_ERRORS=3\n")
    path.chmod(0o644)
    assert aws.write_env(path, {"READER_PASSWORD": "s3cret"}, by="bin/reader", secret=True) is True
    assert _mode(path) == 0o600
    assert path.read_text().startswith("MAX_ERRORS=3\n")
    path.chmod(0o640)  # not a password: the mode is the user's own business
    aws.write_env(path, {"REDSHIFT_HOST": "h"})
    assert _mode(path) == 0o640
