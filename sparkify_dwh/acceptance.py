"""make acceptance: the tool checked on the user's own AWS account.

1. Provision a warehouse of its own (Serverless workgroup `sparkify-acceptance` by default, or a cluster
   of that name), reachable from this machine only (public endpoint, the security group open to this
   machine's address /32, TLS required), or reuse it when it exists.
2. Generate a deterministic dataset and plant bad records in it (BAD_EVENTS, BAD_SONG), and good ones whose
   text holds every control character U+0001..U+001F (CONTROL_TEXT): the parts write them as \\n, \\t and
   \\u00XX escapes, of which COPY's JSON documentation names only \\n and \\t, so a live run proves or
   disproves that Redshift reads them back as PostgreSQL does.
3. Load it into Redshift through the real path: compaction, parts uploaded to S3, COPY.
4. Load the same folder into a database of its own on the embedded PostgreSQL.
5. Compare every star table and the rejects: counts and a SHA-256 over a canonical rendering (compare.py).
6. Tear down what it created, unless asked to keep it; print the time taken and the estimated cost.

Any difference makes the run fail. Nothing of the user's own warehouse or database is touched.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from . import compare, config, db, embedded, pipeline, provisioning, warehouses
from .generate import generate

NAME = "sparkify-acceptance"
DATABASE = "sparkify_acceptance"
SEED = 20181101
EVENTS, SONGS = 20_000, 500
# records each warehouse must refuse alike, each for its own reason (appended to the first log file)
BAD_EVENTS = [
    b'{"ts": 1541105830796, "userId": "10", "page": "NextSong"',  # cut off: not JSON
    json.dumps({"ts": 1541105830797, "userId": "39 ", "page": "NextSong", "sessionId": 1, "itemInSession": 1,
                "level": "free"}).encode(),  # a trailing blank Redshift would ignore
    json.dumps({"ts": 1541105830798, "userId": "40", "firstName": "x" * 300, "page": "NextSong"}).encode(),
    json.dumps({"ts": 1541105830799, "userId": "41", "song": "nul\u0000here", "page": "NextSong"}).encode(),
]
BAD_SONG = b'{"song_id": "SOBROKEN", "title": "half a record"'
# every control character but NUL (which both refuse), in a song, its artist and a play that matches it
CONTROL_TEXT = "ctrl " + "".join(chr(c) for c in range(1, 32)) + " end"
CONTROL_SONG = {"num_songs": 1, "artist_id": "ARCONTROL", "artist_latitude": None, "artist_longitude": None,
                "artist_location": CONTROL_TEXT, "artist_name": CONTROL_TEXT, "song_id": "SOCONTROL",
                "title": CONTROL_TEXT, "duration": 123.45678, "year": 2018}
CONTROL_EVENT = {"artist": CONTROL_TEXT, "auth": "Logged In", "firstName": CONTROL_TEXT, "gender": "F",
                 "itemInSession": 0, "lastName": "Control", "length": 123.45678, "level": "free",
                 "location": CONTROL_TEXT, "method": "PUT", "page": "NextSong", "registration": 1540919166796.0,
                 "sessionId": 990001, "song": CONTROL_TEXT, "status": 200, "ts": 1541105830800,
                 "userAgent": CONTROL_TEXT, "userId": "990001"}


@dataclass
class Outcome:
    differences: list[str]
    seconds: float
    cost: str
    tables: dict[str, tuple[int, str]] = field(default_factory=dict)
    kept: bool = False

    @property
    def passed(self) -> bool:
        return not self.differences


def plant_bad_records(root: Path) -> int:
    """Add BAD_EVENTS to the first log file and BAD_SONG as a song file of its own; returns how many. Add
    CONTROL_EVENT there too and CONTROL_SONG as a song file: good records, which both must load alike."""
    first = sorted((root / "log_data").rglob("*.json"))[0]
    with first.open("ab") as f:
        for line in BAD_EVENTS + [json.dumps(CONTROL_EVENT).encode()]:
            f.write(line + b"\n")
    broken = root / "song_data" / "Z" / "Z" / "Z" / "TRZZZBROKEN.json"
    broken.parent.mkdir(parents=True, exist_ok=True)
    broken.write_bytes(BAD_SONG)
    (broken.parent / "TRZZZCONTROL.json").write_bytes(json.dumps(CONTROL_SONG).encode())
    return len(BAD_EVENTS) + 1


def redshift_overrides(data: Path, planted: int, *, cluster: bool, public: bool) -> dict[str, str]:
    """The acceptance warehouse's settings, over whatever the user's own name: its own workgroup (or
    cluster), role and security group, so the user's warehouse is never touched."""
    out = {"WAREHOUSE": "redshift", "SONG_DATA": str(data / "song_data"), "LOG_DATA": str(data / "log_data"),
           "MAX_ERRORS": str(planted), "FULL_REFRESH": "1", "REDSHIFT_HOST": "", "REDSHIFT_ROLE_ARN": "",
           "IAM_ROLE_NAME": "", "PUBLICLY_ACCESSIBLE": "1" if public else "0"}
    if cluster:
        out.update(REDSHIFT_WORKGROUP="", REDSHIFT_NAMESPACE="", CLUSTER_IDENTIFIER=NAME)
    else:
        out.update(REDSHIFT_WORKGROUP=NAME, REDSHIFT_NAMESPACE=NAME)
    return out


