"""Redshift Serverless provision, teardown and status: every Serverless request in order, with its parameters,
checked by botocore's Stubber against the service model (moto has no Redshift Serverless); IAM, EC2, S3
and STS on moto's server, so the role, the network and the staging bucket are real objects to inspect."""

import json
import os
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import ANY, Stubber

from sparkify_dwh import bucket, provisioning
from sparkify_dwh.config import load_settings
from sparkify_dwh.warehouses.redshift import connection

pytestmark = pytest.mark.integration

WG, NS = "sparkify-sls", "sparkify-sls"
ACCOUNT = "123456789012"
WG_ARN = f"arn:aws:redshift-serverless:us-west-2:{ACCOUNT}:workgroup/0b5d-wg"
NS_ARN = f"arn:aws:redshift-serverless:us-west-2:{ACCOUNT}:namespace/0b5d-ns"
ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/{WG}-copy"
TAGS = [{"key": "project", "value": "sparkify-dwh"}]
REQUIRE_SSL = [{"parameterKey": "require_ssl", "parameterValue": "true"}]
HOST = f"{WG}.{ACCOUNT}.us-west-2.redshift-serverless.amazonaws.com"


def namespace(status="AVAILABLE", roles=(ROLE_ARN,), secret=None, apply="in-sync"):
    out = {"namespaceName": NS, "namespaceArn": NS_ARN, "status": status, "dbName": "sparkify",
           "adminUsername": "sparkify_admin", "creationDate": datetime(2026, 11, 20, tzinfo=UTC),
           "iamRoles": [f"IamRole(applyStatus={apply}, iamRoleArn={r})" for r in roles]}
    if secret:
        out["adminPasswordSecretArn"] = secret
    return {"namespace": out}


def workgroup(status="AVAILABLE", capacity=4, endpoint=True, public=False):
    out = {"workgroupName": WG, "workgroupArn": WG_ARN, "namespaceName": NS, "status": status,
           "baseCapacity": capacity, "publiclyAccessible": public, "configParameters": REQUIRE_SSL,
           "creationDate": datetime(2026, 11, 20, tzinfo=UTC)}
    if endpoint:
        out["endpoint"] = {"address": HOST, "port": 5439}
    return {"workgroup": out}


def default_subnets(clients) -> list[str]:
    """moto's default VPC's default subnets, one per Availability Zone."""
    vpc = clients.ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"][0]["VpcId"]
    subnets = clients.ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]},
                                                    {"Name": "default-for-az", "Values": ["true"]}])["Subnets"]
    assert len({s["AvailabilityZone"] for s in subnets}) >= 3
    return sorted(s["SubnetId"] for s in subnets)


def not_found(stub, method, **params):
    stub.add_client_error(method, "ResourceNotFoundException", http_status_code=400, expected_params=params)


@pytest.fixture
def clients(aws_env):
    """moto for IAM, EC2, S3 and STS; a Stubber-checked client for Redshift Serverless."""
    made = {s: boto3.client(s, endpoint_url=aws_env["AWS_ENDPOINT_URL"], region_name="us-west-2")
            for s in ("iam", "ec2", "s3", "sts")}
    made["serverless"] = boto3.client("redshift-serverless", region_name="us-west-2",
                                      aws_access_key_id="x", aws_secret_access_key="x")
    return provisioning.Clients("us-west-2", made)


@pytest.fixture
def settings(monkeypatch, tmp_path):
    def make(**env):
        for key in ("STAGING_PREFIX", "DB_PASSWORD", "REDSHIFT_HOST", "PUBLICLY_ACCESSIBLE"):
            monkeypatch.delenv(key, raising=False)
        values = {"ENV_FILE": os.devnull, "WAREHOUSE": "redshift", "REDSHIFT_WORKGROUP": WG,
                  "SONG_DATA": "s3://udacity-dend/song_data", "LOG_DATA": "s3://udacity-dend/log_data", **env}
        for key, value in values.items():
            monkeypatch.setenv(key, value)
        return load_settings()
    return make


