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
            "ParameterGroupName": "dwh-params", "ParameterGroupFamily": "redshift-2.0",
            "Description": "sparkify-dwh: TLS required", "Tags": aws.TAGS})
        stub.add_response("modify_cluster_parameter_group", {"ParameterGroupName": "dwh-params"}, expected_params={
            "ParameterGroupName": "dwh-params",
            "Parameters": [{"ParameterName": "require_ssl", "ParameterValue": "true", "ApplyType": "static"}]})
        lines = []
        aws.ensure_parameter_group(redshift, "dwh-params", lines.append)
        stub.assert_no_pending_responses()
    assert lines == ["parameters dwh-params: created (redshift-2.0)"]


def test_an_existing_parameter_group_still_gets_require_ssl(redshift):
    with Stubber(redshift) as stub:
        stub.add_response("describe_cluster_parameter_groups", {"ParameterGroups": [
            {"ParameterGroupName": "p", "ParameterGroupFamily": "redshift-2.0"}]})
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


REQUIRE_SSL = [{"ParameterName": "require_ssl", "ParameterValue": "true", "ApplyType": "static"}]


def test_a_parameter_group_of_the_old_family_is_replaced_while_no_cluster_uses_it(redshift):
    # "The default parameter group family is redshift-2.0"; a group left by an earlier provision in redshift-1.0
    old = {"ParameterGroups": [{"ParameterGroupName": "p", "ParameterGroupFamily": "redshift-1.0"}]}
    with Stubber(redshift) as stub:
        stub.add_response("describe_cluster_parameter_groups", old, {"ParameterGroupName": "p"})
        stub.add_response("delete_cluster_parameter_group", {}, {"ParameterGroupName": "p"})
        stub.add_response("create_cluster_parameter_group", {"ClusterParameterGroup": {}}, {
            "ParameterGroupName": "p", "ParameterGroupFamily": "redshift-2.0",
            "Description": "sparkify-dwh: TLS required", "Tags": aws.TAGS})
        stub.add_response("modify_cluster_parameter_group", {"ParameterGroupName": "p"},
                          {"ParameterGroupName": "p", "Parameters": REQUIRE_SSL})
        lines = []
        aws.ensure_parameter_group(redshift, "p", lines.append)
        stub.assert_no_pending_responses()
    assert lines == ["parameters p: family redshift-1.0 replaced by redshift-2.0"]
    with Stubber(redshift) as stub:  # a cluster uses it: it cannot be deleted, and is kept
        stub.add_response("describe_cluster_parameter_groups", old, {"ParameterGroupName": "p"})
        stub.add_response("modify_cluster_parameter_group", {"ParameterGroupName": "p"},
                          {"ParameterGroupName": "p", "Parameters": REQUIRE_SSL})
        lines = []
        aws.ensure_parameter_group(redshift, "p", lines.append, in_use=True)
        stub.assert_no_pending_responses()
    assert lines == ["parameters p: family redshift-1.0, kept as the cluster uses it (make teardown, then make "
                     "provision, makes it again in redshift-2.0)"]


def _rs(**values):
    return redshift_settings({"DB_PASSWORD": "Secret123abc", **values})


ROLE = "arn:aws:iam::123456789012:role/dwh-copy"
NOT_VALID = ("The IAM role dwh-copy is not valid. The IAM role must delegate access to an Amazon Redshift "
             "account.")


def test_a_cluster_create_refused_while_iam_propagates_the_role_is_sent_again(redshift, monkeypatch):
    paused = []
    monkeypatch.setattr(aws, "pause", paused.append)
    rs = _rs(CLUSTER_IDENTIFIER="dwh")
    with Stubber(redshift) as stub:
        stub.add_client_error("describe_clusters", "ClusterNotFound", http_status_code=404)
        for _ in range(2):
            stub.add_client_error("create_cluster", "InvalidParameterValue", NOT_VALID, http_status_code=400)
        stub.add_response("create_cluster", {"Cluster": {"ClusterIdentifier": "dwh"}})
        lines = []
        assert aws.ensure_cluster(redshift, rs, ROLE, "sg-1", lines.append)["ClusterIdentifier"] == "dwh"
        stub.assert_no_pending_responses()
    assert paused == [aws.IAM_RETRY_SECONDS] * 2
    assert lines[0] == ("cluster   dwh: the role is not usable yet (IAM propagates it in the background); trying "
                        "again in 10 s, for at most 120 s")


