"""The Domo Workflows product API (``https://{instance}.domo.com/api/workflow/v1``) as plain functions.

Status semantics (Domo documents ``null``, ``IN_PROGRESS``, ``CANCELED`` and ``COMPLETED``): ``null`` and
``IN_PROGRESS`` mean running; ``CANCELED`` means cancelled; ``COMPLETED`` and any other non-null value
(``FAILED`` is likely but undocumented) are terminal. Unknown values are kept verbatim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from airflow_provider_wfcancel._http import ApiRequest, ApiResponse
from airflow_provider_wfcancel._protocol.exchange import Exchange, Send, refused_cancel_of_finished
from airflow_provider_wfcancel._protocol.failure import (
    DetailBounds,
    FailureDetail,
    clip,
    empty_detail,
    record_fields,
)
from airflow_provider_wfcancel._protocol.model import CancelAck, InstanceState, ServiceSettings
from airflow_provider_wfcancel._protocol.times import parse_instance_time
from airflow_provider_wfcancel.exceptions import ApiError, PermissionDeniedError

SERVICE = "Domo"
API_PREFIX = "/api/workflow/v1"
RUNNING_STATUSES = frozenset({None, "IN_PROGRESS"})
CANCELED = "CANCELED"
COMPLETED = "COMPLETED"
#: The terminal statuses known by name (``FAILED`` is likely but undocumented); any other non-null value
#: is terminal too, but cannot be named in advance (a sensor's ``accepted_statuses`` takes only these).
TERMINAL_STATUSES = frozenset({COMPLETED, CANCELED, "FAILED"})
#: How Domo might refuse to cancel an instance that already finished (undocumented; the emulator's
#: ``domo_cancel_terminal="conflict"`` answers 409). The exchange then looks the instance up.
CANCEL_REFUSED_STATUSES = frozenset({400, 409})
INSTANCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
INSTANCE_ID_EXAMPLE = "2052e10a-9b8c-..."
#: What a failure detail keeps of the instance record (documented fields). Domo documents no error field;
#: ``errorMessage``, read by third-party dashboards, becomes the detail's ``message`` when present (an
#: assumption, docs/xcom.md).
FAILURE_RECORD_FIELDS = ("modelId", "modelName", "modelVersion", "createdOn", "updatedOn", "updatedBy")
ERROR_MESSAGE_FIELD = "errorMessage"


@dataclass(frozen=True)
class DomoSettings(ServiceSettings):
    token: str = field(repr=False)

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.token,)

    def instance_url(self, instance: dict[str, Any]) -> str | None:
        """Link to the instance in Domo's UI (``/workflows/instances/{model}/{version}/{id}``)."""
        parts = [instance.get("modelId"), instance.get("modelVersion"), instance.get("id")]
        if not all(isinstance(p, str) and p for p in parts):
            return None
        return f"{self.base_url}/workflows/instances/" + "/".join(quote(str(p), safe="") for p in parts)


class DomoTokenAuth:
    """Adds ``X-DOMO-Developer-Token``; the token acts as its user."""

    def __init__(self, token: str) -> None:
        self._token = token

    def headers(self, request: ApiRequest) -> dict[str, str]:
        return {"X-DOMO-Developer-Token": self._token}

    def __repr__(self) -> str:
        return "DomoTokenAuth(token=***)"


def normalize_status(value: Any) -> str | None:
    """Domo sends ``null`` as JSON null or (older docs) the string ``"null"``; both mean not started."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "null")):
        return None
    return str(value)


# -- requests and answers ------------------------------------------------------------------------------


def _send(settings: DomoSettings, request: ApiRequest) -> Send:
    return Send(request, DomoTokenAuth(settings.token))


def api_url(settings: DomoSettings, path: str) -> str:
    return f"{settings.base_url}{API_PREFIX}{path}"


def instance_api_url(settings: DomoSettings, instance_id: str, suffix: str = "") -> str:
    return api_url(settings, f"/instances/{quote(instance_id, safe='')}{suffix}")


def state_from_body(settings: DomoSettings, instance_id: str, body: dict[str, Any]) -> InstanceState:
    status = normalize_status(body.get("status"))
    return InstanceState(
        service=SERVICE,
        instance_id=str(body.get("id") or instance_id),
        status=status,
        is_terminal=status not in RUNNING_STATUSES,
        is_cancelled=status == CANCELED,
        is_success=status == COMPLETED,
        url=settings.instance_url(body),
        raw=body,
        started_at=parse_instance_time(body.get("createdOn")),
    )


def unblocked(response: ApiResponse) -> ApiResponse:
    """``response``, unless it is the HTML "Blocked" page Domo's IP allowlist answers with (a 2xx)."""
    if response.content.lstrip()[:1] == b"<" and b"Blocked" in response.content[:4096]:
        raise response.error(
            "Domo blocked the request (IP allowlist page instead of JSON)", error_class=PermissionDeniedError
        )
    return response


