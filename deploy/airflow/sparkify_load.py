"""The daily load as an Airflow DAG: load, then verify, each a run of the image.

Copy this file to your DAGs folder. Settings reach the container from an env file on the worker
(`/etc/sparkify.env`, the lines of env.example you need) or from Airflow's own connections, as you
prefer; the image is `sparkify-dwh` unless the Airflow variable `sparkify_image` names another.

Three retries, five minutes apart, one run at a time, no catchup: a day missed is not replayed in
order by Airflow (the next load stages every file it has not seen, so nothing is lost); to reload a
window, run `bin/backfill --from ... --to ...` in the image. A task fails on any non-zero exit code
of the container (the README's table: 75 is transient, which the load has retried inside the run
already; 1 to 4 need a person, and the retries only repeat them); a rerun after any failure is safe.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator

IMAGE = "{{ var.value.get('sparkify_image', 'sparkify-dwh') }}"
RUN = ("docker run --rm --env-file /etc/sparkify.env -v sparkify-data:/home/sparkify/pgdata " + IMAGE)

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
    load = BashOperator(task_id="load", bash_command=RUN + " load")
    verify = BashOperator(task_id="verify", bash_command=RUN + " verify")
    load >> verify
