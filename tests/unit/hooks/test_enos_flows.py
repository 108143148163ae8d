"""EnosHook's Trigger Flow From Task and the failed tasks of an instance, against the emulator; the graph's
reading and the trigger bodies without HTTP (``_protocol/enos/flows.py``)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_wfcancel._protocol.enos.flows import (
    FlowTask,
    failed_tasks,
    graph_tasks,
    trigger_payload,
)
from airflow_provider_wfcancel._protocol.model import InstanceState
from airflow_provider_wfcancel.exceptions import ApiError, InvalidInputError
from airflow_provider_wfcancel.hooks.enos import EnosHook
from tests.unit.hooks.test_enos import counts, hook  # noqa: F401  # the fixture

FLOW = 3377


def brief(tasks: list[FlowTask]) -> list[tuple[int | None, str | None, str | None]]:
    return [(task.task_id, task.name, task.status) for task in tasks]


def test_trigger_flow_from_task_starts_an_instance_from_that_task(emu: Any, hook: EnosHook) -> None:  # noqa: F811
    emu.control.configure(enos_start_delay=0, enos_run_seconds=0)
    emu.control.define_enos_flow(FLOW, tasks=[11, 12, 13], fail_at_task=12)
    failed = hook.get_state(hook.trigger_flow(FLOW))
    assert failed.status == "FAIL"
    assert brief(hook.failed_tasks(failed)) == [(12, "task_12", "FAIL")]

    new_id = hook.trigger_flow_from_task(FLOW, 12, 1574385824000)

    (entry,) = emu.control.requests("enos.flow.triggerFromTask")
    assert entry["method"] == "POST"
    assert json.loads(entry["body"]) == {"flowId": FLOW, "taskId": 12, "triggerTime": 1574385824000}
    rerun = hook.get_state(new_id)
    assert rerun.is_success
    assert hook.failed_tasks(rerun) == []


def test_failed_tasks_only_of_a_failed_instance(emu: Any, hook: EnosHook) -> None:  # noqa: F811
    for status, failed in (
        (1, []),
        (8, []),
        (2, []),
        (-1, [(FLOW * 100 + 3, f"task_{FLOW}03", "FAIL")]),  # the last of the default flow's three
    ):
        state = hook.get_state(emu.control.create_enos_instance(flow_id=FLOW, status=status)["instanceId"])
        assert brief(hook.failed_tasks(state)) == failed, status


def test_a_refused_trigger_from_task_names_the_service_code(emu: Any, hook: EnosHook) -> None:  # noqa: F811
    with pytest.raises(ApiError) as caught:
        hook.trigger_flow_from_task(FLOW, 99)
    assert caught.value.service_code == 62102
    assert counts(emu)["enos.flow.triggerFromTask"] == 1  # a business refusal: not resent


@pytest.mark.parametrize(
    ("flow_id", "task_id", "when", "message"),
    [
        (0, 12, None, "flow_id must be a positive integer"),
        (FLOW, 0, None, "task_id must be a positive integer"),
        (FLOW, True, None, "task_id must be a positive integer"),
        (FLOW, "12", None, "task_id must be a positive integer"),
        (FLOW, 2**63, None, "task_id must be a positive integer"),
        (FLOW, 12, -1, "trigger_time_ms must be epoch milliseconds"),
    ],
)
def test_trigger_flow_from_task_validates_before_any_request(
    emu: Any,
    hook: EnosHook,  # noqa: F811
    flow_id: Any,
    task_id: Any,
    when: Any,
    message: str,
) -> None:
    with pytest.raises(InvalidInputError, match=message):
        hook.trigger_flow_from_task(flow_id, task_id, when)
    assert counts(emu) == {}


# -- the graph, without HTTP -------------------------------------------------------------------------------

NODES = [
    {"taskName": "a", "taskId": 1, "status": "SUCCESS"},
    {"taskName": "b", "taskId": "2", "status": "FAIL"},
    {"taskName": "c", "taskId": 3, "status": "TIMEOUT"},
    {"taskName": "sub", "taskId": None, "status": "NONE"},
    {"taskName": "bool", "taskId": True, "status": "FAIL"},
    "not a node",
]


def raw(graph: Any, instance_id: str = "3377-20190808093200") -> dict[str, Any]:
    return {"instanceId": instance_id, "graph": graph}


def test_graph_tasks_reads_the_json_string_and_a_task_id_only_when_usable() -> None:
    graph = json.dumps({"instId": "3377-20190808093200", "tasks": NODES})
    assert brief(graph_tasks(raw(graph))) == [
        (1, "a", "SUCCESS"),
        (2, "b", "FAIL"),
        (3, "c", "TIMEOUT"),
        (None, "sub", "NONE"),
        (None, "bool", "FAIL"),
    ]
    # a failed node without a usable id still counts: rerunning from another failed task could skip it
    assert brief(failed_tasks(raw(graph))) == [(2, "b", "FAIL"), (3, "c", "TIMEOUT"), (None, "bool", "FAIL")]
    assert brief(graph_tasks(raw({"tasks": NODES[:1]}))) == [(1, "a", "SUCCESS")]  # an object works too


@pytest.mark.parametrize(
    "graph",
    [None, "", "{not json", "[]", json.dumps({"tasks": {}}), json.dumps({"instId": "9-1", "tasks": NODES})],
    ids=["missing", "empty", "not-json", "a-list", "tasks-not-a-list", "another-instance"],
)
def test_an_unreadable_graph_is_a_value_error_and_no_failed_task_to_rerun_from(graph: Any) -> None:
    with pytest.raises(ValueError, match="graph is not"):
        failed_tasks(raw(graph))
    failed = InstanceState("EnOS", "3377-20190808093200", "FAIL", True, False, raw=raw(graph))
    assert EnosHook.failed_tasks(failed) == []


def test_trigger_payload() -> None:
    assert trigger_payload(FLOW, 5) == {"flowId": FLOW, "triggerTime": 5}
    assert trigger_payload(FLOW, 5, 12) == {"flowId": FLOW, "taskId": 12, "triggerTime": 5}
    assert trigger_payload(FLOW, None)["triggerTime"] > 1_500_000_000_000
