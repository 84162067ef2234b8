"""Settings: read once from the environment and an optional `.env` file.

The environment wins over `.env`. Every setting is documented in `env.example`.
"""

from __future__ import annotations

import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

PACKAGE = Path(__file__).resolve().parent
# A clone runs from its source tree (sql/ and bin/ beside the package, settings and data in the clone);
# an installed wheel (the image) carries sql/ and bin/ inside the package and works in the current folder.
SOURCE_TREE = (PACKAGE.parent / "pyproject.toml").is_file() and (PACKAGE.parent / "sql").is_dir()
ROOT = PACKAGE.parent if SOURCE_TREE else Path.cwd()
SQL_DIR = PACKAGE.parent / "sql" if SOURCE_TREE else PACKAGE / "sql"
BIN_DIR = PACKAGE.parent / "bin" if SOURCE_TREE else PACKAGE / "bin"
ENV_EXAMPLE = "env.example"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it and the file that documents it."""


def _env(env_file: Path | None) -> dict[str, str]:
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ)
    return values


def _text(values: dict[str, str], name: str, default: str = "") -> str:
    return (values.get(name) or "").strip() or default


def _int(values: dict[str, str], name: str, default: int) -> int:
    raw = values.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw.replace("_", ""))
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number (see {ENV_EXAMPLE})") from None


def _flag(values: dict[str, str], name: str) -> bool:
    return values.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _seconds(values: dict[str, str], name: str, default: str, examples: str) -> float | None:
    """A duration: a number and a unit (90s, 30m, 2h, 7d); None when unset and without a default."""
    raw = (values.get(name) or "").strip().lower() or default
    if not raw:
        return None
    number, unit = raw.rstrip("smhd"), raw[len(raw.rstrip("smhd")):] or "s"
    try:
        if unit not in _UNITS:
            raise ValueError(unit)
        return float(number) * _UNITS[unit]
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: expected a duration such as {examples} (see {ENV_EXAMPLE})") from None


def _hours(values: dict[str, str], name: str) -> int | None:
    """Hours: `36`, `36h` or `7d`; None when unset."""
    raw = (values.get(name) or "").strip().lower()
    if not raw:
        return None
    unit, text = (24, raw[:-1]) if raw.endswith("d") else (1, raw.removesuffix("h"))
    try:
        return int(text) * unit
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: expected hours (36, 36h) or days (7d) (see {ENV_EXAMPLE})") from None


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    song_data: str
    log_data: str
    warehouse: str
    max_errors: int
    full_refresh: bool
    dry_run: bool
    max_event_age_hours: int | None
    read_workers: int
    statement_timeout_ms: int
    traceback: bool
    pgdata: Path
    embedded_stop: bool
    demo_dir: Path
    demo_events: int
    demo_songs: int
    extra: dict[str, str] = field(default_factory=dict, repr=False)
    report_out: Path = ROOT / "report.html"
    follow_symlinks: bool = False  # FOLLOW_SYMLINKS: links in a local source that lead outside it are read

    def source(self, kind: str) -> str:
        """Where the records of `kind` ("songs" or "events") are read from."""
        return {"songs": self.song_data, "events": self.log_data}[kind]

    @property
    def uses_demo_data(self) -> bool:
        return not self.extra.get("SONG_DATA") and not self.extra.get("LOG_DATA")

    @property
    def redshift(self) -> RedshiftSettings:
        """The Redshift cluster and its AWS resources (checked when WAREHOUSE=redshift)."""
        return redshift_settings(self.extra)


WAREHOUSES = ("postgres", "redshift")


def load_settings(env_file: Path | None = None, overrides: dict[str, str] | None = None) -> Settings:
    """Settings from the environment over `.env` (or the file named by ENV_FILE), and `overrides` over both
    (an empty value unsets a setting)."""
    values = _env(env_file or Path(os.environ.get("ENV_FILE") or ROOT / ".env"))
    values.update(overrides or {})
    warehouse = _text(values, "WAREHOUSE", "postgres").lower()
    if warehouse not in WAREHOUSES:
        raise SettingsError(f"WAREHOUSE={warehouse!r}: expected postgres or redshift (see {ENV_EXAMPLE})")
    demo_dir = Path(_text(values, "DEMO_DIR") or ROOT / "data" / "demo")
    max_errors = _int(values, "MAX_ERRORS", 0)
    if max_errors < 0:
        raise SettingsError(f"MAX_ERRORS={max_errors}: expected 0 or more (see {ENV_EXAMPLE})")
    timeout = _seconds(values, "STATEMENT_TIMEOUT", "1h", "0 (no limit), 90s, 30m or 2h")
    return Settings(
        database_url=_text(values, "DATABASE_URL") or None,
        song_data=_text(values, "SONG_DATA") or str(demo_dir / "song_data"),
        log_data=_text(values, "LOG_DATA") or str(demo_dir / "log_data"),
        warehouse=warehouse,
        max_errors=max_errors,
        full_refresh=_flag(values, "FULL_REFRESH"),
        dry_run=_flag(values, "DRY_RUN"),
        max_event_age_hours=_hours(values, "MAX_EVENT_AGE"),
        read_workers=max(1, _int(values, "READ_WORKERS", 16)),
        statement_timeout_ms=int(timeout * 1000),
        traceback=_flag(values, "TRACEBACK"),
        pgdata=Path(_text(values, "PGDATA_DIR") or ROOT / ".pgdata"),
        embedded_stop=_flag(values, "EMBEDDED_STOP"),
        demo_dir=demo_dir,
        demo_events=_int(values, "DEMO_EVENTS", 20000),
        demo_songs=_int(values, "DEMO_SONGS", 2000),
        extra=values,
        report_out=Path(_text(values, "REPORT_OUT") or ROOT / "report.html"),
        follow_symlinks=_flag(values, "FOLLOW_SYMLINKS"),
    )


# --- Redshift -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class NodeType:
    """A node type's default slices per node and the node counts a new cluster may have."""

    slices: int
    nodes: tuple[int, int]
    retired: bool = False


