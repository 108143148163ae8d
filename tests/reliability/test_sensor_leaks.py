"""The secret-leak scan over both sensors in each mode: a success, an end the sensor refuses, and a
service error, with sentinel credentials against the emulator.

Scanned: the log records at DEBUG and the task log, the exception's text, repr and traceback, the XCom
pushes and the return value, the sensor's rendered template fields, and what the emulator logged about
each request (see ``support.LeakScan`` for the secrets it looks for).
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest

from airflow_provider_wfcancel.sensors.domo import DomoWorkflowInstanceSensor
from airflow_provider_wfcancel.sensors.enos import EnosFlowInstanceSensor
from tests.reliability.support import (
    CONN_IDS,
    LeakScan,
    combined,
    connection,
    emulator_surfaces,
    enable_debug_logs,
    error_surfaces,
    json_surface,
    log_surfaces,
    set_connection,
    template_surfaces,
)
from tests.unit.sensors.harness import MODES, ends_once_read, mode_kwargs, new_context, run_sensor

UNKNOWN_IDS = {"domo": "00000000-0000-4000-8000-000000000000", "enos": "2438-20000101000000"}
ENDS = {"domo": {"success": "COMPLETED", "refused": "FAILED"}, "enos": {"success": 1, "refused": -1}}


@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("service", ["domo", "enos"])
@pytest.mark.parametrize("scenario", ["success", "refused", "service-error"])
async def test_no_secret_reaches_any_surface(
    service: str,
    mode: str,
    scenario: str,
    sentinel_emu: Any,
    leak_scan: LeakScan,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    enable_debug_logs(caplog)
    set_connection(monkeypatch, CONN_IDS[service], connection(service, sentinel_emu.base_url))
    control = sentinel_emu.control
    if scenario == "service-error":
        instance_id, ending = UNKNOWN_IDS[service], contextlib.nullcontext()
    else:
        created = (
            control.create_domo_instance(runs_for=3600)["id"]
            if service == "domo"
            else control.create_enos_instance(runs_for=3600)["instanceId"]
        )
        instance_id, ending = created, ends_once_read(sentinel_emu, service, created, ENDS[service][scenario])
    sensors: list[Any] = []

    def make() -> Any:
        common = {"task_id": "wait", "poke_interval": 0.05, "timeout": 30, **mode_kwargs(mode)}
        sensor = (
            DomoWorkflowInstanceSensor(instance_id=instance_id, **common)
            if service == "domo"
            else EnosFlowInstanceSensor(flow_instance_id=instance_id, **common)
        )
        sensors.append(sensor)
        return sensor

    context = new_context()
    result: Any = None
    error: BaseException | None = None
    with ending:
        try:
            result = await run_sensor(make, context)
        except Exception as raised:
            error = raised
    assert (error is None) == (scenario == "success"), repr(error)
    leak_scan.assert_clean(
        combined(
            [
                log_surfaces(caplog, capsys.readouterr()),
                error_surfaces(error),
                json_surface("XCom", {**context["ti"].xcoms, "return_value": result}),
                *(template_surfaces(sensor) for sensor in sensors),
                emulator_surfaces(control),
            ]
        )
    )
    assert leak_scan.secrets()  # the scan had something to look for
    if service == "enos":
        assert any(kind == "EnOS access token" for kind, _ in leak_scan.secrets())
    json.dumps(result)
