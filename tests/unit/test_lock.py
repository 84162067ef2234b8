"""One lock for every install: uv.lock agrees with pyproject.toml, the virtualenv holds exactly its versions,
and the Makefile, the Dockerfile and .ci/run install from it with the one pinned uv."""

import importlib.metadata
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import ROOT

LOCK = ROOT / "uv.lock"


def _uv() -> str:
    """The Makefile's uv (make install puts it in .uv/), else one on PATH."""
    local = ROOT / ".uv" / "bin" / "uv"
    found = str(local) if local.exists() else shutil.which("uv")
    if not found:
        pytest.fail("no uv: run `make install`, which installs the pinned uv into .uv/")
    return found


def _makefile_uv_version() -> str:
    return re.search(r"^UV_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.M).group(1)


def _lock_is_current(project: Path) -> subprocess.CompletedProcess:
    return subprocess.run([_uv(), "lock", "--check", "--offline", "--directory", str(project)],
                          capture_output=True, text=True, env={"UV_PYTHON_DOWNLOADS": "never", "PATH": "/usr/bin:/bin",
                                                               "HOME": str(Path.home())})


def test_the_lock_agrees_with_pyproject():
    checked = _lock_is_current(ROOT)
    assert checked.returncode == 0, (
        "uv.lock is stale: pyproject.toml's dependencies changed since it was written; run `make lock` "
        f"(then `make test`) and commit uv.lock\n{checked.stderr}")


def test_a_dependency_added_to_pyproject_makes_the_lock_stale(tmp_path):
    for name in ("pyproject.toml", "uv.lock", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    pyproject = tmp_path / "pyproject.toml"
    text = pyproject.read_text()
    pyproject.write_text(text.replace('"msgspec>=0.18",', '"msgspec>=0.19",', 1))
    assert pyproject.read_text() != text
    assert _lock_is_current(tmp_path).returncode != 0


def _locked() -> dict[str, set[str]]:
    versions: dict[str, set[str]] = {}
    for package in tomllib.loads(LOCK.read_text())["package"]:
        versions.setdefault(_norm(package["name"]), set()).add(package["version"])
    return versions


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_package_in_the_virtualenv_is_the_locked_version():
    locked = _locked()
    installed = {_norm(d.metadata["Name"]): d.version for d in importlib.metadata.distributions()}
    installed.pop("sparkify-dwh")
    assert installed, "no distributions found"
    wrong = {name: (version, sorted(locked.get(name, ()))) for name, version in installed.items()
             if version not in locked.get(name, ())}
    assert not wrong, f"installed, not as locked (installed, locked): {wrong}; run `make install`"


def test_the_virtualenv_is_exactly_the_locked_dev_set():
    """Nothing missing, nothing extra: uv compares the environment with the lock."""
    checked = subprocess.run([_uv(), "sync", "--frozen", "--extra", "dev", "--check", "--offline",
                              "--directory", str(ROOT)], capture_output=True, text=True,
                             env={"UV_PROJECT_ENVIRONMENT": sys.prefix, "PATH": "/usr/bin:/bin",
                                  "HOME": str(Path.home()), "UV_PYTHON_DOWNLOADS": "never"})
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_every_install_reads_the_lock_with_the_one_pinned_uv():
    version = _makefile_uv_version()
    makefile = (ROOT / "Makefile").read_text()
    dockerfile = (ROOT / "Dockerfile").read_text()
    # the Makefile: the stamp depends on the lock; uv sync --frozen; no unpinned pip upgrade
    assert re.search(r"^\$\(INSTALLED\): uv\.lock", makefile, re.M)
    assert "sync --frozen --extra dev" in makefile
    assert "--upgrade pip" not in makefile and "--upgrade pip" not in dockerfile
    assert f"uv=={version}" not in makefile and "uv==$(UV_VERSION)" in makefile
    # the image: the same uv, the runtime set only (no --extra), from the same lock
    assert f"ARG UV_VERSION={version}" in dockerfile and "--build-arg UV_VERSION=$(UV_VERSION)" in makefile
    assert "COPY pyproject.toml uv.lock" in dockerfile
    sync = next(line for line in dockerfile.splitlines() if "uv sync" in line)
    assert "--frozen" in sync and "--extra" not in sync
    assert not re.search(r"pip install (?!--quiet uv==)", dockerfile), "the image installs only uv with pip"
    # CI: the README's test command, which installs from the lock
    assert "make test" in (ROOT / ".ci" / "run").read_text()
    assert "make test" in (ROOT / "README.md").read_text()


def test_the_dependencies_page_says_how_to_update_them_and_the_install_time():
    page = (ROOT / "docs" / "dependencies.md").read_text()
    assert "make lock && make test" in page
    assert re.search(r"`make install`[^\n]* \d+ s", page), "docs/dependencies.md states the install time"
