"""Connections to Redshift: TLS always, keepalives and a statement timeout, the password from DB_PASSWORD or
Secrets Manager and never in a message, values quoted the way Redshift reads them; and its settings."""

import json
import os
import uuid

import boto3
import psycopg2
import pytest
from botocore.stub import Stubber

from sparkify_dwh import db, warehouses
from sparkify_dwh.config import SettingsError, load_settings
from sparkify_dwh.warehouses.redshift import Redshift, connection


def _settings(monkeypatch, tmp_path, **values):
    for key in ("DB_PASSWORD", "REDSHIFT_HOST", "REDSHIFT_SSLMODE", "DB_PORT", "NODE_TYPE", "NODE_COUNT",
                "STAGING_PREFIX", "MAX_ERRORS", "STATEMENT_TIMEOUT"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("ENV_FILE", os.devnull)
    monkeypatch.setenv("WAREHOUSE", "redshift")
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    settings = load_settings()
    warehouses.of(settings)  # the Redshift warehouse checks its settings as it is chosen
    return settings


class _Server:
    """psycopg2.connect's stand-in: remembers what it was asked, answers SET, reports parameters."""

    def __init__(self, reported=None):
        self.asked, self.statements, self.reported, self.closed = {}, [], reported, False

    def __call__(self, dsn=None, **kwargs):
        self.asked = kwargs
        return self

    def cursor(self):
        return self

    def execute(self, sql, params=None):
        self.statements.append((sql, params))

    def fetchall(self):  # the schemas that exist: both, once 400_schemas.sql ran
        return [("etl",), ("analytics",)]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        pass

    def commit(self):
        pass

    def close(self):
        self.closed = True

    def get_parameter_status(self, name):
        return self.reported if name == "standard_conforming_strings" else None


def test_connections_ask_for_tls_keepalives_and_a_statement_timeout(monkeypatch, tmp_path):
    server = _Server()
    monkeypatch.setattr(psycopg2, "connect", server)
    settings = _settings(monkeypatch, tmp_path, REDSHIFT_HOST="dwh.example", DB_PASSWORD="Secret123abc",
                         STATEMENT_TIMEOUT="30m")
    warehouses.of(settings).connect()
    assert server.asked["sslmode"] == "require" and server.asked["host"] == "dwh.example"
    assert server.asked["port"] == 5439 and server.asked["keepalives"] == 1
    assert server.asked["gssencmode"] == "disable"  # Redshift (PostgreSQL 8.0) knows no GSSAPI encryption
    assert server.asked["keepalives_idle"] <= 200  # under the idle timeouts of NAT gateways and firewalls
    # floats to 17 digits, which read back exactly (Redshift's default, 0, gives 15)
    # and the star's and the loader's schemas searched, so the SQL names tables unqualified
    assert server.statements == [("SET statement_timeout TO %s", (1_800_000,)),
                                 ("SELECT nspname FROM pg_namespace WHERE nspname IN ('etl', 'analytics')", None),
                                 ("SET search_path TO etl, analytics, public", None),
                                 ("SET extra_float_digits TO 2", None)]
    warehouses.of(_settings(monkeypatch, tmp_path, REDSHIFT_HOST="dwh.example", DB_PASSWORD="Secret123abc",
                            REDSHIFT_SSLMODE="verify-full")).connect()
    assert server.asked["sslmode"] == "verify-full"


@pytest.mark.parametrize("reported", ["on", "off"])
def test_a_server_that_reports_standard_conforming_strings_is_refused(monkeypatch, tmp_path, reported):
    # Redshift has no such parameter; psycopg2 would quote backslashes for another server
    server = _Server(reported)
    monkeypatch.setattr(psycopg2, "connect", server)
    settings = _settings(monkeypatch, tmp_path, REDSHIFT_HOST="dwh.example", DB_PASSWORD="Secret123abc")
    with pytest.raises(connection.QuotingError, match=f"standard_conforming_strings={reported}"):
        warehouses.of(settings).connect()
    assert server.closed


def test_tls_cannot_be_switched_off(monkeypatch, tmp_path):
    with pytest.raises(SettingsError, match="REDSHIFT_SSLMODE"):
        _settings(monkeypatch, tmp_path, REDSHIFT_SSLMODE="disable")


def test_a_failed_connection_names_the_cluster_not_the_password(monkeypatch, tmp_path):
    canary = "Canary" + uuid.uuid4().hex[:12] + "X9"
    settings = _settings(monkeypatch, tmp_path, REDSHIFT_HOST="127.0.0.1", DB_PORT="1", DB_PASSWORD=canary)
    with pytest.raises(db.DatabaseError) as err:
        warehouses.of(settings).connect()
    assert "cannot connect to redshift://sparkify_admin@127.0.0.1:1/sparkify" in str(err.value)
    assert canary not in str(err.value)


def test_without_db_password_the_password_comes_from_secrets_manager(monkeypatch, tmp_path):
    rs = _settings(monkeypatch, tmp_path).redshift
    kwargs = {"region_name": "us-west-2", "aws_access_key_id": "x", "aws_secret_access_key": "x"}
    rs_client, secrets = boto3.client("redshift", **kwargs), boto3.client("secretsmanager", **kwargs)
    arn = "arn:aws:secretsmanager:us-west-2:123456789012:secret:redshift!sparkify-dwh-admin-AbCdEf"
    with Stubber(rs_client) as rs_stub, Stubber(secrets) as sm_stub:
        rs_stub.add_response("describe_clusters", {"Clusters": [
            {"ClusterIdentifier": "sparkify-dwh", "MasterPasswordSecretArn": arn}]},
            {"ClusterIdentifier": "sparkify-dwh"})
        sm_stub.add_response("get_secret_value", {"SecretString": json.dumps(
            {"username": "sparkify_admin", "password": "FromSecrets1"})}, {"SecretId": arn})
        assert connection.master_password(rs, secrets=secrets, redshift=rs_client) == "FromSecrets1"


def test_psql_and_the_url_honour_the_warehouse_and_keep_the_password_off_the_command_line(monkeypatch, tmp_path):
    settings = _settings(monkeypatch, tmp_path, REDSHIFT_HOST="dwh.example", DB_PASSWORD="Secret123abc")
    warehouse = warehouses.of(settings)
    assert isinstance(warehouse, Redshift)
    assert warehouse.url() == "redshift://sparkify_admin@dwh.example:5439/sparkify"
    argv, env = warehouse.psql()
    assert argv[0].endswith("psql") and "Secret123abc" not in " ".join(argv)
    assert "host=dwh.example" in argv[1] and "sslmode=require" in argv[1]
    assert env == {"PGPASSWORD": "Secret123abc"}
    assert "runs on AWS" in warehouse.stop()


@pytest.mark.parametrize("node_type,count,ok", [
    ("ra3.large", "1", True), ("ra3.large", "16", True), ("ra3.large", "17", False),
    ("ra3.xlplus", "1", True), ("ra3.4xlarge", "1", False), ("ra3.4xlarge", "2", True),
    ("ra3.4xlarge", "33", False), ("ra3.16xlarge", "100", True), ("ra3.16xlarge", "1", False),
    ("dc2.8xlarge", "1", False), ("dc2.large", "32", True)])
def test_node_count_is_checked_against_the_node_type_s_range(monkeypatch, tmp_path, node_type, count, ok):
    values = {"NODE_TYPE": node_type, "NODE_COUNT": count}
    if ok:
        assert _settings(monkeypatch, tmp_path, **values).redshift.node_count == int(count)
    else:
        with pytest.raises(SettingsError, match=f"a {node_type} cluster has"):
            _settings(monkeypatch, tmp_path, **values)


@pytest.mark.parametrize("count", ["101", "128"])
def test_more_than_a_hundred_nodes_are_refused_as_needing_a_quota_increase(monkeypatch, tmp_path, count):
    # CreateCluster's NumberOfNodes: "Value must be at least 1 and no more than 100"
    with pytest.raises(SettingsError, match=f"^NODE_COUNT={count}: Redshift takes at most 100 nodes unless AWS "
                                            "raises the account's node quota"):
        _settings(monkeypatch, tmp_path, NODE_TYPE="ra3.16xlarge", NODE_COUNT=count)


def test_slices_follow_the_node_type(monkeypatch, tmp_path):
    assert _settings(monkeypatch, tmp_path, NODE_TYPE="ra3.4xlarge", NODE_COUNT="3").redshift.slices == 12


def test_a_staging_prefix_whose_part_names_would_be_cut_is_refused(monkeypatch, tmp_path):
    base = "s3://stage-bucket/"
    ok = base + "p" * (200 - len(base))
    assert _settings(monkeypatch, tmp_path, STAGING_PREFIX=ok).redshift.staging_prefix == ok
    with pytest.raises(SettingsError, match="sys_load_error_detail"):
        _settings(monkeypatch, tmp_path, STAGING_PREFIX=ok + "p")


def test_max_errors_above_what_copy_can_allow_is_refused_on_redshift(monkeypatch, tmp_path):
    assert _settings(monkeypatch, tmp_path, MAX_ERRORS="99999").max_errors == 99_999
    with pytest.raises(SettingsError, match="MAX_ERRORS=100000: at most 99,999 on Redshift"):
        _settings(monkeypatch, tmp_path, MAX_ERRORS="100000")


def test_db_user_starts_with_a_letter(monkeypatch, tmp_path):
    with pytest.raises(SettingsError, match="DB_USER='_admin'"):
        _settings(monkeypatch, tmp_path, DB_USER="_admin")


def test_a_new_dc2_cluster_is_refused_before_any_request(monkeypatch, tmp_path):
    from sparkify_dwh import aws

    rs = _settings(monkeypatch, tmp_path, NODE_TYPE="dc2.large", DB_PASSWORD="Secret123abc").redshift
    client = boto3.client("redshift", region_name="us-west-2", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(client) as stub:
        stub.add_client_error("describe_clusters", "ClusterNotFound", http_status_code=404,
                              expected_params={"ClusterIdentifier": "sparkify-dwh"})
        with pytest.raises(SettingsError, match="no longer creates DC2 clusters"):
            aws.ensure_cluster(client, rs, "arn:aws:iam::123456789012:role/r", "sg-1", print)
        stub.assert_no_pending_responses()
