"""The cancel notifiers as Deadline Alert callbacks, run by Airflow's own runners: ``execute_callback``
(``SyncCallback``, in the executor; Airflow 3.3+) and the triggerer's callback trigger (``AsyncCallback``)."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from pytest_mock import MockerFixture

from airflow_provider_wfcancel.notifications.domo import DomoCancelWorkflowNotifier
from airflow_provider_wfcancel.notifications.enos import EnosCancelFlowInstanceNotifier
from tests.airflow_compat import DEADLINES, deadline_callback_trigger, needs_airflow, sync_callback_runner

pytestmark = needs_airflow((3, 1), DEADLINES)
EXECUTE_CALLBACK: Any = sync_callback_runner()
needs_triggerer_xcom = needs_airflow((3, 3), "the triggerer serving XCom to Deadline Alert callbacks")
needs_sync_callbacks = needs_airflow((3, 3), "SyncCallback Deadline Alerts run in the executor")

DOMO_PATH = "airflow_provider_wfcancel.notifications.domo.DomoCancelWorkflowNotifier"
ENOS_PATH = "airflow_provider_wfcancel.notifications.enos.EnosCancelFlowInstanceNotifier"
FROM_CONF = "{{ dag_run.conf['instance_id'] }}"
MODEL = "a8afdc89-1b2c-4d5e-8f90-1234567890ab"


def deadline_context(conf: dict[str, Any] | None = None) -> dict[str, Any]:
    """What ``Deadline.handle_miss`` adds as ``context``: the DAG run as the REST API returns it
    (``DAGRunResponse``, whose run id is ``dag_run_id``), and the deadline (no ``ti``)."""
    return {
        "dag_run": {
            "dag_id": "domo_deadline_cleanup",
            "dag_run_id": "manual__2026-12-03T10:00:00+00:00",
            "conf": conf or {},
            "state": "running",
        },
        "deadline": {
            "id": "0193a6f5-0000-7000-8000-000000000001",
            "deadline_time": "2026-12-03T10:05:00+00:00",
        },
    }


def run_sync(path: str, kwargs: dict[str, Any]) -> tuple[bool, str | None]:
    import structlog  # Airflow 3's logger (Airflow 2.11 does not install it)

    return EXECUTE_CALLBACK(  # type: ignore[no-any-return]
        path, kwargs, dag_rel_path=None, bundle_path=None, log=structlog.get_logger("callback")
    )  # type: ignore[arg-type]


async def run_async(path: str, kwargs: dict[str, Any]) -> tuple[str, Any]:
    events = [event.payload async for event in deadline_callback_trigger()(path, kwargs).run()]
    states = [str(getattr(event["state"], "value", event["state"])) for event in events]
    assert states[0] == "running"
    return states[-1], events[-1].get("body")


def cancels(emu: Any, route: str = "domo.cancel") -> int:
    return int(emu.control.counts().get(route, 0))


# -- SyncCallback (executor) ----------------------------------------------------------------------------


@needs_sync_callbacks
def test_sync_callback_renders_against_the_deadline_context_and_cancels(emu: Any, domo_conn: str) -> None:
    instance = emu.control.create_domo_instance(status="IN_PROGRESS")
    ok, error = run_sync(
        DOMO_PATH, {"instance_id": FROM_CONF, "context": deadline_context({"instance_id": instance["id"]})}
    )
    assert (ok, error) == (True, None)
    assert cancels(emu) == 1


@needs_sync_callbacks
def test_sync_callback_fails_when_the_cancel_fails(emu: Any, domo_conn: str) -> None:
    instance = emu.control.create_domo_instance(status="IN_PROGRESS")
    emu.control.inject_fault("domo.cancel", status=500, count=10)
    ok, error = run_sync(
        DOMO_PATH, {"instance_id": FROM_CONF, "context": deadline_context({"instance_id": instance["id"]})}
    )
    assert ok is False
    assert "kept failing" in str(error)


@needs_sync_callbacks
@pytest.mark.parametrize(
    ("path", "kwargs"),
    [
        (DOMO_PATH, {}),
        ("airflow_provider_wfcancel.notifications.bulk.DomoCancelAllRunningNotifier", {"model_id": MODEL}),
    ],
)
def test_a_runner_that_passes_no_context_hears_of_a_failed_cancel(
    emu: Any, domo_conn: str, path: str, kwargs: dict[str, Any]
) -> None:
    """Airflow's callback runner calls a notifier with ``{}`` when its kwargs hold no ``context``: that is
    no failure callback, so a cancel that failed must not be reported as a success."""
    instance = emu.control.create_domo_instance(status="IN_PROGRESS", model_id=MODEL)
    emu.control.inject_fault("domo.cancel", status=500, count=10)
    ok, error = run_sync(path, {"instance_id": instance["id"], **kwargs} if path == DOMO_PATH else kwargs)
    assert ok is False
    assert "failed" in str(error) or "kept failing" in str(error)
    assert cancels(emu) >= 1  # it was tried, and the failure reached the runner


@needs_sync_callbacks
@pytest.mark.parametrize("conf", [{}, {"instance_id": ""}, {"instance_id": None}])
def test_sync_callback_skips_an_id_that_rendered_empty(
    emu: Any, domo_conn: str, conf: dict[str, Any]
) -> None:
    assert run_sync(DOMO_PATH, {"instance_id": FROM_CONF, "context": deadline_context(conf)}) == (True, None)
    assert emu.control.requests() == []


@needs_sync_callbacks
def test_sync_callback_cannot_read_xcom_and_says_so(emu: Any, domo_conn: str) -> None:
    ok, error = run_sync(DOMO_PATH, {"start_task_id": "start", "context": deadline_context()})
    assert ok is False
    assert "use AsyncCallback" in str(error)
    assert emu.control.requests() == []


@needs_sync_callbacks
def test_sync_callback_with_a_connection_that_does_not_exist_fails(emu: Any) -> None:
    ok, error = run_sync(
        DOMO_PATH, {"instance_id": "abc-1", "domo_conn_id": "nowhere", "context": deadline_context()}
    )
    assert ok is False
    assert "connection 'nowhere' is not defined" in str(error)


def test_an_instance_where_airflow_wants_a_class_gives_a_clear_error() -> None:
    from airflow.sdk.definitions.deadline import AsyncCallback

    with pytest.raises(
        AttributeError, match="pass the class DomoCancelWorkflowNotifier to SyncCallback/AsyncCallback"
    ):
        AsyncCallback(DomoCancelWorkflowNotifier(instance_id="abc"))
    with pytest.raises(AttributeError, match="not an instance"):
        AsyncCallback(EnosCancelFlowInstanceNotifier(flow_instance_id="1-12345678"))
    assert AsyncCallback(DomoCancelWorkflowNotifier, kwargs={"start_task_id": "start"}).path == DOMO_PATH
    assert not hasattr(DomoCancelWorkflowNotifier(instance_id="abc"), "__qualname__")  # hasattr still works


# -- AsyncCallback (triggerer) ---------------------------------------------------------------------------


async def test_async_callback_cancels_on_the_async_path(
    emu: Any, domo_conn: str, mocker: MockerFixture
) -> None:
    sync_cancel = mocker.spy(DomoCancelWorkflowNotifier, "notify")
    instance = emu.control.create_domo_instance(status="IN_PROGRESS")
    state, _ = await run_async(
        DOMO_PATH, {"instance_id": FROM_CONF, "context": deadline_context({"instance_id": instance["id"]})}
    )
    assert state == "success"
    assert cancels(emu) == 1
    assert sync_cancel.call_count == 0


@needs_triggerer_xcom
async def test_async_callback_cancels_what_the_start_task_pushed(
    emu: Any, enos_conn: str, mocker: MockerFixture
) -> None:
    """The triggerer serves XCom to callbacks: the id the start task of the same run pushed is cancelled."""
    from airflow.sdk.execution_time.xcom import XCom

    instance_id = emu.control.create_enos_instance(status=2)["instanceId"]
    read = mocker.patch.object(XCom, "aget_one", autospec=True, return_value=instance_id)
    state, _ = await run_async(ENOS_PATH, {"start_task_id": "trigger", "context": deadline_context()})
    assert state == "success"
    assert read.call_args.kwargs == {
        "key": "instance_id",
        "dag_id": "domo_deadline_cleanup",
        "task_id": "trigger",
        "run_id": "manual__2026-12-03T10:00:00+00:00",
    }
    assert cancels(emu, "enos.flowinstance.cancel") == 1


async def test_async_callback_fails_when_the_cancel_is_refused(emu: Any, domo_conn: str) -> None:
    state, body = await run_async(
        DOMO_PATH, {"instance_id": "no-such-instance", "context": deadline_context()}
    )
    assert state == "failed"
    assert "NotFoundError" in str(body)


@needs_triggerer_xcom
async def test_async_callback_skips_a_start_task_that_pushed_nothing(
    emu: Any, domo_conn: str, mocker: MockerFixture
) -> None:
    from airflow.sdk.execution_time.xcom import XCom

    mocker.patch.object(XCom, "aget_one", autospec=True, return_value=None)
    state, _ = await run_async(DOMO_PATH, {"start_task_id": "start", "context": deadline_context()})
    assert state == "success"
    assert emu.control.requests() == []


def test_deadline_time_is_not_needed_to_render(emu: Any, domo_conn: str) -> None:
    """A template may read the deadline itself (``deadline.deadline_time``)."""
    notifier = DomoCancelWorkflowNotifier(instance_id="{{ deadline.deadline_time[:4] }}-x")
    notifier.render_template_fields(deadline_context())
    assert notifier.instance_id == f"{datetime.date.today().year}-x"


def test_the_deadline_context_names_the_run_id_as_the_rest_api_does() -> None:
    from airflow.api_fastapi.core_api.datamodels.dag_run import DAGRunResponse

    assert {"dag_id", "dag_run_id", "conf"} <= set(DAGRunResponse.model_fields)
