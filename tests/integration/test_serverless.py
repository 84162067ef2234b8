"""Redshift Serverless provision, teardown and status: every Serverless request in order, with its parameters,
checked by botocore's Stubber against the service model (moto has no Redshift Serverless); IAM, EC2, S3
and STS on moto's server, so the role, the network and the staging bucket are real objects to inspect."""

import json
import os
from dataclasses import dataclass, replace
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import ANY, Stubber
from conftest import unique

from sparkify_dwh import bucket, provisioning
from sparkify_dwh.config import load_settings
from sparkify_dwh.warehouses.redshift import connection

pytestmark = pytest.mark.integration

ACCOUNT = "123456789012"  # moto's
TAGS = [{"key": "project", "value": "sparkify-dwh"}]
REQUIRE_SSL = [{"parameterKey": "require_ssl", "parameterValue": "true"}]


@dataclass(frozen=True)
class Names:
    """One test's workgroup and what is named after it, its own on moto's server (shared by the session)."""

    wg: str
    ns: str
    role: str

    @property
    def wg_arn(self) -> str:
        return f"arn:aws:redshift-serverless:us-west-2:{ACCOUNT}:workgroup/0b5d-wg"

    @property
    def ns_arn(self) -> str:
        return f"arn:aws:redshift-serverless:us-west-2:{ACCOUNT}:namespace/0b5d-ns"

    @property
    def role_arn(self) -> str:
        return f"arn:aws:iam::{ACCOUNT}:role/{self.role}"

    @property
    def host(self) -> str:
        return f"{self.wg}.{ACCOUNT}.us-west-2.redshift-serverless.amazonaws.com"


@pytest.fixture
def n() -> Names:
    wg = unique("sparkify-sls")
    return Names(wg, wg, f"{wg}-copy")


def namespace(n: Names, status="AVAILABLE", roles=None, secret=None, db="sparkify", apply="in-sync"):
    roles = (n.role_arn,) if roles is None else roles
    out = {"namespaceName": n.ns, "namespaceArn": n.ns_arn, "status": status, "dbName": db,
           "adminUsername": "sparkify_admin", "creationDate": datetime(2026, 11, 20, tzinfo=UTC),
           "iamRoles": [f"IamRole(applyStatus={apply}, iamRoleArn={r})" for r in roles]}
    if secret:
        out["adminPasswordSecretArn"] = secret
    return {"namespace": out}


def workgroup(n: Names, status="AVAILABLE", capacity=4, endpoint=True, public=False):
    out = {"workgroupName": n.wg, "workgroupArn": n.wg_arn, "namespaceName": n.ns, "status": status,
           "baseCapacity": capacity, "publiclyAccessible": public, "configParameters": REQUIRE_SSL,
           "creationDate": datetime(2026, 11, 20, tzinfo=UTC)}
    if endpoint:
        out["endpoint"] = {"address": n.host, "port": 5439}
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
def settings(monkeypatch, tmp_path, n):
    def make(**env):
        for key in ("STAGING_PREFIX", "DB_PASSWORD", "REDSHIFT_HOST", "PUBLICLY_ACCESSIBLE"):
            monkeypatch.delenv(key, raising=False)
        values = {"ENV_FILE": os.devnull, "WAREHOUSE": "redshift", "REDSHIFT_WORKGROUP": n.wg,
                  "SONG_DATA": "s3://udacity-dend/song_data", "LOG_DATA": "s3://udacity-dend/log_data", **env}
        for key, value in values.items():
            monkeypatch.setenv(key, value)
        return load_settings()
    return make


