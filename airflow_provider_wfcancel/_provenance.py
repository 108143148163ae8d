"""Provenance: act only on an instance a start task itself started, as the DAG's code describes that task.

The run-failed listener reads records (XCom) and a resumable start reads its task state store; both are
writable by any user allowed to edit the DAG's runs over REST. So a record is never trusted alone:

1. **What the task is** comes from the DAG's code (the serialized task in the listener, ``self`` in the
   worker): which service (the operator class), which connection, which model and version (Domo) or flow
   (EnOS), and which EnOS user/org. :func:`expected` turns those fields into an :class:`Expected`.
2. **The record must agree** with it (:func:`record_problem`): same service, connection and EnOS
   user/org, and a well-formed instance id. A record only *names* an instance; what to call, through
   which connection and as whom always comes from step 1.
3. **The remote instance must agree** with it (:func:`instance_problem`): Domo's ``modelId`` (and
   ``modelVersion`` when the task names one), EnOS' ``flowId``, read from the service before any cancel
   or adoption.

A record that fails a check is logged, counted and cleared by its caller, never acted on.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from airflow_provider_wfcancel.hooks._base import InstanceState

#: ``task_type`` of the provider's start operators -> their service (the connection type), and the module
#: each is defined in (a serialized task names both; another class of the same name is not ours).
START_OPERATORS: Mapping[str, tuple[str, str]] = {
    "DomoStartWorkflowOperator": ("domo", "airflow_provider_wfcancel.operators.domo"),
    "EnosTriggerFlowOperator": ("enos", "airflow_provider_wfcancel.operators.enos"),
}
#: Per service: the task's connection field, the fields naming what it starts, and its identity options.
FIELDS: Mapping[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "domo": ("domo_conn_id", ("model_id", "version"), ()),
    "enos": ("enos_conn_id", ("flow_id",), ("user_id", "org_id")),
}


#: Records refused in this process, by where (``run_failed``, ``resumable_start``); also sent to Airflow's
#: metrics as ``wfcancel.<where>.refused_records``.
REFUSED: Counter[str] = Counter()


def count_refused(where: str) -> None:
    """Count one refused record (process counter and Airflow's metrics, best-effort)."""
    REFUSED[where] += 1
    try:
        try:
            from airflow.sdk.observability.stats import Stats
        except ImportError:  # Airflow 3.1
            from airflow.stats import Stats  # type: ignore[no-redef,unused-ignore]
        Stats.incr(f"wfcancel.{where}.refused_records")
    except Exception:  # metrics must never decide what happens
        logging.getLogger(__name__).debug("Could not count a refused record in the metrics", exc_info=True)


class Refused(Exception):
    """A record, or the task it is on, that may not be acted on; the message says why."""


@dataclass(frozen=True)
class Expected:
    """What a start task's instance must be, from the DAG's code (and the task's own rendering)."""

    service: str
    conn_id: str
    target: Mapping[str, str | None]
    options: Mapping[str, str | None] = field(default_factory=dict)

    def describe(self) -> str:
        what = ", ".join(f"{k} {v!r}" for k, v in self.target.items() if v is not None)
        return f"{self.service} connection {self.conn_id!r}, {what}"


def task_fields(service: str) -> tuple[str, ...]:
    """Every field :func:`expected` reads for ``service``."""
    conn_field, target, options = FIELDS[service]
    return (conn_field, *target, *options)


def _text(name: str, value: Any, *, required: bool) -> str | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise Refused(f"the task has no {name}")
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise Refused(f"the task's {name} is not a string: {type(value).__name__}")
    return str(value).strip()


def expected(service: str, values: Mapping[str, Any]) -> Expected:
    """The :class:`Expected` of a start task of ``service`` whose (rendered) fields are ``values``."""
    if service not in FIELDS:
        raise Refused(f"unknown service {service!r}")
    conn_field, target_fields, option_fields = FIELDS[service]
    conn_id = _text(conn_field, values.get(conn_field), required=True)
    target = {name: _text(name, values.get(name), required=name != "version") for name in target_fields}
    if service == "enos" and not str(target["flow_id"]).isdigit():
        raise Refused(f"the task's flow_id is not a number: {target['flow_id']!r}")
    options = {name: _text(name, values.get(name), required=False) for name in option_fields}
    return Expected(service=service, conn_id=str(conn_id), target=target, options=options)


def record_problem(record: Any, want: Expected) -> str | None:
    """Why a listener record (XCom) does not belong to the task described by ``want``; ``None`` if it
    does. The instance id's form is the hook's to check (:func:`instance_id_problem`)."""
    if not isinstance(record, Mapping):
        return f"the record is not an object: {type(record).__name__}"
    if record.get("service") != want.service:
        return f"the record names service {record.get('service')!r}, the task is {want.service!r}"
    if record.get("conn_id") != want.conn_id:
        return f"the record names connection {record.get('conn_id')!r}, the task uses {want.conn_id!r}"
    options = record.get("options")
    options = {} if options is None else options
    if not isinstance(options, Mapping):
        return "the record's options are not an object"
    for name, value in want.options.items():
        given = options.get(name)
        given = None if given is None or (isinstance(given, str) and not given.strip()) else given
        if given != value:
            return f"the record names {name} {given!r}, the task {value!r}"
    unknown = sorted(set(options) - set(want.options))
    if unknown:
        return f"the record has options the task does not: {unknown}"
    return None


def instance_id_problem(hook_class: Any, instance_id: Any) -> str | None:
    """Why ``instance_id`` is no id the service's hook would accept; ``None`` if it is."""
    try:
        hook_class.validate_instance_id(instance_id)
    except Exception as error:
        return f"malformed instance id {instance_id!r}: {error}"
    return None


def instance_problem(state: InstanceState, want: Expected) -> str | None:
    """Why the remote instance ``state`` is not one the task described by ``want`` starts; ``None`` if it
    is. Read from the service's own record of the instance (``InstanceState.raw``)."""
    raw = state.raw
    if want.service == "domo":
        if raw.get("modelId") != want.target["model_id"]:
            return f"instance {state.instance_id} is of model {raw.get('modelId')!r}, the task starts {want.target['model_id']!r}"
        version = want.target.get("version")
        if version is not None and raw.get("modelVersion") != version:
            return f"instance {state.instance_id} is of model version {raw.get('modelVersion')!r}, the task starts {version!r}"
        return None
    if str(raw.get("flowId")) != want.target["flow_id"]:
        return f"instance {state.instance_id} is of flow {raw.get('flowId')!r}, the task triggers {want.target['flow_id']!r}"
    return None
