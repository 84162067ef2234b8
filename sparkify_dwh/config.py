"""Settings: read once from the environment and an optional `.env` file.

The environment wins over `.env`. Every setting is documented in `env.example`.
"""

from __future__ import annotations

import io
import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values
from dotenv.parser import parse_stream

from . import db

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


def _env(env_file: Path, explicit: bool) -> dict[str, str]:
    """The settings file's values under the environment's. A file named explicitly (ENV_FILE) must exist;
    a problem with the file is reported naming it and the line, never the line's text (it may hold a secret)."""
    values: dict[str, str] = {}
    if explicit or env_file.exists():
        try:
            text = env_file.read_text(encoding="utf-8-sig")  # a byte-order mark is no part of the first name
        except FileNotFoundError:
            raise SettingsError(f"ENV_FILE={env_file}: no such file (unset ENV_FILE to read .env at the repo root; "
                                f"see {ENV_EXAMPLE})") from None
        except IsADirectoryError:
            raise SettingsError(f"{env_file}: is a folder, not a settings file (see {ENV_EXAMPLE})") from None
        except OSError as err:
            raise SettingsError(f"{env_file}: cannot be read ({err.strerror})") from None
        except UnicodeDecodeError as err:
            raise SettingsError(f"{env_file}, line {_line_of(err)}: not valid UTF-8 (see {ENV_EXAMPLE})") from None
        for binding in parse_stream(io.StringIO(text)):
            if binding.error:
                raise SettingsError(f"{env_file}, line {binding.original.line}: not a setting; expected NAME=value "
                                    f"(see {ENV_EXAMPLE})")
        values.update({k: v for k, v in dotenv_values(stream=io.StringIO(text)).items() if v is not None})
    values.update(os.environ)
    return values


def _line_of(err: UnicodeDecodeError) -> int:
    """The line (from 1) of the byte a UTF-8 decoding failed at."""
    return err.object[:err.start].count(b"\n") + 1


def _text(values: dict[str, str], name: str, default: str = "") -> str:
    return (values.get(name) or "").strip() or default


def _int(values: dict[str, str], name: str, default: int, low: int | None = None, high: int | None = None) -> int:
    """A whole number (`1_000` allowed) within [low, high]; `default` when unset or empty."""
    raw = values.get(name, "").strip()
    if not raw:
        return default
    if not re.fullmatch(r"[+-]?[0-9][0-9_]*", raw):
        raise SettingsError(f"{name}={raw!r} is not a whole number (see {ENV_EXAMPLE})")
    number = int(raw.replace("_", ""))
    if (low is not None and number < low) or (high is not None and number > high):
        bounds = (f"{low:,} to {high:,}" if low is not None and high is not None else
                  f"at least {low:,}" if low is not None else f"at most {high:,}")
        raise SettingsError(f"{name}={raw}: expected {bounds} (see {ENV_EXAMPLE})")
    return number


_FLAGS = {"1": True, "true": True, "yes": True, "on": True, "0": False, "false": False, "no": False, "off": False}


def _flag(values: dict[str, str], name: str, default: bool = False) -> bool:
    """1/0, true/false, yes/no, on/off in any case; `default` when unset or empty. Anything else is refused:
    a typo in DRY_RUN must never run the real load."""
    raw = values.get(name, "").strip()
    if not raw:
        return default
    if raw.lower() not in _FLAGS:
        raise SettingsError(f"{name}={raw!r}: expected 1 or 0 (also true/false, yes/no, on/off) (see {ENV_EXAMPLE})")
    return _FLAGS[raw.lower()]


_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
# PostgreSQL's statement_timeout is an int of milliseconds (at most 2^31 - 1, about 24 days); Redshift's
# page gives "0 (turns off limitation), x milliseconds" (https://docs.aws.amazon.com/redshift/latest/dg/r_statement_timeout.html)
MAX_TIMEOUT_MS = 2**31 - 1


def _seconds(values: dict[str, str], name: str, default: str, examples: str) -> float | None:
    """A duration: a number and a unit (90s, 30m, 2h, 7d); None when unset and without a default. 0 or at
    least a millisecond; never negative, infinite or not a number."""
    raw = (values.get(name) or "").strip().lower() or default
    if not raw:
        return None
    number, unit = raw.rstrip("smhd"), raw[len(raw.rstrip("smhd")):] or "s"
    try:
        if unit not in _UNITS or not re.fullmatch(r"[0-9]+(\.[0-9]*)?|\.[0-9]+", number.strip()):
            raise ValueError(unit)  # inf, nan, 1e400, -5: refused with the rest
        seconds = float(number) * _UNITS[unit]
    except ValueError:
        raise SettingsError(f"{name}={raw!r}: expected a duration such as {examples} (see {ENV_EXAMPLE})") from None
    if 0 < seconds < 0.001:
        raise SettingsError(f"{name}={raw!r}: below a millisecond, the finest a warehouse keeps; 0 means no limit "
                            f"(see {ENV_EXAMPLE})")
    if seconds * 1000 > MAX_TIMEOUT_MS:
        raise SettingsError(f"{name}={raw!r}: at most {MAX_TIMEOUT_MS:,} ms (about 24 days) (see {ENV_EXAMPLE})")
    return seconds


