"""Start operators and sensors with ``outlets``, waiting in the worker (``*_sync``) or the triggerer
(``*_deferred``): the asset events they emit carry the remote instance (tests/integration/test_assets.py),
and the OpenLineage provider's extractor reads their facets (tests/unit/operators/test_lineage.py)."""

from __future__ import annotations

from airflow.providers.common.compat.sdk import DAG, Asset, Param

from airflow_provider_wfcancel.operators.domo import DomoCancelWorkflowOperator, DomoStartWorkflowOperator
from airflow_provider_wfcancel.operators.enos import EnosCancelFlowInstanceOperator, EnosTriggerFlowOperator
from airflow_provider_wfcancel.sensors.domo import DomoWorkflowInstanceSensor
from airflow_provider_wfcancel.sensors.enos import EnosFlowInstanceSensor

MODEL_ID = "f5d7bbff-0000-4000-8000-00000000a55e"
#: Assets with a ``file`` URI: common-io converts them to OpenLineage datasets (namespace ``file``).
DOMO_ASSET = Asset("file:///data/wfcancel/domo_sales.csv")
ENOS_ASSET = Asset("file:///data/wfcancel/enos_meters.csv")
INLET = Asset("file:///data/wfcancel/inputs.csv")
FAST = {"timeout": 30, "poll_interval": 0.1}


def _dag(dag_id: str, params: dict[str, Param]) -> DAG:
    return DAG(
        dag_id=dag_id,
        schedule=None,
        catchup=False,
        tags=["wfcancel", "test"],
        params=params,
        render_template_as_native_obj=True,
        doc_md=__doc__,
    )


def start_dags(deferrable: bool) -> list[DAG]:
    mode = "deferred" if deferrable else "sync"
    with _dag(f"wfcancel_test_assets_domo_start_{mode}", {"wait": Param(True, type="boolean")}) as domo:
        DomoStartWorkflowOperator(
            task_id="start",
            model_id=MODEL_ID,
            version="1.0.0",
            message_name="Start Sales",
            wait_for_completion="{{ params.wait }}",
            deferrable=deferrable,
            inlets=[INLET],
            outlets=[DOMO_ASSET],
            **FAST,
        )
    with _dag(f"wfcancel_test_assets_enos_start_{mode}", {"flow_id": Param(777, type="integer")}) as enos:
        EnosTriggerFlowOperator(
            task_id="start",
            flow_id="{{ params.flow_id }}",
            wait_for_completion=True,
            deferrable=deferrable,
            outlets=[ENOS_ASSET],
            **FAST,
        )
    return [domo, enos]


def sensor_dags(deferrable: bool) -> list[DAG]:
    mode = "deferred" if deferrable else "sync"
    built = []
    for service, sensor, id_field, asset in (
        ("domo", DomoWorkflowInstanceSensor, "instance_id", DOMO_ASSET),
        ("enos", EnosFlowInstanceSensor, "flow_instance_id", ENOS_ASSET),
    ):
        with _dag(
            f"wfcancel_test_assets_{service}_sensor_{mode}", {"instance_id": Param("", type="string")}
        ) as dag:
            sensor(
                task_id="wait",
                deferrable=deferrable,
                poke_interval=0.1,
                timeout=30,
                outlets=[asset],
                **{id_field: "{{ params.instance_id }}"},
            )
        built.append(dag)
    return built


def cancel_dags() -> list[DAG]:
    with _dag("wfcancel_test_lineage_domo_cancel", {"instance_id": Param("", type="string")}) as domo:
        DomoCancelWorkflowOperator(
            task_id="cancel",
            instance_id="{{ params.instance_id }}",
            inlets=[INLET],
            outlets=[DOMO_ASSET],
            **FAST,
        )
    with _dag("wfcancel_test_lineage_enos_cancel", {"instance_id": Param("", type="string")}) as enos:
        EnosCancelFlowInstanceOperator(
            task_id="cancel", flow_instance_id="{{ params.instance_id }}", outlets=[ENOS_ASSET], **FAST
        )
    return [domo, enos]


for _built in [
    *start_dags(False),
    *start_dags(True),
    *sensor_dags(False),
    *sensor_dags(True),
    *cancel_dags(),
]:
    globals()[_built.dag_id] = _built
