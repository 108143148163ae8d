"""Cancel-all-running notifiers: clean up by filter from a callback; best-effort as failure callbacks."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_wfcancel.exceptions import ApiError
from airflow_provider_wfcancel.notifications.bulk import (
    DomoCancelAllRunningNotifier,
    EnosCancelAllRunningNotifier,
)

MODEL = "a8afdc89-1b2c-4d5e-8f90-1234567890ab"


def test_domo_notifier_cancels_every_running_instance_of_the_model(
    emu: Any, domo_conn: str, context: dict[str, Any]
) -> None:
    ids = [emu.control.create_domo_instance(status="IN_PROGRESS", model_id=MODEL)["id"] for _ in range(3)]
    emu.control.create_domo_instance(status="IN_PROGRESS")
    DomoCancelAllRunningNotifier(model_id=MODEL).notify(context)
    cancelled = {entry["path"].split("/")[-2] for entry in emu.control.requests("domo.cancel")}
    assert cancelled == set(ids)


def test_enos_notifier_cancels_every_running_instance_of_the_flow(
    emu: Any, enos_conn: str, context: dict[str, Any]
) -> None:
    ids = [emu.control.create_enos_instance(status=2, flow_id=77)["instanceId"] for _ in range(2)]
    EnosCancelAllRunningNotifier(flow_id=77).notify(context)
    assert emu.control.counts()["enos.flowinstance.cancel"] == len(ids)


@pytest.mark.parametrize("options", [{"model_id": "bad id"}, {"model_id": MODEL, "max_instances": 0}])
def test_a_bad_filter_is_logged_not_raised(
    emu: Any,
    domo_conn: str,
    context: dict[str, Any],
    capsys: pytest.CaptureFixture[str],
    options: dict[str, Any],
) -> None:
    DomoCancelAllRunningNotifier(**options).notify(context)
    assert "Best-effort cancel of all running instances failed" in capsys.readouterr().out
    assert "domo.cancel" not in emu.control.counts()


def test_more_matches_than_the_cap_cancel_nothing(emu: Any, domo_conn: str, context: dict[str, Any]) -> None:
    for _ in range(2):
        emu.control.create_domo_instance(status="IN_PROGRESS", model_id=MODEL)
    DomoCancelAllRunningNotifier(model_id=MODEL, max_instances=1).notify(context)
    assert "domo.cancel" not in emu.control.counts()


def test_a_failed_cancel_is_logged_from_a_failure_callback_and_raised_elsewhere(
    emu: Any, domo_conn: str, context: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    emu.control.create_domo_instance(status="IN_PROGRESS", model_id=MODEL)
    emu.control.inject_fault("domo.cancel", status=500, count=100)
    DomoCancelAllRunningNotifier(model_id=MODEL).notify(context)  # a failure callback: logged
    assert "Best-effort cancel of all running instances failed: 1 of 1 cancel(s)" in capsys.readouterr().out
    with pytest.raises(ApiError, match="1 of 1 cancel"):
        DomoCancelAllRunningNotifier(model_id=MODEL).notify({"deadline": {}, "dag_run": {}})