def test_serverless_provision_then_teardown_sends_these_requests_in_order(clients, settings):
    said = []
    s = settings()
    role_arn = f"arn:aws:iam::{ACCOUNT}:role/{WG}-copy"  # moto's account
    with Stubber(clients.serverless) as stub:
        not_found(stub, "get_namespace", namespaceName=NS)
        stub.add_response("create_namespace", namespace(), expected_params={
            "namespaceName": NS, "dbName": "sparkify", "adminUsername": "sparkify_admin", "iamRoles": [role_arn],
            "defaultIamRoleArn": role_arn, "manageAdminPassword": True, "tags": TAGS})
        not_found(stub, "get_workgroup", workgroupName=WG)
        # the namespace settles first: AVAILABLE, and its role in-sync (a workgroup or COPY before may be refused)
        stub.add_response("get_namespace", namespace("MODIFYING", apply="adding"),
                          expected_params={"namespaceName": NS})
        stub.add_response("get_namespace", namespace(), expected_params={"namespaceName": NS})
        stub.add_response("create_workgroup", workgroup("CREATING", endpoint=False), expected_params={
            "workgroupName": WG, "namespaceName": NS, "baseCapacity": 4, "publiclyAccessible": False,
            "securityGroupIds": [ANY], "subnetIds": default_subnets(clients), "port": 5439,
            "configParameters": REQUIRE_SSL, "tags": TAGS})
        stub.add_response("get_namespace", namespace(), expected_params={"namespaceName": NS})
        stub.add_response("get_workgroup", workgroup("CREATING", endpoint=False), expected_params={"workgroupName": WG})
        stub.add_response("get_namespace", namespace(), expected_params={"namespaceName": NS})
        stub.add_response("get_workgroup", workgroup(), expected_params={"workgroupName": WG})
        stub.add_response("list_usage_limits", {},  # none: the model allows no empty list
                          expected_params={"resourceArn": WG_ARN, "usageType": "serverless-compute"})
        stub.add_response("create_usage_limit", {"usageLimit": {"usageLimitId": "ul-1"}}, expected_params={
            "resourceArn": WG_ARN, "usageType": "serverless-compute", "amount": 12, "period": "daily",
            "breachAction": "deactivate"})
        done = provisioning.provision(s, say=said.append, clients=clients, poll=0)
        stub.assert_no_pending_responses()

    assert (done.host, done.port, done.role_arn) == (HOST, 5439, role_arn)
    assert f"namespace {NS}: MODIFYING, role {WG}-copy adding, waiting (0m00s)" in said
    # the staging bucket provision made: private, encrypted, emptied by a lifecycle rule, tagged as its own
    name = f"{WG}-staging-{ACCOUNT}-us-west-2"
    assert done.staging_prefix == f"s3://{name}/loads"
    s3 = clients.s3
    blocks = s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"]
    assert blocks == {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
                      "RestrictPublicBuckets": True}
    (rule,) = s3.get_bucket_encryption(Bucket=name)["ServerSideEncryptionConfiguration"]["Rules"]
    assert rule["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    (expiry,) = s3.get_bucket_lifecycle_configuration(Bucket=name)["Rules"]
    assert (expiry["Status"], expiry["Expiration"]["Days"]) == ("Enabled", bucket.EXPIRE_DAYS)
    # the role reads and writes only that prefix
    policy = clients.iam.get_role_policy(RoleName=f"{WG}-copy", PolicyName="s3-sources-and-staging")["PolicyDocument"]
    policy = json.loads(policy) if isinstance(policy, str) else policy
    staging = [st for st in policy["Statement"] if st["Sid"] == "ReadWriteStaging"]
    assert staging[0]["Resource"] == f"arn:aws:s3:::{name}/loads/*"
    # the network: the VPC's own range only (private unless asked)
    (group,) = clients.ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [f"{WG}-access"]}])["SecurityGroups"]
    assert [r["CidrIp"] for p in group["IpPermissions"] for r in p["IpRanges"]] == ["172.31.0.0/16"]
    assert any(line.startswith("cost      from $1.50 an hour while queries run") and "$0 for compute while idle" in line
               for line in said)
    s3.put_object(Bucket=name, Key="loads/x/part-0000.json.gz", Body=b"left by a killed load")

    s = settings(STAGING_PREFIX=done.staging_prefix)
    with Stubber(clients.serverless) as stub:
        stub.add_response("get_workgroup", workgroup(), expected_params={"workgroupName": WG})
        stub.add_response("list_usage_limits", {"usageLimits": [{"usageLimitId": "ul-1", "resourceArn": WG_ARN}]},
                          expected_params={"resourceArn": WG_ARN})
        stub.add_response("delete_usage_limit", {}, expected_params={"usageLimitId": "ul-1"})
        stub.add_response("delete_workgroup", workgroup("DELETING"), expected_params={"workgroupName": WG})
        stub.add_response("get_workgroup", workgroup("DELETING"), expected_params={"workgroupName": WG})
        not_found(stub, "get_workgroup", workgroupName=WG)
        stub.add_response("get_namespace", namespace(), expected_params={"namespaceName": NS})
        stub.add_response("delete_namespace", namespace("DELETING"), expected_params={"namespaceName": NS})
        not_found(stub, "get_namespace", namespaceName=NS)
        assert provisioning.teardown(s, say=said.append, clients=clients, poll=0) is True
        stub.assert_no_pending_responses()
    assert not bucket.exists(s3, name)
    assert f"{WG}-copy" not in [r["RoleName"] for r in clients.iam.list_roles()["Roles"]]
    assert clients.ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [f"{WG}-access"]}])["SecurityGroups"] == []

    # a second teardown finds nothing and succeeds
    with Stubber(clients.serverless) as stub:
        not_found(stub, "get_workgroup", workgroupName=WG)
        not_found(stub, "get_namespace", namespaceName=NS)
        assert provisioning.teardown(s, say=said.append, clients=clients, poll=0) is False
        stub.assert_no_pending_responses()