def test_serverless_provision_then_teardown_sends_these_requests_in_order(clients, settings, n):
    said = []
    s = settings()
    role_arn = n.role_arn
    with Stubber(clients.serverless) as stub:
        not_found(stub, "get_namespace", namespaceName=n.ns)
        stub.add_response("create_namespace", namespace(n), expected_params={
            "namespaceName": n.ns, "dbName": "sparkify", "adminUsername": "sparkify_admin", "iamRoles": [role_arn],
            "defaultIamRoleArn": role_arn, "manageAdminPassword": True, "tags": TAGS})
        not_found(stub, "get_workgroup", workgroupName=n.wg)
        # the namespace settles first: AVAILABLE, and its role in-sync (a workgroup or COPY before may be refused)
        stub.add_response("get_namespace", namespace(n, "MODIFYING", apply="adding"),
                          expected_params={"namespaceName": n.ns})
        stub.add_response("get_namespace", namespace(n), expected_params={"namespaceName": n.ns})
        stub.add_response("create_workgroup", workgroup(n, "CREATING", endpoint=False), expected_params={
            "workgroupName": n.wg, "namespaceName": n.ns, "baseCapacity": 4, "publiclyAccessible": False,
            "securityGroupIds": [ANY], "subnetIds": default_subnets(clients), "port": 5439,
            "configParameters": REQUIRE_SSL, "tags": TAGS})
        stub.add_response("get_namespace", namespace(n), expected_params={"namespaceName": n.ns})
        stub.add_response("get_workgroup", workgroup(n, "CREATING", endpoint=False),
                          expected_params={"workgroupName": n.wg})
        stub.add_response("get_namespace", namespace(n), expected_params={"namespaceName": n.ns})
        stub.add_response("get_workgroup", workgroup(n), expected_params={"workgroupName": n.wg})
        stub.add_response("list_usage_limits", {},  # none: the model allows no empty list
                          expected_params={"resourceArn": n.wg_arn, "usageType": "serverless-compute"})
        stub.add_response("create_usage_limit", {"usageLimit": {"usageLimitId": "ul-1"}}, expected_params={
            "resourceArn": n.wg_arn, "usageType": "serverless-compute", "amount": 12, "period": "daily",
            "breachAction": "deactivate"})
        done = provisioning.provision(s, say=said.append, clients=clients, poll=0)
        stub.assert_no_pending_responses()

    assert (done.host, done.port, done.role_arn) == (n.host, 5439, role_arn)
    assert f"namespace {n.ns}: MODIFYING, role {n.wg}-copy adding, waiting (0m00s)" in said
    # the staging bucket provision made: private, encrypted, emptied by a lifecycle rule, tagged as its own
    name = f"{n.wg}-staging-{ACCOUNT}-us-west-2"
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
    policy = clients.iam.get_role_policy(RoleName=f"{n.wg}-copy", PolicyName="s3-sources-and-staging")["PolicyDocument"]
    policy = json.loads(policy) if isinstance(policy, str) else policy
    staging = [st for st in policy["Statement"] if st["Sid"] == "ReadWriteStaging"]
    assert staging[0]["Resource"] == f"arn:aws:s3:::{name}/loads/*"
    # the network: the VPC's own range only (private unless asked)
    (group,) = clients.ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [f"{n.wg}-access"]}])["SecurityGroups"]
    assert [r["CidrIp"] for p in group["IpPermissions"] for r in p["IpRanges"]] == ["172.31.0.0/16"]
    assert any(line.startswith("cost      from $1.50 an hour while queries run") and "$0 for compute while idle" in line
               for line in said)
    s3.put_object(Bucket=name, Key="loads/x/part-0000.json.gz", Body=b"left by a killed load")

    s = settings(STAGING_PREFIX=done.staging_prefix)
    with Stubber(clients.serverless) as stub:
        stub.add_response("get_workgroup", workgroup(n), expected_params={"workgroupName": n.wg})
        stub.add_response("list_usage_limits", {"usageLimits": [{"usageLimitId": "ul-1", "resourceArn": n.wg_arn}]},
                          expected_params={"resourceArn": n.wg_arn})
        stub.add_response("delete_usage_limit", {}, expected_params={"usageLimitId": "ul-1"})
        stub.add_response("delete_workgroup", workgroup(n, "DELETING"), expected_params={"workgroupName": n.wg})
        stub.add_response("get_workgroup", workgroup(n, "DELETING"), expected_params={"workgroupName": n.wg})
        not_found(stub, "get_workgroup", workgroupName=n.wg)
        stub.add_response("get_namespace", namespace(n), expected_params={"namespaceName": n.ns})
        stub.add_response("delete_namespace", namespace(n, "DELETING"), expected_params={"namespaceName": n.ns})
        not_found(stub, "get_namespace", namespaceName=n.ns)
        assert provisioning.teardown(s, say=said.append, clients=clients, poll=0) is True
        stub.assert_no_pending_responses()
    assert not bucket.exists(s3, name)
    assert f"{n.wg}-copy" not in [r["RoleName"] for r in clients.iam.list_roles()["Roles"]]
    assert clients.ec2.describe_security_groups(
        Filters=[{"Name": "group-name", "Values": [f"{n.wg}-access"]}])["SecurityGroups"] == []

    # a second teardown finds nothing and succeeds
    with Stubber(clients.serverless) as stub:
        not_found(stub, "get_workgroup", workgroupName=n.wg)
        not_found(stub, "get_namespace", namespaceName=n.ns)
        assert provisioning.teardown(s, say=said.append, clients=clients, poll=0) is False
        stub.assert_no_pending_responses()


