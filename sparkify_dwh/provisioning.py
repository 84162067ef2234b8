"""make provision, make teardown and make status: the warehouse on AWS, provisioned cluster or Serverless.

provision: the staging bucket when STAGING_PREFIX is unset (bucket.py); the COPY role; the security
group; then either the cluster (aws.py) or the namespace, workgroup and usage limit (serverless.py).
It ends by printing what the setup costs running and idle. teardown: the same in reverse; the bucket
only when provision made it. status: what exists, its state, how long it has been there, what it costs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from . import aws, bucket, serverless
from .config import RedshiftSettings, Settings
from .sources import split_s3

# On-demand list prices in us-east-1 (https://aws.amazon.com/redshift/pricing/), in dollars; other regions
# differ by a few percent. Serverless: "When no queries are running, you aren't billed for compute
# capacity" (billed per second, 60 seconds at least); managed storage is billed either way.
NODE_HOURLY = {"ra3.large": 0.543, "ra3.xlplus": 1.086, "ra3.4xlarge": 3.26, "ra3.16xlarge": 13.04,
               "dc2.large": 0.25, "dc2.8xlarge": 4.80}
RPU_HOURLY = 0.375
STORAGE_GB_MONTH = 0.024


@dataclass
class Clients:
    """boto3 clients, made when first used (a provisioned cluster never makes a Serverless one)."""

    region: str
    made: dict = field(default_factory=dict)

    def __getattr__(self, service: str):
        if service.startswith("_") or service in {"region", "made"}:
            raise AttributeError(service)
        if service not in self.made:
            self.made[service] = aws.client("redshift-serverless" if service == "serverless" else service,
                                            self.region)
        return self.made[service]


@dataclass(frozen=True)
class Provisioned:
    host: str
    port: int
    role_arn: str
    staging_prefix: str | None  # set when provision made the staging bucket
    resource: dict


def cost(rs: RedshiftSettings) -> tuple[str, str]:
    """(what it costs running, what it costs idle), in words."""
    if rs.serverless:
        hourly = rs.base_capacity * RPU_HOURLY
        return (f"from ${hourly:.2f} an hour while queries run ({rs.base_capacity} RPUs at ${RPU_HOURLY}/RPU-hour, "
                f"per second, 60 s at least; more if it scales up for a heavy query), at most "
                f"${rs.usage_limit * RPU_HOURLY:.2f} a day (the {rs.usage_limit} RPU-hour daily limit)",
                f"$0 for compute while idle; storage ${STORAGE_GB_MONTH}/GB-month")
    hourly = NODE_HOURLY[rs.node_type] * rs.node_count
    return (f"${hourly:.3f} an hour ({rs.node_count} x {rs.node_type}), ${hourly * 24:.2f} a day",
            "the same while idle: a cluster is billed every hour it exists until make teardown")


def _staging(settings: Settings, clients: Clients, say) -> tuple[str, str | None]:
    """STAGING_PREFIX, or the prefix in the bucket provision makes (then also returned as made)."""
    rs = settings.redshift
    if rs.staging_prefix:
        return rs.staging_prefix, None
    account = clients.sts.get_caller_identity()["Account"]
    name = bucket.bucket_name(rs.name, account, rs.region)
    prefix = bucket.ensure(clients.s3, name, rs.name, rs.region, say)
    return prefix, prefix


def provision(settings: Settings, say=print, clients: Clients | None = None, poll: float = 20) -> Provisioned:
    rs = settings.redshift
    clients = clients or Clients(rs.region)
    if not rs.serverless:  # what a new cluster may not have is refused before anything is made
        aws.check_new_cluster(clients.redshift, rs)
    staging, made = _staging(settings, clients, say)
    policy = aws.role_policy([settings.song_data, settings.log_data], staging)
    role_arn = aws.ensure_role(clients.iam, rs.iam_role_name, policy, say)
    # public: ALLOWED_CIDR, else this machine's address; private: only hosts inside the VPC
    cidr = (rs.allowed_cidr or aws.caller_cidr()) if rs.publicly_accessible else aws.default_vpc(clients.ec2)[1]
    group_id = aws.ensure_security_group(clients.ec2, rs.security_group, rs.db_port, cidr, say)
    if rs.serverless:
        serverless.ensure_namespace(clients.serverless, rs, role_arn, say)
        subnets = aws.default_subnets(clients.ec2, rs.region)
        serverless.ensure_workgroup(clients.serverless, rs, group_id, subnets, say, poll=poll)
        workgroup = serverless.wait_available(clients.serverless, rs, say, poll=poll)
        serverless.ensure_usage_limit(clients.serverless, rs, workgroup["workgroupArn"], say)
        endpoint = workgroup["endpoint"]
        host, port, resource = endpoint["address"], int(endpoint.get("port", rs.db_port)), workgroup
    else:
        cluster = aws.provision_cluster(clients.redshift, rs, role_arn, group_id, say, poll=poll)
        endpoint = cluster["Endpoint"]
        host, port, resource = endpoint["Address"], int(endpoint.get("Port", rs.db_port)), cluster
    running, idle = cost(rs)
    say(f"cost      {running}; {idle}")
    return Provisioned(host, port, role_arn, made, resource)


def teardown(settings: Settings, say=print, clients: Clients | None = None, poll: float = 20) -> bool:
    """Delete what provision made; returns whether it deleted a staging bucket it had made."""
    rs = settings.redshift
    clients = clients or Clients(rs.region)
    if rs.serverless:
        serverless.teardown(clients.serverless, rs, say, poll=poll)
    else:
        aws.teardown_cluster(clients.redshift, rs, say, poll=poll)
    aws.delete_security_group(clients.ec2, rs.security_group, say)
    aws.delete_role(clients.iam, rs.iam_role_name, say)
    aws.delete_reader_secret(clients.secretsmanager, rs, say)
    if rs.staging_prefix:
        name, _ = split_s3(rs.staging_prefix)
        return bucket.delete(clients.s3, name, rs.name, say)
    return False


def _age(created) -> str:
    if not created:
        return "unknown"
    if isinstance(created, str):
        created = datetime.fromisoformat(created.replace("Z", "+00:00"))
    hours = (datetime.now(UTC) - created).total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def status(settings: Settings, clients: Clients | None = None) -> list[tuple[str, str, str, str]]:
    """Rows of (what, name, state, how long it has existed) for what provision makes, found or not."""
    rs = settings.redshift
    clients = clients or Clients(rs.region)
    rows = []
    if rs.serverless:
        namespace = serverless.get_namespace(clients.serverless, rs.namespace)
        workgroup = serverless.get_workgroup(clients.serverless, rs.workgroup)
        rows.append(("namespace", rs.namespace, namespace["status"] if namespace else "not found",
                     _age(namespace.get("creationDate")) if namespace else ""))
        rows.append(("workgroup", rs.workgroup,
                     f"{workgroup['status']}, {workgroup.get('baseCapacity')} RPUs" if workgroup else "not found",
                     _age(workgroup.get("creationDate")) if workgroup else ""))
    else:
        cluster = aws.describe_cluster(clients.redshift, rs.cluster_identifier)
        rows.append(("cluster", rs.cluster_identifier,
                     f"{cluster['ClusterStatus']}, {cluster.get('NumberOfNodes', rs.node_count)} x "
                     f"{cluster.get('NodeType', rs.node_type)}" if cluster else "not found",
                     _age(cluster.get("ClusterCreateTime")) if cluster else ""))
    if rs.staging_prefix:
        name, _ = split_s3(rs.staging_prefix)
        rows.append(("bucket", name, "exists" if bucket.exists(clients.s3, name) else "not found", ""))
    return rows


def running(rows) -> bool:
    """Whether anything billed by the hour exists (a cluster, or a Serverless namespace's storage)."""
    return any(state != "not found" for what, _, state, _ in rows if what in {"cluster", "namespace", "workgroup"})

