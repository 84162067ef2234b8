"""bin/provision and bin/teardown as a user runs them, against moto's server (IAM, Redshift, EC2).

moto has no ModifyClusterParameterGroup: its server (a thread of this process) is given a handler that
records the call, so provision runs end to end; tests/unit/test_aws_requests.py checks the exact request
with botocore's Stubber.
"""

import json
import os
import re
import uuid

import boto3
import pytest
from conftest import ROOT, run_cli, unique

from sparkify_dwh import aws as sparkify_aws
from sparkify_dwh import config

SKIP_DIRS = {".git", ".venv", ".pgdata", "__pycache__", ".pytest_cache", ".ruff_cache"}


@pytest.fixture
def parameter_calls(monkeypatch):
    """Give moto's Redshift a ModifyClusterParameterGroup that records what it was asked."""
    from moto.core.responses import ActionResult
    from moto.redshift.responses import RedshiftResponse

    calls = []

    def modify_cluster_parameter_group(self):
        name = self._get_param("ParameterGroupName")
        calls.append((name, self._get_param("Parameters")))
        return ActionResult({"ParameterGroupName": name, "ParameterGroupStatus": "updated"})

    monkeypatch.setattr(RedshiftResponse, "modify_cluster_parameter_group", modify_cluster_parameter_group,
                        raising=False)
    return calls


@pytest.fixture
def aws(aws_env):
    def make(service):
        return boto3.client(service, endpoint_url=aws_env["AWS_ENDPOINT_URL"], region_name="us-west-2")
    return make


@pytest.fixture
def cli_env(aws_env, tmp_path):
    canary = "Canary" + uuid.uuid4().hex[:12] + "X9"  # made at run time: no file can hold it beforehand
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SONG_DATA", "LOG_DATA", "DB_", "REDSHIFT_"))}
    env.update(aws_env, ENV_FILE=str(tmp_path / "test.env"), PYTHONPATH=str(ROOT), WAREHOUSE="redshift",
               CLUSTER_IDENTIFIER=unique("sparkify-test"), STAGING_PREFIX=f"s3://{unique('sparkify-staging')}/loads",
               DB_PASSWORD=canary,
               SONG_DATA="s3://udacity-dend/song_data", LOG_DATA="s3://udacity-dend/log_data")
    return env


def _files_holding(secret: str, *roots) -> list[str]:
    found = []
    for root in roots:
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d not in SKIP_DIRS]
            for name in filenames:
                path = os.path.join(dirpath, name)
                try:
                    with open(path, "rb") as f:
                        if secret.encode() in f.read():
                            found.append(path)
                except OSError:
                    continue
    return found


