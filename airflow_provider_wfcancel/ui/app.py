"""The Remote instances app, mounted by the plugin on the API server at :data:`.URL_PREFIX`.

| route | needs |
|---|---|
| ``GET /remote-instances`` (the page) | a signed-in user |
| ``GET /api/connections`` (Domo and EnOS connections the user may read) | a signed-in user |
| ``GET /api/connections/{connection_id}/instances`` | ``GET`` on the connection |
| ``GET /api/connections/{connection_id}/instances/{instance_id}`` | ``GET`` on the connection |
| ``POST /api/connections/{connection_id}/cancel`` | ``POST`` on the connection, same-origin, audited |

The routes are thin: :mod:`.service` does the work through the hooks and the one bulk path, and
:mod:`.security` holds the checks, the audit log and the one mapping from provider errors to statuses.
"""

from __future__ import annotations

import logging
import secrets
from functools import cache
from importlib.resources import files
from typing import Annotated, Any

from airflow.api_fastapi.common.db.common import SessionDep
from airflow.api_fastapi.core_api.security import GetUserDep, requires_access_connection
from fastapi import Depends, FastAPI, HTTPException, Query, Request, status
from fastapi.responses import HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool

from airflow_provider_wfcancel.exceptions import WfCancelError
from airflow_provider_wfcancel.ui import PAGE_NAME, PAGE_PATH, base_path, service
from airflow_provider_wfcancel.ui.security import (
    CSRF_HEADER,
    audit_cancels,
    http_status,
    is_allowed,
    readable_dag_ids,
    same_origin_request,
)
from airflow_provider_wfcancel.ui.starters import started_by

log = logging.getLogger(__name__)

CanRead = Depends(requires_access_connection(method="GET"))
CanCancel = Depends(requires_access_connection(method="POST"))
SameOrigin = Depends(same_origin_request)


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
        .replace("/*{{SCRIPT}}*/", _asset("page.js"))
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

    @app.exception_handler(WfCancelError)
    async def provider_error(request: Request, error: WfCancelError) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=http_status(error))

    @app.get(PAGE_PATH, response_class=HTMLResponse)
    def page(user: GetUserDep) -> HTMLResponse:
        nonce = secrets.token_urlsafe(16)
        policy = (
            f"default-src 'none'; script-src 'nonce-{nonce}'; style-src 'nonce-{nonce}'; "
            "connect-src 'self'; img-src 'self' data:; frame-ancestors 'self'; base-uri 'none'; form-action 'none'"
        )
        headers = {
            "Content-Security-Policy": policy,
            "Cache-Control": "no-store",
            "Referrer-Policy": "same-origin",
            "X-Content-Type-Options": "nosniff",
        }
        return HTMLResponse(page_html(nonce), headers=headers)

    @app.get("/api/connections")
    def connections(user: GetUserDep, session: SessionDep) -> dict[str, Any]:
        """The Domo and EnOS connections the user may read: from the metadata DB and ``AIRFLOW_CONN_*``
        (a secrets backend cannot be listed: type its id in the page)."""
        from airflow.models.connection import Connection
        from sqlalchemy import select

        found = service.environment_connections()
        query = select(Connection.conn_id, Connection.conn_type).where(
            Connection.conn_type.in_(service.SERVICES)
        )
        found.update({conn_id: conn_type for conn_id, conn_type in session.execute(query)})
        return {
            "connections": [
                {
                    "connection_id": conn_id,
                    "conn_type": conn_type,
                    "can_cancel": is_allowed(user, "POST", conn_id),
                }
                for conn_id, conn_type in sorted(found.items())
                if is_allowed(user, "GET", conn_id)
            ]
        }

    @app.get("/api/connections/{connection_id}/instances", dependencies=[CanRead])
    def instances(
        connection_id: str,
        user: GetUserDep,
        session: SessionDep,
        model_id: str | None = None,
        version: str | None = None,
        flow_id: str | None = None,
        search: str | None = None,
        include_finished: str = "false",
        limit: Annotated[str, Query()] = "100",
    ) -> dict[str, Any]:
        hook = service.hook_for(connection_id)
        states, truncated = service.list_instances(
            hook,
            model_id=model_id,
            version=version,
            flow_id=flow_id,
            search=search,
            include_finished=include_finished,
            limit=limit,
        )
        found = started_by(session, [s.instance_id for s in states], readable_dag_ids(user), base_path())
        return {
            "connection_id": connection_id,
            "service": hook.conn_type,
            "can_cancel": is_allowed(user, "POST", connection_id),
            "truncated": truncated,
            "instances": _rows(states, found),
        }

    @app.get("/api/connections/{connection_id}/instances/{instance_id}", dependencies=[CanRead])
    def instance(connection_id: str, instance_id: str) -> dict[str, Any]:
        hook = service.hook_for(connection_id)
        return dict(service.row(hook.get_state(instance_id)))

    @app.post(
        "/api/connections/{connection_id}/cancel",
        dependencies=[CanCancel, SameOrigin],
        responses={403: {"description": "no POST permission on the connection, or a cross-site request"}},
    )
    async def cancel(
        connection_id: str, request: Request, user: GetUserDep, session: SessionDep
    ) -> dict[str, Any]:
        """Cancel ``instance_ids`` (body, JSON); ``wait`` (default false) waits up to ``timeout`` seconds
        (default 60, at most 120) for each to end. One audit-log row per instance."""
        body = await _json_object(request)
        unknown = sorted(set(body) - {"instance_ids", "wait", "timeout"})
        if unknown:
            raise HTTPException(status.HTTP_400_BAD_REQUEST, f"unknown field(s) in the body: {unknown}")

        def work() -> dict[str, Any]:
            hook = service.hook_for(connection_id)
            result = service.cancel(
                hook, body.get("instance_ids"), wait=body.get("wait", False), timeout=body.get("timeout", 60)
            )
            ids = [line["instance_id"] for line in result["instances"]]
            try:
                found = started_by(session, ids, readable_dag_ids(user), base_path())
            except Exception:  # the cancels were sent: the audit rows must be written whatever this does
                log.warning("Could not look up the DAG runs that started %s", ids, exc_info=True)
                session.rollback()
                found = {}
            audit_cancels(session, user, connection_id, result, found)
            return {"connection_id": connection_id, **result}

        return await run_in_threadpool(work)

    return app


async def _json_object(request: Request) -> dict[str, Any]:
    if "application/json" not in request.headers.get("content-type", ""):
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
