"""Which Airflow DAG run and task started a remote instance, when Airflow knows.

The start operators (``DomoStartWorkflowOperator``, ``EnosTriggerFlowOperator``) push XCom ``instance_id``
as soon as the service answers the start. The cancel operators push the same key, so only the task
instances of a start operator count. Only DAGs the user may read are looked at, so the page never names a
DAG its user cannot see; only the newest :data:`MAX_ROWS` start records are read.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from typing import TYPE_CHECKING, Any, TypedDict
from urllib.parse import quote

from airflow_provider_wfcancel import _provenance

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

#: ``TaskInstance.operator`` of the provider's start operators.
START_OPERATORS = tuple(_provenance.START_OPERATORS)
MAX_ROWS = 5000


class Starter(TypedDict):
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    url: str


def task_instance_url(base_path: str, dag_id: str, run_id: str, task_id: str, map_index: int) -> str:
    """The task instance's page in Airflow's UI."""
    url = f"{base_path}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}/tasks/{quote(task_id, safe='')}"
    return f"{url}/mapped/{map_index}" if map_index >= 0 else url


def starter(xcom: Any, base_path: str) -> Starter:
    """The :class:`Starter` of a start record (an XCom row)."""
    return Starter(
        dag_id=xcom.dag_id,
        run_id=xcom.run_id,
        task_id=xcom.task_id,
        map_index=xcom.map_index,
        url=task_instance_url(base_path, xcom.dag_id, xcom.run_id, xcom.task_id, xcom.map_index),
    )


def start_records(
    session: Session, readable_dag_ids: Collection[str], limit: int = MAX_ROWS
) -> Iterator[tuple[Any, str]]:
    """``(xcom row, instance id)`` of the newest ``limit`` start records of readable DAGs, newest first
    (a value that is no string is skipped). Only *names* an instance: see :mod:`.._provenance`."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.models.xcom import XComModel
    from sqlalchemy import and_, select

    if not readable_dag_ids:
        return
    query = (
        select(XComModel)
        .join(
            TaskInstance,
            and_(
                TaskInstance.dag_id == XComModel.dag_id,
                TaskInstance.run_id == XComModel.run_id,
                TaskInstance.task_id == XComModel.task_id,
                TaskInstance.map_index == XComModel.map_index,
            ),
        )
        .where(
            XComModel.key == "instance_id",
            TaskInstance.operator.in_(START_OPERATORS),
            XComModel.dag_id.in_(list(readable_dag_ids)),
        )
        .order_by(XComModel.timestamp.desc())
        .limit(limit)
    )
    for xcom in session.scalars(query):
        value: Any = XComModel.deserialize_value(xcom)
        if isinstance(value, str):
            yield xcom, value


def started_by(
    session: Session, instance_ids: Iterable[str], readable_dag_ids: Collection[str], base_path: str
) -> dict[str, Starter]:
    """``instance_id -> Starter`` for the ids a start task of a readable DAG recorded (the newest)."""
    wanted = set(instance_ids)
    if not wanted:
        return {}
    found: dict[str, Starter] = {}
    for xcom, value in start_records(session, readable_dag_ids):
        if value in wanted and value not in found:
            found[value] = starter(xcom, base_path)
    return found
