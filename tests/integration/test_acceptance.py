"""make acceptance without an AWS account: the whole flow with provision and teardown replaced, Redshift
replaced by the emulator (tests/redshift_emulator.py), the parts on moto's S3. The live run is the
user's to make (docs/acceptance.md)."""

import os
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import boto3
import psycopg2
import pytest
from redshift_emulator import REAL_CONNECT, EmulatedRedshift

from sparkify_dwh import acceptance, compare, db, pipeline
from sparkify_dwh.provisioning import Provisioned
from sparkify_dwh.warehouses.redshift import rejects

pytestmark = pytest.mark.integration

ROLE = "arn:aws:iam::123456789012:role/sparkify-acceptance-copy"


@pytest.fixture
def emulated(monkeypatch, database, aws_env, tmp_path):
    """Connections to dwh.example reach the emulated Redshift (the test database); the staging bucket is on moto."""
    s3 = boto3.client("s3", endpoint_url=aws_env["AWS_ENDPOINT_URL"], region_name="us-west-2")
    bucket = "stage-" + uuid.uuid4().hex[:10]
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "us-west-2"})

    def connect(dsn=None, **kwargs):
        if kwargs.get("host") != "dwh.example":
            return REAL_CONNECT(dsn, **kwargs)
        return EmulatedRedshift(database, s3, sent=[])

    monkeypatch.setattr(db.psycopg2, "connect", connect)
    monkeypatch.setattr(rejects, "pause", lambda seconds: None)
    monkeypatch.setenv("ENV_FILE", os.devnull)
    monkeypatch.setenv("DB_PASSWORD", "Secret123abc")
    for key in ("STAGING_PREFIX", "DATABASE_URL", "REDSHIFT_WORKGROUP", "WAREHOUSE"):
        monkeypatch.delenv(key, raising=False)
    return f"s3://{bucket}/loads"


class Fakes:
    def __init__(self, staging, existed=False):
        self.staging, self.existed, self.calls = staging, existed, []

    def status(self, settings):
        return [("workgroup", settings.redshift.name, "AVAILABLE" if self.existed else "not found", "")]

    def provision(self, settings, say):
        rs = settings.redshift
        self.calls.append(("provision", rs.name, rs.serverless, rs.publicly_accessible, settings.max_errors))
        return Provisioned("dwh.example", 5439, ROLE, self.staging, {})

    def teardown(self, settings, say):
        self.calls.append(("teardown", settings.redshift.name, settings.redshift.staging_prefix))
        return True


def run(tmp_path, fakes, other_database, said):
    return acceptance.run(tmp_path / "work", events=3000, songs=150, say=said.append, provision=fakes.provision,
                          teardown=fakes.teardown, status=fakes.status, postgres_url=other_database)


def test_acceptance_passes_when_both_warehouses_build_the_same_star(emulated, other_database, database, tmp_path):
    fakes, said = Fakes(emulated), []
    outcome = run(tmp_path, fakes, other_database, said)
    assert outcome.passed, outcome.differences
    # the records planted with every control character reach both warehouses as written, the play matched
    for url in (database, other_database):
        with psycopg2.connect(url) as conn, conn.cursor() as cur:
            cur.execute("SELECT s.title, a.name, a.location FROM songs AS s INNER JOIN artists AS a "
                        "ON s.artist_id = a.artist_id WHERE s.song_id = 'SOCONTROL'")
            assert cur.fetchall() == [(acceptance.CONTROL_TEXT,) * 3]
            cur.execute("SELECT p.location, p.user_agent, u.first_name FROM songplays AS p INNER JOIN users AS u "
                        "ON p.user_id = u.user_id WHERE p.song_id = 'SOCONTROL'")
            assert cur.fetchall() == [(acceptance.CONTROL_TEXT,) * 3]
        conn.close()
    # its own Serverless workgroup, public to this machine only, a budget of exactly the records planted
    assert fakes.calls == [("provision", "sparkify-acceptance", True, True, 5),
                           ("teardown", "sparkify-acceptance", emulated)]
    assert outcome.tables["load_errors"][0] == 5 and outcome.tables["songplays"][0] > 100
    text = acceptance.render(outcome)
    assert "every table is the same on Redshift and PostgreSQL" in text and "cost about $" in text


def test_acceptance_fails_on_a_planted_difference_and_keeps_what_existed(emulated, other_database, database,
                                                                         tmp_path, monkeypatch):
    real_load = pipeline.load

    def load_then_plant(settings, **kwargs):
        summary = real_load(settings, **kwargs)
        if settings.warehouse == "redshift":  # one duration off by a millisecond, on Redshift only
            conn = psycopg2.connect(database)
            with conn, conn.cursor() as cur:
                cur.execute("UPDATE songs SET duration = duration + 0.001 WHERE song_id = (SELECT MIN(song_id) "
                            "FROM songs)")
            conn.close()
        return summary

    monkeypatch.setattr(acceptance.pipeline, "load", load_then_plant)
    fakes, said = Fakes(emulated, existed=True), []
    outcome = run(tmp_path, fakes, other_database, said)
    assert not outcome.passed
    assert [d.split(":")[0] for d in outcome.differences] == ["songs"]
    assert "DIFFERENT songs:" in acceptance.render(outcome)
    assert [c[0] for c in fakes.calls] == ["provision"]  # it existed before: not torn down
    assert outcome.kept and any(line.startswith("kept      sparkify-acceptance") for line in said)


def test_the_canonical_rendering_is_the_same_whatever_type_or_order_the_engine_returns():
    when = datetime(2018, 11, 1, 21, 1, 46, 796000)
    from_postgres = [("SOA", 2, 269.58322, when, None, "tab\there"), ("SOB", 0, 1.5, when, "x", "")]
    from_redshift = [("SOB", Decimal(0), Decimal("1.5"), when.replace(tzinfo=UTC), "x", ""),
                     ("SOA", 2.0, 269.58322, when, None, "tab\there")]
    assert compare.fingerprint(from_postgres) == compare.fingerprint(from_redshift)
    assert compare.fingerprint(from_postgres) != compare.fingerprint(from_postgres[:1] + [("SOB", 0, 1.5, when, "x",
                                                                                            " ")])
    # a NULL is not the text \N, nor an empty string; a tab inside a value is not a column break
    assert compare.canonical(None) != compare.canonical("\\N") != compare.canonical("")
    assert compare.fingerprint([("a\tb", "c")]) != compare.fingerprint([("a", "b\tc")])