@pytest.mark.integration
def test_provision_then_teardown(cli_env, aws, parameter_calls, tmp_path):
    canary = cli_env["DB_PASSWORD"]
    cluster_name = cli_env["CLUSTER_IDENTIFIER"]
    role_name = f"{cluster_name}-copy"
    staging = cli_env["STAGING_PREFIX"].removeprefix("s3://")
    outputs = []

    first = run_cli("provision", cli_env)
    outputs.append(first.stdout + first.stderr)
    second = run_cli("provision", cli_env)
    outputs.append(second.stdout + second.stderr)
    assert "exists, reused" in second.stdout
    assert "cost      $0.543 an hour (1 x ra3.large), $13.03 a day" in first.stdout
    status = run_cli("status", cli_env).stdout
    assert cluster_name in status
    assert "available, 1 x ra3.large" in status and "make teardown deletes it" in status

    iam, redshift, ec2 = aws("iam"), aws("redshift"), aws("ec2")
    # one role, one cluster after two runs
    assert [r["RoleName"] for r in iam.list_roles()["Roles"]].count(role_name) == 1
    (cluster,) = [c for c in redshift.describe_clusters()["Clusters"] if c["ClusterIdentifier"] == cluster_name]

    # the role: only Redshift may assume it; it reads the sources and reads/writes staging, nothing more
    role = iam.get_role(RoleName=role_name)["Role"]
    trust = role["AssumeRolePolicyDocument"]
    trust = json.loads(trust) if isinstance(trust, str) else trust
    (statement,) = trust["Statement"]
    assert statement["Principal"] == {"Service": ["redshift.amazonaws.com", "redshift-serverless.amazonaws.com"]}
    assert statement["Action"] == "sts:AssumeRole"
    assert iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"] == []
    policy = iam.get_role_policy(RoleName=role_name, PolicyName="s3-sources-and-staging")["PolicyDocument"]
    policy = json.loads(policy) if isinstance(policy, str) else policy
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    actions = [a for s in policy["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])]
    assert not any("*" in a for a in actions)
    assert by_sid["ReadSources"]["Action"] == "s3:GetObject"
    assert by_sid["ReadSources"]["Resource"] == ["arn:aws:s3:::udacity-dend/log_data/*",
                                                 "arn:aws:s3:::udacity-dend/song_data/*"]
    assert by_sid["ListSources0"]["Condition"]["StringLike"]["s3:prefix"] == [
        "log_data", "log_data/*", "song_data", "song_data/*"]
    assert sorted(by_sid["ReadWriteStaging"]["Action"]) == ["s3:DeleteObject", "s3:GetObject", "s3:PutObject"]
    assert by_sid["ReadWriteStaging"]["Resource"] == f"arn:aws:s3:::{staging}/*"
    assert by_sid["ListStaging"]["Condition"]["StringLike"]["s3:prefix"] == ["loads", "loads/*"]

    # the cluster: private, encrypted, on its own parameter group with require_ssl, the role attached
    assert cluster["PubliclyAccessible"] is False
    assert cluster["Encrypted"] is True
    assert [g["ParameterGroupName"] for g in cluster["ClusterParameterGroups"]] == [f"{cluster_name}-params"]
    (group,) = redshift.describe_cluster_parameter_groups(
        ParameterGroupName=f"{cluster_name}-params")["ParameterGroups"]
    assert group["ParameterGroupFamily"] == "redshift-2.0"  # the default family; make acceptance proves it live
    assert parameter_calls and all(
        call == (f"{cluster_name}-params", [{"ParameterName": "require_ssl", "ParameterValue": "true",
                                        "ApplyType": "static"}])
        for call in parameter_calls
    )
    assert [r["IamRoleArn"] for r in cluster["IamRoles"]] == [role["Arn"]]

    # network: the cluster's security group admits only the VPC's own range on the cluster's port
    (group_id,) = [g["VpcSecurityGroupId"] for g in cluster["VpcSecurityGroups"]]
    (group,) = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
    ranges = [(p["FromPort"], r["CidrIp"]) for p in group["IpPermissions"] for r in p["IpRanges"]]
    assert ranges == [(5439, "172.31.0.0/16")]

    # .env: the endpoint and role, never the password
    written = (tmp_path / "test.env").read_text()
    assert f"REDSHIFT_HOST={cluster['Endpoint']['Address']}" in written
    assert f"REDSHIFT_ROLE_ARN={role['Arn']}" in written
    assert f"REDSHIFT_HOST={cluster['Endpoint']['Address']}" in first.stdout

    # the reader's password, as make grant-reader keeps it: teardown deletes the secret with the rest
    secrets = aws("secretsmanager")
    settings = config.load_settings(overrides={"ENV_FILE": cli_env["ENV_FILE"], **{
        k: v for k, v in cli_env.items() if k in ("CLUSTER_IDENTIFIER", "WAREHOUSE", "STAGING_PREFIX")}})
    assert sparkify_aws.put_reader_secret(secrets, settings.redshift, "sparkify_reader", "Pw1" + canary) == "created"
    name = sparkify_aws.reader_secret(settings.redshift)
    assert name == f"{cluster_name}-reader"

    for _ in range(2):
        down = run_cli("teardown", cli_env, "--yes")
        outputs.append(down.stdout + down.stderr)
    assert f"secret    {name}: deleted" in outputs[-2]
    assert name not in [s["Name"] for s in secrets.list_secrets()["SecretList"]]
    assert "not found, nothing to delete" in down.stdout
    assert "not found" in run_cli("status", cli_env).stdout
    assert redshift.describe_clusters()["Clusters"] == []
    assert role_name not in [r["RoleName"] for r in iam.list_roles()["Roles"]]
    assert f"{cluster_name}-params" not in [
        g["ParameterGroupName"] for g in redshift.describe_cluster_parameter_groups()["ParameterGroups"]]
    assert ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": [f"{cluster_name}-access"]}])[
        "SecurityGroups"] == []

    assert not [o for o in outputs if canary in o]
    assert _files_holding(canary, ROOT, tmp_path) == []


@pytest.mark.integration
def test_a_public_cluster_admits_only_allowed_cidr(cli_env, aws, parameter_calls):
    name = unique("sparkify-public")
    cli_env.update(PUBLICLY_ACCESSIBLE="1", ALLOWED_CIDR="203.0.113.7/32", CLUSTER_IDENTIFIER=name)
    try:
        run_cli("provision", cli_env)
        redshift, ec2 = aws("redshift"), aws("ec2")
        (cluster,) = redshift.describe_clusters(ClusterIdentifier=name)["Clusters"]
        assert cluster["PubliclyAccessible"] is True
        (group_id,) = [g["VpcSecurityGroupId"] for g in cluster["VpcSecurityGroups"]]
        # a rule someone added by hand is revoked by the next provision
        ec2.authorize_security_group_ingress(GroupId=group_id, IpPermissions=[
            {"IpProtocol": "tcp", "FromPort": 5439, "ToPort": 5439, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}])
        run_cli("provision", cli_env)
        (group,) = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"]
        ranges = [r["CidrIp"] for p in group["IpPermissions"] for r in p["IpRanges"]]
        assert ranges == ["203.0.113.7/32"]
    finally:
        run_cli("teardown", cli_env, "--yes")


@pytest.mark.integration
def test_the_whole_internet_is_refused(cli_env):
    cli_env.update(PUBLICLY_ACCESSIBLE="1", ALLOWED_CIDR="0.0.0.0/0", CLUSTER_IDENTIFIER=unique("sparkify-open"))
    proc = run_cli("provision", cli_env, check=False)
    assert proc.returncode == 2  # a setting refused
    assert "ALLOWED_CIDR='0.0.0.0/0'" in proc.stderr and "never opened to the whole internet" in proc.stderr


@pytest.mark.integration
def test_teardown_without_a_terminal_asks_for_confirm(cli_env):
    proc = run_cli("teardown", cli_env, check=False)
    assert proc.returncode == 2  # usage: it needs --yes without a terminal
    assert "CONFIRM=1" in proc.stderr


@pytest.mark.integration
@pytest.mark.parametrize("values,setting", [
    ({"DB_PORT": "15439"}, "DB_PORT=15439"),  # a new RA3 cluster: 5431-5455 or 8191-8215
    ({"NODE_TYPE": "ra3.16xlarge", "NODE_COUNT": "128"}, "NODE_COUNT=128"),  # CreateCluster: at most 100
    ({"REDSHIFT_WORKGROUP": "sparkify-refused", "BASE_CAPACITY": "12"}, "BASE_CAPACITY=12"),
    ({"REDSHIFT_WORKGROUP": "sparkify-refused", "BASE_CAPACITY": "1056"}, "BASE_CAPACITY=1056")])
def test_a_refused_setting_is_refused_before_anything_is_made(cli_env, aws, values, setting):
    cli_env.update(CLUSTER_IDENTIFIER="sparkify-refused", **values)
    proc = run_cli("provision", cli_env, check=False)
    assert proc.returncode == 2
    (line,) = [line for line in proc.stderr.splitlines() if line.strip()]
    assert setting in line
    iam, ec2 = aws("iam"), aws("ec2")
    assert "sparkify-refused-copy" not in [r["RoleName"] for r in iam.list_roles()["Roles"]]
    assert ec2.describe_security_groups(Filters=[{"Name": "group-name", "Values": ["sparkify-refused-access"]}])[
        "SecurityGroups"] == []
    assert [c for c in aws("redshift").describe_clusters()["Clusters"]
            if c["ClusterIdentifier"] == "sparkify-refused"] == []


@pytest.mark.parametrize("final_snapshot", ["1", "0"])
def test_final_snapshot_1_keeps_a_snapshot_of_the_cluster_teardown_deletes(final_snapshot, aws, monkeypatch, tmp_path):
    # moto deletes the cluster but keeps no final snapshot (it reads an absent SkipFinalClusterSnapshot as
    # "skip"), so the request itself is what is checked, as botocore sends it
    from sparkify_dwh import aws as aws_pieces
    from sparkify_dwh.config import load_settings

    name = unique("sparkify-snap")
    redshift = aws("redshift")
    redshift.create_cluster(ClusterIdentifier=name, NodeType="ra3.large", MasterUsername="sparkify_admin",
                            MasterUserPassword="Secret123abc", ClusterType="single-node")
    sent = []
    redshift.meta.events.register("provide-client-params.redshift.DeleteCluster",
                                  lambda params, **_: sent.append(dict(params)))
    for key, value in {"ENV_FILE": os.devnull, "CLUSTER_IDENTIFIER": name,
                       "FINAL_SNAPSHOT": final_snapshot}.items():
        monkeypatch.setenv(key, value)
    said = []
    aws_pieces.teardown_cluster(redshift, load_settings().redshift, said.append, poll=0)
    assert name not in [c["ClusterIdentifier"] for c in redshift.describe_clusters()["Clusters"]]
    (request,) = sent
    if final_snapshot == "1":
        assert set(request) == {"ClusterIdentifier", "FinalClusterSnapshotIdentifier"}
        snapshot = request["FinalClusterSnapshotIdentifier"]
        assert re.fullmatch(f"{name}-final-\\d{{8}}-\\d{{6}}", snapshot) and any(snapshot in line for line in said)
    else:
        assert request == {"ClusterIdentifier": name, "SkipFinalClusterSnapshot": True}
        assert any("no final snapshot" in line for line in said)
