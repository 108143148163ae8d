"""Rows in Airflow's audit log (the ``Log`` table, Browse > Audit Log) for cancels the provider makes on
someone's behalf: the Remote instances page (a person's request) and the run-failed listener (a person's
or the scheduler's state change). One writer, so every row has the same shape: ``extra`` is JSON with the
connection, service, instance and outcome, and where the cancel came from."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

#: ``Log.event`` of a cancel made from the Remote instances page.
PAGE_EVENT = "wfcancel_cancel_instance"
#: ``Log.event`` of each attempt and outcome of the run-failed listener (and of each record it refused).
LISTENER_EVENT = "wfcancel_run_failed_cancel"


def write(
    session: Session,
    event: str,
    rows: Iterable[Mapping[str, Any]],
    *,
    owner: str | None,
    task_instance: Mapping[str, Any] | None = None,
) -> None:
    """Add one ``Log`` row per entry of ``rows`` (each becomes ``extra``, as JSON) and commit.
    ``task_instance``: the ``Log`` columns ``dag_id``, ``run_id``, ``task_id``, ``map_index`` of the task
    the rows are about, if any."""
    from airflow.models.log import Log

    where = dict(task_instance or {})
    for extra in rows:
        session.add(
            Log(
                event=event,
                owner=owner,
                owner_display_name=owner,
                extra=json.dumps(dict(extra), default=str),
                **where,
            )
        )
    session.commit()


def write_in_new_session(
    event: str, rows: Iterable[Mapping[str, Any]], *, owner: str | None, task_instance: Mapping[str, Any]
) -> None:
    """:func:`write` in a session of its own (for threads that have none, such as the listener's pool)."""
    from airflow.utils.session import create_session

    with create_session() as session:
        write(session, event, rows, owner=owner, task_instance=task_instance)
