"""The AWS pieces of the Redshift warehouse that provisioning.py puts together: boto3 clients; the IAM
role only Redshift can assume, allowed to read the source prefixes and read/write the staging prefix;
the security group (ingress on the warehouse's port from the VPC, or from ALLOWED_CIDR when it is
public); and the provisioned cluster with its parameter group (require_ssl=true), encrypted. Each piece
is found and reused when it exists, so a second run changes nothing; at teardown a piece already gone
is reported, not an error.

The master password is DB_PASSWORD, or, when that is unset, one Redshift keeps in Secrets Manager
(ManageMasterPassword). It is sent to the API and nowhere else: never printed, logged or written.

IAM propagates a new role, or a change to one, in the background: a role used seconds after it was made
can be refused. A request refused for that reason (ROLE_NOT_READY) is sent again every 10 s for at most
IAM_PROPAGATION_SECONDS, and provision waits until Redshift says the role is in-sync with the cluster or
namespace before it goes on.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from datetime import UTC, datetime

from .config import ENV_EXAMPLE, NODE_TYPES, RedshiftSettings, SettingsError
from .sources import is_s3, split_s3

# "The default parameter group family is redshift-2.0" (Management Guide, Amazon Redshift parameter groups):
# new clusters without a group of their own get default.redshift-2.0. A group of the older redshift-1.0
# family, left by an earlier provision, is replaced while no cluster uses it.
PARAMETER_GROUP_FAMILY = "redshift-2.0"
# CreateCluster's Port: "For clusters with RG or RA3 nodes - Select a port within the ranges 5431-5455 or
# 8191-8215. (If you have an existing cluster with RG or RA3 nodes, it isn't required that you change the
# port to these ranges.)"
RA3_PORTS = ((5431, 5455), (8191, 8215))
IAM_PROPAGATION_SECONDS = 120
IAM_RETRY_SECONDS = 10
# A request refused because IAM has not propagated the role yet: CreateCluster and ModifyClusterIamRoles
# answer InvalidParameterValue "The IAM role ... is not valid. The IAM role must delegate access to an Amazon
# Redshift account"; CreateNamespace and UpdateNamespace a ValidationException naming the role.
ROLE_NOT_READY_CODES = ("InvalidParameterValue", "InvalidParameterCombination", "ValidationException")
ROLE_NOT_READY = re.compile(r"\brole\b.*\b(not valid|invalid|delegate|assume|not authorized|does not exist|"
                            r"cannot be found)", re.I | re.S)
pause = time.sleep  # between tries (tests make it instant)
clock = time.monotonic  # how long it has tried (tests move it on)
ROLE_POLICY_NAME = "s3-sources-and-staging"
TAGS = [{"Key": "project", "Value": "sparkify-dwh"}]

# Redshift Serverless asks for both principals ("redshift-serverless.amazonaws.com and redshift.amazonaws.com
# as principal service names", Redshift Serverless IAM roles); a provisioned cluster uses the second.
REDSHIFT_PRINCIPALS = ["redshift.amazonaws.com", "redshift-serverless.amazonaws.com"]
ASSUME_ROLE_POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Principal": {"Service": REDSHIFT_PRINCIPALS}, "Action": "sts:AssumeRole"}
    ],
}


class AwsError(RuntimeError):
    """An AWS call failed or a resource is in a state the command cannot handle; safe to print."""


def client(service: str, region: str):
    """A boto3 client with botocore's standard retry mode; credentials and endpoint the usual boto3 way."""
    import boto3
    from botocore.config import Config

    config = Config(retries={"mode": "standard", "max_attempts": 10})
    return boto3.session.Session(region_name=region).client(service, config=config)


def _code(err) -> str:
    return err.response.get("Error", {}).get("Code", "")


def role_not_ready(err) -> bool:
    """Whether a refused request names the role as unusable, which a role IAM has not propagated yet is."""
    error = getattr(err, "response", {}).get("Error", {})
    return error.get("Code", "") in ROLE_NOT_READY_CODES and bool(ROLE_NOT_READY.search(error.get("Message", "")))


