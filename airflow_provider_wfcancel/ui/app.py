"""The Remote instances app, mounted by the plugin on the API server at :data:`.URL_PREFIX`.

| route | needs |
|---|---|
| ``GET /remote-instances`` (the page) | a signed-in user |
| ``GET /api/connections`` (Domo and EnOS connections the user may read) | a signed-in user |
| ``GET /api/incident`` (running instances start tasks started, by connection) | ``GET`` on each connection |
| ``GET /api/connections/{connection_id}/instances`` | ``GET`` on the connection (and its team) |
| ``GET /api/connections/{connection_id}/instances/{instance_id}`` | ``GET`` on the connection |
| ``POST /api/connections/{connection_id}/cancel`` | ``GET`` and ``POST`` on it, same-origin, audited |

The routes are thin and ``async``: :mod:`.identity` resolves the connection once per request (checked id,
team, permission, lookup), :mod:`.service` does the work through the hooks and the one bulk path on the
app's own threads (:mod:`.pool`), and :mod:`.security` holds the same-origin check, the audit log and the
one mapping from provider errors to statuses.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import threading
from collections.abc import AsyncIterator
from functools import cache
from importlib.resources import files
from typing import Annotated, Any

from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from airflow_provider_wfcancel._bulk_path import BulkResult, summarised
from airflow_provider_wfcancel.exceptions import WfCancelError
from airflow_provider_wfcancel.ui import (
    CSRF_HEADER,
    PAGE_NAME,
    PAGE_PATH,
    base_path,
    identity,
    incident,
    service,
)
from airflow_provider_wfcancel.ui.identity import PageConnection
from airflow_provider_wfcancel.ui.pool import POOL, ClientGone, watching
from airflow_provider_wfcancel.ui.security import (
    audit_cancels,
    http_status,
    readable_dag_ids,
    same_origin_request,
)
from airflow_provider_wfcancel.ui.starters import started_by
from airflow_provider_wfcancel.version_compat import multi_team

log = logging.getLogger(__name__)


async def _place() -> AsyncIterator[None]:
    async with POOL.place():
        yield


Placed = Depends(_place)
SameOrigin = Depends(same_origin_request)


def _connection(*methods: identity.Method) -> Any:
    """The dependency resolving ``connection_id`` once (:func:`.identity.resolve`), on the app's threads."""

    async def dependency(connection_id: str, user: GetUserDep, _: None = Placed) -> PageConnection:
        return await POOL.run(identity.resolve, user, connection_id, methods)

    return Depends(dependency)


Readable = Annotated[PageConnection, _connection("GET")]
#: Cancelling uses the connection's credentials (``GET``, as ``POST /connections/test`` checks before
#: it uses a stored connection) to change the service's state (``POST``); both on the connection's team.
Usable = Annotated[PageConnection, _connection("GET", "POST")]


