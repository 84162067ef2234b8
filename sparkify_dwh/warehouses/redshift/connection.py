"""Connections to Redshift: TLS always, keepalives and a statement timeout, the password from DB_PASSWORD
or Secrets Manager, and a check that values sent as bind parameters reach the server as written.

psycopg2 writes bind parameters into the statement as quoted literals (libpq's PQescapeStringConn),
and how it quotes a backslash depends on the server's standard_conforming_strings. Redshift, from
PostgreSQL 8.0, has no such parameter ('unrecognized configuration parameter "standard_conforming_strings"')
and reads a backslash in a literal as an escape. With the parameter unreported, libpq doubles each
backslash and psycopg2 writes a plain '...' literal, which is what Redshift reads back as written.
Had the server reported it, psycopg2 would write E'...' (which PostgreSQL 8.0 does not know) or leave
backslashes single: the connection is refused before anything is sent.
"""

from __future__ import annotations

import json

from ... import db, serverless
from ...aws import client, describe_cluster
from ...config import RedshiftSettings, Settings, SettingsError

# Every connection: floats printed with 17 significant digits, which read back as the same double, so make
# acceptance compares Redshift's floats with PostgreSQL's exactly. Redshift's default is 0, 15 digits: "The
# value can be set as high as 2, to include partially-significant digits; this is especially useful for
# outputting float data that needs to be restored exactly" (extra_float_digits).
SESSION_SETUP = ("SET extra_float_digits TO 2",)


class QuotingError(db.DatabaseError):
    """Bind parameters would not reach this server as written."""


def master_password(rs: RedshiftSettings, secrets=None, redshift=None) -> str:
    """DB_PASSWORD, or the password Redshift keeps in Secrets Manager for the cluster or, on Serverless, for
    the namespace's admin (read with GetNamespace: no DescribeClusters and no STL/STV view on Serverless)."""
    if rs.db_password:
        return rs.db_password
    if rs.serverless:
        return serverless.admin_password(redshift or client("redshift-serverless", rs.region),
                                         secrets or client("secretsmanager", rs.region), rs)

    redshift = redshift or client("redshift", rs.region)
    cluster = describe_cluster(redshift, rs.cluster_identifier)
    arn = (cluster or {}).get("MasterPasswordSecretArn")
    if not arn:
        raise SettingsError(
            f"DB_PASSWORD is not set and cluster {rs.cluster_identifier} keeps no password in Secrets Manager: "
            "set DB_PASSWORD (see env.example)"
        )
    secrets = secrets or client("secretsmanager", rs.region)
    return json.loads(secrets.get_secret_value(SecretId=arn)["SecretString"])["password"]


def where(rs: RedshiftSettings) -> str:
    return f"redshift://{rs.db_user}@{rs.host}:{rs.db_port}/{rs.db_name}"


def params(rs: RedshiftSettings, password: str) -> dict:
    if not rs.host:
        raise SettingsError("REDSHIFT_HOST is not set: make provision writes it to .env (see env.example)")
    # gssencmode=disable: libpq 12 and later first ask a server for GSSAPI encryption, which Redshift,
    # from PostgreSQL 8.0, does not know; TLS (sslmode) is what protects the connection.
    return {"host": rs.host, "port": rs.db_port, "dbname": rs.db_name, "user": rs.db_user, "password": password,
            "sslmode": rs.sslmode, "gssencmode": "disable"}


def check_quoting(conn) -> None:
    """Refuse a server whose string literals psycopg2 would not quote for Redshift (see the module)."""
    reported = conn.get_parameter_status("standard_conforming_strings")
    if reported is not None:
        conn.close()
        raise QuotingError(
            f"the server reports standard_conforming_strings={reported}, which Redshift does not: psycopg2 would "
            "quote backslashes in values for another server; refusing to send rows to it"
        )


def connect(settings: Settings, password: str):
    rs = settings.redshift
    conn = db.connect(where(rs), secrets=(password,), statement_timeout_ms=settings.statement_timeout_ms,
                      **params(rs, password))
    check_quoting(conn)
    try:
        with conn.cursor() as cur:
            for statement in SESSION_SETUP:
                cur.execute(statement)
        conn.commit()
    except BaseException:
        conn.close()
        raise
    return conn