def test_a_second_provision_reuses_everything_and_restores_the_usage_limit(clients, settings, n):
    s = settings(STAGING_PREFIX="s3://my-own-bucket/stage", DB_PASSWORD="Secret123abc")
    with Stubber(clients.serverless) as stub:
        stub.add_response("get_namespace", namespace(n, roles=()), expected_params={"namespaceName": n.ns})
        stub.add_response("update_namespace", namespace(n), expected_params={
            "namespaceName": n.ns, "iamRoles": [n.role_arn], "defaultIamRoleArn": n.role_arn})
        stub.add_response("get_workgroup", workgroup(n), expected_params={"workgroupName": n.wg})
        stub.add_response("get_namespace", namespace(n), expected_params={"namespaceName": n.ns})
        stub.add_response("get_workgroup", workgroup(n), expected_params={"workgroupName": n.wg})
        stub.add_response("list_usage_limits", {"usageLimits": [
            {"usageLimitId": "ul-1", "amount": 500, "period": "daily", "breachAction": "log"}]},
            expected_params={"resourceArn": n.wg_arn, "usageType": "serverless-compute"})
        stub.add_response("update_usage_limit", {"usageLimit": {"usageLimitId": "ul-1"}},
                          expected_params={"usageLimitId": "ul-1", "amount": 12, "breachAction": "deactivate"})
        done = provisioning.provision(s, say=lambda _: None, clients=clients, poll=0)
        stub.assert_no_pending_responses()
    assert done.staging_prefix is None  # STAGING_PREFIX was given: no bucket made
    assert not bucket.exists(clients.s3, f"{n.wg}-staging-{ACCOUNT}-us-west-2")


def test_where_four_rpus_are_refused_the_workgroup_gets_eight(clients, settings, n):
    said = []
    s = settings(STAGING_PREFIX="s3://my-own-bucket/stage")
    subnets = ["subnet-1", "subnet-2", "subnet-3"]
    request = {"workgroupName": n.wg, "namespaceName": n.ns, "baseCapacity": 4, "publiclyAccessible": False,
               "securityGroupIds": [ANY], "subnetIds": subnets, "port": 5439, "configParameters": REQUIRE_SSL,
               "tags": TAGS}
    with Stubber(clients.serverless) as stub:
        not_found(stub, "get_workgroup", workgroupName=n.wg)
        stub.add_response("get_namespace", namespace(n), expected_params={"namespaceName": n.ns})
        stub.add_client_error("create_workgroup", "ValidationException", "base capacity 4 is not supported",
                              expected_params=request)
        stub.add_response("create_workgroup", workgroup(n, capacity=8), expected_params={**request, "baseCapacity": 8})
        provisioning.serverless.ensure_workgroup(clients.serverless, s.redshift, "sg-1", subnets, said.append, poll=0)
        stub.assert_no_pending_responses()
    assert "4 RPUs refused in us-west-2; 8 RPUs instead" in said[0]


