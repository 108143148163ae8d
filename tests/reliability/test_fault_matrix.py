"""The fault matrix (``cases.FAULT_CASES``) through the real cancel operators against the emulator.

Each row asserts the outcome or error class and a message fragment, the exact number of requests per
route the emulator received, a time bound, the side effects (cancel transitions the emulator applied, the
instance's final status, no instance created) and, with sentinel credentials, that no secret reached a
log, an exception, XCom, a rendered template field or a URL.
"""

from __future__ import annotations

import dataclasses
import email.utils
import threading
import time
from typing import Any

import pytest
import requests

from airflow_provider_wfcancel import exceptions
from airflow_provider_wfcancel._http import retry
from airflow_provider_wfcancel._protocol.enos.tokens import TOKEN_CACHE
from airflow_provider_wfcancel.emulator import enos_encryption
from airflow_provider_wfcancel.hooks.enos import EnosHook
from airflow_provider_wfcancel.operators.domo import DomoCancelWorkflowOperator
from airflow_provider_wfcancel.operators.enos import EnosCancelFlowInstanceOperator
from tests.conftest import FakeTaskInstance
from tests.reliability.cases import FAULT_CASES, Fault, FaultCase
from tests.reliability.support import (
    CONN_IDS,
    ENOS_APP_KEY,
    ENOS_APP_SECRET,
    LeakScan,
    Transitions,
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

UNKNOWN_IDS = {"domo": "00000000-0000-4000-8000-000000000000", "enos": "2438-20000101000000"}


def create_instance(control: Any, case: FaultCase) -> str:
    """The instance the row works on; returns the id the operator is given."""
    finished = case.instance == "finished"
    if case.service == "domo":
        created = control.create_domo_instance(status="COMPLETED" if finished else "IN_PROGRESS")
        real_id = created["id"]
    else:
        created = control.create_enos_instance(status=1 if finished else 2)
        real_id = created["instanceId"]
    return UNKNOWN_IDS[case.service] if case.instance == "unknown" else real_id


def instance_status(emulator: Any, case: FaultCase) -> tuple[str, int]:
    """Status of the row's instance as the emulator reports it, and how many instances exist."""
    state = emulator.app_state
    with state.lock:
        ids = list(state.data.domo_instances if case.service == "domo" else state.data.enos_instances)
    if case.service == "domo":
        return emulator.control.domo_instance(ids[0])["status"], len(ids)
    return emulator.control.enos_instance(ids[0])["statusDesc"], len(ids)


def inject(control: Any, fault: Fault) -> None:
    retry_after: str | None = fault.retry_after
    if fault.retry_after_date_in is not None:
        retry_after = email.utils.formatdate(time.time() + fault.retry_after_date_in, usegmt=True)
    control.inject_fault(
        fault.route,
        status=fault.status,
        retry_after=retry_after,
        latency=fault.latency,
        mode=fault.mode,
        count=fault.count,
        body=fault.body,
    )


def make_operator(case: FaultCase) -> DomoCancelWorkflowOperator | EnosCancelFlowInstanceOperator:
    """The operator with a templated id, as a DAG would declare it."""
    common: dict[str, Any] = {
        "task_id": f"cancel_{case.service}",
        "poll_interval": case.poll_interval,
        "timeout": case.timeout,
        "wait_for_termination": "{{ params.wait }}",
    }
    if case.service == "domo":
        return DomoCancelWorkflowOperator(instance_id="{{ params.instance_id }}", **common)
    return EnosCancelFlowInstanceOperator(flow_instance_id="{{ params.instance_id }}", **common)


def revoke_hook_token_later(base_url: str, delay: float) -> threading.Timer:
    """Another client of the same app refreshes the token the hook holds, which revokes it (``delay`` after
    the start, or as soon as the hook has its token)."""

    def refresh() -> None:
        key = EnosHook(CONN_IDS["enos"]).settings.token_key
        deadline = time.monotonic() + 10  # on a loaded machine the cancel (and its token) may come later
        while (entry := TOKEN_CACHE.get(key)) is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert entry is not None, "the hook should hold a token by now"
        timestamp = int(time.time() * 1000)
        payload = {
            "appKey": ENOS_APP_KEY,
            "encryption": enos_encryption(ENOS_APP_KEY, timestamp, ENOS_APP_SECRET),
            "timestamp": timestamp,
            "accessToken": entry.token,
        }
        answer = requests.post(f"{base_url}/apim-token-service/v2.0/token/refresh", json=payload, timeout=5)
        assert answer.json()["status"] == 0, answer.text

    timer = threading.Timer(delay, refresh)
    timer.start()
    return timer


def settle(control: Any, expected: dict[str, int], timeout: float = 3.0) -> dict[str, int]:
    """Request counts, once slow requests the client gave up on have reached the server's log."""
    deadline = time.monotonic() + timeout
    while True:
        counts: dict[str, int] = control.counts()
        if counts == expected or time.monotonic() > deadline:
            return counts
        time.sleep(0.05)


@pytest.mark.parametrize("case", FAULT_CASES, ids=lambda c: c.id)
def test_fault_matrix(
    case: FaultCase,
    sentinel_emu: Any,
    leak_scan: LeakScan,
    transitions: Transitions,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    closed_port_url: str,
) -> None:
    control = sentinel_emu.control
    enable_debug_logs(caplog)
    if case.emulator_config:
        control.configure(**case.emulator_config)
    if case.policy:
        policy = dataclasses.replace(retry.DEFAULT_RETRY_POLICY, **case.policy)
        monkeypatch.setattr(retry, "DEFAULT_RETRY_POLICY", policy)
    host = closed_port_url if case.host == "closed_port" else sentinel_emu.base_url
    conn = connection(case.service, host, credentials=case.credentials, **case.conn_extra)
    set_connection(monkeypatch, CONN_IDS[case.service], conn)
    instance_id = create_instance(control, case)
    for fault in case.faults:
        inject(control, fault)
    if case.rate_limit:
        control.set_rate_limit(**case.rate_limit)

    operator = make_operator(case)
    context: dict[str, Any] = {
        "ti": FakeTaskInstance(),
        "params": {"instance_id": instance_id, "wait": True},
    }
    operator.render_template_fields(context)
    assert operator.wait_for_termination is True or operator.wait_for_termination == "True"
    timer = revoke_hook_token_later(sentinel_emu.base_url, 0.3) if case.during == "revoke_token" else None

    result: Any = None
    error: exceptions.WfCancelError | None = None
    started = time.monotonic()
    try:
        result = operator.execute(context)
    except exceptions.WfCancelError as exc:
        error = exc
    elapsed = time.monotonic() - started
    if timer is not None:
        timer.join()

    captured = capsys.readouterr()
    logs = log_surfaces(caplog, captured)

    # Outcome or error class, and a message fragment.
    if case.error is not None:
        assert error is not None, f"expected {case.error}, got result {result!r}"
        assert type(error).__name__ == case.error, repr(error)
        assert isinstance(error, getattr(exceptions, case.error))
        assert case.message in str(error)
    else:
        if error is not None:
            raise error
        assert result["outcome"] == case.outcome
        assert result["final_status"] == case.final_status
        assert result["instance_id"] == instance_id
        assert context["ti"].xcoms["instance_id"] == instance_id
        if case.message not in "\n".join(logs.values()):
            pytest.fail(f"{case.message!r} was not logged")

    # Time bound (and, for hinted waits, that the hint was honoured).
    assert case.min_seconds <= elapsed <= case.max_seconds, f"took {elapsed:.2f} s"

    # Requests per route, exactly.
    expected = dict(case.requests)
    assert settle(control, expected) == expected

    # Side effects: transitions applied by the emulator, the final status, no extra instance.
    status, instances = instance_status(sentinel_emu, case)
    assert transitions.scheduled == case.transitions
    assert status == case.final_status
    assert instances == 1

    # No secret anywhere observable.
    if case.service == "enos" and case.requests.get("enos.flowinstance.cancel"):
        assert leak_scan.signatures, "the scan would be vacuous: no signature recorded"
    leak_scan.assert_clean(
        combined(
            [
                logs,
                error_surfaces(error),
                json_surface("XCom", context["ti"].xcoms),
                json_surface("return value", result),
                template_surfaces(operator),
                emulator_surfaces(control),
            ]
        )
    )