def with_role_retry(call: Callable[[], dict], what: str, say: Callable[[str], None],
                    timeout: float = IAM_PROPAGATION_SECONDS) -> dict:
    """call(), sent again every IAM_RETRY_SECONDS while it is refused because the role is not usable yet, for
    at most `timeout` seconds; any other error, or the same one past the time, goes on."""
    from botocore.exceptions import ClientError

    started = clock()
    while True:
        try:
            return call()
        except ClientError as err:
            waited = clock() - started
            if not role_not_ready(err) or waited + IAM_RETRY_SECONDS > timeout:
                raise
            say(f"{what}: the role is not usable yet (IAM propagates it in the background); trying again in "
                f"{IAM_RETRY_SECONDS} s, for at most {timeout:.0f} s")
            pause(IAM_RETRY_SECONDS)


# --- IAM -----------------------------------------------------------------------------------------


def _prefix_grants(uri: str) -> tuple[str, str, str]:
    """(bucket ARN, object ARN pattern, key prefix) of an s3:// prefix."""
    bucket, key = split_s3(uri)
    key = key.strip("/")
    objects = f"arn:aws:s3:::{bucket}/{key}/*" if key else f"arn:aws:s3:::{bucket}/*"
    return f"arn:aws:s3:::{bucket}", objects, key


def _list_statement(sid: str, bucket_arn: str, keys: list[str]) -> dict:
    statement = {"Sid": sid, "Effect": "Allow", "Action": "s3:ListBucket", "Resource": bucket_arn}
    if all(keys):
        patterns = sorted({p for k in keys for p in (k, f"{k}/*")})
        statement["Condition"] = {"StringLike": {"s3:prefix": patterns}}
    return statement


def role_policy(source_uris: list[str], staging_prefix: str) -> dict:
    """What COPY may touch: read the s3:// sources, read and write the staging prefix; nothing else.
    No wildcard actions; s3:ListBucket only under the same prefixes."""
    statements = []
    sources = [u for u in source_uris if is_s3(u)]
    if sources:
        by_bucket: dict[str, list[str]] = {}
        objects = []
        for uri in sources:
            bucket_arn, object_arn, key = _prefix_grants(uri)
            by_bucket.setdefault(bucket_arn, []).append(key)
            objects.append(object_arn)
        statements.append({"Sid": "ReadSources", "Effect": "Allow", "Action": "s3:GetObject",
                           "Resource": sorted(set(objects))})
        for n, (bucket_arn, keys) in enumerate(sorted(by_bucket.items())):
            statements.append(_list_statement(f"ListSources{n}", bucket_arn, keys))
    bucket_arn, object_arn, key = _prefix_grants(staging_prefix)
    statements.append({"Sid": "ReadWriteStaging", "Effect": "Allow",
                       "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"], "Resource": object_arn})
    statements.append(_list_statement("ListStaging", bucket_arn, [key]))
    return {"Version": "2012-10-17", "Statement": statements}


def ensure_role(iam, name: str, policy: dict, say: Callable[[str], None]) -> str:
    """The role's ARN; created when missing, its trust and inline policy set either way."""
    trust = json.dumps(ASSUME_ROLE_POLICY)
    try:
        arn = iam.get_role(RoleName=name)["Role"]["Arn"]
        iam.update_assume_role_policy(RoleName=name, PolicyDocument=trust)
        say(f"role      {name}: exists, reused")
    except iam.exceptions.NoSuchEntityException:
        arn = iam.create_role(
            RoleName=name, AssumeRolePolicyDocument=trust, Tags=TAGS,
            Description="Lets Redshift COPY read the Sparkify sources and the loader's staging prefix",
        )["Role"]["Arn"]
        say(f"role      {name}: created")
    iam.put_role_policy(RoleName=name, PolicyName=ROLE_POLICY_NAME, PolicyDocument=json.dumps(policy))
    return arn


def delete_role(iam, name: str, say: Callable[[str], None]) -> None:
    try:
        for policy in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            iam.delete_role_policy(RoleName=name, PolicyName=policy)
        for attached in iam.list_attached_role_policies(RoleName=name)["AttachedPolicies"]:
            iam.detach_role_policy(RoleName=name, PolicyArn=attached["PolicyArn"])
        iam.delete_role(RoleName=name)
        say(f"role      {name}: deleted, with its policies")
    except iam.exceptions.NoSuchEntityException:
        say(f"role      {name}: not found, nothing to delete")


# --- Parameter group -------------------------------------------------------------------------------


