"""One identity per request: the connection a page request names is checked, authorized, looked up,
used and audited under one id, the one written in the path, never a normalised variant of it.

:func:`check_connection_id` refuses (400, naming ``connection_id``) an id Airflow's own rule does not
allow (``sanitize_conn_id``: letters, digits and ``_-.:#!()/\\``, at most 250), so surrounding or inner
whitespace and control characters never reach a lookup; and an id that only a case-insensitive lookup
would map to a connection:

- an ``AIRFLOW_CONN_<ID>`` variable answers for every case variant of its id; its one id is the variable's
  suffix in lower case (what :func:`.service.environment_connections` lists), so ``CONN_X`` is refused;
- a metadata-DB connection's id is its ``conn_id`` exactly (a case-insensitive collation, MySQL's default,
  would otherwise find ``conn_x`` for ``CONN_X``).

:func:`resolve` then does what Airflow's ``requires_access_connection`` and its ``POST
/connections/test`` do, in that order: the connection's team (``Connection.get_team_name``, a metadata-DB
lookup, with ``[core] multi_team``), the auth manager's ``is_authorized_connection`` for that id and team
(403, before anything tells whether the connection exists), the case check above, and only then the secrets lookup in the team's scope (``get_connection_from_secrets(conn_id,
team_name)``: a team's own connection is found, another team's is not). The hook then uses that very
connection (:func:`.service.hook_for`), so what was checked is what is used.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from fastapi import HTTPException, status

from airflow_provider_wfcancel.exceptions import InvalidInputError
from airflow_provider_wfcancel.version_compat import connection_from_secrets, multi_team

if TYPE_CHECKING:
    from airflow.models.connection import Connection

Method = Literal["GET", "POST"]
FIELD = "connection_id"


@dataclass(frozen=True)
class PageConnection:
    """The connection a request acts on: its one id, its team, and the connection Airflow found."""

    conn_id: str
    team_name: str | None
    connection: Connection

    @property
    def conn_type(self) -> str | None:
        return self.connection.conn_type


def check_connection_id(value: Any) -> str:
    """``value`` exactly as given, if Airflow allows it as a connection id; else 400 naming the field."""
    from airflow.models.connection import sanitize_conn_id

    if not isinstance(value, str) or not value:
        raise InvalidInputError(f"{FIELD} must be a non-empty string, got {value!r}")
    if value != value.strip():
        raise InvalidInputError(f"{FIELD} {value!r} has whitespace around it; send the id exactly")
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidInputError(f"{FIELD} {value!r} contains control characters")
    if sanitize_conn_id(value) != value:
        raise InvalidInputError(
            f"{FIELD} {value[:80]!r} is not a connection id Airflow allows "
            "(letters, digits and _-.:#!()/\\, at most 250 characters)"
        )
    return value


def environment_variable(conn_id: str, team_name: str | None) -> str | None:
    """The ``AIRFLOW_CONN_*`` variable the environment backend would read for ``conn_id``, if set."""
    names = [f"AIRFLOW_CONN__{team_name.upper()}___{conn_id.upper()}"] if team_name else []
    names.append(f"AIRFLOW_CONN_{conn_id.upper()}")
    return next((name for name in names if name in os.environ), None)


def check_case(conn_id: str, team_name: str | None) -> None:
    """Refuse an id that differs only in case from the connection a lookup would find (see above)."""
    from airflow.models.connection import Connection
    from airflow.utils.session import create_session
    from sqlalchemy import func, select

    if environment_variable(conn_id, team_name) is not None and conn_id != conn_id.upper().lower():
        raise InvalidInputError(
            f"{FIELD} {conn_id!r} names an AIRFLOW_CONN_* variable, whose id is "
            f"{conn_id.upper().lower()!r}; use that id"
        )
    with create_session() as session:
        stored = set(
            session.scalars(
                select(Connection.conn_id).where(func.lower(Connection.conn_id) == conn_id.lower())
            )
        )
    if stored and conn_id not in stored and environment_variable(conn_id, team_name) is None:
        raise InvalidInputError(
            f"{FIELD} {conn_id!r} differs in case from a connection in the metadata DB; use its exact id"
        )


def team_of(conn_id: str) -> str | None:
    """The connection's team (metadata DB), as Airflow's ``requires_access_connection`` reads it."""
    if not multi_team():
        return None
    from airflow.models.connection import Connection

    return Connection.get_team_name(conn_id)


def is_allowed(user: Any, method: Method, conn_id: str, team_name: str | None) -> bool:
    """The auth manager's answer for ``method`` on the connection and its team."""
    from airflow.api_fastapi.app import get_auth_manager
    from airflow.api_fastapi.auth.managers.models.resource_details import ConnectionDetails

    details = ConnectionDetails(conn_id=conn_id, team_name=team_name)
    return bool(get_auth_manager().is_authorized_connection(method=method, details=details, user=user))


def resolve(user: Any, raw_id: Any, methods: tuple[Method, ...]) -> PageConnection:
    """Check ``raw_id``, authorize each of ``methods`` on it and its team, then find the connection."""

    from airflow_provider_wfcancel.hooks.domo import DomoHook

    conn_id = check_connection_id(raw_id)
    team_name = team_of(conn_id)
    for method in methods:
        if not is_allowed(user, method, conn_id, team_name):
            raise HTTPException(status.HTTP_403_FORBIDDEN, "Forbidden")
    check_case(conn_id, team_name)  # after the check: a user denied the id learns nothing of what exists
    try:
        connection = connection_from_secrets(conn_id, team_name)
    except Exception as error:  # the hooks' own wording: where to define a missing connection
        raise DomoHook(conn_id)._connection_error(error) from None
    return PageConnection(conn_id=conn_id, team_name=team_name, connection=connection)
