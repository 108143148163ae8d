"""The instance-target mixins of ``_service_task.py`` take part in Airflow's operator ``__init__`` handling
like any operator's own ``__init__``: ``default_args`` fill their arguments, ``partial()``/``expand()``
accept them, a missing id is named, and an XComArg id sets the upstream dependency."""

from __future__ import annotations

import pytest
from airflow.providers.common.compat.sdk import DAG, task

from airflow_provider_wfcancel.notifications.enos import EnosCancelFlowInstanceNotifier
from airflow_provider_wfcancel.operators.domo import DomoCancelWorkflowOperator, DomoStartWorkflowOperator
from airflow_provider_wfcancel.operators.enos import EnosCancelFlowInstanceOperator, EnosTriggerFlowOperator
from airflow_provider_wfcancel.sensors.domo import DomoWorkflowInstanceSensor
from airflow_provider_wfcancel.sensors.enos import EnosFlowInstanceSensor
from airflow_provider_wfcancel.version_compat import AIRFLOW_V_3_0_PLUS, AirflowException


def test_default_args_fill_the_connection_and_identity() -> None:
    defaults = {"domo_conn_id": "domo_prod", "enos_conn_id": "enos_prod", "user_id": "u1", "org_id": "o1"}
    with DAG("targets_defaults", schedule=None, default_args=defaults):
        domo = DomoCancelWorkflowOperator(task_id="domo", instance_id="i-1")
        start = DomoStartWorkflowOperator(task_id="start", model_id="m", version="1", message_name="Start")
        enos = EnosCancelFlowInstanceOperator(task_id="enos", flow_instance_id="2438-1")
        trigger = EnosTriggerFlowOperator(task_id="trigger", flow_id=2438, user_id="u2")
        sensor = EnosFlowInstanceSensor(task_id="sensor", flow_instance_id="2438-1")
    assert (domo.domo_conn_id, start.domo_conn_id) == ("domo_prod", "domo_prod")
    assert (enos.enos_conn_id, enos.user_id, enos.org_id) == ("enos_prod", "u1", "o1")
    assert (trigger.enos_conn_id, trigger.user_id, trigger.org_id) == ("enos_prod", "u2", "o1")
    assert (sensor.enos_conn_id, sensor.user_id) == ("enos_prod", "u1")
    assert domo.instance_id_value() == "i-1"
    assert enos.instance_id_value() == "2438-1"


def test_defaults_without_default_args() -> None:
    op = EnosCancelFlowInstanceOperator(task_id="enos", flow_instance_id="2438-1")
    assert (op.enos_conn_id, op.user_id, op.org_id) == ("enos_default", None, None)
    assert DomoWorkflowInstanceSensor(task_id="s", instance_id="i").domo_conn_id == "domo_default"


@pytest.mark.parametrize(
    ("operator", "field"),
    [
        (DomoCancelWorkflowOperator, "instance_id"),
        (EnosCancelFlowInstanceOperator, "flow_instance_id"),
        (DomoWorkflowInstanceSensor, "instance_id"),
        (EnosFlowInstanceSensor, "flow_instance_id"),
    ],
)
def test_a_missing_id_is_named(operator: type, field: str) -> None:
    # Python's TypeError; Airflow 2.11's BaseOperator checks the required arguments itself.
    with pytest.raises(TypeError if AIRFLOW_V_3_0_PLUS else AirflowException, match=field):
        operator(task_id="t")


def test_partial_and_expand_accept_the_target_arguments() -> None:
    with DAG("targets_mapped", schedule=None):
        domo = DomoCancelWorkflowOperator.partial(task_id="domo", domo_conn_id="d").expand(
            instance_id=["a", "b"]
        )
        enos = EnosFlowInstanceSensor.partial(task_id="enos", user_id="u").expand(
            flow_instance_id=["2438-1", "2438-2"]
        )
    assert domo.partial_kwargs["domo_conn_id"] == "d"
    assert enos.partial_kwargs["user_id"] == "u"
    with pytest.raises(TypeError, match="nope"):
        DomoCancelWorkflowOperator.partial(task_id="x", nope=1)


def test_an_xcomarg_id_sets_the_upstream_dependency_once() -> None:
    with DAG("targets_xcom", schedule=None):

        @task
        def pick() -> str:
            return "2438-1"

        upstream = pick()
        cancel = EnosCancelFlowInstanceOperator(task_id="cancel", flow_instance_id=upstream)
    assert cancel.upstream_task_ids == {"pick"}


def test_notifiers_share_the_targets_hook_and_id_field() -> None:
    notifier = EnosCancelFlowInstanceNotifier("2438-1", "enos_x", user_id="u")
    assert notifier.instance_id_field == "flow_instance_id"
    assert notifier.instance_id_value() == "2438-1"
    assert (notifier.enos_conn_id, notifier.user_id, notifier.org_id) == ("enos_x", "u", None)
