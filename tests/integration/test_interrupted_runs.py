"""A run killed with its service (SIGKILL, a machine restarted) stays STARTED in the Dagster instance,
and with one run at a time it would hold the queue for ever: the next start marks it failed. Real
runs in real processes, on a real instance folder."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
import uuid

import dagster as dg

from pipelines.process import DAGSTER_YAML, START_TIMEOUT_S, fail_interrupted_runs, open_instance_folder

RUN = textwrap.dedent("""
    import sys, time
    import dagster as dg

    @dg.op
    def wait():
        time.sleep(120)

    @dg.job
    def long_job():
        wait()

    instance = dg.DagsterInstance.from_config(sys.argv[1])
    long_job.execute_in_process(instance=instance, tags={"essai": sys.argv[2]})
""")


def _start_run(folder: str, label: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", RUN, folder, label], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)


def _run_of(instance: dg.DagsterInstance, label: str, timeout: float = 60) -> dg.DagsterRun:
    deadline = time.time() + timeout
    while time.time() < deadline:
        runs = instance.get_runs(dg.RunsFilter(tags={"essai": label}, statuses=[dg.DagsterRunStatus.STARTED]))
        if runs and any(e.dagster_event and e.dagster_event.event_type_value == "STEP_START"
                        for e in instance.all_logs(runs[0].run_id)):
            return runs[0]
        time.sleep(0.2)
    raise AssertionError(f"l'exécution {label} n'a pas démarré")


def _failure_message(instance: dg.DagsterInstance, run_id: str) -> str:
    return " ".join(e.dagster_event.message or "" for e in instance.all_logs(run_id)
                    if e.dagster_event and e.dagster_event.event_type_value == "PIPELINE_FAILURE")


def test_a_killed_run_is_marked_failed_and_a_live_one_is_left_alone(tmp_path):
    folder = str(tmp_path / "dagster")
    os.makedirs(folder)
    instance = open_instance_folder(folder, DAGSTER_YAML)
    killed, live = _start_run(folder, "tuee"), _start_run(folder, "vivante")
    try:
        killed_run, live_run = _run_of(instance, "tuee"), _run_of(instance, "vivante")
        os.killpg(killed.pid, signal.SIGKILL)
        killed.wait(10)
        assert instance.get_run_by_id(killed_run.run_id).status == dg.DagsterRunStatus.STARTED  # as it was left

        assert fail_interrupted_runs(instance) == [killed_run.run_id]

        assert instance.get_run_by_id(killed_run.run_id).status == dg.DagsterRunStatus.FAILURE
        message = _failure_message(instance, killed_run.run_id)
        assert "Exécution interrompue" in message and str(killed.pid) in message
        assert instance.get_run_by_id(live_run.run_id).status == dg.DagsterRunStatus.STARTED
        assert fail_interrupted_runs(instance) == []  # nothing more to do, nothing marked twice
    finally:
        for process in (killed, live):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


def test_a_run_that_never_started_is_released_after_the_start_timeout(tmp_path):
    folder = str(tmp_path / "dagster")
    os.makedirs(folder)
    instance = open_instance_folder(folder, DAGSTER_YAML)
    run = instance.add_run(dg.DagsterRun(job_name="publication", run_id=str(uuid.uuid4()),
                                         status=dg.DagsterRunStatus.STARTING))
    assert fail_interrupted_runs(instance) == []  # just launched: its process may still be starting
    assert fail_interrupted_runs(instance, now=time.time() + START_TIMEOUT_S + 5) == [run.run_id]
    assert instance.get_run_by_id(run.run_id).status == dg.DagsterRunStatus.FAILURE
    message = _failure_message(instance, run.run_id)
    assert "avant d'avoir démarré" in message and "la publication est relancée" in message
