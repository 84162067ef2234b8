"""The daily load as an Airflow DAG: load, then verify, each a run of the image.

Copy this file to your DAGs folder. Settings reach the container from an env file on the worker
(`/etc/sparkify.env`, the lines of env.example you need) or from Airflow's own connections, as you
prefer; the image is `sparkify-dwh` unless the Airflow variable `sparkify_image` names another.

One run at a time, no catchup: a day missed is not replayed in order by Airflow (the next load stages
every file it has not seen, so nothing is lost); to reload a window, run `bin/backfill --from ... --to ...`
in the image. The container's exit code decides (the README's table): 75 is transient (the warehouse or
S3 was away, and the load has retried inside the run already), so the task is retried, three times, five
minutes apart, as it is when Docker itself fails (125, or a container killed: 137, 143); 1 to 4 need a
person, so the task fails at once, unretried, saying which it was. A rerun after any failure is safe.
"""

from __future__ import annotations

import subprocess
from datetime import datetime, timedelta

from airflow import DAG
from airflow.exceptions import AirflowException, AirflowFailException

try:  # Airflow 3
    from airflow.providers.standard.operators.python import PythonOperator
except ImportError:  # Airflow 2
    from airflow.operators.python import PythonOperator

IMAGE = "{{ var.value.get('sparkify_image', 'sparkify-dwh') }}"
ENV_FILE = "/etc/sparkify.env"
TRANSIENT = 75  # the exit code of a failure worth trying again
# the README's exit codes a retry would only repeat (sparkify_dwh/outcomes.py); any other failure is retried:
# 75, and Docker's own (125 the daemon, 137 and 143 a container killed, 130 interrupted), since a rerun is safe
NEEDS_A_PERSON = {1: "a data check failed (or another failure, named in its message)", 2: "bad settings or usage",
                  3: "more rejected records than MAX_ERRORS", 4: "a source could not be read"}


def run_image(command: str, image: str) -> None:
    """One command of the image, its output in the task's log; only a transient failure is retried."""
    argv = ["docker", "run", "--rm", "--env-file", ENV_FILE, "-v", "sparkify-data:/home/sparkify/pgdata", image,
            command]
    code = subprocess.run(argv, check=False).returncode
    if code in NEEDS_A_PERSON:
        raise AirflowFailException(f"{command}: exit {code}, {NEEDS_A_PERSON[code]}: a retry would only repeat it, "
                                   "so none is made (see the log above; fix it, then clear the task)")
    if code:
        what = "transient" if code == TRANSIENT else "the container did not finish"
        raise AirflowException(f"{command}: exit {code}, {what}: the task is retried")


with DAG(
    dag_id="sparkify_load",
    description="Sparkify's daily load into the warehouse, then its checks",
    schedule="17 3 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    default_args={"retries": 3, "retry_delay": timedelta(minutes=5)},
    tags=["sparkify"],
) as dag:
    load = PythonOperator(task_id="load", python_callable=run_image, op_kwargs={"command": "load", "image": IMAGE})
    verify = PythonOperator(task_id="verify", python_callable=run_image,
                            op_kwargs={"command": "verify", "image": IMAGE})
    load >> verify