def _hours(values: dict[str, str], name: str) -> int | None:
    """Hours: `36`, `36h` or `7d`, at least 1; None when unset."""
    raw = (values.get(name) or "").strip().lower()
    if not raw:
        return None
    unit, text = (24, raw[:-1]) if raw.endswith("d") else (1, raw.removesuffix("h"))
    if not re.fullmatch(r"[0-9]+", text.strip()) or int(text) < 1:
        raise SettingsError(f"{name}={raw!r}: expected hours (36, 36h) or days (7d), at least 1 (see {ENV_EXAMPLE})")
    return int(text) * unit


def _database_url(values: dict[str, str]) -> str | None:
    """DATABASE_URL as libpq reads it (see db.normalized); the message never repeats it (it holds the password)."""
    raw = _text(values, "DATABASE_URL")
    if not raw:
        return None
    try:
        return db.normalized(raw)
    except ValueError:
        raise SettingsError("DATABASE_URL is neither a postgresql:// URL nor a key=value connection string libpq "
                            f"reads (not repeated here: it may hold the password) (see {ENV_EXAMPLE})") from None


def _pgdata(values: dict[str, str]) -> Path:
    text = (values.get("PGDATA_DIR") or "").strip()
    if re.search(r"[\x00-\x1f\x7f]", text):
        raise SettingsError("PGDATA_DIR holds a control character (a newline, a tab): PostgreSQL's lock file keeps the "
                            f"folder on one line; choose another folder (see {ENV_EXAMPLE})")
    return Path(text or ROOT / ".pgdata")


@dataclass(frozen=True)
class Settings:
    database_url: str | None = field(repr=False)
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
    reader_user: str = "sparkify_reader"  # READER_USER: the analysts' read-only login (make grant-reader)
    reader_password: str | None = field(default=None, repr=False)  # READER_PASSWORD: its password, kept in .env
    embedded_port: int | None = None  # EMBEDDED_PORT: the embedded server also listens on 127.0.0.1 at this port
    retries: int = 2  # RETRIES: how many times a run tries again after a transient warehouse failure
    retry_wait: float = 5.0  # RETRY_WAIT: seconds before the first retry, doubling for each next one
    alert_webhook_url: str | None = field(default=None, repr=False)  # ALERT_WEBHOOK_URL: holds a token
    unknown_fields: str = "warn"  # UNKNOWN_FIELDS: ignore, warn or fail

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
UNKNOWN_FIELDS = ("ignore", "warn", "fail")
MAX_RETRIES = 10
MAX_READ_WORKERS = 256  # threads, each with a connection to S3


def load_settings(env_file: Path | None = None, overrides: dict[str, str] | None = None, *,
                  missing_file_ok: bool = False) -> Settings:
    """Settings from the environment over `.env` (or the file named by ENV_FILE), and `overrides` over both
    (an empty value unsets a setting). A settings file named explicitly must exist, unless `missing_file_ok`
    (bin/provision, which writes it)."""
    named = env_file or (Path(os.environ["ENV_FILE"]) if os.environ.get("ENV_FILE") else None)
    values = _env(named or ROOT / ".env", explicit=named is not None and not missing_file_ok)
    values.update(overrides or {})
    return _settings(values)


def defaults() -> Settings:
    """The settings with nothing set: what a command's `--help` shows when the configured ones are refused."""
    return _settings({})


def _settings(values: dict[str, str]) -> Settings:
    warehouse = _text(values, "WAREHOUSE", "postgres").lower()
    if warehouse not in WAREHOUSES:
        raise SettingsError(f"WAREHOUSE={warehouse!r}: expected postgres or redshift (see {ENV_EXAMPLE})")
    demo_dir = Path(_text(values, "DEMO_DIR") or ROOT / "data" / "demo")
    timeout = _seconds(values, "STATEMENT_TIMEOUT", "1h", "0 (no limit), 90s, 30m or 2h")
    unknown = _text(values, "UNKNOWN_FIELDS", "warn").lower()
    if unknown not in UNKNOWN_FIELDS:
        raise SettingsError(f"UNKNOWN_FIELDS={unknown!r}: expected ignore, warn or fail (see {ENV_EXAMPLE})")
    return Settings(
        database_url=_database_url(values),
        song_data=_text(values, "SONG_DATA") or str(demo_dir / "song_data"),
        log_data=_text(values, "LOG_DATA") or str(demo_dir / "log_data"),
        warehouse=warehouse,
        max_errors=_int(values, "MAX_ERRORS", 0, low=0),
        full_refresh=_flag(values, "FULL_REFRESH"),
        dry_run=_flag(values, "DRY_RUN"),
        max_event_age_hours=_hours(values, "MAX_EVENT_AGE"),
        read_workers=_int(values, "READ_WORKERS", 16, low=1, high=MAX_READ_WORKERS),
        statement_timeout_ms=round(timeout * 1000),
        traceback=_flag(values, "TRACEBACK"),
        pgdata=_pgdata(values),
        embedded_stop=_flag(values, "EMBEDDED_STOP"),
        demo_dir=demo_dir,
        demo_events=_int(values, "DEMO_EVENTS", 20000, low=1),
        demo_songs=_int(values, "DEMO_SONGS", 2000, low=1),
        extra=values,
        report_out=Path(_text(values, "REPORT_OUT") or ROOT / "report.html"),
        follow_symlinks=_flag(values, "FOLLOW_SYMLINKS"),
        reader_user=_reader_user(values),
        reader_password=_text(values, "READER_PASSWORD") or None,
        embedded_port=_int(values, "EMBEDDED_PORT", 0, low=0, high=65535) or None,
        retries=_int(values, "RETRIES", 2, low=0, high=MAX_RETRIES),
        retry_wait=_seconds(values, "RETRY_WAIT", "5s", "0, 500ms, 5s or 1m"),
        alert_webhook_url=_webhook(values),
        unknown_fields=unknown,
    )