class JsonAnswerHeaders:
    """``Cache-Control: no-store`` and ``X-Content-Type-Options: nosniff`` on every answer of the app."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def sending(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                headers["Cache-Control"] = "no-store"
                headers["X-Content-Type-Options"] = "nosniff"
            await send(message)

        await self.app(scope, receive, sending)


@cache
def _asset(name: str) -> str:
    return files("airflow_provider_wfcancel.ui").joinpath("static", name).read_text(encoding="utf-8")


def page_html(nonce: str) -> str:
    """The page: server-rendered HTML with its style and script inline (one request, one nonce)."""
    return (
        _asset("page.html")
        .replace("{{TITLE}}", PAGE_NAME)
        .replace("{{NONCE}}", nonce)
        .replace("{{CSRF_HEADER}}", CSRF_HEADER)
        .replace("/*{{STYLE}}*/", _asset("page.css"))
        .replace("/*{{SCRIPT}}*/", _asset("page.js") + "\n" + _asset("incident.js"))
    )


def _rows(states: list[Any], found: dict[str, Any]) -> list[dict[str, Any]]:
    return [{**service.row(s), "started_by": found.get(s.instance_id)} for s in states]


def create_app() -> FastAPI:
    app = FastAPI(
        title="wfcancel: Remote instances",
        description="List and cancel Domo Workflow and EnOS Batch Processing instances (docs/ui.md).",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.add_middleware(JsonAnswerHeaders)

    @app.exception_handler(WfCancelError)
    async def provider_error(request: Request, error: WfCancelError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=http_status(error))

    @app.exception_handler(ClientGone)
    async def client_gone(request: Request, error: ClientGone) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=499)  # nobody is left to read it

    @app.get(PAGE_PATH, response_class=HTMLResponse)
    async def page(user: GetUserDep) -> HTMLResponse:
        nonce = secrets.token_urlsafe(16)
        policy = (
            f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
            "connect-src 'self'; img-src 'self' data:; frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
        )
        headers = {"Content-Security-Policy": policy, "Referrer-Policy": "same-origin"}
        return HTMLResponse(page_html(nonce), headers=headers)

    @app.get("/api/connections", dependencies=[Placed])
    async def connections(user: GetUserDep, session: SessionDep) -> dict[str, Any]:
        """The Domo and EnOS connections the user may read: from the metadata DB (with their teams) and
        ``AIRFLOW_CONN_*`` (a secrets backend cannot be listed: type its id in the page)."""
        return await POOL.run(_readable_connections, user, session)

    @app.get("/api/incident", dependencies=[Placed])
    async def incident_view(
        request: Request, user: GetUserDep, session: SessionDep, status: str | None = None
    ) -> dict[str, Any]:
        """What start tasks of readable DAGs started that still runs, through connections the user may
        read, optionally of some ``status`` (comma-separated); see :mod:`.incident`."""
        statuses = incident.parse_status_filter(status)
        found, refused, truncated = await POOL.run(
            incident.candidates, session, readable_dag_ids(user), base_path()
        )
        async with watching(request) as stop:
            checks = [POOL.run(incident.check_connection, user, c, found[c], stop) for c in found]
            results = await asyncio.gather(*checks)
        return incident.answer(dict(zip(found, results, strict=True)), refused, truncated, statuses)

    @app.get("/api/connections/{connection_id}/instances")
    async def instances(
        found: Readable,
        request: Request,
        user: GetUserDep,
        session: SessionDep,
        model_id: str | None = None,
        version: str | None = None,
        flow_id: str | None = None,
        search: str | None = None,
        include_finished: str = "false",
        limit: Annotated[str, Query()] = "100",
    ) -> dict[str, Any]:
        def work(stop: threading.Event) -> dict[str, Any]:
            hook = service.hook_for(found, stop)
            states, truncated = service.list_instances(
                hook,
                model_id=model_id,
                version=version,
                flow_id=flow_id,
                search=search,
                include_finished=include_finished,
                limit=limit,
            )
            ids = [s.instance_id for s in states]
            starters = started_by(session, ids, readable_dag_ids(user), base_path())
            return {
                "connection_id": found.conn_id,
                "service": hook.conn_type,
                "can_cancel": identity.is_allowed(user, "POST", found.conn_id, found.team_name),
                "truncated": truncated,
                "instances": _rows(states, starters),
            }

        return await POOL.run_watching(request, work)

    @app.get("/api/connections/{connection_id}/instances/{instance_id}")
    async def instance(found: Readable, instance_id: str) -> dict[str, Any]:
        def work() -> dict[str, Any]:
            hook = service.hook_for(found)
            service.exact("instance_id", instance_id, hook.validate_instance_id(instance_id))
            return dict(service.row(hook.get_state(instance_id)))

        return await POOL.run(work)

    @app.post(
        "/api/connections/{connection_id}/cancel",
        dependencies=[SameOrigin],
        responses={
            403: {"description": "no GET and POST permission on the connection, or a cross-site request"}
        },
    )
    async def cancel(
        found: Usable, request: Request, user: GetUserDep, session: SessionDep
    ) -> dict[str, Any]:
        """Cancel ``instance_ids`` (body, JSON); ``wait`` (default false) waits up to ``timeout`` seconds
        (default 60, at most 120) for each to end, holding no thread. One audit-log row per instance."""
        body = await _json_object(request)
        unknown = sorted(set(body) - {"instance_ids", "wait", "timeout"})
        if unknown:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"unknown field(s) in the body: {unknown}")
        hook = service.hook_for(found)
        rows, plan = await POOL.run(
            service.send_cancels,
            hook,
            body.get("instance_ids"),
            wait=body.get("wait", False),
            timeout=body.get("timeout", 60),
        )

        def record(result: BulkResult) -> None:
            ids = [line["instance_id"] for line in result["instances"]]
            try:
                starters = started_by(session, ids, readable_dag_ids(user), base_path())
            except Exception:  # the cancels were sent: the audit rows must be written whatever this does
                log.warning("Could not look up the DAG runs that started %s", ids, exc_info=True)
                session.rollback()
                starters = {}
            audit_cancels(session, user, found.conn_id, result, starters)

        waited: BulkResult | None = None
        try:
            async with watching(request) as gone:
                waited = await service.wait_for(hook, rows, plan, POOL.run, gone.is_set)
        finally:  # the cancels were sent: audited even when the wait fails or the server shuts down
            result = waited or summarised(hook, rows, dry_run=False, log=log)
            await asyncio.shield(POOL.run(record, result))
        return {"connection_id": found.conn_id, **result}

    return app


def _readable_connections(user: Any, session: Any) -> dict[str, Any]:
    from airflow.models.connection import Connection
    from sqlalchemy import null, select

    teams = multi_team()
    team_column = Connection.team_name if teams else null()  # Airflow < 3.2 has no connection teams
    query = select(Connection.conn_id, Connection.conn_type, team_column).where(
        Connection.conn_type.in_(service.SERVICES)
    )
    # A metadata-DB row's team decides, as it does when the connection is used (identity.team_of).
    found = {conn_id: (conn_type, team) for conn_id, conn_type, team in session.execute(query)}
    for conn_id, conn_type in service.environment_connections().items():
        found.setdefault(conn_id, (conn_type, None))
    listed = []
    for conn_id, (conn_type, team_name) in sorted(found.items()):
        if identity.is_allowed(user, "GET", conn_id, team_name):
            can_cancel = identity.is_allowed(user, "POST", conn_id, team_name)
            listed.append({"connection_id": conn_id, "conn_type": conn_type, "can_cancel": can_cancel})
    return {"connections": listed}


def is_json(content_type: str) -> bool:
    """Whether a ``Content-Type`` names JSON: the media type exactly ``application/json`` (any case),
    parameters such as ``charset`` allowed."""
    return content_type.split(";", 1)[0].strip().lower() == "application/json"


async def _json_object(request: Request) -> dict[str, Any]:
    types = request.headers.getlist("content-type")
    if len(types) != 1 or not is_json(types[0]):
        raise HTTPException(
            status.HTTP_400_BAD_REQUEST, "the body must be JSON (Content-Type: application/json)"
        )
    try:
        body = await request.json()
    except ValueError:
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise HTTPException(status.HTTP_400_BAD_REQUEST, "the body must be a JSON object with instance_ids")
    return body
