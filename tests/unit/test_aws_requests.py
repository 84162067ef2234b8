"""The AWS requests provision makes where moto cannot answer them, checked with botocore's Stubber."""

import boto3
import pytest
from botocore.stub import Stubber

from sparkify_dwh import aws
from sparkify_dwh.config import SettingsError, redshift_settings


@pytest.fixture
def redshift():
    return boto3.client("redshift", region_name="us-west-2", aws_access_key_id="x", aws_secret_access_key="x")


def test_parameter_group_is_created_and_requires_ssl(redshift):
    with Stubber(redshift) as stub:
        stub.add_client_error("describe_cluster_parameter_groups", "ClusterParameterGroupNotFound",
                              expected_params={"ParameterGroupName": "dwh-params"})
        stub.add_response("create_cluster_parameter_group", {"ClusterParameterGroup": {}}, expected_params={
            "ParameterGroupName": "dwh-params", "ParameterGroupFamily": "redshift-1.0",
            "Description": "sparkify-dwh: TLS required", "Tags": aws.TAGS})
        stub.add_response("modify_cluster_parameter_group", {"ParameterGroupName": "dwh-params"}, expected_params={
            "ParameterGroupName": "dwh-params",
            "Parameters": [{"ParameterName": "require_ssl", "ParameterValue": "true", "ApplyType": "static"}]})
        lines = []
        aws.ensure_parameter_group(redshift, "dwh-params", lines.append)
        stub.assert_no_pending_responses()
    assert lines == ["parameters dwh-params: created"]


def test_an_existing_parameter_group_still_gets_require_ssl(redshift):
    with Stubber(redshift) as stub:
        stub.add_response("describe_cluster_parameter_groups", {"ParameterGroups": [{"ParameterGroupName": "p"}]})
        stub.add_response("modify_cluster_parameter_group", {"ParameterGroupName": "p"}, expected_params={
            "ParameterGroupName": "p",
            "Parameters": [{"ParameterName": "require_ssl", "ParameterValue": "true", "ApplyType": "static"}]})
        aws.ensure_parameter_group(redshift, "p", lambda line: None)
        stub.assert_no_pending_responses()


def test_role_policy_grants_only_the_prefixes_and_no_wildcard_action():
    policy = aws.role_policy(["s3://src/song_data", "/local/log_data"], "s3://stage-bucket/sparkify")
    statements = {s["Sid"]: s for s in policy["Statement"]}
    assert set(statements) == {"ReadSources", "ListSources0", "ReadWriteStaging", "ListStaging"}
    assert statements["ReadSources"]["Resource"] == ["arn:aws:s3:::src/song_data/*"]
    assert statements["ListSources0"] == {
        "Sid": "ListSources0", "Effect": "Allow", "Action": "s3:ListBucket", "Resource": "arn:aws:s3:::src",
        "Condition": {"StringLike": {"s3:prefix": ["song_data", "song_data/*"]}}}
    for s in policy["Statement"]:
        actions = [s["Action"]] if isinstance(s["Action"], str) else s["Action"]
        assert all(a.startswith("s3:") and "*" not in a for a in actions)


@pytest.mark.parametrize("cidr", ["0.0.0.0/0", "10.0.0.0/4", "::/0", "not-an-address"])
def test_wide_or_malformed_cidrs_are_refused(cidr):
    with pytest.raises(SettingsError, match="ALLOWED_CIDR"):
        redshift_settings({"ALLOWED_CIDR": cidr})


def test_a_bad_password_is_refused_without_being_repeated():
    with pytest.raises(SettingsError) as err:
        redshift_settings({"DB_PASSWORD": "alllowercase1"})
    assert "alllowercase1" not in str(err.value)


def test_write_env_replaces_and_appends_keeping_the_rest(tmp_path):
    path = tmp_path / ".env"
    path.write_text("# mine\nSONG_DATA=s3://a/b\nREDSHIFT_HOST=old\n")
    aws.write_env(path, {"REDSHIFT_HOST": "new.example", "REDSHIFT_ROLE_ARN": "arn:aws:iam::1:role/r"})
    assert path.read_text() == ("# mine\nSONG_DATA=s3://a/b\nREDSHIFT_HOST=new.example\n\n"
                                "# written by bin/provision\nREDSHIFT_ROLE_ARN=arn:aws:iam::1:role/r\n")
