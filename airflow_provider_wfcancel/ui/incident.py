"""The incident view: what the provider's start tasks started that is still running, across the connections
the user may read, each with the DAG run and task that started it (``GET /api/incident``, docs/ui.md).

1. **What Airflow ran** (:func:`candidates`): the newest :data:`MAX_RECORDS` XCom ``instance_id`` records of
   start tasks of DAGs the user may read (:func:`.starters.start_records`). A record is writable by a user
   with DAG-run write (docs/security.md), so it only *names* an instance; the listener's provenance rules
   apply (:mod:`.._provenance`): the serialized task must be a provider start operator (class and module),
   its connection, model/version or flow come from the DAG's code (its own rendering when templated,
   ``plugins/_records.py``), and the id must be one the service's hook accepts.
2. **Per connection** (:func:`check_connection`): only one the user may read (the page's own check,
   :func:`.identity.resolve`, team included; a connection the user may not read is left out without a
   word); the service's running instances of each model (Domo) or of the organization (EnOS), within
   :data:`BOUNDS` per listing; a recorded instance is shown only when it is running and the service says it
   is of the task's model/version or flow (:func:`.._provenance.instance_problem`).

EnOS start tasks that run as another user or organization than their connection's are not shown (the
page lists and cancels as the connection's own identity): the answer says how many were left out.
Cancelling goes through the page's one cancel route (``POST /api/connections/{id}/cancel``).
"""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from fastapi import HTTPException

from airflow_provider_wfcancel._provenance import (
    Expected,
    Refused,
    count_refused,
    instance_id_problem,
    instance_problem,
)
from airflow_provider_wfcancel.exceptions import InvalidInputError, WfCancelError
from airflow_provider_wfcancel.hooks._listing import ListingBounds
from airflow_provider_wfcancel.ui import identity, service
from airflow_provider_wfcancel.ui.starters import Starter, start_records, starter

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

log = logging.getLogger(__name__)

#: The newest start records looked at per request.
MAX_RECORDS = 200
#: The bounds of each listing the view reads (one per Domo model, one per EnOS connection).
BOUNDS = ListingBounds(max_pages=20, deadline=60.0)
#: ``wfcancel.incident_view.refused_records`` counts the records this view refused.
WHERE = "incident_view"
_STATUS = re.compile(r"[A-Za-z0-9_ -]{1,40}")


@dataclass(frozen=True)
class Candidate:
    """A start record that passed the checks on Airflow's side: the instance it names, and its task."""

    instance_id: str
    want: Expected
    started_by: Starter


@dataclass
class Checked:
    """What one connection's check found."""

    rows: list[dict[str, Any]] = field(default_factory=list)
    refused: int = 0
    other_identity: int = 0
    problem: str | None = None