# From Redshift's node type table ("node range" at create; ra3.xlplus and dc2.large also single-node):
# https://docs.aws.amazon.com/redshift/latest/mgmt/working-with-clusters.html#rs-node-type-info
# ra3.large is newer than the table read here; its range is AWS's current one. DC2: "In April 2025,
# AWS announced the deprecation of Amazon Redshift DC2 instances"; new DC2 clusters may be refused.
NODE_TYPES = {
    "ra3.large": NodeType(2, (1, 16)),
    "ra3.xlplus": NodeType(2, (1, 16)),
    "ra3.4xlarge": NodeType(4, (2, 32)),
    "ra3.16xlarge": NodeType(16, (2, 128)),
    "dc2.large": NodeType(2, (1, 32), retired=True),
    "dc2.8xlarge": NodeType(16, (2, 128), retired=True),
}
SSL_MODES = ("require", "verify-ca", "verify-full")
# Redshift Serverless (https://docs.aws.amazon.com/redshift/latest/mgmt/serverless-capacity.html): "You can
# set this value to 4 RPUs, or multiples of 8 at 8 or above (8, 16, 24...512)"; 4 is the smallest. The
# usage limit is RPU-hours a day (CreateUsageLimit: period daily, breachAction deactivate): 12 is three
# hours of 4 RPUs a day, about $4.50 at $0.375 an RPU-hour.
SERVERLESS_BASE_CAPACITY = 4
SERVERLESS_USAGE_LIMIT = 12
SERVERLESS_PARTS = 8

# The longest part URI is STAGING_PREFIX + "/<load id>.<attempt>/events/part-NNNN.json.gz" (52 characters);
# sys_load_error_detail.file_name is character(256), and a cut name would lose its rejects.
STAGING_PREFIX_LIMIT = 200


