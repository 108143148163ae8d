"""Hook for the Domo Workflows product API (``https://{instance}.domo.com/api/workflow/v1``).

Status semantics (Domo documents ``null``, ``IN_PROGRESS``, ``CANCELED`` and ``COMPLETED``):
``null`` and ``IN_PROGRESS`` mean running; ``CANCELED`` means cancelled; ``COMPLETED`` and any other
non-null value (``FAILED`` is likely but undocumented) are terminal. Unknown values are kept verbatim.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from airflow.sdk import Connection
from airflow.sdk.log import mask_secret

from airflow_provider_wfcancel._connection import ExtraReader, base_url_from_host
from airflow_provider_wfcancel._http import ApiRequest, ApiResponse
from airflow_provider_wfcancel._validation import validate_id
from airflow_provider_wfcancel.exceptions import (
    ApiError,
    InvalidInputError,
    PermissionDeniedError,
    WfCancelError,
    error_for_response,
)
from airflow_provider_wfcancel.hooks._base import (
    BulkCancelItem,
    CancelAck,
    InstanceState,
    ServiceSettings,
    WorkflowServiceHook,
)

SERVICE = "Domo"
API_PREFIX = "/api/workflow/v1"
RUNNING_STATUSES = frozenset({None, "IN_PROGRESS"})
CANCELED = "CANCELED"
COMPLETED = "COMPLETED"
_INSTANCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


@dataclass(frozen=True)
class DomoSettings(ServiceSettings):
    token: str

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

    async def aheaders(self, request: ApiRequest) -> dict[str, str]:
        return self.headers(request)

    def __repr__(self) -> str:
        return "DomoTokenAuth(token=***)"


def normalize_status(value: Any) -> str | None:
    """Domo sends ``null`` as JSON null or (older docs) the string ``"null"``; both mean not started."""
    if value is None or (isinstance(value, str) and value.strip().lower() in ("", "null")):
        return None
    return str(value)


class DomoHook(WorkflowServiceHook[DomoSettings]):
    """Talks to one Domo instance with a developer access token.

    Connection ``domo``: host is the instance (``acme``, ``acme.domo.com`` or a base URL such as
    ``https://acme.domo.com``); password is the developer access token. Extras: ``timeout``,
    ``verify_ssl``, ``ca_bundle``, ``max_retries``.

    :param domo_conn_id: Airflow connection id.
    """

    conn_name_attr = "domo_conn_id"
    default_conn_name = "domo_default"
    conn_type = "domo"
    hook_name = "Domo"
    service = SERVICE

    def __init__(self, domo_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(domo_conn_id, **kwargs)
        self.domo_conn_id = domo_conn_id

    # -- connection and auth ----------------------------------------------------------------------

    @classmethod
    def parse_connection(cls, conn: Connection) -> DomoSettings:
        conn_id = conn.conn_id
        extras = ExtraReader(conn_id, conn.extra_dejson)
        token = (conn.password or "").strip()
        if not token:
            raise InvalidInputError(f"connection {conn_id!r} has no developer access token (password)")
        mask_secret(token)
        return DomoSettings(
            conn_id=conn_id,
            base_url=base_url_from_host(
                conn_id, conn.host, field="host (Domo instance)", default_domain="domo.com"
            ),
            http=extras.http_settings(),
            token=token,
        )

    @property
    def auth(self) -> DomoTokenAuth:
        return DomoTokenAuth(self.settings.token)

    # -- request builders (shared by the sync and async paths) -------------------------------------

    @classmethod
    def validate_instance_id(cls, value: Any) -> str:
        return validate_id(value, field="instance_id", pattern=_INSTANCE_ID, example="2052e10a-9b8c-...")

    def _instance_path(self, instance_id: str, suffix: str = "") -> str:
        return f"{self.settings.base_url}{API_PREFIX}/instances/{quote(instance_id, safe='')}{suffix}"

    def _state_from(self, instance_id: str, response: ApiResponse) -> InstanceState:
        return self._state_from_body(instance_id, self._json_object(response))

    def _state_from_body(self, instance_id: str, body: dict[str, Any]) -> InstanceState:
        status = normalize_status(body.get("status"))
        return InstanceState(
            service=SERVICE,
            instance_id=str(body.get("id") or instance_id),
            status=status,
            is_terminal=status not in RUNNING_STATUSES,
            is_cancelled=status == CANCELED,
            is_success=status == COMPLETED,
            url=self.settings.instance_url(body),
            raw=body,
        )

    @staticmethod
    def _json_object(response: ApiResponse) -> dict[str, Any]:
        """The body as a JSON object; Domo's IP allowlist answers 2xx with an HTML "Blocked" page."""
        if response.content.lstrip()[:1] == b"<" and b"Blocked" in response.content:
            raise error_for_response(
                service=SERVICE,
                method=response.request.method,
                url=response.request.display_url,
                status_code=response.status_code,
                body=response.content,
                error_class=PermissionDeniedError,
                message="Domo blocked the request (IP allowlist page instead of JSON)",
            )
        return response.json_object()

    # -- the API ------------------------------------------------------------------------------------

    def request_cancel(self, instance_id: str) -> CancelAck:
        """``POST /instances/{id}/cancel``. Domo answers with the status at the moment of the request;
        the cancellation itself completes a moment later."""
        instance_id = self.validate_instance_id(instance_id)
        request = ApiRequest("POST", self._instance_path(instance_id, "/cancel"))
        response = self.transport.send(request, self.auth)
        state = self._state_from(instance_id, response)
        return CancelAck(
            instance_id,
            dict(state.raw),
            state_at_request=state,
            already_finished=state.is_terminal,
            earlier_attempt_may_have_applied=response.earlier_attempt_may_have_applied,
        )

    cancel_instance = request_cancel

    async def arequest_cancel(self, instance_id: str) -> CancelAck:
        instance_id = self.validate_instance_id(instance_id)
        settings = await self.asettings()
        request = ApiRequest("POST", self._instance_path(instance_id, "/cancel"))
        response = await (await self.atransport()).send(request, DomoTokenAuth(settings.token))
        state = self._state_from(instance_id, response)
        return CancelAck(
            instance_id,
            dict(state.raw),
            state_at_request=state,
            already_finished=state.is_terminal,
            earlier_attempt_may_have_applied=response.earlier_attempt_may_have_applied,
        )

    def get_state(self, instance_id: str) -> InstanceState:
        """``GET /instances/{id}``."""
        instance_id = self.validate_instance_id(instance_id)
        response = self.transport.send(ApiRequest("GET", self._instance_path(instance_id)), self.auth)
        return self._state_from(instance_id, response)

    get_instance = get_state

    async def aget_state(self, instance_id: str) -> InstanceState:
        instance_id = self.validate_instance_id(instance_id)
        settings = await self.asettings()
        request = ApiRequest("GET", self._instance_path(instance_id))
        response = await (await self.atransport()).send(request, DomoTokenAuth(settings.token))
        return self._state_from(instance_id, response)

    def start_workflow(
        self, model_id: str, version: str, message_name: str, data: dict[str, Any] | None = None
    ) -> InstanceState:
        """``POST /instances/message``: start a deployed model version; returns the new instance.

        Not retried after the request may have reached Domo (a retry could start a second instance).
        """
        model_id = validate_id(model_id, field="model_id", pattern=_INSTANCE_ID)
        for name, value in (("version", version), ("message_name", message_name)):
            if not isinstance(value, str) or not value.strip():
                raise InvalidInputError(f"{name} must be a non-empty string, got {value!r}")
        if data is not None and not isinstance(data, dict):
            raise InvalidInputError(f"data must be a dict of start inputs, got {type(data).__name__}")
        payload = {"messageName": message_name, "version": version, "modelId": model_id, "data": data or {}}
        request = ApiRequest.with_json(
            "POST", f"{self.settings.base_url}{API_PREFIX}/instances/message", payload, idempotent=False
        )
        response = self.transport.send(request, self.auth)
        body = self._json_object(response)
        return self._state_from_body(str(body.get("id", "")), body)

    def list_instances(self, model_id: str, *, limit: int = 50, offset: int = 0) -> list[InstanceState]:
        """``GET /instances?modelId=..`` (newest first): a model's instances."""
        model_id = validate_id(model_id, field="model_id", pattern=_INSTANCE_ID)
        if not (1 <= limit <= 500 and offset >= 0):
            raise InvalidInputError(f"limit must be 1..500 and offset >= 0, got {limit!r}, {offset!r}")
        params = {"modelId": model_id, "limit": str(limit), "offset": str(offset), "sort": "createdOn:desc"}
        request = ApiRequest("GET", f"{self.settings.base_url}{API_PREFIX}/instances", params=params)
        response = self.transport.send(request, self.auth)
        items = response.json()
        if not isinstance(items, list):
            raise ApiError("expected a JSON array of instances", service=SERVICE, url=request.display_url)
        return [
            self._state_from_body(str(item.get("id", "")), item) for item in items if isinstance(item, dict)
        ]

    def cancel_instances(self, instance_ids: list[str], *, max_workers: int = 8) -> list[BulkCancelItem]:
        """Cancel many instances concurrently; see :meth:`WorkflowServiceHook.cancel_many`."""
        return self.cancel_many(instance_ids, max_workers=max_workers)

    def probe(self) -> str:
        """``GET /api/content/v2/users/me``: the cheapest call that proves the token."""
        request = ApiRequest("GET", f"{self.settings.base_url}/api/content/v2/users/me")
        try:
            body = self._json_object(self.transport.send(request, self.auth))
        except WfCancelError as error:
            if error.http_status == 404:
                error.message = "no Domo API at this host (is the instance name right?)"
            raise
        who = body.get("displayName") or body.get("id")
        return f"Connected to Domo at {self.settings.base_url}" + (f" as {who}" if who else "")