def test_the_password_on_serverless_is_the_namespace_s_managed_secret(clients, settings, aws_env, n):
    secrets = boto3.client("secretsmanager", endpoint_url=aws_env["AWS_ENDPOINT_URL"], region_name="us-west-2")
    secret = json.dumps({"username": "sparkify_admin", "password": "Managed9pw"})
    arn = secrets.create_secret(Name=f"redshift!{n.ns}-admin", SecretString=secret)["ARN"]
    s = settings()
    with Stubber(clients.serverless) as stub:
        stub.add_response("get_namespace", namespace(n, secret=arn), expected_params={"namespaceName": n.ns})
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


def test_status_shows_state_age_and_cost(clients, settings, n):
    s = settings(STAGING_PREFIX="s3://my-own-bucket/stage")
    with Stubber(clients.serverless) as stub:
        stub.add_response("get_namespace", namespace(n), expected_params={"namespaceName": n.ns})
        stub.add_response("get_workgroup", workgroup(n), expected_params={"workgroupName": n.wg})
        rows = provisioning.status(s, clients=clients)
    assert [r[:3] for r in rows] == [("namespace", n.ns, "AVAILABLE"), ("workgroup", n.wg, "AVAILABLE, 4 RPUs"),
                                     ("bucket", "my-own-bucket", "not found")]
    assert rows[0][3].endswith(("h", "days"))
    assert provisioning.running(rows)


def test_teardown_never_deletes_a_bucket_it_did_not_make(clients, n):
    s3 = clients.s3
    other = unique("someone-elses")
    s3.create_bucket(Bucket=other, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})
    s3.put_object(Bucket=other, Key="keep.json", Body=b"{}")
    said = []
    assert bucket.delete(s3, other, n.wg, said.append) is False
    assert said == [f"bucket    {other}: not made by provision, left as it is"]
    assert [o["Key"] for o in s3.list_objects_v2(Bucket=other)["Contents"]] == ["keep.json"]
    with pytest.raises(provisioning.aws.AwsError, match="not made by provision"):
        bucket.ensure(s3, other, n.wg, "us-west-2", said.append)


def test_a_namespace_refused_while_iam_propagates_its_role_is_created_on_a_later_try(clients, settings, monkeypatch,
                                                                                   n):
    paused, said = [], []
    monkeypatch.setattr(provisioning.aws, "pause", paused.append)
    s = settings(DB_PASSWORD="Secret123abc")
    request = {"namespaceName": n.ns, "dbName": "sparkify", "adminUsername": "sparkify_admin",
               "iamRoles": [n.role_arn], "defaultIamRoleArn": n.role_arn, "adminUserPassword": "Secret123abc",
               "tags": TAGS}
    with Stubber(clients.serverless) as stub:
        not_found(stub, "get_namespace", namespaceName=n.ns)
        stub.add_client_error("create_namespace", "ValidationException", f"IAM role {n.role_arn} is not valid",
                              expected_params=request)
        stub.add_response("create_namespace", namespace(n, apply="adding"), expected_params=request)
        provisioning.serverless.ensure_namespace(clients.serverless, s.redshift, n.role_arn, said.append)
        stub.assert_no_pending_responses()
    assert paused == [provisioning.aws.IAM_RETRY_SECONDS]
    assert said[0].startswith(f"namespace {n.ns}: the role is not usable yet (IAM propagates it in the background)")