def ensure_parameter_group(redshift, name: str, say: Callable[[str], None], in_use: bool = False) -> None:
    """A parameter group of the cluster's own, family PARAMETER_GROUP_FAMILY, with require_ssl=true (clients
    must use TLS). One of another family is replaced, unless a cluster uses it (`in_use`): then it is kept,
    and said (a parameter group cannot be deleted while a cluster uses it)."""
    try:
        (group,) = redshift.describe_cluster_parameter_groups(ParameterGroupName=name)["ParameterGroups"]
        family = group.get("ParameterGroupFamily", PARAMETER_GROUP_FAMILY)
        if family == PARAMETER_GROUP_FAMILY:
            say(f"parameters {name}: exists, reused")
        elif in_use:
            say(f"parameters {name}: family {family}, kept as the cluster uses it (make teardown, then make "
                f"provision, makes it again in {PARAMETER_GROUP_FAMILY})")
        else:
            redshift.delete_cluster_parameter_group(ParameterGroupName=name)
            _create_parameter_group(redshift, name)
            say(f"parameters {name}: family {family} replaced by {PARAMETER_GROUP_FAMILY}")
    except redshift.exceptions.ClusterParameterGroupNotFoundFault:
        _create_parameter_group(redshift, name)
        say(f"parameters {name}: created ({PARAMETER_GROUP_FAMILY})")
    redshift.modify_cluster_parameter_group(
        ParameterGroupName=name,
        Parameters=[{"ParameterName": "require_ssl", "ParameterValue": "true", "ApplyType": "static"}],
    )


def _create_parameter_group(redshift, name: str) -> None:
    redshift.create_cluster_parameter_group(
        ParameterGroupName=name, ParameterGroupFamily=PARAMETER_GROUP_FAMILY, Tags=TAGS,
        Description="sparkify-dwh: TLS required",
    )


def delete_parameter_group(redshift, name: str, say: Callable[[str], None]) -> None:
    try:
        redshift.delete_cluster_parameter_group(ParameterGroupName=name)
        say(f"parameters {name}: deleted")
    except redshift.exceptions.ClusterParameterGroupNotFoundFault:
        say(f"parameters {name}: not found, nothing to delete")


# --- Security group --------------------------------------------------------------------------------


def default_vpc(ec2) -> tuple[str, str]:
    vpcs = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    if not vpcs:
        raise AwsError("this region has no default VPC: create one (aws ec2 create-default-vpc) or choose "
                       "another AWS_REGION")
    return vpcs[0]["VpcId"], vpcs[0]["CidrBlock"]


def default_subnets(ec2, region: str) -> list[str]:
    """The default VPC's default subnets, for a Serverless workgroup, which needs "three subnets in three
    different Availability Zones" (two zones in us-west-1); an explicit error where there are fewer."""
    vpc_id, _ = default_vpc(ec2)
    subnets = ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc_id]},
                                            {"Name": "default-for-az", "Values": ["true"]}])["Subnets"]
    zones = {s["AvailabilityZone"] for s in subnets}
    needed = 2 if region == "us-west-1" else 3
    if len(zones) < needed:
        raise AwsError(f"the default VPC in {region} has subnets in {len(zones)} Availability Zone(s); a Serverless "
                       f"workgroup needs {needed}: add default subnets (aws ec2 create-default-subnet "
                       "--availability-zone ...) or choose another AWS_REGION")
    return sorted(s["SubnetId"] for s in subnets)


def _find_group(ec2, name: str, vpc_id: str | None = None) -> dict | None:
    filters = [{"Name": "group-name", "Values": [name]}]
    if vpc_id:
        filters.append({"Name": "vpc-id", "Values": [vpc_id]})
    groups = ec2.describe_security_groups(Filters=filters)["SecurityGroups"]
    return groups[0] if groups else None