@dataclass(frozen=True)
class RedshiftSettings:
    cluster_identifier: str
    node_type: str
    node_count: int
    db_name: str
    db_user: str
    db_password: str | None = field(repr=False)  # unset: the cluster's password lives in Secrets Manager
    db_port: int
    iam_role_name: str
    staging_prefix: str | None
    publicly_accessible: bool
    allowed_cidr: str | None
    final_snapshot: bool
    host: str | None
    role_arn: str | None
    region: str
    sslmode: str
    workgroup: str | None = None  # set: Redshift Serverless (this workgroup); unset: the provisioned cluster
    namespace: str | None = None
    base_capacity: int = SERVERLESS_BASE_CAPACITY
    usage_limit: int = SERVERLESS_USAGE_LIMIT

    @property
    def serverless(self) -> bool:
        return self.workgroup is not None

    @property
    def name(self) -> str:
        """The warehouse's name, which names what is made for it: the workgroup, else the cluster."""
        return self.workgroup or self.cluster_identifier

    @property
    def parameter_group(self) -> str:
        return f"{self.cluster_identifier}-params"

    @property
    def security_group(self) -> str:
        return f"{self.name}-access"

    @property
    def slices(self) -> int:
        """How many parts a load writes (a multiple of it): the cluster's default slices per node times its
        nodes. Serverless publishes no slice count: SERVERLESS_PARTS."""
        if self.serverless:
            return SERVERLESS_PARTS
        return NODE_TYPES[self.node_type].slices * self.node_count

    def require_staging(self) -> str:
        if not self.staging_prefix:
            raise SettingsError(
                f"STAGING_PREFIX is not set: an s3://bucket/prefix the loader writes to and Redshift reads "
                f"from (see {ENV_EXAMPLE})"
            )
        return self.staging_prefix


def env_file() -> Path:
    """The settings file commands read (and `bin/provision` writes to)."""
    return Path(os.environ.get("ENV_FILE") or ROOT / ".env")