def test_another_refusal_or_the_same_past_the_time_is_not_retried(redshift, monkeypatch):
    from botocore.exceptions import ClientError

    monkeypatch.setattr(aws, "pause", lambda seconds: None)
    rs = _rs(CLUSTER_IDENTIFIER="dwh")
    with Stubber(redshift) as stub:
        stub.add_client_error("describe_clusters", "ClusterNotFound", http_status_code=404)
        stub.add_client_error("create_cluster", "InvalidParameterValue", "The password is not valid",
                              http_status_code=400)
        with pytest.raises(ClientError, match="password"):
            aws.ensure_cluster(redshift, rs, ROLE, "sg-1", lambda line: None)
    clock = iter(range(0, 1000, 60))  # 60 s a try: a third would pass the 120 s
    monkeypatch.setattr(aws, "clock", lambda: next(clock))
    tries = []

    def refused():
        tries.append(1)
        raise ClientError({"Error": {"Code": "InvalidParameterValue", "Message": NOT_VALID}}, "CreateCluster")

    with pytest.raises(ClientError, match="delegate access"):
        aws.with_role_retry(refused, "cluster   dwh", lambda line: None)
    assert len(tries) == 2


def test_a_cluster_waits_until_its_role_is_in_sync(redshift):
    cluster = {"ClusterIdentifier": "dwh", "ClusterStatus": "available", "Endpoint": {"Address": "dwh.example"}}
    with Stubber(redshift) as stub:
        stub.add_response("describe_clusters", {"Clusters": [
            dict(cluster, IamRoles=[{"IamRoleArn": ROLE, "ApplyStatus": "adding"}])]})
        stub.add_response("describe_clusters", {"Clusters": [
            dict(cluster, IamRoles=[{"IamRoleArn": ROLE, "ApplyStatus": "in-sync"}])]})
        lines = []
        aws.wait_available(redshift, "dwh", lines.append, poll=0)
        stub.assert_no_pending_responses()
    assert lines[0].startswith("cluster   dwh: available, its role not yet in-sync, waiting")


@pytest.mark.parametrize("port,refused", [(5439, False), (5431, False), (8215, False), (15439, True), (5430, True),
                                          (8216, True)])
def test_a_new_cluster_s_port_is_checked_an_existing_one_keeps_its_own(redshift, port, refused):
    # CreateCluster: "For clusters with RG or RA3 nodes - Select a port within the ranges 5431-5455 or 8191-8215"
    rs = _rs(CLUSTER_IDENTIFIER="dwh", DB_PORT=str(port))
    with Stubber(redshift) as stub:
        stub.add_client_error("describe_clusters", "ClusterNotFound", http_status_code=404)
        if refused:
            with pytest.raises(SettingsError, match=f"^DB_PORT={port}: a new RA3 cluster listens on 5431-5455 or "
                                                    "8191-8215"):
                aws.check_new_cluster(redshift, rs)
        else:
            assert aws.check_new_cluster(redshift, rs) is None
        stub.add_response("describe_clusters", {"Clusters": [{"ClusterIdentifier": "dwh",
                                                               "ClusterStatus": "available"}]})
        assert aws.check_new_cluster(redshift, rs)["ClusterIdentifier"] == "dwh"


@pytest.mark.parametrize("capacity,region,ok", [
    ("4", "us-west-2", True), ("8", "us-west-2", True), ("512", "us-west-2", True), ("544", "us-east-1", True),
    ("1024", "eu-central-1", True), ("0", "us-west-2", False), ("12", "us-west-2", False),
    ("520", "us-west-2", False), ("528", "us-west-2", False), ("1056", "us-west-2", False),
    ("544", "ap-south-1", False), ("512", "ap-south-1", True)])
def test_base_capacity_is_what_the_service_takes(capacity, region, ok):
    # 4; 8 to 512 in steps of 8; 512 to 1024 in steps of 32, in the Regions that offer more than 512
    values = {"BASE_CAPACITY": capacity, "AWS_REGION": region, "REDSHIFT_WORKGROUP": "wg1"}
    if ok:
        assert redshift_settings(values).base_capacity == int(capacity)
    else:
        with pytest.raises(SettingsError, match=f"^BASE_CAPACITY={capacity}: "):
            redshift_settings(values)


def test_the_default_copy_role_name_fits_iam_s_64_characters_the_same_on_every_run():
    longest = "c" + "-x" * 31  # 63 characters, the longest CLUSTER_IDENTIFIER
    name = redshift_settings({"CLUSTER_IDENTIFIER": longest}).iam_role_name
    assert len(f"{longest}-copy") == 68 and len(name) <= 64 and name.endswith("-copy") and name.startswith("c-x-x")
    assert redshift_settings({"CLUSTER_IDENTIFIER": longest}).iam_role_name == name
    other = longest[:-1] + "y"  # the same for the part that is kept: still another role
    assert redshift_settings({"CLUSTER_IDENTIFIER": other}).iam_role_name != name
    assert redshift_settings({"CLUSTER_IDENTIFIER": "sparkify-dwh"}).iam_role_name == "sparkify-dwh-copy"
    assert len(redshift_settings({"REDSHIFT_WORKGROUP": "w" * 64}).iam_role_name) == 64
