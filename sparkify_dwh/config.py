"""Settings: read once from the environment and an optional `.env` file.

The environment wins over `.env`. Every setting is documented in `env.example`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = ROOT / "sql"
ENV_EXAMPLE = "env.example"


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names it and the file that documents it."""


def _env(env_file: Path | None) -> dict[str, str]:
    values: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        values.update({k: v for k, v in dotenv_values(env_file).items() if v is not None})
    values.update(os.environ)
    return values


def _int(values: dict[str, str], name: str, default: int) -> int:
    raw = values.get(name, "").strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number (see {ENV_EXAMPLE})") from None


def _flag(values: dict[str, str], name: str) -> bool:
    return values.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


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
    pgdata: Path
    demo_dir: Path
    demo_events: int
    demo_songs: int
    extra: dict[str, str] = field(default_factory=dict, repr=False)
    report_out: Path = ROOT / "report.html"

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


def load_settings(env_file: Path | None = None) -> Settings:
    """Settings from the environment over `.env` (or the file named by ENV_FILE)."""
    values = _env(env_file or Path(os.environ.get("ENV_FILE") or ROOT / ".env"))
    warehouse = values.get("WAREHOUSE", "postgres").strip().lower() or "postgres"
    if warehouse not in {"postgres", "redshift"}:
        raise SettingsError(f"WAREHOUSE={warehouse!r}: expected postgres or redshift (see {ENV_EXAMPLE})")
    demo_dir = Path(values.get("DEMO_DIR", "") or ROOT / "data" / "demo")
    age = values.get("MAX_EVENT_AGE", "").strip()
    max_age = None
    if age:
        max_age = _parse_age_hours(age)
    if warehouse == "redshift":
        redshift_settings(values)  # fail now, naming the setting, rather than halfway through a load
    return Settings(
        database_url=values.get("DATABASE_URL") or None,
        song_data=values.get("SONG_DATA") or str(demo_dir / "song_data"),
        log_data=values.get("LOG_DATA") or str(demo_dir / "log_data"),
        warehouse=warehouse,
        max_errors=_int(values, "MAX_ERRORS", 0),
        full_refresh=_flag(values, "FULL_REFRESH"),
        dry_run=_flag(values, "DRY_RUN"),
        max_event_age_hours=max_age,
        read_workers=_int(values, "READ_WORKERS", 16),
        pgdata=Path(values.get("PGDATA_DIR", "") or ROOT / ".pgdata"),
        demo_dir=demo_dir,
        demo_events=_int(values, "DEMO_EVENTS", 20000),
        demo_songs=_int(values, "DEMO_SONGS", 2000),
        extra=values,
        report_out=Path(values.get("REPORT_OUT", "") or ROOT / "report.html"),
    )


def _parse_age_hours(raw: str) -> int:
    """`MAX_EVENT_AGE` as hours: `36`, `36h` or `7d`."""
    text = raw.strip().lower()
    unit = 1
    if text.endswith("d"):
        unit, text = 24, text[:-1]
    elif text.endswith("h"):
        text = text[:-1]
    try:
        return int(text) * unit
    except ValueError:
        raise SettingsError(
            f"MAX_EVENT_AGE={raw!r}: expected hours (36, 36h) or days (7d) (see {ENV_EXAMPLE})"
        ) from None


# --- Redshift -------------------------------------------------------------------------------------

NODE_TYPES = ("ra3.large", "ra3.xlplus", "ra3.4xlarge", "ra3.16xlarge", "dc2.large", "dc2.8xlarge")
SSL_MODES = ("require", "verify-ca", "verify-full")


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

    @property
    def parameter_group(self) -> str:
        return f"{self.cluster_identifier}-params"

    @property
    def security_group(self) -> str:
        return f"{self.cluster_identifier}-access"

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
    import ipaddress
    import re

    def text(name: str, default: str) -> str:
        return (values.get(name) or "").strip() or default

    cluster = text("CLUSTER_IDENTIFIER", "sparkify-dwh").lower()
    if not re.fullmatch(r"[a-z][a-z0-9-]{0,62}", cluster) or "--" in cluster or cluster.endswith("-"):
        raise SettingsError(
            f"CLUSTER_IDENTIFIER={cluster!r}: lowercase letters, digits and single hyphens, starting with a "
            f"letter (see {ENV_EXAMPLE})"
        )
    node_type = text("NODE_TYPE", "ra3.large")
    if node_type not in NODE_TYPES:
        raise SettingsError(f"NODE_TYPE={node_type!r}: expected one of {', '.join(NODE_TYPES)} (see {ENV_EXAMPLE})")
    node_count = _int(values, "NODE_COUNT", 1)
    if not 1 <= node_count <= 128:
        raise SettingsError(f"NODE_COUNT={node_count}: expected 1 to 128 (see {ENV_EXAMPLE})")
    user = text("DB_USER", "sparkify_admin")
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,126}", user):
        raise SettingsError(f"DB_USER={user!r}: lowercase letters, digits and underscores (see {ENV_EXAMPLE})")
    password = values.get("DB_PASSWORD") or None
    if password is not None:
        _check_password(password)
    staging = text("STAGING_PREFIX", "") or None
    if staging is not None:
        if not re.fullmatch(r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/[A-Za-z0-9!_.*()/-]*)?", staging):
            raise SettingsError(
                f"STAGING_PREFIX={staging!r}: expected s3://bucket/prefix, the prefix made of letters, digits and "
                f"- _ . / (see {ENV_EXAMPLE})"
            )
        staging = staging.rstrip("/")
    cidr = text("ALLOWED_CIDR", "") or None
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
    sslmode = text("REDSHIFT_SSLMODE", "require")
    if sslmode not in SSL_MODES:
        raise SettingsError(f"REDSHIFT_SSLMODE={sslmode!r}: expected one of {', '.join(SSL_MODES)} "
                            f"(see {ENV_EXAMPLE})")
    return RedshiftSettings(
        cluster_identifier=cluster,
        node_type=node_type,
        node_count=node_count,
        db_name=text("DB_NAME", "sparkify"),
        db_user=user,
        db_password=password,
        db_port=_int(values, "DB_PORT", 5439),
        iam_role_name=text("IAM_ROLE_NAME", f"{cluster}-copy"),
        staging_prefix=staging,
        publicly_accessible=_flag(values, "PUBLICLY_ACCESSIBLE"),
        allowed_cidr=cidr,
        final_snapshot=_flag(values, "FINAL_SNAPSHOT"),
        host=text("REDSHIFT_HOST", "") or None,
        role_arn=text("REDSHIFT_ROLE_ARN", "") or None,
        region=text("AWS_REGION", "") or text("AWS_DEFAULT_REGION", "") or "us-west-2",
        sslmode=sslmode,
    )


def _check_password(password: str) -> None:
    """Redshift's rules for a master password; the message never repeats the password."""
    import re

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
