"""Bad input (``cases.BAD_INPUT_CASES``) through the cancel and start operators, the sensors, the event triggers and the cancel notifiers.

An operator or a sensor raises :class:`InvalidInputError` naming the problem; a notifier logs it and returns. Either
way the emulator (where the connection points, when it points anywhere) receives no request at all, and
no secret shows up in what the error or the logs say.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from airflow_provider_wfcancel.exceptions import InvalidInputError
from airflow_provider_wfcancel.notifications.bulk import (
    DomoCancelAllRunningNotifier,
    EnosCancelAllRunningNotifier,
)
from airflow_provider_wfcancel.notifications.domo import DomoCancelWorkflowNotifier
from airflow_provider_wfcancel.notifications.enos import EnosCancelFlowInstanceNotifier
from airflow_provider_wfcancel.operators.bulk import (
    DomoBulkCancelOperator,
    DomoCancelAllRunningOperator,
    EnosBulkCancelOperator,
    EnosCancelAllRunningOperator,
)
from airflow_provider_wfcancel.operators.domo import DomoCancelWorkflowOperator, DomoStartWorkflowOperator
from airflow_provider_wfcancel.operators.enos import EnosCancelFlowInstanceOperator, EnosTriggerFlowOperator
from airflow_provider_wfcancel.sensors.domo import DomoWorkflowInstanceSensor
from airflow_provider_wfcancel.sensors.enos import EnosFlowInstanceSensor
from airflow_provider_wfcancel.triggers.domo import DomoWorkflowFinishedTrigger
from airflow_provider_wfcancel.triggers.enos import EnosFlowFinishedTrigger
from tests.airflow_compat import EVENT_SCHEDULING, needs_airflow
from tests.reliability.cases import BAD_INPUT_CASES, BadInputCase
from tests.reliability.support import (
    CONN_IDS,
    LeakScan,
    changed,
    combined,
    connection,
    emulator_surfaces,
    enable_debug_logs,
    error_surfaces,
    json_surface,
    log_surfaces,
    set_connection,
)
from tests.unit.sensors.harness import MODE_NAMES, SensorTaskInstance, mode_kwargs

OPERATORS = {
    ("domo", "cancel"): DomoCancelWorkflowOperator,
    ("enos", "cancel"): EnosCancelFlowInstanceOperator,
    ("domo", "bulk"): DomoBulkCancelOperator,
    ("enos", "bulk"): EnosBulkCancelOperator,
    ("domo", "all_running"): DomoCancelAllRunningOperator,
    ("enos", "all_running"): EnosCancelAllRunningOperator,
    ("domo", "sensor"): DomoWorkflowInstanceSensor,
    ("enos", "sensor"): EnosFlowInstanceSensor,
    ("domo", "start"): DomoStartWorkflowOperator,
    ("enos", "start"): EnosTriggerFlowOperator,
    ("domo", "watcher"): lambda **kwargs: WatcherTask(DomoWorkflowFinishedTrigger, **kwargs),
    ("enos", "watcher"): lambda **kwargs: WatcherTask(EnosFlowFinishedTrigger, **kwargs),
}


class WatcherTask:
    """An event trigger in the operator rows' harness: built as a DAG file builds it, then one poll."""

    def __init__(self, trigger_class: Any, *, task_id: str, **kwargs: Any) -> None:
        self.trigger = trigger_class(**kwargs)

    def execute(self, context: Any) -> None:
        asyncio.run(self.trigger.poll())


NOTIFIERS = {
    ("domo", "cancel"): DomoCancelWorkflowNotifier,
    ("enos", "cancel"): EnosCancelFlowInstanceNotifier,
    ("domo", "all_running"): DomoCancelAllRunningNotifier,
    ("enos", "all_running"): EnosCancelAllRunningNotifier,
}
TARGETS = {"domo": ("model_id", "a8afdc89-1b2c-4d5e-8f90-1234567890ab"), "enos": ("flow_id", "3377")}
START = {"domo": {"version": "1.0.0", "message_name": "Start"}, "enos": {}}


