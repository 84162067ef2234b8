"""The COPY statements the Redshift load sends, and the literals they hold.

Each clause below is chosen against Redshift's COPY documentation; the quotes are in the comments.
Values reach these statements as checked literals (`literal`): COPY's FROM, IAM_ROLE, REGION and
FORMAT AS JSON take string constants, never bind parameters.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ... import records
from ...config import RedshiftSettings, SettingsError
from ...sources import split_s3

# "The MAXERROR default value is 0 and the limit is 100000."
MAXERROR_LIMIT = 100_000
BOOKKEEPING = ("source_file", "source_line", "load_id")
# Events keep the log's field names in the parts; a JSONPaths file maps them to columns, in the COPY's
# column order. start_time is a second copy of ts, which TIMEFORMAT 'epochmillisecs' makes a timestamp.
EVENT_FIELDS = tuple(records.Event.__struct_encode_fields__)
EVENT_PART_FIELDS = EVENT_FIELDS + ("start_time",) + BOOKKEEPING
EVENT_COLUMNS = records.EVENT_COLUMNS + ("start_time",) + BOOKKEEPING
# Songs already use the column names, all lowercase: JSON 'auto' ("matching is case-sensitive").
SONG_PART_FIELDS = records.SONG_COLUMNS + BOOKKEEPING
SONG_COLUMNS = SONG_PART_FIELDS
TABLES = {"songs": "staging_songs", "events": "staging_events"}

_SAFE_LITERAL = re.compile(r"[A-Za-z0-9:/_.,=+@*!()<>-]+")
_ROLE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/-]+")


def literal(value: str) -> str:
    """A checked SQL string literal: only characters that need no escaping, or an error."""
    if not _SAFE_LITERAL.fullmatch(value):
        raise SettingsError(f"{value!r} cannot be used in a COPY statement (quotes, spaces, backslashes)")
    return f"'{value}'"


def role_arn(rs: RedshiftSettings, dry_run: bool = False) -> str:
    if rs.role_arn:
        if not _ROLE_ARN.fullmatch(rs.role_arn):
            raise SettingsError(f"REDSHIFT_ROLE_ARN={rs.role_arn!r} is not an IAM role ARN (see env.example)")
        return rs.role_arn
    if dry_run:
        return f"arn:aws:iam::<account>:role/{rs.iam_role_name}"
    raise SettingsError("REDSHIFT_ROLE_ARN is not set: make provision writes it to .env (see env.example)")


@dataclass(frozen=True)
class Target:
    """Where one load's files go: STAGING_PREFIX/<folder>/..., folder being the load id (and the attempt,
    when a load plans again), so no two loads and no two attempts share a part name."""

    staging: str
    folder: str
    load_id: str
    role_arn: str
    region: str

    def uri(self, *parts: str) -> str:
        return "/".join((self.staging, self.folder) + parts)

    def manifest(self, kind: str) -> str:
        return self.uri(kind, "manifest.json")

    def jsonpaths(self) -> str:
        return self.uri("events", "jsonpaths.json")

    def part(self, kind: str, number: int) -> str:
        return self.uri(kind, f"part-{number:04d}.json.gz")

    def probe(self) -> str:
        return self.uri("probe.json.gz")


def bucket_region(s3, staging: str) -> str:
    """The Region of the staging bucket, for COPY's REGION: "If the REGION parameter is specified, all
    resources, including a manifest file or multiple Amazon S3 buckets, must be located in the specified
    Region." GetBucketLocation answers no constraint for us-east-1 and "EU" for the oldest eu-west-1 buckets."""
    bucket, _ = split_s3(staging)
    constraint = s3.get_bucket_location(Bucket=bucket).get("LocationConstraint")
    return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(constraint, constraint)


def maxerror(budget: int) -> int:
    """COPY's MAXERROR for a load that may still reject `budget` records: "If the load returns the
    error_count number of errors or greater, the load fails", so allowing `budget` errors takes
    MAXERROR budget + 1 (0 errors allowed: MAXERROR 1, "fail as soon as the first error occurs")."""
    return min(max(budget, 0) + 1, MAXERROR_LIMIT)


