"""Redshift Serverless: the namespace (the database, its admin and the COPY role) and the workgroup (the
compute, its network and its TLS rule), with a usage limit on RPU-hours as a cost guardrail.

provision: the namespace, created with its admin password managed in Secrets Manager (or DB_PASSWORD)
and the COPY role attached (a request refused while IAM propagates the role is sent again, aws.py), then
waited for until it is AVAILABLE with the role's applyStatus in-sync; the workgroup at BASE_CAPACITY
RPUs (4, the smallest the service allows; 8 where a region refuses 4), require_ssl=true, behind the
security group, public only when asked; a daily usage limit of USAGE_LIMIT_RPU_HOURS with breach action
`deactivate`, which turns user queries off until the next day ("The action that Amazon Redshift
Serverless takes when the limit is reached": log | emit-metric | deactivate). Each piece is found and
reused when it exists.

teardown: the workgroup's usage limits, the workgroup, then the namespace, without a final snapshot.

Data at rest is always encrypted on Serverless: a namespace uses an AWS owned key unless given a KMS
key ("Amazon Redshift Serverless encrypts ... by default"); there is no switch to turn it off.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from .aws import IAM_PROPAGATION_SECONDS, TAGS, AwsError, _elapsed, wait_gone, with_role_retry
from .config import RedshiftSettings, SettingsError

SERVERLESS_TAGS = [{"key": t["Key"], "value": t["Value"]} for t in TAGS]  # this API spells its tags lowercase
REQUIRE_SSL = [{"parameterKey": "require_ssl", "parameterValue": "true"}]
FALLBACK_CAPACITY = 8


def get_namespace(client, name: str) -> dict | None:
    try:
        return client.get_namespace(namespaceName=name)["namespace"]
    except client.exceptions.ResourceNotFoundException:
        return None


def get_workgroup(client, name: str) -> dict | None:
    try:
        return client.get_workgroup(workgroupName=name)["workgroup"]
    except client.exceptions.ResourceNotFoundException:
        return None


def ensure_namespace(client, rs: RedshiftSettings, role_arn: str, say: Callable[[str], None]) -> dict:
    namespace = get_namespace(client, rs.namespace)
    if namespace is not None:
        say(f"namespace {rs.namespace}: exists ({namespace['status']}), reused")
        if role_arn not in _role_arns(namespace):
            roles = _role_arns(namespace) + [role_arn]
            namespace = with_role_retry(lambda: client.update_namespace(
                namespaceName=rs.namespace, iamRoles=roles, defaultIamRoleArn=role_arn), f"namespace {rs.namespace}",
                say)["namespace"]
            say(f"namespace {rs.namespace}: role attached")
        return namespace
    request = {"namespaceName": rs.namespace, "dbName": rs.db_name, "adminUsername": rs.db_user,
               "iamRoles": [role_arn], "defaultIamRoleArn": role_arn, "tags": SERVERLESS_TAGS}
    if rs.db_password:
        request["adminUserPassword"] = rs.db_password
    else:
        request["manageAdminPassword"] = True
    namespace = with_role_retry(lambda: client.create_namespace(**request), f"namespace {rs.namespace}",
                                say)["namespace"]
    say(f"namespace {rs.namespace}: created (encrypted, password "
        f"{'from DB_PASSWORD' if rs.db_password else 'in Secrets Manager'})")
    return namespace


def _role_arns(namespace: dict) -> list[str]:
    return list(_role_status(namespace))


def _role_status(namespace: dict) -> dict[str, str]:
    """{role ARN: applyStatus}. The API lists the roles as "IamRole(applyStatus=in-sync, iamRoleArn=arn:...)"
    strings or as plain ARNs (taken as in-sync)."""
    out = {}
    for entry in namespace.get("iamRoles", []):
        arn = entry.split("iamRoleArn=", 1)[1].rstrip(")") if "iamRoleArn=" in entry else entry
        status = entry.split("applyStatus=", 1)[1].split(",")[0].strip() if "applyStatus=" in entry else "in-sync"
        out[arn] = status
    return out


def _settled(namespace: dict) -> bool:
    return namespace["status"] == "AVAILABLE" and all(v == "in-sync" for v in _role_status(namespace).values())


def wait_namespace(client, rs: RedshiftSettings, say, poll: float = 15,
                   timeout: float = IAM_PROPAGATION_SECONDS + 480) -> dict:
    """The namespace once AVAILABLE with every role in-sync: a workgroup or a COPY before that may be refused."""
    started = time.monotonic()
    while True:
        namespace = get_namespace(client, rs.namespace)
        if namespace is None:
            raise AwsError(f"namespace {rs.namespace} disappeared while waiting for it")
        if _settled(namespace):
            return namespace
        if time.monotonic() - started > timeout:
            raise AwsError(f"namespace {rs.namespace} is still {_waiting_for(namespace)} after {_elapsed(started)}; "
                           "run again to wait")
        say(f"namespace {rs.namespace}: {_waiting_for(namespace)}, waiting ({_elapsed(started)})")
        time.sleep(poll)


def _waiting_for(namespace: dict) -> str:
    pending = [f"{arn.rsplit('/', 1)[-1]} {status}" for arn, status in _role_status(namespace).items()
               if status != "in-sync"]
    return ", ".join([namespace["status"]] + [f"role {p}" for p in pending])


def ensure_workgroup(client, rs: RedshiftSettings, group_id: str, subnets: list[str],
                     say: Callable[[str], None], poll: float = 15) -> dict:
    workgroup = get_workgroup(client, rs.workgroup)
    if workgroup is not None:
        say(f"workgroup {rs.workgroup}: exists ({workgroup['status']}), reused")
        public = bool(workgroup.get("publiclyAccessible"))
        if public != rs.publicly_accessible:
            say(f"warning: workgroup {rs.workgroup} has PUBLICLY_ACCESSIBLE={public}, settings ask "
                f"{rs.publicly_accessible}; change it in the console or tear down and provision again")
        return workgroup
    wait_namespace(client, rs, say, poll)
    request = {"workgroupName": rs.workgroup, "namespaceName": rs.namespace, "baseCapacity": rs.base_capacity,
               "publiclyAccessible": rs.publicly_accessible, "securityGroupIds": [group_id], "subnetIds": subnets,
               "port": rs.db_port,
               "configParameters": REQUIRE_SSL, "tags": SERVERLESS_TAGS}
    try:
        workgroup = client.create_workgroup(**request)["workgroup"]
    except client.exceptions.ValidationException as err:
        # 4 RPUs is newer than 8 and not offered everywhere; then 8 is the smallest
        if rs.base_capacity != 4 or "capacity" not in str(err).lower():
            raise
        say(f"workgroup {rs.workgroup}: 4 RPUs refused in {rs.region}; {FALLBACK_CAPACITY} RPUs instead")
        request["baseCapacity"] = FALLBACK_CAPACITY
        workgroup = client.create_workgroup(**request)["workgroup"]
    say(f"workgroup {rs.workgroup}: created ({request['baseCapacity']} RPUs, TLS required, "
        f"{'public' if rs.publicly_accessible else 'private'})")
    return workgroup


def ensure_usage_limit(client, rs: RedshiftSettings, workgroup_arn: str, say: Callable[[str], None]) -> None:
    """A daily limit of USAGE_LIMIT_RPU_HOURS on the workgroup's compute; over it, user queries are turned off
    until the next day."""
    limits = client.list_usage_limits(resourceArn=workgroup_arn, usageType="serverless-compute").get("usageLimits", [])
    daily = [u for u in limits if u.get("period") == "daily"]
    if not daily:
        client.create_usage_limit(resourceArn=workgroup_arn, usageType="serverless-compute", amount=rs.usage_limit,
                                  period="daily", breachAction="deactivate")
        say(f"limit     {rs.usage_limit} RPU-hours a day: created; over it, queries are turned off until the next day")
        return
    limit = daily[0]
    if limit.get("amount") != rs.usage_limit or limit.get("breachAction") != "deactivate":
        client.update_usage_limit(usageLimitId=limit["usageLimitId"], amount=rs.usage_limit,
                                  breachAction="deactivate")
        say(f"limit     {rs.usage_limit} RPU-hours a day: updated; over it, queries are turned off until the next day")
    else:
        say(f"limit     {rs.usage_limit} RPU-hours a day: exists, reused")


def wait_available(client, rs: RedshiftSettings, say, poll: float = 15, timeout: float = 1800) -> dict:
    started = time.monotonic()
    while True:
        namespace = get_namespace(client, rs.namespace)
        workgroup = get_workgroup(client, rs.workgroup)
        if namespace is None or workgroup is None:
            raise AwsError(f"namespace {rs.namespace} or workgroup {rs.workgroup} disappeared while waiting for it")
        if _settled(namespace) and workgroup["status"] == "AVAILABLE" and workgroup.get("endpoint", {}).get("address"):
            say(f"workgroup {rs.workgroup}: available after {_elapsed(started)}")
            return workgroup
        if time.monotonic() - started > timeout:
            raise AwsError(f"workgroup {rs.workgroup} is still {workgroup['status']} after {_elapsed(started)}; "
                           "run again to wait")
        say(f"workgroup {rs.workgroup}: {workgroup['status']}, namespace {_waiting_for(namespace)}, waiting "
            f"({_elapsed(started)})")
        time.sleep(poll)


def teardown(client, rs: RedshiftSettings, say, poll: float = 15) -> None:
    """The workgroup, then the namespace (which cannot go while a workgroup uses it); no final snapshot."""
    workgroup = get_workgroup(client, rs.workgroup)
    if workgroup is None:
        say(f"workgroup {rs.workgroup}: not found, nothing to delete")
    else:
        if workgroup["status"] != "DELETING":
            limits = client.list_usage_limits(resourceArn=workgroup["workgroupArn"]).get("usageLimits", [])
            for limit in limits:
                client.delete_usage_limit(usageLimitId=limit["usageLimitId"])
            client.delete_workgroup(workgroupName=rs.workgroup)
            say(f"workgroup {rs.workgroup}: deleting ({len(limits)} usage limit(s) deleted first)")
        wait_gone(lambda: get_workgroup(client, rs.workgroup), f"workgroup {rs.workgroup}", _status, say, poll)
    namespace = get_namespace(client, rs.namespace)
    if namespace is None:
        say(f"namespace {rs.namespace}: not found, nothing to delete")
        return
    if namespace["status"] != "DELETING":
        client.delete_namespace(namespaceName=rs.namespace)
        say(f"namespace {rs.namespace}: deleting, no final snapshot (its data goes with it)")
    wait_gone(lambda: get_namespace(client, rs.namespace), f"namespace {rs.namespace}", _status, say, poll)


def _status(found: dict) -> str:
    return found["status"]


def admin_password(client, secrets, rs: RedshiftSettings) -> str:
    """The admin password Redshift keeps for the namespace in Secrets Manager."""
    namespace = get_namespace(client, rs.namespace)
    arn = (namespace or {}).get("adminPasswordSecretArn")
    if not arn:
        raise SettingsError(f"DB_PASSWORD is not set and namespace {rs.namespace} keeps no admin password in Secrets "
                            "Manager: set DB_PASSWORD (see env.example)")
    return json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"])["password"]