def _reader_user(values: dict[str, str]) -> str:
    name = _text(values, "READER_USER", "sparkify_reader")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise SettingsError(f"READER_USER={name!r}: expected a lower-case name of letters, digits and _, at most 63 "
                            f"(see {ENV_EXAMPLE})")
    return name


def _webhook(values: dict[str, str]) -> str | None:
    """ALERT_WEBHOOK_URL: an http(s) URL; the message never repeats it (its path holds the webhook's token)."""
    url = _text(values, "ALERT_WEBHOOK_URL")
    if url and not re.fullmatch(r"https?://[^\s/]+(/\S*)?", url, re.IGNORECASE):
        raise SettingsError("ALERT_WEBHOOK_URL is not an http:// or https:// URL (not repeated here: it holds a "
                            f"token) (see {ENV_EXAMPLE})")
    return url or None


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
# set this value to 4 RPUs, or multiples of 8 at 8 or above (8, 16, 24...512)"; 4 is the smallest. "When you
# set the base capacity between 512-1024, you can increase or decrease RPUs in increments of 32", in the
# Regions the page lists ("In other Regions, the maximum base capacity is 512 RPUs"). The
# usage limit is RPU-hours a day (CreateUsageLimit: period daily, breachAction deactivate): 12 is three
# hours of 4 RPUs a day, about $4.50 at $0.375 an RPU-hour.
SERVERLESS_BASE_CAPACITY = 4
SERVERLESS_1024_REGIONS = ("us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1")
# CreateCluster's NumberOfNodes: "Value must be at least 1 and no more than 100" (a larger cluster takes a
# quota increase from AWS first)
CREATE_CLUSTER_NODES = 100
IAM_NAME_LIMIT = 64  # IAM role names: at most 64 characters
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
    if node_count > CREATE_CLUSTER_NODES:
        raise SettingsError(f"NODE_COUNT={node_count}: Redshift takes at most {CREATE_CLUSTER_NODES} nodes unless AWS "
                            f"raises the account's node quota first (a quota increase request) (see {ENV_EXAMPLE})")
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
    region = _text(values, "AWS_REGION") or _text(values, "AWS_DEFAULT_REGION") or "us-west-2"
    if not (base == 4 or (8 <= base <= 512 and base % 8 == 0) or (512 < base <= 1024 and base % 32 == 0)):
        raise SettingsError(f"BASE_CAPACITY={base}: 4, 8 to 512 in steps of 8, or 544 to 1024 in steps of 32 RPUs "
                            f"(see {ENV_EXAMPLE})")
    if base > 512 and region not in SERVERLESS_1024_REGIONS:
        raise SettingsError(f"BASE_CAPACITY={base}: over 512 RPUs only in {', '.join(SERVERLESS_1024_REGIONS)}, not "
                            f"{region} (see {ENV_EXAMPLE})")
    port = _int(values, "DB_PORT", 5439, low=1, high=65535)
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
        db_port=port,
        iam_role_name=_text(values, "IAM_ROLE_NAME") or copy_role_name(workgroup or cluster),
        staging_prefix=staging,
        publicly_accessible=_flag(values, "PUBLICLY_ACCESSIBLE"),
        allowed_cidr=cidr,
        final_snapshot=_flag(values, "FINAL_SNAPSHOT"),
        host=_text(values, "REDSHIFT_HOST") or None,
        role_arn=_text(values, "REDSHIFT_ROLE_ARN") or None,
        region=region,
        sslmode=sslmode,
    )


def copy_role_name(warehouse: str) -> str:
    """The COPY role's default name, `<warehouse>-copy`; when that passes IAM's 64 characters, the name cut
    short and a hash of all of it in place of the rest: the same on every run, and two long names differing
    only past the cut still get two roles."""
    name = f"{warehouse}-copy"
    if len(name) <= IAM_NAME_LIMIT:
        return name
    import hashlib

    digest = hashlib.sha256(warehouse.encode()).hexdigest()[:8]
    return f"{warehouse[:IAM_NAME_LIMIT - len(digest) - 6].rstrip('-')}-{digest}-copy"


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