def redshift_settings(values: dict[str, str]) -> RedshiftSettings:
    cluster = _text(values, "CLUSTER_IDENTIFIER", "sparkify-dwh").lower()
    if not re.fullmatch(r"[a-z][a-z0-9-]{0,62}", cluster) or "--" in cluster or cluster.endswith("-"):
        raise SettingsError(
            f"CLUSTER_IDENTIFIER={cluster!r}: lowercase letters, digits and single hyphens, starting with a "
            f"letter (see {ENV_EXAMPLE})"
        )
    node_type = _text(values, "NODE_TYPE", "ra3.large")
    if node_type not in NODE_TYPES:
        raise SettingsError(f"NODE_TYPE={node_type!r}: expected one of {', '.join(NODE_TYPES)} (see {ENV_EXAMPLE})")
    node_count = _int(values, "NODE_COUNT", 1)
    low, high = NODE_TYPES[node_type].nodes
    if not low <= node_count <= high:
        raise SettingsError(f"NODE_COUNT={node_count}: a {node_type} cluster has {low} to {high} nodes "
                            f"(see {ENV_EXAMPLE})")
    user = _text(values, "DB_USER", "sparkify_admin")
    if not re.fullmatch(r"[a-z][a-z0-9_]{0,126}", user):
        raise SettingsError(f"DB_USER={user!r}: a lowercase letter, then lowercase letters, digits and underscores "
                            f"(see {ENV_EXAMPLE})")
    password = values.get("DB_PASSWORD") or None
    if password is not None:
        _check_password(password)
    staging = _text(values, "STAGING_PREFIX") or None
    if staging is not None:
        if not re.fullmatch(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[A-Za-z0-9!_.*()/-]*)?", staging):
            raise SettingsError(
                f"STAGING_PREFIX={staging!r}: expected s3://bucket/prefix, the prefix made of letters, digits and "
                f"- _ . / (see {ENV_EXAMPLE})"
            )
        staging = staging.rstrip("/")
        if len(staging) > STAGING_PREFIX_LIMIT:
            raise SettingsError(
                f"STAGING_PREFIX is {len(staging)} characters, over {STAGING_PREFIX_LIMIT}: the names of the parts "
                "would be cut off in sys_load_error_detail (file_name is 256 characters) and rows Redshift refuses "
                f"could not be traced to their source (see {ENV_EXAMPLE})"
            )
    cidr = _text(values, "ALLOWED_CIDR") or None
    if cidr is not None:
        try:
            network = ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise SettingsError(f"ALLOWED_CIDR={cidr!r} is not an address range such as 203.0.113.7/32 "
                                f"(see {ENV_EXAMPLE})") from None
        if network.version != 4 or network.prefixlen < 8:
            raise SettingsError(
                f"ALLOWED_CIDR={cidr!r}: an IPv4 range no wider than /8; a cluster is never opened to the whole "
                f"internet (see {ENV_EXAMPLE})"
            )
        cidr = str(network)
    sslmode = _text(values, "REDSHIFT_SSLMODE", "require")
    if sslmode not in SSL_MODES:
        raise SettingsError(f"REDSHIFT_SSLMODE={sslmode!r}: expected one of {', '.join(SSL_MODES)} "
                            f"(see {ENV_EXAMPLE})")
    workgroup = _text(values, "REDSHIFT_WORKGROUP").lower() or None
    namespace = None
    for key, value in (("REDSHIFT_WORKGROUP", workgroup), ("REDSHIFT_NAMESPACE", _text(values, "REDSHIFT_NAMESPACE"))):
        # CreateWorkgroup/CreateNamespace: 3-64 characters, lowercase letters, digits and hyphens
        if value and not re.fullmatch(r"[a-z0-9-]{3,64}", value.lower()):
            raise SettingsError(f"{key}={value!r}: 3 to 64 lowercase letters, digits and hyphens (see {ENV_EXAMPLE})")
    if workgroup:
        namespace = (_text(values, "REDSHIFT_NAMESPACE") or workgroup).lower()
    base = _int(values, "BASE_CAPACITY", SERVERLESS_BASE_CAPACITY)
    if not (base == 4 or (8 <= base <= 1024 and base % 8 == 0)):
        raise SettingsError(f"BASE_CAPACITY={base}: 4, or a multiple of 8 from 8 to 512 RPUs (1024 in some "
                            f"regions) (see {ENV_EXAMPLE})")
    port = _int(values, "DB_PORT", 5439)
    if workgroup and not (5431 <= port <= 5455 or 8191 <= port <= 8215):
        raise SettingsError(f"DB_PORT={port}: a Serverless workgroup listens on 5431-5455 or 8191-8215 "
                            f"(see {ENV_EXAMPLE})")
    usage_limit = _int(values, "USAGE_LIMIT_RPU_HOURS", SERVERLESS_USAGE_LIMIT)
    if usage_limit < 1:
        raise SettingsError(f"USAGE_LIMIT_RPU_HOURS={usage_limit}: at least 1 RPU-hour a day; the limit is the "
                            f"cost guardrail and cannot be turned off here (see {ENV_EXAMPLE})")
    return RedshiftSettings(
        workgroup=workgroup,
        namespace=namespace,
        base_capacity=base,
        usage_limit=usage_limit,
        cluster_identifier=cluster,
        node_type=node_type,
        node_count=node_count,
        db_name=_text(values, "DB_NAME", "sparkify"),
        db_user=user,
        db_password=password,
        db_port=_int(values, "DB_PORT", 5439),
        iam_role_name=_text(values, "IAM_ROLE_NAME", f"{workgroup or cluster}-copy"),
        staging_prefix=staging,
        publicly_accessible=_flag(values, "PUBLICLY_ACCESSIBLE"),
        allowed_cidr=cidr,
        final_snapshot=_flag(values, "FINAL_SNAPSHOT"),
        host=_text(values, "REDSHIFT_HOST") or None,
        role_arn=_text(values, "REDSHIFT_ROLE_ARN") or None,
        region=_text(values, "AWS_REGION") or _text(values, "AWS_DEFAULT_REGION") or "us-west-2",
        sslmode=sslmode,
    )


def _check_password(password: str) -> None:
    """Redshift's rules for a master password; the message never repeats the password."""
    ok = (
        8 <= len(password) <= 64
        and re.search(r"[A-Z]", password)
        and re.search(r"[a-z]", password)
        and re.search(r"[0-9]", password)
        and not re.search(r"['\"\\/@\s]", password)
    )
    if not ok:
        raise SettingsError(
            "DB_PASSWORD does not meet Redshift's rules: 8 to 64 characters with an uppercase letter, a lowercase "
            f"letter and a digit, and no quote, backslash, slash, @ or space (see {ENV_EXAMPLE})"
        )
