"""EnosCancelFlowInstanceNotifier against the emulator: best-effort and templated."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_wfcancel.notifications.enos import EnosCancelFlowInstanceNotifier


def test_cancels_the_rendered_instance(emu: Any, enos_conn: str, capsys: pytest.CaptureFixture[str]) -> None:
    running = emu.control.create_enos_instance(status=2)
    notifier = EnosCancelFlowInstanceNotifier(flow_instance_id="{{ params.victim }}")
    notifier({"params": {"victim": running["instanceId"]}})
    assert emu.control.counts()["enos.flowinstance.cancel"] == 1
    assert (
        f"Cancel of enos {running['instanceId']} from callback: cancel_requested" in capsys.readouterr().out
    )


def test_already_finished_is_not_an_error(
    emu: Any, enos_conn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    done = emu.control.create_enos_instance(status=1)
    EnosCancelFlowInstanceNotifier(flow_instance_id=done["instanceId"])({"params": {}})
    assert "already_finished" in capsys.readouterr().out


def test_refused_cancel_is_logged_not_raised(
    emu: Any, enos_conn: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from airflow_provider_wfcancel.emulator import DEFAULT_ENOS_APP_SECRET

    running = emu.control.create_enos_instance(status=2)
    EnosCancelFlowInstanceNotifier(flow_instance_id=running["instanceId"], user_id="u15000000000103")(
        {"params": {}, "ti": None}  # a failure callback's context names its task instance
    )
    out = capsys.readouterr().out
    assert f"Best-effort cancel of {running['instanceId']} failed" in out
    assert "62101" in out
    assert DEFAULT_ENOS_APP_SECRET not in out


@pytest.mark.parametrize("pushed", [None, "", "  ", "None", "null", "undefined", "NaN"])
def test_missing_id_is_skipped(
    emu: Any, enos_conn: str, capsys: pytest.CaptureFixture[str], pushed: Any
) -> None:
    EnosCancelFlowInstanceNotifier(flow_instance_id="{{ params.pushed }}")({"params": {"pushed": pushed}})
    assert emu.control.requests() == []
    out = capsys.readouterr().out
    assert "Not cancelling: flow_instance_id rendered to" in out
    assert "Best-effort cancel" not in out  # skipped, not attempted and refused


def test_unset_param_is_skipped(emu: Any, enos_conn: str, capsys: pytest.CaptureFixture[str]) -> None:
    EnosCancelFlowInstanceNotifier(flow_instance_id="{{ params.missing }}")({"params": {}})
    assert emu.control.requests() == []
    assert "Not cancelling: flow_instance_id rendered to ''" in capsys.readouterr().out


def test_blank_user_id_uses_the_connection_user(emu: Any, enos_conn: str) -> None:
    from airflow_provider_wfcancel.emulator import DEFAULT_ENOS_USER_ID

    running = emu.control.create_enos_instance(status=2)
    EnosCancelFlowInstanceNotifier(flow_instance_id=running["instanceId"], user_id="{{ params.user }}")(
        {"params": {"user": ""}}
    )
    (cancel,) = emu.control.requests("enos.flowinstance.cancel")
    assert cancel["query"]["userId"] == DEFAULT_ENOS_USER_ID