def test_a_second_provision_reuses_everything_and_restores_the_usage_limit(clients, settings):
    s = settings(STAGING_PREFIX="s3://my-own-bucket/stage", DB_PASSWORD="Secret123abc")
    with Stubber(clients.serverless) as stub:
        stub.add_response("get_namespace", namespace(roles=()), expected_params={"namespaceName": NS})
        stub.add_response("update_namespace", namespace(), expected_params={
            "namespaceName": NS, "iamRoles": [ROLE_ARN], "defaultIamRoleArn": ROLE_ARN})
        stub.add_response("get_workgroup", workgroup(), expected_params={"workgroupName": WG})
        stub.add_response("get_namespace", namespace(), expected_params={"namespaceName": NS})
        stub.add_response("get_workgroup", workgroup(), expected_params={"workgroupName": WG})
        stub.add_response("list_usage_limits", {"usageLimits": [
            {"usageLimitId": "ul-1", "amount": 500, "period": "daily", "breachAction": "log"}]},
            expected_params={"resourceArn": WG_ARN, "usageType": "serverless-compute"})
        stub.add_response("update_usage_limit", {"usageLimit": {"usageLimitId": "ul-1"}},
                          expected_params={"usageLimitId": "ul-1", "amount": 12, "breachAction": "deactivate"})
        done = provisioning.provision(s, say=lambda _: None, clients=clients, poll=0)
        stub.assert_no_pending_responses()
    assert done.staging_prefix is None  # STAGING_PREFIX was given: no bucket made
    assert not bucket.exists(clients.s3, f"{WG}-staging-{ACCOUNT}-us-west-2")


def test_where_four_rpus_are_refused_the_workgroup_gets_eight(clients, settings):
    said = []
    s = settings(STAGING_PREFIX="s3://my-own-bucket/stage")
    subnets = ["subnet-1", "subnet-2", "subnet-3"]
    request = {"workgroupName": WG, "namespaceName": NS, "baseCapacity": 4, "publiclyAccessible": False,
               "securityGroupIds": [ANY], "subnetIds": subnets, "port": 5439, "configParameters": REQUIRE_SSL,
               "tags": TAGS}
    with Stubber(clients.serverless) as stub:
        not_found(stub, "get_workgroup", workgroupName=WG)
        stub.add_response("get_namespace", namespace(), expected_params={"namespaceName": NS})
        stub.add_client_error("create_workgroup", "ValidationException", "base capacity 4 is not supported",
                              expected_params=request)
        stub.add_response("create_workgroup", workgroup(capacity=8), expected_params={**request, "baseCapacity": 8})
        provisioning.serverless.ensure_workgroup(clients.serverless, s.redshift, "sg-1", subnets, said.append, poll=0)
        stub.assert_no_pending_responses()
    assert "4 RPUs refused in us-west-2; 8 RPUs instead" in said[0]


