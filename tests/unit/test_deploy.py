"""The schedules in deploy/: the GitHub Actions workflow against GitHub's schema and zizmor's audits, the
crontab line, and the Airflow DAG read statically (Airflow itself is not installed)."""

import ast
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from conftest import ROOT

DEPLOY = ROOT / "deploy"
WORKFLOW = DEPLOY / "github-actions" / "sparkify-daily-load.yml"
BIN = Path(sys.executable).parent


def _workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text())


def test_the_workflow_is_valid_against_githubs_workflow_schema():
    checked = subprocess.run([BIN / "check-jsonschema", "--builtin-schema", "vendor.github-workflows", WORKFLOW],
                             capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def _zizmor(path: Path) -> list[dict]:
    found = subprocess.run([BIN / "zizmor", "--offline", "--min-severity", "medium", "--format", "json", path],
                           capture_output=True, text=True)
    return json.loads(found.stdout or "[]")


def test_zizmor_finds_no_medium_or_high_issue():
    assert _zizmor(WORKFLOW) == []


def test_zizmor_would_see_an_unpinned_action_or_an_injected_expression(tmp_path):
    """The audit above can fail: the same workflow with an action by tag and an expression in a script."""
    bad = tmp_path / "bad.yml"
    text = WORKFLOW.read_text()
    text = re.sub(r"actions/checkout@[0-9a-f]{40}", "actions/checkout@v4", text)
    text = text.replace('run: docker pull "$IMAGE"', "run: docker pull ${{ github.event.head_commit.message }}")
    bad.write_text(text)
    idents = {finding["ident"] for finding in _zizmor(bad)}
    assert {"unpinned-uses", "template-injection"} <= idents, idents


def test_the_workflow_runs_load_then_verify_one_at_a_time_with_least_privilege():
    flow = _workflow()
    triggers = flow[True] if True in flow else flow["on"]  # YAML 1.1 reads the key `on` as true
    assert triggers["schedule"][0]["cron"]
    assert flow["permissions"] == {}
    assert flow["concurrency"]["cancel-in-progress"] is False
    (job,) = flow["jobs"].values()
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    steps = job["steps"]
    for step in steps:
        if "uses" in step:
            assert re.fullmatch(r"[\w-]+/[\w-]+@[0-9a-f]{40}", step["uses"]), step["uses"]
    runs = [step.get("run", "") for step in steps]
    load = next(i for i, r in enumerate(runs) if "run-in-image load" in r)
    verify = next(i for i, r in enumerate(runs) if "run-in-image verify" in r)
    assert load < verify
    upload = next(step for step in steps if step.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["with"]["path"] == "out/" and upload["if"] == "always()"
    # the artifacts: the summary's counts and verify's results, never the rejected lines themselves
    assert "load_errors" not in "".join(runs) and "raw_line" not in WORKFLOW.read_text()
    assert any("rejects.txt" in r for r in runs)


def test_the_image_gets_secrets_by_name_never_by_value_on_a_command_line():
    script = (DEPLOY / "github-actions" / "run-in-image").read_text()
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "ALERT_WEBHOOK_URL"):
        assert re.search(rf"-e {name}(\s|$)", script), name
    assert "${{" not in script and "$AWS_SECRET" not in script


def test_the_crontab_line_loads_then_verifies_with_docker_run_one_at_a_time():
    lines = [line for line in (DEPLOY / "cron" / "sparkify.crontab").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    (line,) = lines
    fields = line.split(maxsplit=5)
    assert all(re.fullmatch(r"[\d*/,-]+", f) for f in fields[:5]), fields[:5]
    command = fields[5]
    assert command.startswith("flock -n ")
    assert re.search(r"docker run --rm .* sparkify-dwh load && docker run --rm .* sparkify-dwh verify", command)


def _call_kwargs(tree: ast.AST, name: str) -> dict[str, ast.expr]:
    call = next(node for node in ast.walk(tree) if isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == name)
    return {k.arg: k.value for k in call.keywords}


def test_the_airflow_dag_retries_three_times_five_minutes_apart_one_run_at_a_time_no_catchup():
    source = (DEPLOY / "airflow" / "sparkify_load.py").read_text()
    tree = ast.parse(source)  # it parses
    dag = _call_kwargs(tree, "DAG")
    assert ast.literal_eval(dag["catchup"]) is False
    assert ast.literal_eval(dag["max_active_runs"]) == 1
    defaults = {ast.literal_eval(k): v for k, v in zip(dag["default_args"].keys, dag["default_args"].values)}
    assert ast.literal_eval(defaults["retries"]) == 3
    delay = defaults["retry_delay"]
    assert delay.func.id == "timedelta" and {k.arg: ast.literal_eval(k.value) for k in delay.keywords} == \
        {"minutes": 5}
    tasks = [node for node in ast.walk(tree) if isinstance(node, ast.Call)
             and getattr(node.func, "id", None) == "PythonOperator"]
    commands = {next(ast.literal_eval(k.value) for k in t.keywords if k.arg == "task_id"): ast.unparse(t)
                for t in tasks}
    assert set(commands) == {"load", "verify"}
    assert "'command': 'load'" in commands["load"] and "'command': 'verify'" in commands["verify"]
    assert re.search(r"^\s*load >> verify$", source, re.M)


class _Retry(Exception):
    pass


class _Fail(Exception):
    pass


def _dag_module(monkeypatch):
    """The DAG file imported with a stand-in for Airflow (not installed here): its DAG and operator record
    nothing; AirflowException means "retry", AirflowFailException "fail now"."""
    import importlib.util
    import sys
    import types

    class _Any:
        def __init__(self, *a, **k):
            pass

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def __rshift__(self, other):
            return other

    airflow = types.ModuleType("airflow")
    airflow.DAG = _Any
    exceptions = types.ModuleType("airflow.exceptions")
    exceptions.AirflowException, exceptions.AirflowFailException = _Retry, _Fail
    python = types.ModuleType("airflow.operators.python")
    python.PythonOperator = _Any
    for name, module in {"airflow": airflow, "airflow.exceptions": exceptions, "airflow.operators": types.ModuleType(
            "airflow.operators"), "airflow.operators.python": python}.items():
        monkeypatch.setitem(sys.modules, name, module)
    spec = importlib.util.spec_from_file_location("sparkify_load_dag", DEPLOY / "airflow" / "sparkify_load.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("code, raised", [(0, None), (75, _Retry), (125, _Retry), (137, _Retry), (143, _Retry),
                                          (130, _Retry), (1, _Fail), (2, _Fail), (3, _Fail), (4, _Fail)])
def test_the_airflow_task_fails_at_once_what_a_person_must_fix_and_retries_the_rest(monkeypatch, tmp_path, code,
                                                                                       raised):
    """The task runs the image (a docker that exits `code` here): 1 to 4, which a retry would only repeat,
    fail at once with the code's meaning; 75 (transient) and Docker's own failures are retried."""
    from sparkify_dwh import outcomes

    docker = tmp_path / "docker"
    docker.write_text(f"#!/bin/sh\necho \"$@\" > {tmp_path}/argv\nexit {code}\n")
    docker.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}:/usr/bin:/bin")
    dag = _dag_module(monkeypatch)
    assert dag.TRANSIENT == outcomes.TRANSIENT
    others = {c: m for c, m in outcomes.MEANING.items()
              if c not in (outcomes.OK, outcomes.TRANSIENT, outcomes.INTERRUPTED)}
    assert others == dag.NEEDS_A_PERSON
    if raised is None:
        dag.run_image("load", "sparkify-dwh")
    else:
        with pytest.raises(raised, match=f"load: exit {code}"):
            dag.run_image("load", "sparkify-dwh")
    argv = (tmp_path / "argv").read_text().split()
    assert argv[:4] == ["run", "--rm", "--env-file", "/etc/sparkify.env"] and argv[-2:] == ["sparkify-dwh", "load"]
