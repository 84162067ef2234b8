"""Connections to Redshift: TLS always, the password from DB_PASSWORD or Secrets Manager, never in a message."""

import json
import uuid

import boto3
import psycopg2
import pytest
from botocore.stub import Stubber

from sparkify_dwh import db, redshift
from sparkify_dwh.config import SettingsError, load_settings


def _settings(monkeypatch, tmp_path, **values):
    for key in ("DB_PASSWORD", "REDSHIFT_HOST", "REDSHIFT_SSLMODE", "DB_PORT"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.setenv("ENV_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("WAREHOUSE", "redshift")
    for key, value in values.items():
        monkeypatch.setenv(key, value)
    return load_settings()


def test_connections_ask_for_tls(monkeypatch, tmp_path):
    seen = {}
    monkeypatch.setattr(psycopg2, "connect", lambda **kwargs: seen.update(kwargs))
    redshift.connect(_settings(monkeypatch, tmp_path, REDSHIFT_HOST="dwh.example", DB_PASSWORD="Secret123abc"))
    assert seen["sslmode"] == "require" and seen["host"] == "dwh.example" and seen["port"] == 5439
    redshift.connect(_settings(monkeypatch, tmp_path, REDSHIFT_HOST="dwh.example", DB_PASSWORD="Secret123abc",
                               REDSHIFT_SSLMODE="verify-full"))
    assert seen["sslmode"] == "verify-full"


def test_tls_cannot_be_switched_off(monkeypatch, tmp_path):
    with pytest.raises(SettingsError, match="REDSHIFT_SSLMODE"):
        _settings(monkeypatch, tmp_path, REDSHIFT_SSLMODE="disable")


def test_a_failed_connection_names_the_cluster_not_the_password(monkeypatch, tmp_path):
    canary = "Canary" + uuid.uuid4().hex[:12] + "X9"
    settings = _settings(monkeypatch, tmp_path, REDSHIFT_HOST="127.0.0.1", DB_PORT="1", DB_PASSWORD=canary)
    with pytest.raises(db.DatabaseError) as err:
        redshift.connect(settings)
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
        assert redshift.master_password(rs, secrets=secrets, redshift=rs_client) == "FromSecrets1"