def copy_sql(table: str, columns: tuple[str, ...], source: str, target: Target, *, json_format: str,
             budget: int, statupdate: bool = True) -> str:
    """One COPY of gzip JSON lines from S3, listed by a manifest, with the IAM role. `statupdate`: whether
    the loading user may update the table's statistics (it owns the table or is a superuser)."""
    return "\n".join([
        f"COPY {table} ({', '.join(columns)})",
        f"FROM {literal(source)}",
        f"IAM_ROLE {literal(target.role_arn)}",
        f"FORMAT AS JSON {literal(json_format)}",
        "GZIP",
        # "The optional mandatory flag specifies whether COPY should return an error if the file is not
        # found": every entry is mandatory, so a lost part fails the COPY instead of loading less.
        "MANIFEST",
        # "specify 'epochsecs' or 'epochmillisecs'" for epoch time: the log's ts is milliseconds.
        "TIMEFORMAT 'epochmillisecs'",
        f"REGION {literal(target.region)}",
        f"MAXERROR {maxerror(budget)}",
        # COMPUPDATE OFF: the tables' encodings stay as created (ENCODE AUTO); analysing compression on
        # every load costs time. STATUPDATE ON: the transform's joins need fresh statistics ("statistics
        # are updated automatically regardless of whether the table is initially empty"), but it needs
        # "the table owner or a superuser"; from anyone else STATUPDATE OFF, and the statistics are left
        # to Redshift's automatic analyze.
        "COMPUPDATE OFF",
        f"STATUPDATE {'ON' if statupdate else 'OFF'}",
    ])


def stage_copy(kind: str, target: Target, budget: int, statupdate: bool = True) -> str:
    if kind == "events":
        return copy_sql(TABLES[kind], EVENT_COLUMNS, target.manifest(kind), target, json_format=target.jsonpaths(),
                        budget=budget, statupdate=statupdate)
    return copy_sql(TABLES[kind], SONG_COLUMNS, target.manifest(kind), target, json_format="auto", budget=budget,
                    statupdate=statupdate)


# Before the lock, the role is proved usable: a COPY ... NOLOAD ("Checks the validity of the data file
# without actually loading the data") of one line, in a transaction of its own that is rolled back. A role
# IAM has not propagated yet is refused with "User arn:aws:redshift:... is not authorized to assume IAM Role
# ..." (or "Not authorized to get credentials of role"): that is tried again every IAM_RETRY_SECONDS for at
# most IAM_PROPAGATION_SECONDS, where a refusal costs nothing, instead of failing the staging transaction.
ROLE_NOT_READY = re.compile(r"not authorized to (assume IAM Role|get credentials of role)", re.I)
PROBE_ROW = {"artist_id": "probe", "song_id": "probe", "source_file": "probe", "source_line": 0, "load_id": "probe"}


def probe_copy(target: Target) -> str:
    """The COPY that proves the role can read the staging prefix, loading nothing."""
    return "\n".join([
        f"COPY {TABLES['songs']} ({', '.join(PROBE_ROW)})",
        f"FROM {literal(target.probe())}",
        f"IAM_ROLE {literal(target.role_arn)}",
        "FORMAT AS JSON 'auto'",
        "GZIP",
        f"REGION {literal(target.region)}",
        "NOLOAD",
    ])


def jsonpaths() -> dict:
    """The JSONPaths file of staging_events: one path per column, in EVENT_COLUMNS order."""
    return {"jsonpaths": [f"$.{name}" for name in EVENT_PART_FIELDS]}


# What COPY says it loaded: "PG_LAST_COPY_COUNT ... Returns the number of rows that were loaded by the
# last COPY command run in the current session" (0 when it failed during loading).
LOADED = "SELECT pg_last_copy_count()"