def parse_status_filter(value: Any) -> set[str] | None:
    """``status``: comma-separated status labels (``IN_PROGRESS,2``), or nothing for every status."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    wanted = {part.strip() for part in str(value).split(",") if part.strip()}
    bad = sorted(part for part in wanted if not _STATUS.fullmatch(part))
    if bad:
        raise InvalidInputError(
            f"status must be comma-separated status labels (letters, digits, _ and -), got {bad[0][:60]!r}"
        )
    return wanted


def _refuse(where: Starter, instance_id: str, problem: str, level: int = logging.WARNING) -> None:
    log.log(
        level,
        "Incident view: not showing instance %s recorded on %s/%s/%s: %s",
        instance_id,
        where["dag_id"],
        where["run_id"],
        where["task_id"],
        problem,
    )
    count_refused(WHERE)


def candidates(
    session: Session, readable_dag_ids: set[str], base_path: str
) -> tuple[dict[str, list[Candidate]], int, bool]:
    """The records of readable DAGs' start tasks that pass the provenance checks, by the connection their
    task uses; how many were refused; and whether there were more than :data:`MAX_RECORDS`."""
    from airflow_provider_wfcancel.plugins._records import expected_of_task, hook_class

    records = list(start_records(session, readable_dag_ids, MAX_RECORDS + 1))
    by_connection: dict[str, list[Candidate]] = {}
    seen: set[tuple[str, str]] = set()
    dags: dict[Any, Any] = {}
    refused, first = 0, ""
    for xcom, instance_id in records[:MAX_RECORDS]:
        where = starter(xcom, base_path)
        try:
            want = expected_of_task(
                session,
                xcom.dag_id,
                xcom.run_id,
                xcom.task_id,
                xcom.map_index,
                needs_cancel_on_run_failed=False,
                dags=dags,
            )
            problem = instance_id_problem(hook_class(want.service), instance_id)
        except Refused as error:
            problem = str(error)
        if problem is not None:  # one warning per request below: old runs' renderings get pruned
            _refuse(where, instance_id, problem, logging.DEBUG)
            refused += 1
            first = first or problem
            continue
        if (want.conn_id, instance_id) in seen:
            continue  # the newest record of an instance names its run (a retry, a reuse)
        seen.add((want.conn_id, instance_id))
        by_connection.setdefault(want.conn_id, []).append(Candidate(instance_id, want, where))
    if refused:
        log.warning(
            "Incident view: %d start record(s) not shown (the first: %s); debug logs name each",
            refused,
            first,
        )
    return by_connection, refused, len(records) > MAX_RECORDS


def check_connection(
    user: Any, conn_id: str, found: list[Candidate], stop: threading.Event
) -> Checked | None:
    """The still-running instances ``found`` names through ``conn_id``; ``None`` when the user may not
    read the connection (nothing about it is shown)."""
    checked = Checked()
    try:
        connection = identity.resolve(user, conn_id, ("GET",))
        hook = service.hook_for(connection, stop)
    except HTTPException:
        return None  # the auth manager refused GET on the connection (or its team)
    except WfCancelError as error:
        checked.problem = str(error)
        return checked
    can_cancel = identity.is_allowed(user, "POST", conn_id, connection.team_name)
    usable = []
    for candidate in found:
        if candidate.want.service != hook.conn_type:
            _refuse(
                candidate.started_by,
                candidate.instance_id,
                f"connection {conn_id!r} is no {candidate.want.service} connection",
            )
            checked.refused += 1
        elif any(value is not None for value in candidate.want.options.values()):
            checked.other_identity += 1
        else:
            usable.append(candidate)
    if not usable:
        return checked
    try:
        running = _running(hook, usable)
    except WfCancelError as error:
        checked.problem = str(error)
        return checked
    for candidate in usable:
        state = running.get(candidate.instance_id)
        if state is None:
            continue  # ended, or never of this connection: nothing to do in an incident
        if (problem := instance_problem(state, candidate.want)) is not None:
            _refuse(candidate.started_by, candidate.instance_id, problem)
            checked.refused += 1
            continue
        row = {**service.row(state), "connection_id": conn_id, "can_cancel": can_cancel}
        checked.rows.append({**row, "started_by": candidate.started_by})
    return checked


def _running(hook: Any, found: list[Candidate]) -> dict[str, Any]:
    """The connection's running instances that may be among ``found``, each listing within :data:`BOUNDS`."""
    if hook.conn_type == "domo":
        states = []
        for model_id in sorted({str(c.want.target["model_id"]) for c in found}):
            states.extend(hook.running_instances(model_id, bounds=BOUNDS))
    else:
        states = hook.search_running(bounds=BOUNDS)
    return {state.instance_id: state for state in states}


def answer(
    checked: dict[str, Checked | None], refused: int, truncated: bool, statuses: set[str] | None
) -> dict[str, Any]:
    """The view's answer: rows (filtered by ``statuses``), the statuses seen, and what was left out."""
    rows: list[dict[str, Any]] = []
    problems, other_identity = [], 0
    for conn_id, result in sorted(checked.items()):
        if result is None:
            continue
        rows.extend(result.rows)
        refused += result.refused
        other_identity += result.other_identity
        if result.problem is not None:
            problems.append({"connection_id": conn_id, "detail": result.problem})
    rows.sort(key=lambda row: (row["started"] or "", row["instance_id"]), reverse=True)
    seen = Counter(str(row["status"]) for row in rows)
    return {
        "instances": [row for row in rows if statuses is None or str(row["status"]) in statuses],
        "statuses": dict(sorted(seen.items())),
        "connections": sorted(conn_id for conn_id, result in checked.items() if result is not None),
        "problems": problems,
        "refused_records": refused,
        "other_identity": other_identity,
        "truncated": truncated,
    }
