"""Security of the Remote instances app, done the way the API server's own endpoints do it.

- Authentication: Airflow's ``GetUserDep`` (a ``Bearer`` JWT, or the UI's ``_token`` cookie); none -> 401.
- Permissions: the configured auth manager's ``is_authorized_connection``, asked the way Airflow's
  ``requires_access_connection`` asks it, but for the one checked id and the connection's team
  (:mod:`.identity`). Listing and reading an instance need ``GET`` on the connection (what ``GET
  /api/v2/connections/{id}`` needs); cancelling needs ``GET`` (using its credentials, as ``POST
  /api/v2/connections/test`` checks before it uses a stored connection) and ``POST`` on it. Missing -> 403.
- Cross-site requests: a cancel authenticated by the cookie must carry :data:`CSRF_HEADER` (a header a
  cross-site form cannot send, and a cross-origin script cannot send without a CORS preflight, which this
  app never grants), and a browser's ``Sec-Fetch-Site``/``Origin``, when sent, must say same origin.
- Audit: every cancel is one ``Log`` row per instance in Airflow's audit log (:func:`audit_cancels`).
- Errors: :func:`http_status` is the one mapping from provider errors to HTTP statuses.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from airflow.api_fastapi.core_api.security import GetUserDep
from fastapi import HTTPException, Request, status

from airflow_provider_wfcancel import _audit
from airflow_provider_wfcancel.exceptions import (
    ApiError,
    AuthenticationError,
    ConnectionNotFoundError,
    DeadlineExceededError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    TransientError,
    WaitTimeoutError,
    WfCancelError,
)
from airflow_provider_wfcancel.ui import CSRF_HEADER

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from airflow_provider_wfcancel._bulk_path import BulkResult

#: ``Log.event`` of a cancel made from the page.
AUDIT_EVENT = _audit.PAGE_EVENT

# The service rejected what the connection holds, or failed: the request was fine, the gateway was not.
_STATUS_FOR_ERROR: tuple[tuple[type[WfCancelError], int], ...] = (
    (ConnectionNotFoundError, status.HTTP_404_NOT_FOUND),
    (InvalidInputError, status.HTTP_400_BAD_REQUEST),
    (NotFoundError, status.HTTP_404_NOT_FOUND),
    (RateLimitedError, status.HTTP_429_TOO_MANY_REQUESTS),
    (DeadlineExceededError, status.HTTP_504_GATEWAY_TIMEOUT),
    (WaitTimeoutError, status.HTTP_504_GATEWAY_TIMEOUT),
    (TransientError, status.HTTP_503_SERVICE_UNAVAILABLE),
    (AuthenticationError, status.HTTP_502_BAD_GATEWAY),
    (PermissionDeniedError, status.HTTP_502_BAD_GATEWAY),
    (ApiError, status.HTTP_502_BAD_GATEWAY),
)


def http_status(error: WfCancelError) -> int:
    """The HTTP status of a provider error: the caller's input 400, a missing connection or instance 404,
    the service throttling 429, unreachable 503 or too slow 504, refusing the connection's credentials or
    answering otherwise 502 (the connection, not the Airflow user, was refused)."""
    for cls, code in _STATUS_FOR_ERROR:
        if isinstance(error, cls):
            return code
    return status.HTTP_502_BAD_GATEWAY


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


async def same_origin_request(request: Request, user: GetUserDep) -> None:
    """Refuse a cookie-authenticated state change that may come from another site (403), once the
    caller is known (401 first)."""
    authorization = request.headers.get("authorization", "")
    if authorization.lower().startswith("bearer "):
        return  # an explicit token is no ambient credential: another site cannot send it
    if request.headers.get(CSRF_HEADER) != "1":
        raise HTTPException(
            status.HTTP_403_FORBIDDEN,
            f"cross-site request refused: a cancel from the browser must send the header {CSRF_HEADER}: 1",
        )
    site = request.headers.get("sec-fetch-site")
    if site is not None and site != "same-origin":
        raise HTTPException(status.HTTP_403_FORBIDDEN, f"cross-site request refused (Sec-Fetch-Site: {site})")
    origin = request.headers.get("origin")
    if origin is not None:
        from airflow.configuration import conf

        allowed = {_origin(str(request.base_url))}
        if "://" in (base_url := conf.get("api", "base_url", fallback="") or ""):
            allowed.add(_origin(base_url))
        if origin.lower() not in allowed:
            raise HTTPException(status.HTTP_403_FORBIDDEN, "cross-site request refused (Origin differs)")


def readable_dag_ids(user: Any) -> set[str]:
    from airflow.api_fastapi.app import get_auth_manager

    return set(get_auth_manager().get_authorized_dag_ids(user=user, method="GET"))


def audit_cancels(
    session: Session, user: Any, conn_id: str, result: BulkResult, started_by: dict[str, Any]
) -> None:
    """One audit-log row per instance the request tried to cancel: who, which connection, which
    instance, and what came of it (Browse > Audit Log; event :data:`AUDIT_EVENT`; written by
    :mod:`.._audit`, as the run-failed listener's rows are)."""
    rows = []
    for line in result["instances"]:
        starter = started_by.get(line["instance_id"])
        rows.append(
            {
                "connection_id": conn_id,
                "service": result["service"],
                "instance_id": line["instance_id"],
                "outcome": line["outcome"],
                "status": line["status"],
                "error": line["error"],
                "started_by": None
                if starter is None
                else {k: starter[k] for k in ("dag_id", "run_id", "task_id")},
                "source": "Remote instances page",
                "method": "POST",
            }
        )
    _audit.write(session, AUDIT_EVENT, rows, owner=user.get_name())
