"""Live publication is batched: after submissions are handled, at most one publication per interval, and
never one per file when several arrive (comparing two publications must not isolate one site)."""

from __future__ import annotations

import time

import dagster as dg
from dagster._core.utils import make_new_run_id

from pipelines.definitions import defs
from pipelines.defs.publication import publication_groupee


def _run(instance, job: str, status: dg.DagsterRunStatus) -> None:
    instance.add_run(dg.DagsterRun(job_name=defs.resolve_job_def(job).name, run_id=make_new_run_id(), status=status))
    time.sleep(0.05)  # distinct timestamps


class Sensor:
    """The sensor evaluated as the daemon does, its cursor carried from one tick to the next."""

    def __init__(self, instance) -> None:
        self.instance, self.cursor = instance, None

    def __call__(self):
        context = dg.build_sensor_context(instance=self.instance, cursor=self.cursor)
        result = publication_groupee(context)
        if isinstance(result, dg.SensorResult):
            self.cursor = result.cursor
            return result.run_requests[0]
        return result


def test_nothing_handled_nothing_published():
    with dg.instance_for_test() as instance:
        assert isinstance(Sensor(instance)(), dg.SkipReason)


def test_the_first_publication_is_immediate_then_batched(monkeypatch):
    monkeypatch.setenv("PRE_INTERVALLE_PUBLICATION_MIN", "15")
    with dg.instance_for_test() as instance:
        _evaluate = Sensor(instance)
        _run(instance, "ingestion", dg.DagsterRunStatus.SUCCESS)
        _run(instance, "ingestion", dg.DagsterRunStatus.FAILURE)  # a refused file counts too
        first = _evaluate()
        assert isinstance(first, dg.RunRequest)
        _run(instance, "publication", dg.DagsterRunStatus.SUCCESS)
        assert "Rien de nouveau" in _evaluate().skip_message
        for _ in range(3):  # three more files within the interval: no publication yet
            _run(instance, "ingestion", dg.DagsterRunStatus.SUCCESS)
            assert "Publication groupée dans" in _evaluate().skip_message
        monkeypatch.setenv("PRE_INTERVALLE_PUBLICATION_MIN", "0")  # the interval is over
        second = _evaluate()
        assert isinstance(second, dg.RunRequest) and second.run_key != first.run_key


def test_a_publication_killed_with_its_service_is_requested_again_once(monkeypatch):
    """Marked failed at the next start (`fail_interrupted_runs`), its changes are still unpublished although the
    cursor covers them: it is requested again, once, whatever the interval; a publication failing on its own is
    not retried (its failure is for an operator)."""
    from pipelines.defs.run_tags import INTERRUPTED_TAG

    monkeypatch.setenv("PRE_INTERVALLE_PUBLICATION_MIN", "15")
    with dg.instance_for_test() as instance:
        _evaluate = Sensor(instance)
        _run(instance, "ingestion", dg.DagsterRunStatus.SUCCESS)
        assert isinstance(_evaluate(), dg.RunRequest)
        _run(instance, "publication", dg.DagsterRunStatus.FAILURE)  # failed on its own
        assert "Rien de nouveau" in _evaluate().skip_message
        killed = dg.DagsterRun(job_name="publication", run_id=make_new_run_id(), status=dg.DagsterRunStatus.FAILURE,
                               tags={INTERRUPTED_TAG: "1"})
        instance.add_run(killed)
        again = _evaluate()
        assert isinstance(again, dg.RunRequest) and killed.run_id in again.run_key
        instance.add_run(dg.DagsterRun(job_name="publication", run_id=make_new_run_id(),
                                       status=dg.DagsterRunStatus.SUCCESS))  # the publication requested again
        assert "Rien de nouveau" in _evaluate().skip_message


def test_no_publication_while_one_is_running(monkeypatch):
    monkeypatch.setenv("PRE_INTERVALLE_PUBLICATION_MIN", "0")
    with dg.instance_for_test() as instance:
        _evaluate = Sensor(instance)
        _run(instance, "publication", dg.DagsterRunStatus.STARTED)
        _run(instance, "ingestion", dg.DagsterRunStatus.SUCCESS)
        assert "en cours" in _evaluate().skip_message


def test_a_replay_launched_from_the_ui_is_published_other_ui_runs_are_not(monkeypatch):
    monkeypatch.setenv("PRE_INTERVALLE_PUBLICATION_MIN", "0")
    with dg.instance_for_test() as instance:
        _evaluate = Sensor(instance)

        def ui_run(*keys: str) -> None:
            instance.add_run(dg.DagsterRun(job_name="__ASSET_JOB", run_id=make_new_run_id(),
                                           status=dg.DagsterRunStatus.SUCCESS,
                                           asset_selection=frozenset(dg.AssetKey(k) for k in keys)))
            time.sleep(0.05)

        ui_run("entrepot_publie")  # the published copy materialised by hand: nothing to publish after it
        assert isinstance(_evaluate(), dg.SkipReason)
        ui_run("depot")  # « Materialize » on a partition of depot: a replay
        assert isinstance(_evaluate(), dg.RunRequest)
        _run(instance, "publication", dg.DagsterRunStatus.SUCCESS)
        assert "Rien de nouveau" in _evaluate().skip_message
