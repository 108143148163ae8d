"""The run-failed listener's records, checked against the DAG's code before anything is cancelled.

A record is an XCom (:data:`RECORD_KEY`), and any user who may edit a DAG's runs can create or change one
over REST (``POST``/``PATCH .../xcomEntries``). So a record only *names* an instance; the rest comes
from what the scheduler and API server know of the DAG, which no REST call can write:

- the **serialized task** of the task instance the record is on (the DAG version that task instance
  ran with): only a provider start operator with ``cancel_on_run_failed=True`` counts; its class gives
  the service, its fields the connection, model and version (Domo) or flow and user/org (EnOS);
- a **templated** field (``model_id="{{ params.model_id }}"``) has no value in the serialized task: its
  value is the one the task rendered, from ``RenderedTaskInstanceFields``, which only the task's own
  process writes (through the Execution API, with the task instance's token). No such row (pruned after
  ``[core] max_num_rendered_ti_fields_per_task`` runs, or never written) -> the record is refused, and
  the log says so; a mapped start task's fields always come from there.

:func:`read` returns every record of the run (or task) with what its task says, or why it is refused.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_wfcancel._provenance import (
    START_OPERATORS,
    Expected,
    Refused,
    expected,
    instance_id_problem,
    record_problem,
    task_fields,
)
from airflow_provider_wfcancel.version_compat import (
    is_mapped,
    serialized_dag_of,
    xcom_model,
    xcom_rows,
    xcom_value,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

#: The XCom key of a start task's record: ``{"service", "conn_id", "options", "instance_id"}``.
RECORD_KEY = "wfcancel_cancel_on_run_failed"
#: The hook class of each service (imported by the listener; a record never names code to import).
HOOKS = {
    "domo": "airflow_provider_wfcancel.hooks.domo.DomoHook",
    "enos": "airflow_provider_wfcancel.hooks.enos.EnosHook",
}


@dataclass(frozen=True)
class Record:
    """One record of a run, where it is, and either what its task says (``want``) or why it is refused."""

    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    value: Any
    want: Expected | None
    problem: str | None

    @property
    def instance_id(self) -> str:
        return str(self.value.get("instance_id")) if isinstance(self.value, dict) else "?"

    @property
    def where(self) -> dict[str, Any]:
        """The ``Log`` columns of the task instance this record is on."""
        return {
            "dag_id": self.dag_id,
            "run_id": self.run_id,
            "task_id": self.task_id,
            "map_index": self.map_index,
        }


def hook_class(service: str) -> Any:
    import importlib

    module, _, name = HOOKS[service].rpartition(".")
    return getattr(importlib.import_module(module), name)


def read(dag_id: str, run_id: str, task_id: str | None, map_index: int | None) -> list[Record]:
    """Every record of the run (of one task instance when ``task_id`` is given), each checked."""
    from airflow.utils.session import create_session

    with create_session() as session:
        rows = xcom_rows(
            session, run_id=run_id, dag_ids=dag_id, key=RECORD_KEY, task_ids=task_id, map_indexes=map_index
        )
        records = []
        for row in rows:
            value = xcom_value(row)
            try:
                want = expected_of_task(session, row.dag_id, row.run_id, row.task_id, row.map_index)
                problem = record_problem(value, want) or instance_id_problem(
                    hook_class(want.service), value.get("instance_id")
                )
            except Refused as error:
                want, problem = None, str(error)
            records.append(Record(row.dag_id, row.run_id, row.task_id, row.map_index, value, want, problem))
    return records


def clear(record: Record) -> None:
    """Delete a refused record, so no later marking reads it again."""
    from airflow.utils.session import create_session
    from sqlalchemy import delete

    XComModel = xcom_model()
    with create_session() as session:
        session.execute(
            delete(XComModel).where(
                XComModel.dag_id == record.dag_id,
                XComModel.run_id == record.run_id,
                XComModel.task_id == record.task_id,
                XComModel.map_index == record.map_index,
                XComModel.key == RECORD_KEY,
            )
        )


def _serialized_task(
    session: Session,
    dag_id: str,
    run_id: str,
    task_id: str,
    map_index: int,
    dags: dict[Any, Any] | None = None,
) -> Any:
    """The task as the DAG version its task instance ran with knows it (else the run's version, else the
    latest; ``version_compat.serialized_dag_of``)."""
    from airflow.models.dagrun import DagRun
    from airflow.models.taskinstance import TaskInstance
    from sqlalchemy import select

    ti = session.scalar(
        select(TaskInstance).where(
            TaskInstance.dag_id == dag_id,
            TaskInstance.run_id == run_id,
            TaskInstance.task_id == task_id,
            TaskInstance.map_index == map_index,
        )
    )
    if ti is None:
        raise Refused(f"there is no task instance {task_id!r} (map index {map_index}) in run {run_id!r}")
    dag_run = session.scalar(select(DagRun).where(DagRun.dag_id == dag_id, DagRun.run_id == run_id))
    serialized = serialized_dag_of(session, dag_id, ti, dag_run)
    if serialized is None:
        raise Refused(f"the serialized DAG {dag_id!r} of run {run_id!r} is not in the metadata DB")
    serialized.load_op_links = False
    dags = {} if dags is None else dags  # a caller reading many records deserializes each DAG version once
    if serialized.dag_hash not in dags:
        dags[serialized.dag_hash] = serialized.dag
    dag = dags[serialized.dag_hash]
    task = dag.task_dict.get(task_id)
    if task is None:
        raise Refused(f"DAG {dag_id!r} has no task {task_id!r}")
    return task


def _is_templated(value: Any) -> bool:
    return isinstance(value, str) and ("{{" in value or "{%" in value)


def expected_of_task(
    session: Session,
    dag_id: str,
    run_id: str,
    task_id: str,
    map_index: int,
    *,
    needs_cancel_on_run_failed: bool = True,
    dags: dict[Any, Any] | None = None,
) -> Expected:
    """What the start task's instance must be (:class:`.._provenance.Expected`), from the serialized task
    and, for templated fields, its own rendering; the listener also needs ``cancel_on_run_failed=True``,
    the Remote instances page's incident view (``ui/incident.py``) any provider start task."""
    task = _serialized_task(session, dag_id, run_id, task_id, map_index, dags)
    service, module = START_OPERATORS.get(task.task_type, (None, None))
    mapped = is_mapped(task)
    # A mapped task's partial kwargs hold only what the DAG passed (absent: the operator's default, False);
    # a task's serialized fields hold the flag since this provider version added it to them.
    flag = (
        task.partial_kwargs.get("cancel_on_run_failed", False)
        if mapped
        else getattr(task, "cancel_on_run_failed", None)
    )
    if not needs_cancel_on_run_failed:
        flag = True
    if service is not None and flag is None:
        raise Refused(
            f"the serialized task {task_id!r} does not say whether it asked for cancel_on_run_failed: it was "
            "serialized by an earlier version of this provider; the DAG processor serializes it anew on its next "
            "parse, and runs of that new version are cancelled"
        )
    if service is None or getattr(task, "_task_module", None) != module or flag is not True:
        wanted = " with cancel_on_run_failed=True" if needs_cancel_on_run_failed else ""
        raise Refused(
            f"task {task_id!r} is no start operator{wanted} in the DAG's code (it is a {task.task_type})"
        )
    rendered: dict[str, Any] | None = None
    values: dict[str, Any] = {}
    for name in task_fields(service):
        code = None if mapped else getattr(task, name, None)
        if mapped or _is_templated(code):
            if rendered is None:
                rendered = _rendered_fields(session, dag_id, run_id, task_id, map_index)
            if rendered is None or name not in rendered:
                raise Refused(
                    f"{name} of task {task_id!r} is templated ({code!r}) and what the task rendered it to "
                    "is not in the metadata DB (RenderedTaskInstanceFields): nothing a user cannot write "
                    "says which instance the task started"
                )
            values[name] = rendered[name]
        else:
            values[name] = code
    return expected(service, values)


def _rendered_fields(
    session: Session, dag_id: str, run_id: str, task_id: str, map_index: int
) -> dict[str, Any] | None:
    from airflow.models.renderedtifields import RenderedTaskInstanceFields
    from airflow.models.taskinstancekey import TaskInstanceKey

    key = TaskInstanceKey(dag_id=dag_id, task_id=task_id, run_id=run_id, try_number=0, map_index=map_index)
    fields = RenderedTaskInstanceFields.get_templated_fields(key, session=session)
    return dict(fields) if isinstance(fields, dict) else None
