"""Bad input (``cases.BAD_INPUT_CASES``) through the cancel operators and the cancel notifiers.

An operator raises :class:`InvalidInputError` naming the problem; a notifier logs it and returns. Either
way the emulator (where the connection points, when it points anywhere) receives no request at all, and
no secret shows up in what the error or the logs say.
"""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_wfcancel.exceptions import InvalidInputError
from airflow_provider_wfcancel.notifications.domo import DomoCancelWorkflowNotifier
from airflow_provider_wfcancel.notifications.enos import EnosCancelFlowInstanceNotifier
from airflow_provider_wfcancel.operators.domo import DomoCancelWorkflowOperator
from airflow_provider_wfcancel.operators.enos import EnosCancelFlowInstanceOperator
from tests.conftest import FakeTaskInstance
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

OPERATORS = {"domo": DomoCancelWorkflowOperator, "enos": EnosCancelFlowInstanceOperator}
NOTIFIERS = {"domo": DomoCancelWorkflowNotifier, "enos": EnosCancelFlowInstanceNotifier}


def arguments(case: BadInputCase) -> dict[str, Any]:
    """Valid arguments with the row's bad one(s) swapped in; short waits in case anything got through."""
    return {case.id_field: case.valid_id, "timeout": 1, "poll_interval": 0.01, **case.kwargs}


@pytest.fixture
def prepared(case: BadInputCase, sentinel_emu: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The valid sentinel connection at the emulator, with the row's changes."""
    conn = changed(connection(case.service, sentinel_emu.base_url), case.connection, sentinel_emu.base_url)
    set_connection(monkeypatch, CONN_IDS[case.service], conn)
    return sentinel_emu


@pytest.mark.parametrize("case", BAD_INPUT_CASES, ids=lambda c: c.id)
def test_operator_rejects_before_any_request(
    case: BadInputCase,
    prepared: Any,
    leak_scan: LeakScan,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    enable_debug_logs(caplog)
    context: dict[str, Any] = {"ti": FakeTaskInstance(), "params": {}}
    with pytest.raises(InvalidInputError) as info:
        OPERATORS[case.service](task_id="cancel", **arguments(case)).execute(context)
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


@pytest.mark.parametrize("case", BAD_INPUT_CASES, ids=lambda c: c.id)
def test_notifier_logs_and_never_raises(
    case: BadInputCase,
    prepared: Any,
    leak_scan: LeakScan,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    enable_debug_logs(caplog)
    notifier = NOTIFIERS[case.service](**arguments(case))
    notifier({"params": {}})  # must not raise
    logs = log_surfaces(caplog, capsys.readouterr())
    if case.logged not in "\n".join(logs.values()):
        pytest.fail(f"the notifier did not log {case.logged!r}; it logged:\n{logs['stdout/stderr'][-1500:]}")
    assert prepared.control.requests() == []
    leak_scan.assert_clean(combined([logs, emulator_surfaces(prepared.control)]))
