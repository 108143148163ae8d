"""DomoCancelWorkflowNotifier: rendered from the callback context, best-effort, never raising."""

from __future__ import annotations

from typing import Any

import pytest
import requests_mock as rm

from airflow_provider_wfcancel.notifications.domo import DomoCancelWorkflowNotifier
from tests.conftest import connection_json
from tests.unit.hooks.test_domo import CANCEL_URL, GET_URL, INSTANCE, TOKEN, instance


class XComTaskInstance:
    def __init__(self, values: dict[str, Any]) -> None:
        self.values = values

    def xcom_pull(self, task_ids: str, key: str = "return_value") -> Any:
        return self.values.get((task_ids, key))


@pytest.fixture(autouse=True)
def _acme_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_DOMO_DEFAULT", connection_json("domo", host="acme", password=TOKEN))


def callback_context(instance_id: Any) -> dict[str, Any]:
    return {"ti": XComTaskInstance({("start", "instance_id"): instance_id}), "params": {}}


TEMPLATE = "{{ ti.xcom_pull(task_ids='start', key='instance_id') }}"


def test_renders_the_id_from_xcom_and_cancels(
    requests_mock: rm.Mocker, capsys: pytest.CaptureFixture[str]
) -> None:
    requests_mock.post(CANCEL_URL, json=instance("IN_PROGRESS"))
    DomoCancelWorkflowNotifier(instance_id=TEMPLATE)(callback_context(INSTANCE))
    assert requests_mock.call_count == 1
    assert f"Cancel of domo {INSTANCE} from callback: cancel_requested" in capsys.readouterr().out


def test_can_wait_for_confirmation(requests_mock: rm.Mocker) -> None:
    requests_mock.post(CANCEL_URL, json=instance("IN_PROGRESS"))
    requests_mock.get(GET_URL, json=instance("CANCELED"))
    DomoCancelWorkflowNotifier(instance_id=INSTANCE, wait_for_termination=True, poll_interval=0.01)(
        callback_context(None)
    )
    assert [r.method for r in requests_mock.request_history] == ["POST", "GET"]


@pytest.mark.parametrize("pushed", [None, "", " ", "None", "null", "undefined", "nan"])
def test_missing_id_is_skipped_without_requests(
    requests_mock: rm.Mocker, capsys: pytest.CaptureFixture[str], pushed: Any
) -> None:
    DomoCancelWorkflowNotifier(instance_id=TEMPLATE)(callback_context(pushed))
    assert requests_mock.call_count == 0
    out = capsys.readouterr().out
    assert "Not cancelling: instance_id rendered to" in out
    assert "Best-effort cancel" not in out


@pytest.mark.parametrize(
    ("response", "reason"),
    [({"status_code": 404}, "no such resource"), ({"status_code": 401}, "rejected the credentials")],
)
def test_failed_cancel_is_logged_never_raised(
    requests_mock: rm.Mocker, capsys: pytest.CaptureFixture[str], response: dict[str, Any], reason: str
) -> None:
    requests_mock.post(CANCEL_URL, **response)
    DomoCancelWorkflowNotifier(instance_id=INSTANCE)(callback_context(None))
    out = capsys.readouterr().out
    assert f"Best-effort cancel of {INSTANCE} failed" in out
    assert reason in out
    assert TOKEN not in out


def test_bad_id_or_connection_is_logged_never_raised(
    requests_mock: rm.Mocker, capsys: pytest.CaptureFixture[str]
) -> None:
    DomoCancelWorkflowNotifier(instance_id="../etc")(callback_context(None))
    DomoCancelWorkflowNotifier(instance_id=INSTANCE, domo_conn_id="missing")(callback_context(None))
    out = capsys.readouterr().out
    assert "contains characters not allowed" in out
    assert "connection 'missing' is not defined" in out
    assert requests_mock.call_count == 0