def test_the_password_on_serverless_is_the_namespace_s_managed_secret(clients, settings, aws_env):
    secrets = boto3.client("secretsmanager", endpoint_url=aws_env["AWS_ENDPOINT_URL"], region_name="us-west-2")
    secret = json.dumps({"username": "sparkify_admin", "password": "Managed9pw"})
    arn = secrets.create_secret(Name="redshift!sparkify-sls-admin", SecretString=secret)["ARN"]
    s = settings()
    with Stubber(clients.serverless) as stub:
        stub.add_response("get_namespace", namespace(secret=arn), expected_params={"namespaceName": NS})
        assert connection.master_password(s.redshift, secrets=secrets, redshift=clients.serverless) == "Managed9pw"
        stub.assert_no_pending_responses()


def test_a_default_vpc_with_subnets_in_two_zones_is_refused_before_any_workgroup():
    ec2 = boto3.client("ec2", region_name="us-west-2", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(ec2) as stub:
        stub.add_response("describe_vpcs", {"Vpcs": [{"VpcId": "vpc-1", "CidrBlock": "172.31.0.0/16"}]})
        stub.add_response("describe_subnets", {"Subnets": [
            {"SubnetId": "subnet-a", "AvailabilityZone": "us-west-2a"},
            {"SubnetId": "subnet-b", "AvailabilityZone": "us-west-2b"}]})
        with pytest.raises(provisioning.aws.AwsError, match="needs 3"):
            provisioning.aws.default_subnets(ec2, "us-west-2")


def test_a_serverless_port_outside_its_ranges_is_refused(settings):
    with pytest.raises(provisioning.aws.SettingsError, match="5431-5455 or 8191-8215"):
        settings(DB_PORT="5400").redshift  # noqa: B018


def test_status_shows_state_age_and_cost(clients, settings):
    s = settings(STAGING_PREFIX="s3://my-own-bucket/stage")
    with Stubber(clients.serverless) as stub:
        stub.add_response("get_namespace", namespace(), expected_params={"namespaceName": NS})
        stub.add_response("get_workgroup", workgroup(), expected_params={"workgroupName": WG})
        rows = provisioning.status(s, clients=clients)
    assert [r[:3] for r in rows] == [("namespace", NS, "AVAILABLE"), ("workgroup", WG, "AVAILABLE, 4 RPUs"),
                                     ("bucket", "my-own-bucket", "not found")]
    assert rows[0][3].endswith(("h", "days"))
    assert provisioning.running(rows)


def test_teardown_never_deletes_a_bucket_it_did_not_make(clients):
    s3 = clients.s3
    s3.create_bucket(Bucket="someone-elses", CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    s3.put_object(Bucket="someone-elses", Key="keep.json", Body=b"{}")
    said = []
    assert bucket.delete(s3, "someone-elses", WG, said.append) is False
    assert said == ["bucket    someone-elses: not made by provision, left as it is"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket="someone-elses")["Contents"]] == ["keep.json"]
    with pytest.raises(provisioning.aws.AwsError, match="not made by provision"):
        bucket.ensure(s3, "someone-elses", WG, "us-west-2", said.append)


def test_a_namespace_refused_while_iam_propagates_its_role_is_created_on_a_later_try(clients, settings, monkeypatch):
    paused, said = [], []
    monkeypatch.setattr(provisioning.aws, "pause", paused.append)
    s = settings(DB_PASSWORD="Secret123abc")
    request = {"namespaceName": NS, "dbName": "sparkify", "adminUsername": "sparkify_admin", "iamRoles": [ROLE_ARN],
               "defaultIamRoleArn": ROLE_ARN, "adminUserPassword": "Secret123abc", "tags": TAGS}
    with Stubber(clients.serverless) as stub:
        not_found(stub, "get_namespace", namespaceName=NS)
        stub.add_client_error("create_namespace", "ValidationException", f"IAM role {ROLE_ARN} is not valid",
                              expected_params=request)
        stub.add_response("create_namespace", namespace(apply="adding"), expected_params=request)
        provisioning.serverless.ensure_namespace(clients.serverless, s.redshift, ROLE_ARN, said.append)
        stub.assert_no_pending_responses()
    assert paused == [provisioning.aws.IAM_RETRY_SECONDS]
    assert said[0].startswith(f"namespace {NS}: the role is not usable yet (IAM propagates it in the background)")
