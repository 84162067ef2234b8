"""compose.yaml in step with the tested path: the services docs/docker.md names, settings the code reads,
a DATABASE_URL that matches its own PostgreSQL, a PostgreSQL the SQL supports, commands that exist."""

import re

import yaml
from conftest import ROOT

from sparkify_dwh import config

COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
DOCUMENTED = set(re.findall(r"^# ?([A-Z][A-Z0-9_]+)=", (ROOT / "env.example").read_text(), re.M))
AWS_CREDENTIALS = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"}  # read by boto3 itself


def _default(value: str) -> str:
    """${NAME:-default} as compose reads it with NAME unset."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def test_the_services_are_postgres_s3_the_loader_built_from_this_dockerfile_and_metabase():
    services = COMPOSE["services"]
    assert set(services) == {"postgres", "s3", "loader", "metabase"}
    loader = services["loader"]
    assert loader["build"] == "."
    assert loader["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert (ROOT / "Dockerfile").is_file()


def test_the_loader_reads_only_documented_settings():
    environment = COMPOSE["services"]["loader"]["environment"]
    assert set(environment) - AWS_CREDENTIALS <= DOCUMENTED, set(environment) - AWS_CREDENTIALS - DOCUMENTED


def test_database_url_names_the_postgres_service_its_user_database_and_password():
    pg = COMPOSE["services"]["postgres"]["environment"]
    url = _default(COMPOSE["services"]["loader"]["environment"]["DATABASE_URL"])
    user, password, database = _default(pg["POSTGRES_USER"]), _default(pg["POSTGRES_PASSWORD"]), pg["POSTGRES_DB"]
    assert url == f"postgresql://{user}:{password}@postgres:5432/{database}"
    assert "pg_isready" in " ".join(COMPOSE["services"]["postgres"]["healthcheck"]["test"])


def test_the_postgres_image_is_one_the_sql_supports():
    image = COMPOSE["services"]["postgres"]["image"]
    major = int(re.match(r"postgres:(\d+)", image).group(1))
    assert major >= 15  # MERGE-era SQL, the version the tests run against or newer


def test_the_loader_s_command_is_one_of_bin():
    (command, *_) = COMPOSE["services"]["loader"]["command"]
    assert (config.BIN_DIR / command).is_file()


def test_metabase_runs_beside_postgres_and_the_readme_s_first_run_step_gives_it_the_reader_s_connection():
    metabase, pg = COMPOSE["services"]["metabase"], COMPOSE["services"]["postgres"]["environment"]
    assert metabase["image"].startswith("metabase/metabase:")
    assert metabase["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert "3000:3000" in metabase["ports"]
    assert metabase["environment"]["MB_DB_FILE"].startswith(metabase["volumes"][0].split(":")[1] + "/")  # kept
    loader = COMPOSE["services"]["loader"]
    settings_file = loader["environment"]["ENV_FILE"]
    (volume,) = loader["volumes"]
    assert settings_file.startswith(volume.split(":")[1] + "/")  # the password outlives the loader's container
    user = _default(loader["environment"]["READER_USER"])
    assert user == config.defaults().reader_user

    readme = (ROOT / "docs" / "bi-tools.md").read_text()
    step = readme[readme.index("**Metabase beside the compose PostgreSQL.**"):]
    commands = re.findall(r"^docker compose (.*?)(?:\s+#.*)?$", step, re.M)
    assert commands[:3] == ["up -d postgres s3 metabase", "run --rm loader reader grant", "run --rm loader load"]
    assert (config.BIN_DIR / "reader").is_file() and (config.BIN_DIR / "load").is_file()
    # the connection Metabase is given is the compose PostgreSQL's, as the reader, on the star's schema
    for field in ("host `postgres`", "port `5432`", f"database name `{pg['POSTGRES_DB']}`", f"username `{user}`",
                  '"Only these": `analytics`', '"host": "postgres"', f'"dbname": "{pg["POSTGRES_DB"]}"',
                  f'"user": "{user}"', '"schema-filters-patterns": "analytics"'):
        assert field in step, field
    assert "http://localhost:3000" in step
