"""EnosFlowInstanceSensor against the emulator: the EnOS identity (``user_id``/``org_id``) of every read,
in the worker and in the trigger, templating, and EnOS' own bad input."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_wfcancel.emulator import DEFAULT_ENOS_ORG_ID, DEFAULT_ENOS_USER_ID
from airflow_provider_wfcancel.exceptions import InvalidInputError, PermissionDeniedError
from airflow_provider_wfcancel.sensors.enos import EnosFlowInstanceSensor
from airflow_provider_wfcancel.triggers.enos import EnosFlowInstanceTrigger
from tests.unit.sensors.harness import MODES, mode_kwargs, new_context, run_sensor

OTHER_USER = "u15000000000009"
OTHER_ORG = "o15000000000009"


@pytest.fixture
def emu_fast(emu: Any, enos_conn: str) -> Any:
    emu.control.configure(enos_start_delay=0)
    return emu


def sensor(instance_id: str, **kwargs: Any) -> EnosFlowInstanceSensor:
    return EnosFlowInstanceSensor(
        task_id="wait", flow_instance_id=instance_id, **{"poke_interval": 0.05, "timeout": 30, **kwargs}
    )


@pytest.mark.parametrize("mode", MODES)
async def test_every_read_acts_as_the_given_user_and_org(emu_fast: Any, mode: str) -> None:
    emu_fast.control.add_enos_user(OTHER_USER, OTHER_ORG)
    created = emu_fast.control.create_enos_instance(org_id=OTHER_ORG, owner_user_id=OTHER_USER, runs_for=0.3)
    instance_id = created["instanceId"]
    result = await run_sensor(
        lambda: sensor(instance_id, user_id=OTHER_USER, org_id=OTHER_ORG, **mode_kwargs(mode)), new_context()
    )
    assert result == {
        "service": "enos",
        "instance_id": instance_id,
        "final_status": "SUCCESS",
        "url": None,
        "failure_detail": None,
    }
    reads = emu_fast.control.requests("enos.flowinstance.get")
    assert len(reads) >= 2  # running, then ended: read in the worker, and in the trigger when deferred
    assert {(r["query"]["userId"], r["query"]["orgId"]) for r in reads} == {(OTHER_USER, OTHER_ORG)}


async def test_the_trigger_gets_the_sensors_identity(emu_fast: Any) -> None:
    from tests.airflow_compat import TaskDeferred

    emu_fast.control.add_enos_user(OTHER_USER, DEFAULT_ENOS_ORG_ID)
    instance_id = emu_fast.control.create_enos_instance(runs_for=3600)["instanceId"]
    with pytest.raises(TaskDeferred) as info:
        sensor(instance_id, user_id=OTHER_USER, deferrable=True).execute(new_context())  # type: ignore[arg-type]
    trigger = info.value.trigger
    assert isinstance(trigger, EnosFlowInstanceTrigger)
    _, kwargs = trigger.serialize()
    assert (kwargs["user_id"], kwargs["org_id"], kwargs["cancel_on_kill"]) == (OTHER_USER, None, False)


def test_identity_fields_are_templated_and_empty_means_the_connections(emu_fast: Any) -> None:
    instance_id = emu_fast.control.create_enos_instance(runs_for=0)["instanceId"]
    wait = sensor("{{ params.id }}", user_id="{{ params.user }}", org_id="{{ params.org }}")
    assert set(wait.template_fields) == {"flow_instance_id", "user_id", "org_id", "enos_conn_id"}
    wait.render_template_fields({"params": {"id": instance_id, "user": "", "org": " "}})  # type: ignore[arg-type]
    assert wait.execute(new_context())["final_status"] == "SUCCESS"  # type: ignore[arg-type]
    (read,) = emu_fast.control.requests("enos.flowinstance.get")
    assert (read["query"]["userId"], read["query"]["orgId"]) == (DEFAULT_ENOS_USER_ID, DEFAULT_ENOS_ORG_ID)


def test_an_org_that_does_not_own_the_instance_is_refused(emu_fast: Any) -> None:
    emu_fast.control.add_enos_user(OTHER_USER, OTHER_ORG)
    instance_id = emu_fast.control.create_enos_instance(runs_for=3600)["instanceId"]
    with pytest.raises(PermissionDeniedError, match="62103"):
        sensor(instance_id, user_id=OTHER_USER, org_id=OTHER_ORG).execute(new_context())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"flow_instance_id": "flow-abc"}, "flow_instance_id 'flow-abc' is not a valid id"),
        ({"flow_instance_id": "null"}, "flow_instance_id is 'null', which is what a template renders"),
        ({"user_id": "bob"}, "user_id 'bob' is not a valid id"),
        ({"org_id": "o/1"}, "org_id 'o/1' contains characters not allowed"),
        (
            {"accepted_statuses": ["RUNNING"]},
            "accepted_statuses holds 'RUNNING', which is not a terminal EnOS",
        ),
        (
            {"accepted_statuses": ["SUCCEEDED"]},
            "it takes some of CANCEL, FAIL, INTERNAL_ERROR, SKIP, SUCCESS, TIMEOUT",
        ),
        ({"enos_conn_id": "no_such_conn"}, "connection 'no_such_conn' is not defined"),
    ],
)
@pytest.mark.parametrize("deferrable", [False, True])
def test_bad_input_fails_before_any_request(
    emu_fast: Any, kwargs: dict[str, Any], message: str, deferrable: bool
) -> None:
    arguments = {"flow_instance_id": "2438-201908081020", "deferrable": deferrable, **kwargs}
    with pytest.raises(InvalidInputError) as info:
        sensor(arguments.pop("flow_instance_id"), **arguments).execute(new_context())  # type: ignore[arg-type]
    assert message in str(info.value)
    assert emu_fast.control.requests() == []