def ack_from(settings: DomoSettings, instance_id: str, response: ApiResponse) -> CancelAck:
    """A cancel answer: Domo returns the instance as it was when the request arrived."""
    state = state_from_body(settings, instance_id, unblocked(response).json_object())
    return CancelAck(
        instance_id,
        dict(state.raw),
        state_at_request=state,
        already_finished=state.is_terminal,
        earlier_attempt_may_have_applied=response.earlier_attempt_may_have_applied,
    )


# -- exchanges -------------------------------------------------------------------------------------------


def get(settings: DomoSettings, instance_id: str) -> Exchange[InstanceState]:
    """``GET /instances/{id}``."""
    response = yield _send(settings, ApiRequest("GET", instance_api_url(settings, instance_id)))
    return state_from_body(settings, instance_id, unblocked(response).json_object())


def cancel(settings: DomoSettings, instance_id: str) -> Exchange[CancelAck]:
    """``POST /instances/{id}/cancel``; when Domo refuses with 400/409 and the instance turns out to be
    finished, acknowledge ``already_finished``."""
    try:
        response = yield _send(
            settings, ApiRequest("POST", instance_api_url(settings, instance_id, "/cancel"))
        )
    except ApiError as error:
        if error.http_status not in CANCEL_REFUSED_STATUSES:
            raise
        refusal = {"status": error.http_status, "body": error.body_excerpt, "requestId": error.request_id}
        lookup = get(settings, instance_id)
        return (yield from refused_cancel_of_finished(SERVICE, instance_id, error, refusal, lookup))
    return ack_from(settings, instance_id, response)


def start(settings: DomoSettings, payload: dict[str, Any]) -> Exchange[InstanceState]:
    """``POST /instances/message``; not idempotent (a resend could start a second instance)."""
    request = ApiRequest.with_json("POST", api_url(settings, "/instances/message"), payload, idempotent=False)
    response = yield _send(settings, request)
    body = unblocked(response).json_object()
    instance_id = body.get("id")
    if not isinstance(instance_id, str) or not instance_id.strip():
        raise response.error(
            "Domo answered the start without an instance id (a non-empty string 'id'); an instance may have started"
        )
    return state_from_body(settings, instance_id, body)


def list_instances(settings: DomoSettings, params: dict[str, str]) -> Exchange[list[InstanceState]]:
    """``GET /instances?modelId=..``."""
    response = yield _send(settings, ApiRequest("GET", api_url(settings, "/instances"), params=params))
    items = unblocked(response).json()
    if not isinstance(items, list):
        raise response.error("expected a JSON array of instances")
    return [
        state_from_body(settings, str(item.get("id", "")), item) for item in items if isinstance(item, dict)
    ]


def probe(settings: DomoSettings) -> Exchange[dict[str, Any]]:
    """``GET /api/content/v2/users/me``: the cheapest call that proves the token (no grant needed)."""
    response = yield _send(settings, ApiRequest("GET", f"{settings.base_url}/api/content/v2/users/me"))
    return unblocked(response).json_object()


def failure(state: InstanceState, bounds: DetailBounds) -> Exchange[FailureDetail]:
    """Why an instance failed, as far as its record (``state.raw``) tells: Domo has no log or task API,
    so this exchange sends nothing."""
    detail = empty_detail(state.status)
    detail["record"] = record_fields(state.raw, FAILURE_RECORD_FIELDS, bounds.max_bytes)
    message = state.raw.get(ERROR_MESSAGE_FIELD)
    detail["message"] = clip(message, bounds.max_bytes) if isinstance(message, str) and message else None
    return detail
    yield  # an exchange with no step