def estimated_cost(rs: config.RedshiftSettings, busy_seconds: float, existed_seconds: float) -> str:
    if rs.serverless:
        dollars = rs.base_capacity * provisioning.RPU_HOURLY * max(busy_seconds, 60) / 3600
        return (f"about ${dollars:.2f} ({rs.base_capacity} RPUs for {busy_seconds:.0f} s of queries, "
                "60 s at least; the bill has the exact figure)")
    dollars = provisioning.NODE_HOURLY[rs.node_type] * rs.node_count * existed_seconds / 3600
    return f"about ${dollars:.2f} ({rs.node_count} x {rs.node_type} for {existed_seconds / 60:.0f} min)"


def _postgres(settings: config.Settings, data: Path, planted: int, url: str | None) -> config.Settings:
    """`url`, or a database of its own on the embedded PostgreSQL, made afresh."""
    if url is None:
        url = db.fresh_database(embedded.url(settings.pgdata), DATABASE)
    return config.load_settings(overrides={"WAREHOUSE": "postgres", "DATABASE_URL": url,
                                           "SONG_DATA": str(data / "song_data"), "LOG_DATA": str(data / "log_data"),
                                           "MAX_ERRORS": str(planted), "FULL_REFRESH": "1"})


def run(workdir: Path, *, keep: bool = False, cluster: bool = False, public: bool = True, events: int = EVENTS,
        songs: int = SONGS, say: Callable[[str], None] = print, provision=provisioning.provision,
        teardown=provisioning.teardown, status=provisioning.status, postgres_url: str | None = None) -> Outcome:
    started = time.monotonic()
    data = workdir / "data"
    say(f"dataset   {events:,} events, {songs:,} songs (seed {SEED}) in {data}, with bad records planted")
    generate(data, events=events, songs=songs, seed=SEED)
    planted = plant_bad_records(data)
    overrides = redshift_overrides(data, planted, cluster=cluster, public=public)
    settings = config.load_settings(overrides=overrides)
    rs = settings.redshift
    existed = provisioning.running(status(settings))
    made = provision(settings, say=say)
    overrides.update(REDSHIFT_HOST=made.host, DB_PORT=str(made.port), REDSHIFT_ROLE_ARN=made.role_arn)
    if made.staging_prefix:
        overrides["STAGING_PREFIX"] = made.staging_prefix
    settings = config.load_settings(overrides=overrides)
    busy = 0.0
    try:
        say(f"redshift  loading through {settings.redshift.staging_prefix} and COPY")
        t = time.monotonic()
        pipeline.load(settings, quiet=True, say=say)
        warehouse = warehouses.of(settings)
        conn = warehouse.connect()
        try:
            on_redshift = compare.fingerprints(conn)
        finally:
            conn.close()
        busy = time.monotonic() - t
        say("postgres  loading the same folder into the embedded PostgreSQL")
        pg_settings = _postgres(settings, data, planted, postgres_url)
        pipeline.load(pg_settings, quiet=True, say=say)
        conn = warehouses.of(pg_settings).connect()
        try:
            on_postgres = compare.fingerprints(conn)
        finally:
            conn.close()
    finally:
        kept = keep or existed
        if kept:
            say(f"kept      {rs.name}: {'it existed before this run' if existed else 'as asked'}; make teardown "
                f"with REDSHIFT_WORKGROUP={rs.name} (or CLUSTER_IDENTIFIER) deletes it")
        else:
            teardown(settings, say=say)
    seconds = time.monotonic() - started
    found = compare.differences(on_redshift, on_postgres, "redshift", "postgresql")
    if on_redshift.get("load_errors", (0,))[0] != planted:
        found.append(f"load_errors: {on_redshift.get('load_errors', (0,))[0]} rejects on redshift, {planted} planted")
    return Outcome(found, seconds, estimated_cost(rs, busy, seconds), on_redshift, kept)


def render(outcome: Outcome) -> str:
    lines = [f"{'table':<12} {'rows':>9}  sha256"]
    for table, (rows, digest) in sorted(outcome.tables.items()):
        lines.append(f"{table:<12} {rows:>9,}  {digest[:16]}")
    lines.append("")
    lines += [f"DIFFERENT {d}" for d in outcome.differences] or ["every table is the same on Redshift and PostgreSQL"]
    lines.append(f"time {outcome.seconds / 60:.1f} min; cost {outcome.cost}")
    return "\n".join(lines)
