"""``rerun_failed_from_task``'s record in the task state store, case by case, against the emulator: which
recorded instances are rerun from, and which give a whole-flow trigger. The store is a stand-in here (a
dict behind Airflow's accessor methods); tests/integration/test_rerun_from_failed_task.py runs the same
paths through Airflow's own store and retries."""

from __future__ import annotations

from typing import Any

import pytest
from pytest_mock import MockerFixture

from airflow_provider_wfcancel.exceptions import RemoteInstanceFailedError
from airflow_provider_wfcancel.operators._rerun import RERUN_KEY
from airflow_provider_wfcancel.operators.enos import EnosTriggerFlowOperator

FLOW = 777


@pytest.fixture
def stored() -> dict[str, Any]:
    return {}


@pytest.fixture
def store_context(
    context: dict[str, Any], stored: dict[str, Any], mocker: MockerFixture, emu: Any, enos_conn: str
) -> dict[str, Any]:
    """The test context with a task state store (``get``/``set``/``delete`` over ``stored``), the emulator
    answering EnOS at once."""
    emu.control.configure(enos_start_delay=0, enos_run_seconds=0)
    store = mocker.MagicMock(name="task_state_store")
    store.get.side_effect = lambda key, default=None: stored.get(key, default)
    store.set.side_effect = lambda key, value, **_: stored.__setitem__(key, value)
    store.delete.side_effect = lambda key: stored.pop(key, None)
    return {**context, "task_state_store": store}


def start(**kwargs: Any) -> EnosTriggerFlowOperator:
    options = {"rerun_failed_from_task": True, "wait_for_completion": True, "poll_interval": 0.01, **kwargs}
    return EnosTriggerFlowOperator(task_id="start", flow_id=FLOW, **options)


def triggers(emu: Any) -> tuple[int, int]:
    counts = emu.control.counts()
    return counts.get("enos.flow.trigger", 0), counts.get("enos.flow.triggerFromTask", 0)


def logged(capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture) -> str:
    captured = capsys.readouterr()
    return " ".join((captured.out + captured.err + caplog.text).split())


def record(instance_id: str) -> dict[str, Any]:
    return {"instance_id": instance_id, "url": None, "status_at_start": None}


@pytest.mark.parametrize("status", [-1, 4, 7], ids=["FAIL", "INTERNAL_ERROR", "TIMEOUT"])
def test_a_failed_instance_of_the_flow_is_rerun_from_its_failed_task(
    emu: Any, store_context: dict[str, Any], stored: dict[str, Any], status: int
) -> None:
    failed = emu.control.create_enos_instance(flow_id=FLOW, status=status)["instanceId"]
    stored[RERUN_KEY] = record(failed)
    result = start().execute(store_context)
    assert triggers(emu) == (0, 1)
    assert result["final_status"] == "SUCCESS"
    assert store_context["ti"].xcoms["instance_id"] == result["instance_id"] != failed
    assert RERUN_KEY not in stored  # the task succeeded


def test_the_instance_is_recorded_as_soon_as_it_is_started_and_kept_when_it_fails(
    emu: Any, store_context: dict[str, Any], stored: dict[str, Any]
) -> None:
    emu.control.define_enos_flow(FLOW, tasks=[1, 2], fail_at_task=2)
    with pytest.raises(RemoteInstanceFailedError) as failed:
        start().execute(store_context)
    instance_id = store_context["ti"].xcoms["instance_id"]
    assert stored[RERUN_KEY]["instance_id"] == instance_id
    assert instance_id in str(failed.value)
    start().execute(store_context)  # the next try
    assert triggers(emu) == (1, 1)


@pytest.mark.parametrize(
    ("make", "why"),
    [
        (lambda emu: f"{FLOW}-20190101000000", "could not be read (EnOS does not know this flow instance"),
        (
            lambda emu: emu.control.create_enos_instance(flow_id=FLOW, status=3)["instanceId"],
            "is SUSPEND, not ended",
        ),
        (
            lambda emu: emu.control.create_enos_instance(flow_id=FLOW, status=10)["instanceId"],
            "ended SKIP, not failed",
        ),
    ],
    ids=["unreadable", "suspended", "skipped"],
)
def test_an_instance_that_did_not_fail_gives_a_whole_flow_trigger(
    emu: Any,
    store_context: dict[str, Any],
    stored: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
    make: Any,
    why: str,
) -> None:
    stored[RERUN_KEY] = record(make(emu))
    start().execute(store_context)
    assert triggers(emu) == (1, 0)
    assert why in logged(capsys, caplog)


def test_an_unreadable_record_is_refused(
    emu: Any,
    store_context: dict[str, Any],
    stored: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    from airflow_provider_wfcancel._provenance import REFUSED

    before = REFUSED["rerun_from_task"]
    stored[RERUN_KEY] = "../x"
    start().execute(store_context)
    assert triggers(emu) == (1, 0)
    assert REFUSED["rerun_from_task"] == before + 1
    assert (
        "Not rerunning from the record in the task state store (unreadable record" in capsys.readouterr().out
    )


def test_without_the_option_the_record_is_neither_read_nor_written(
    emu: Any, store_context: dict[str, Any], stored: dict[str, Any]
) -> None:
    failed = emu.control.create_enos_instance(flow_id=FLOW, status=-1)["instanceId"]
    stored[RERUN_KEY] = record(failed)
    start(rerun_failed_from_task=False, durable=False).execute(store_context)
    assert triggers(emu) == (1, 0)
    assert stored == {RERUN_KEY: record(failed)}