def arguments(case: BadInputCase) -> dict[str, Any]:
    """Valid arguments with the row's bad one(s) swapped in; short waits in case anything got through."""
    if case.operator == "bulk":
        return {"instance_ids": [case.valid_id], "timeout": 1, "poll_interval": 0.01, **case.kwargs}
    if case.operator == "all_running":
        field, value = TARGETS[case.service]
        return {field: value, "timeout": 1, "poll_interval": 0.01, **case.kwargs}
    if case.operator == "sensor":
        return {case.id_field: case.valid_id, "timeout": 1, "poke_interval": 0.01, **case.kwargs}
    if case.operator == "watcher":
        field, value = TARGETS[case.service]
        return {field: value, "poll_interval": 1, **case.kwargs}
    if case.operator == "start":
        field, value = TARGETS[case.service]
        return {field: value, **START[case.service], "wait_for_completion": True, "timeout": 1, **case.kwargs}
    return {case.id_field: case.valid_id, "timeout": 1, "poll_interval": 0.01, **case.kwargs}


def modes(case: BadInputCase) -> list[dict[str, Any]]:
    """A sensor row runs in each mode; any other row once."""
    return [mode_kwargs(mode) for mode in MODE_NAMES] if case.operator == "sensor" else [{}]


def notifier_arguments(case: BadInputCase) -> dict[str, Any]:
    if case.operator == "all_running":
        field, value = TARGETS[case.service]
        return {field: value, **case.kwargs}
    return arguments(case)


@pytest.fixture
def prepared(case: BadInputCase, sentinel_emu: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The valid sentinel connection at the emulator, with the row's changes."""
    conn = changed(connection(case.service, sentinel_emu.base_url), case.connection, sentinel_emu.base_url)
    set_connection(monkeypatch, CONN_IDS[case.service], conn)
    return sentinel_emu


#: The event triggers' rows run where asset watchers exist (below, building one names the missing mechanism:
#: tests/unit/triggers/test_event_triggers_gating.py).
OPERATOR_CASES = [
    pytest.param(
        case, id=case.id, marks=needs_airflow((3, 0), EVENT_SCHEDULING) if case.operator == "watcher" else ()
    )
    for case in BAD_INPUT_CASES
]


@pytest.mark.parametrize("case", OPERATOR_CASES)
def test_operator_rejects_before_any_request(
    case: BadInputCase,
    prepared: Any,
    leak_scan: LeakScan,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    enable_debug_logs(caplog)
    for mode in modes(case):
        context: dict[str, Any] = {"ti": SensorTaskInstance(), "params": {}}
        task = OPERATORS[case.service, case.operator]
        with pytest.raises(InvalidInputError) as info:
            task(task_id="cancel", **{**mode, **arguments(case)}).execute(context)
        assert case.message in str(info.value)
        assert prepared.control.requests() == []
        assert context["ti"].xcoms == {}
        leak_scan.assert_clean(
            combined(
                [
                    log_surfaces(caplog, capsys.readouterr()),
                    error_surfaces(info.value),
                    json_surface("XCom", context["ti"].xcoms),
                    emulator_surfaces(prepared.control),
                ]
            )
        )


#: The rows a notifier can take: every single-cancel row, and the all-running rows whose argument the
#: all-running notifier has (the bulk operator has no notifier).
NOTIFIER_CASES = [c for c in BAD_INPUT_CASES if c.operator == "cancel" or c.notifier_kwargs]


@pytest.mark.parametrize("case", NOTIFIER_CASES, ids=lambda c: c.id)
def test_notifier_logs_and_never_raises(
    case: BadInputCase,
    prepared: Any,
    leak_scan: LeakScan,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    enable_debug_logs(caplog)
    notifier = NOTIFIERS[case.service, case.operator](**notifier_arguments(case))
    notifier({"params": {}, "ti": None})  # a failure callback: must not raise
    logs = log_surfaces(caplog, capsys.readouterr())
    if case.logged not in "\n".join(logs.values()):
        pytest.fail(f"the notifier did not log {case.logged!r}; it logged:\n{logs['stdout/stderr'][-1500:]}")
    assert prepared.control.requests() == []
    leak_scan.assert_clean(combined([logs, emulator_surfaces(prepared.control)]))