def ensure_security_group(ec2, name: str, port: int, cidr: str, say: Callable[[str], None]) -> str:
    """A security group whose only ingress is TCP `port` from `cidr`; any other ingress rule is revoked."""
    vpc_id, _ = default_vpc(ec2)
    group = _find_group(ec2, name, vpc_id)
    if group is None:
        group_id = ec2.create_security_group(
            GroupName=name, VpcId=vpc_id, Description="sparkify-dwh: Redshift port from allowed addresses only",
        )["GroupId"]
        group = {"GroupId": group_id, "IpPermissions": []}
        say(f"network   {name}: created")
    else:
        say(f"network   {name}: exists, reused")
    wanted = {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": cidr}]}
    present = False
    stale = []
    for rule in group.get("IpPermissions", []):
        for ip_range in rule.get("IpRanges", []):
            same = (rule.get("IpProtocol") == "tcp" and rule.get("FromPort") == port
                    and rule.get("ToPort") == port and ip_range.get("CidrIp") == cidr)
            if same:
                present = True
            else:
                stale.append({k: rule[k] for k in ("IpProtocol", "FromPort", "ToPort") if k in rule}
                             | {"IpRanges": [{"CidrIp": ip_range["CidrIp"]}]})
        for other in ("Ipv6Ranges", "UserIdGroupPairs", "PrefixListIds"):
            if rule.get(other):
                stale.append({k: rule[k] for k in ("IpProtocol", "FromPort", "ToPort") if k in rule}
                             | {other: rule[other]})
    if stale:
        ec2.revoke_security_group_ingress(GroupId=group["GroupId"], IpPermissions=stale)
        say(f"network   {name}: revoked {len(stale)} other ingress rule(s)")
    if not present:
        ec2.authorize_security_group_ingress(GroupId=group["GroupId"], IpPermissions=[wanted])
    say(f"network   {name}: port {port} open to {cidr} only")
    return group["GroupId"]


def delete_security_group(ec2, name: str, say: Callable[[str], None], wait_seconds: float = 300) -> None:
    group = _find_group(ec2, name)
    if group is None:
        say(f"network   {name}: not found, nothing to delete")
        return
    deadline = time.monotonic() + wait_seconds
    while True:
        try:
            ec2.delete_security_group(GroupId=group["GroupId"])
            say(f"network   {name}: deleted")
            return
        except ec2.exceptions.ClientError as err:
            # the cluster's network interface can outlive the cluster by a minute or two
            if _code(err) != "DependencyViolation" or time.monotonic() > deadline:
                raise
            time.sleep(15)


def caller_cidr() -> str:
    """The caller's public IPv4 address as a /32, from AWS's checkip service."""
    import ipaddress
    import urllib.request

    try:
        with urllib.request.urlopen("https://checkip.amazonaws.com", timeout=10) as response:
            address = response.read().decode().strip()
        return str(ipaddress.IPv4Network(f"{address}/32"))
    except (OSError, ValueError):
        raise SettingsError(
            "PUBLICLY_ACCESSIBLE=1 needs ALLOWED_CIDR (this machine's address could not be looked up): "
            "set it to the addresses that may connect, e.g. ALLOWED_CIDR=203.0.113.7/32 (see env.example)"
        ) from None


# --- Cluster ---------------------------------------------------------------------------------------


def describe_cluster(redshift, identifier: str) -> dict | None:
    try:
        return redshift.describe_clusters(ClusterIdentifier=identifier)["Clusters"][0]
    except redshift.exceptions.ClusterNotFoundFault:
        return None


def _elapsed(started: float) -> str:
    seconds = int(time.monotonic() - started)
    return f"{seconds // 60}m{seconds % 60:02d}s"


def wait_available(redshift, identifier: str, say, poll: float = 20, timeout: float = 3600) -> dict:
    started = time.monotonic()
    while True:
        cluster = describe_cluster(redshift, identifier)
        if cluster is None:
            raise AwsError(f"cluster {identifier} disappeared while waiting for it")
        status = cluster["ClusterStatus"]
        pending = [r["IamRoleArn"] for r in cluster.get("IamRoles", []) if r.get("ApplyStatus", "in-sync") != "in-sync"]
        if status == "available" and cluster.get("Endpoint", {}).get("Address") and not pending:
            say(f"cluster   {identifier}: available after {_elapsed(started)}")
            return cluster
        if status == "available" and pending:
            status = "available, its role not yet in-sync"
        if status in {"deleting", "final-snapshot", "incompatible-hsm", "incompatible-network",
                      "incompatible-parameters", "incompatible-restore", "storage-full"}:
            raise AwsError(f"cluster {identifier} is {status}; see the Redshift console")
        if time.monotonic() - started > timeout:
            raise AwsError(f"cluster {identifier} is still {status} after {_elapsed(started)}; run again to wait")
        say(f"cluster   {identifier}: {status}, waiting ({_elapsed(started)})")
        time.sleep(poll)


def wait_gone(describe: Callable[[], dict | None], label: str, status: Callable[[dict], str], say,
              poll: float = 20, timeout: float = 3600) -> None:
    """Poll `describe` until it finds nothing; `label` names the piece in each progress line."""
    started = time.monotonic()
    while True:
        found = describe()
        if found is None:
            say(f"{label}: deleted after {_elapsed(started)}")
            return
        if time.monotonic() - started > timeout:
            raise AwsError(f"{' '.join(label.split())} is still {status(found)} after {_elapsed(started)}")
        say(f"{label}: {status(found)}, waiting ({_elapsed(started)})")
        time.sleep(poll)


def wait_deleted(redshift, identifier: str, say, poll: float = 20, timeout: float = 3600) -> None:
    wait_gone(lambda: describe_cluster(redshift, identifier), f"cluster   {identifier}",
              lambda cluster: cluster["ClusterStatus"], say, poll, timeout)


def check_new_cluster(redshift, rs: RedshiftSettings) -> dict | None:
    """The cluster when it exists; else, before anything is made for it, what a new cluster may not have."""
    existing = describe_cluster(redshift, rs.cluster_identifier)
    if existing is not None:
        return existing
    if NODE_TYPES[rs.node_type].retired:
        raise SettingsError(f"NODE_TYPE={rs.node_type}: AWS deprecated DC2 in April 2025 and no longer creates DC2 "
                            "clusters; choose ra3.large, its successor (an existing DC2 cluster is still used)")
    if not any(low <= rs.db_port <= high for low, high in RA3_PORTS):
        raise SettingsError(f"DB_PORT={rs.db_port}: a new RA3 cluster listens on 5431-5455 or 8191-8215 (an existing "
                            f"one keeps its port) (see {ENV_EXAMPLE})")
    return None


def ensure_cluster(redshift, rs: RedshiftSettings, role_arn: str, group_id: str, say) -> dict:
    existing = check_new_cluster(redshift, rs)
    if existing is not None:
        say(f"cluster   {rs.cluster_identifier}: exists ({existing['ClusterStatus']}), reused")
        attached = {r["IamRoleArn"] for r in existing.get("IamRoles", [])}
        if role_arn not in attached:
            with_role_retry(lambda: redshift.modify_cluster_iam_roles(ClusterIdentifier=rs.cluster_identifier,
                                                                      AddIamRoles=[role_arn]),
                            f"cluster   {rs.cluster_identifier}", say)
            say(f"cluster   {rs.cluster_identifier}: role attached")
        for label, wanted, actual in (
            ("PUBLICLY_ACCESSIBLE", rs.publicly_accessible, bool(existing.get("PubliclyAccessible"))),
            ("encryption", True, bool(existing.get("Encrypted"))),
        ):
            if wanted != actual:
                say(f"warning: cluster {rs.cluster_identifier} has {label}={actual}, settings ask {wanted}; "
                    "change it in the console or tear down and provision again")
        return existing
    request = {
        "ClusterIdentifier": rs.cluster_identifier,
        "NodeType": rs.node_type,
        "DBName": rs.db_name,
        "MasterUsername": rs.db_user,
        "Port": rs.db_port,
        "ClusterParameterGroupName": rs.parameter_group,
        "VpcSecurityGroupIds": [group_id],
        "PubliclyAccessible": rs.publicly_accessible,
        "Encrypted": True,
        "IamRoles": [role_arn],
        "Tags": TAGS,
    }
    if rs.node_count > 1:
        request.update(ClusterType="multi-node", NumberOfNodes=rs.node_count)
    else:
        request.update(ClusterType="single-node")
    if rs.db_password:
        request["MasterUserPassword"] = rs.db_password
    else:
        request["ManageMasterPassword"] = True
    cluster = with_role_retry(lambda: redshift.create_cluster(**request), f"cluster   {rs.cluster_identifier}",
                              say)["Cluster"]
    say(f"cluster   {rs.cluster_identifier}: created ({rs.node_count} x {rs.node_type}, encrypted, "
        f"{'public' if rs.publicly_accessible else 'private'}, password "
        f"{'from DB_PASSWORD' if rs.db_password else 'in Secrets Manager'})")
    return cluster


def provision_cluster(redshift, rs: RedshiftSettings, role_arn: str, group_id: str, say, poll: float = 20) -> dict:
    """The parameter group and the cluster; returns the cluster once available, its role in-sync."""
    ensure_parameter_group(redshift, rs.parameter_group, say,
                           in_use=describe_cluster(redshift, rs.cluster_identifier) is not None)
    ensure_cluster(redshift, rs, role_arn, group_id, say)
    return wait_available(redshift, rs.cluster_identifier, say, poll=poll)


def teardown_cluster(redshift, rs: RedshiftSettings, say, poll: float = 20) -> None:
    cluster = describe_cluster(redshift, rs.cluster_identifier)
    if cluster is None:
        say(f"cluster   {rs.cluster_identifier}: not found, nothing to delete")
    else:
        if cluster["ClusterStatus"] != "deleting":
            request = {"ClusterIdentifier": rs.cluster_identifier}
            if rs.final_snapshot:
                snapshot = f"{rs.cluster_identifier}-final-{datetime.now(UTC):%Y%m%d-%H%M%S}"
                request["FinalClusterSnapshotIdentifier"] = snapshot
                say(f"cluster   {rs.cluster_identifier}: deleting, final snapshot {snapshot}")
            else:
                request["SkipFinalClusterSnapshot"] = True
                say(f"cluster   {rs.cluster_identifier}: deleting, no final snapshot (FINAL_SNAPSHOT=1 keeps one)")
            redshift.delete_cluster(**request)
        wait_deleted(redshift, rs.cluster_identifier, say, poll=poll)
    delete_parameter_group(redshift, rs.parameter_group, say)


def reader_secret(rs) -> str:
    """The Secrets Manager secret of the project's own that keeps the reader's password on AWS."""
    return f"{rs.name}-reader"


def put_reader_secret(secrets, rs, user: str, password: str) -> str:
    """Create the reader's secret, or store a new version of it (a rotation); what was done. The value is the
    shape Secrets Manager gives Redshift credentials (username, password, engine, host, port, dbname)."""
    from botocore.exceptions import ClientError

    value = json.dumps({"username": user, "password": password, "engine": "redshift", "host": rs.host,
                        "port": rs.db_port, "dbname": rs.db_name})
    name = reader_secret(rs)
    try:
        secrets.create_secret(Name=name, SecretString=value, Tags=TAGS,
                              Description=f"the password of {user}, the read-only login of {rs.name}")
        return "created"
    except ClientError as err:
        if _code(err) != "ResourceExistsException":
            raise
    secrets.put_secret_value(SecretId=name, SecretString=value)
    return "updated"


def get_reader_secret(secrets, rs) -> dict | None:
    from botocore.exceptions import ClientError

    try:
        return json.loads(secrets.get_secret_value(SecretId=reader_secret(rs))["SecretString"])
    except ClientError as err:
        if _code(err) == "ResourceNotFoundException":
            return None
        raise


def delete_reader_secret(secrets, rs, say=print) -> None:
    """Delete the reader's secret now (no recovery window: teardown leaves nothing billed); absent is fine."""
    from botocore.exceptions import ClientError

    name = reader_secret(rs)
    try:
        secrets.delete_secret(SecretId=name, ForceDeleteWithoutRecovery=True)
        say(f"secret    {name}: deleted")
    except ClientError as err:
        if _code(err) != "ResourceNotFoundException":
            raise


def write_env(path, values: dict[str, str], by: str = "bin/provision", secret: bool = False) -> bool:
    """Set `values` in the settings file: replace their lines, append the missing ones, keep the rest.
    `secret`: a value is a password, so the file is made, or first narrowed to, its owner's alone (mode 600),
    before the value is written; returns whether an existing file was narrowed."""
    import os
    import stat
    from pathlib import Path

    path = Path(path)
    narrowed = False
    if secret and path.is_file():
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            path.chmod(mode & 0o700)
            narrowed = True
    elif secret and not path.exists():  # made for its owner alone (a dangling link: its target, as named)
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o600))
    lines = path.read_text(encoding="utf-8").splitlines() if path.exists() else []
    todo = dict(values)
    out = []
    for line in lines:
        key = line.split("=", 1)[0].strip()
        if "=" in line and not line.lstrip().startswith("#") and key in todo:
            out.append(f"{key}={todo.pop(key)}")
        else:
            out.append(line)
    if todo and out and out[-1].strip():
        out.append("")
    if todo:
        out.append(f"# written by {by}")
    out.extend(f"{key}={value}" for key, value in todo.items())
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return narrowed