def test_the_settings_name_the_namespace_role_database_capacity_and_usage_limit(clients, settings, monkeypatch):
    wg = unique("sparkify-sls")
    n = Names(wg, unique("analytics-ns"), unique("loader-role"))
    s = settings(REDSHIFT_WORKGROUP=wg, REDSHIFT_NAMESPACE=n.ns, IAM_ROLE_NAME=n.role, DB_NAME="analytics",
                 BASE_CAPACITY="16", USAGE_LIMIT_RPU_HOURS="30", STAGING_PREFIX="s3://my-own-bucket/stage")
    said = []
    with Stubber(clients.serverless) as stub:
        not_found(stub, "get_namespace", namespaceName=n.ns)
        stub.add_response("create_namespace", namespace(n, db="analytics"), expected_params={
            "namespaceName": n.ns, "dbName": "analytics", "adminUsername": "sparkify_admin", "iamRoles": [n.role_arn],
            "defaultIamRoleArn": n.role_arn, "manageAdminPassword": True, "tags": TAGS})
        not_found(stub, "get_workgroup", workgroupName=wg)
        stub.add_response("get_namespace", namespace(n, db="analytics"), expected_params={"namespaceName": n.ns})
        stub.add_response("create_workgroup", workgroup(n, capacity=16), expected_params={
            "workgroupName": wg, "namespaceName": n.ns, "baseCapacity": 16, "publiclyAccessible": False,
            "securityGroupIds": [ANY], "subnetIds": default_subnets(clients), "port": 5439,
            "configParameters": REQUIRE_SSL, "tags": TAGS})
        stub.add_response("get_namespace", namespace(n, db="analytics"), expected_params={"namespaceName": n.ns})
        stub.add_response("get_workgroup", workgroup(n, capacity=16), expected_params={"workgroupName": wg})
        stub.add_response("list_usage_limits", {},
                          expected_params={"resourceArn": n.wg_arn, "usageType": "serverless-compute"})
        stub.add_response("create_usage_limit", {"usageLimit": {"usageLimitId": "ul-1"}}, expected_params={
            "resourceArn": n.wg_arn, "usageType": "serverless-compute", "amount": 30, "period": "daily",
            "breachAction": "deactivate"})
        done = provisioning.provision(s, say=said.append, clients=clients, poll=0)
        stub.assert_no_pending_responses()
    # the COPY role is IAM_ROLE_NAME, on moto's IAM, and nothing was named after the workgroup instead
    assert done.role_arn == clients.iam.get_role(RoleName=n.role)["Role"]["Arn"] == n.role_arn
    assert f"{wg}-copy" not in [r["RoleName"] for r in clients.iam.list_roles()["Roles"]]
    # 16 RPUs at $0.375 an RPU-hour; 30 RPU-hours a day at most
    assert any(line.startswith("cost      from $6.00 an hour") and "at most $11.25 a day" in line for line in said)
    # the loader connects to DB_NAME, at the address provision found
    reached = replace(s.redshift, host=done.host)
    assert connection.params(reached, "x")["dbname"] == "analytics"
    assert connection.where(reached) == f"redshift://sparkify_admin@{n.host}:5439/analytics"

    with Stubber(clients.serverless) as stub:
        stub.add_response("get_namespace", namespace(n, db="analytics"), expected_params={"namespaceName": n.ns})
        stub.add_response("get_workgroup", workgroup(n, capacity=16), expected_params={"workgroupName": wg})
        rows = provisioning.status(s, clients=clients)
    assert [r[:3] for r in rows[:2]] == [("namespace", n.ns, "AVAILABLE"), ("workgroup", wg, "AVAILABLE, 16 RPUs")]

    with Stubber(clients.serverless) as stub:
        stub.add_response("get_workgroup", workgroup(n), expected_params={"workgroupName": wg})
        stub.add_response("list_usage_limits", {"usageLimits": [{"usageLimitId": "ul-1", "resourceArn": n.wg_arn}]},
                          expected_params={"resourceArn": n.wg_arn})
        stub.add_response("delete_usage_limit", {}, expected_params={"usageLimitId": "ul-1"})
        stub.add_response("delete_workgroup", workgroup(n, "DELETING"), expected_params={"workgroupName": wg})
        not_found(stub, "get_workgroup", workgroupName=wg)
        stub.add_response("get_namespace", namespace(n), expected_params={"namespaceName": n.ns})
        stub.add_response("delete_namespace", namespace(n, "DELETING"), expected_params={"namespaceName": n.ns})
        not_found(stub, "get_namespace", namespaceName=n.ns)
        provisioning.teardown(s, say=said.append, clients=clients, poll=0)
        stub.assert_no_pending_responses()
    assert n.role not in [r["RoleName"] for r in clients.iam.list_roles()["Roles"]]  # the role went with it


def test_usage_limit_rpu_hours_cannot_turn_the_guardrail_off(settings):
    with pytest.raises(provisioning.aws.SettingsError, match="USAGE_LIMIT_RPU_HOURS=0: at least 1 RPU-hour a day"):
        settings(USAGE_LIMIT_RPU_HOURS="0").redshift  # noqa: B018
