"""The analysts' login: READER_USER (sparkify_reader), which reads the star (schema analytics) and nothing else.

`grant` creates the user, or gives it a new password when it exists (a rotation), with USAGE on analytics,
SELECT on every table there and on every table the loader makes there later (default privileges), and its
search_path set to analytics, so the analysts' queries name the star's tables unqualified. `revoke` takes all of
that back and drops the user. The same statements on both warehouses, which both take CREATE USER, ALTER USER and
ALTER DEFAULT PRIVILEGES in these forms; only the password's verifier differs (the warehouse's `caps`).

The password is generated here, sent only as a verifier (a hash: the clear text never reaches the server, nor
its log), and kept where the warehouse keeps it (`.env` locally, a Secrets Manager secret of the project's on AWS).

Redshift, https://docs.aws.amazon.com/redshift/latest/dg/r_CREATE_USER.html: "CREATE USER name [ WITH ] PASSWORD
{ 'password' | 'md5hash' | 'sha256hash' | DISABLE }"; "You can specify the password in clear text, as an MD5 hash
string, or as a SHA256 hash string": the MD5 form is 'md5' followed by the MD5 of the password and the user name
concatenated, PostgreSQL's own md5 verifier. r_ALTER_USER.html: "PASSWORD { 'password' | 'md5hash' | 'sha256hash'
| DISABLE }", "SET parameter { TO | = } { value | DEFAULT }". r_GRANT-examples.html: "grant select on all tables
in schema qa_tickit to fred"; "USAGE grants users access to the objects in the schema, but doesn't grant privileges
such as INSERT or SELECT on those objects": both are granted. r_ALTER_DEFAULT_PRIVILEGES.html: "ALTER DEFAULT
PRIVILEGES [ FOR USER target_user [, ...] ] [ IN SCHEMA schema_name [, ...] ] grant_or_revoke_clause", "GRANT {
{ SELECT | ... } [,...] } ON TABLES TO { user_name ... }". r_DROP_USER.html: "You can't drop a user if the user
owns any database object ... or if the user has any privileges on a database, table, column, or group": revoke
takes every grant back (the default privileges too) before DROP USER.
PostgreSQL: a password given as 'SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>' is stored as given
(CREATE ROLE: "If the presented password string is already in MD5-encrypted or SCRAM-encrypted format, then it is
stored as-is"), computed as RFC 5802 and 7677 describe.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import string

from . import db

USER = re.compile(r"[a-z_][a-z0-9_]{0,62}")
EXISTS = "SELECT COUNT(*) FROM pg_user WHERE usename = %s"
ITERATIONS = 4096  # PostgreSQL's scram_iterations default


def new_password(length: int = 32) -> str:
    """Letters and digits, at least one upper-case letter, one lower-case and one digit: what Redshift asks of a
    clear-text password (8 to 64 characters), so the same password would do there too."""
    alphabet = string.ascii_letters + string.digits
    while True:
        password = "".join(secrets.choice(alphabet) for _ in range(length))
        if any(c.isupper() for c in password) and any(c.islower() for c in password) and \
                any(c.isdigit() for c in password):
            return password


def scram_sha256(password: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    """PostgreSQL's SCRAM-SHA-256 verifier of `password` (letters and digits: SASLprep leaves them as they are)."""
    salt = salt if salt is not None else os.urandom(16)
    salted = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    client_key = hmac.new(salted, b"Client Key", hashlib.sha256).digest()
    stored_key = hashlib.sha256(client_key).digest()
    server_key = hmac.new(salted, b"Server Key", hashlib.sha256).digest()
    b64 = base64.b64encode
    return f"SCRAM-SHA-256${iterations}:{b64(salt).decode()}${b64(stored_key).decode()}:{b64(server_key).decode()}"


def md5(password: str, user: str) -> str:
    """The MD5 verifier Redshift (and PostgreSQL) take: 'md5' and the MD5 of the password, then the user name."""
    return "md5" + hashlib.md5((password + user).encode("utf-8")).hexdigest()


VERIFIERS = {"scram-sha-256": lambda password, user: scram_sha256(password), "md5": md5}


def checked(user: str) -> str:
    """READER_USER as it may appear in SQL: a plain lower-case name (no quoting needed, nothing to inject)."""
    if not USER.fullmatch(user or ""):
        raise ValueError(f"READER_USER={user!r}: expected a lower-case name of letters, digits and _ (at most 63)")
    return user


def grant_statements(user: str, verifier: str, exists: bool) -> list[tuple[str, tuple | None]]:
    user, schema = checked(user), db.STAR_SCHEMA
    return [
        (f"{'ALTER' if exists else 'CREATE'} USER {user} PASSWORD %s", (verifier,)),
        (f"ALTER USER {user} SET search_path TO {schema}", None),
        (f"GRANT USAGE ON SCHEMA {schema} TO {user}", None),
        (f"GRANT SELECT ON ALL TABLES IN SCHEMA {schema} TO {user}", None),
        (f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} GRANT SELECT ON TABLES TO {user}", None),
    ]


def revoke_statements(user: str) -> list[tuple[str, tuple | None]]:
    user, schema = checked(user), db.STAR_SCHEMA
    return [
        (f"ALTER DEFAULT PRIVILEGES IN SCHEMA {schema} REVOKE SELECT ON TABLES FROM {user}", None),
        (f"REVOKE SELECT ON ALL TABLES IN SCHEMA {schema} FROM {user}", None),
        (f"REVOKE USAGE ON SCHEMA {schema} FROM {user}", None),
        (f"DROP USER {user}", None),
    ]


def exists(cur, user: str) -> bool:
    cur.execute(EXISTS, (user,))
    return bool(cur.fetchone()[0])


RESERVED = ("public", "rdsdb")  # PUBLIC is every user; rdsdb is Redshift's own (internal) user
# pg_user holds usesuper on both warehouses (Redshift's PG_USER catalog view, PostgreSQL's pg_user view)
SUPERUSER = "SELECT usesuper FROM pg_user WHERE usename = %s"


def refuse_loader(cur, user: str) -> None:
    """READER_USER must be a login of its own: never the loader's (a grant would give it a new password, and
    every load after would fail), a superuser, or a name the warehouse keeps."""
    cur.execute("SELECT current_user")
    if user == cur.fetchone()[0] or user in RESERVED:
        raise ValueError(f"READER_USER={user!r} is the loader's own login or a name the warehouse keeps: "
                         "name a login of its own (the default is sparkify_reader)")
    cur.execute(SUPERUSER, (user,))
    found = cur.fetchone()
    if found and found[0]:
        raise ValueError(f"READER_USER={user!r} is a superuser: name a login of its own")


def grant(conn, user: str, hashing: str) -> tuple[str, bool]:
    """Create READER_USER, or give it a new password; (the password, whether the user existed). Committed once
    every statement ran: a failure leaves the user as it was."""
    password = new_password()
    with db.transaction(conn) as cur:
        refuse_loader(cur, user)
        existed = exists(cur, user)
        for statement, params in grant_statements(user, VERIFIERS[hashing](password, user), existed):
            cur.execute(statement, params)
        conn.commit()
    return password, existed


def revoke(conn, user: str) -> bool:
    """Drop READER_USER and everything granted to it; whether there was one."""
    with db.transaction(conn) as cur:
        if not exists(cur, user):
            conn.rollback()
            return False
        for statement, params in revoke_statements(user):
            cur.execute(statement, params)
        conn.commit()
    return True
