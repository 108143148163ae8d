"""Hook for the Domo Workflows product API (``https://{instance}.domo.com/api/workflow/v1``).

Status semantics (Domo documents ``null``, ``IN_PROGRESS``, ``CANCELED`` and ``COMPLETED``):
``null`` and ``IN_PROGRESS`` mean running; ``CANCELED`` means cancelled; ``COMPLETED`` and any other
non-null value (``FAILED`` is likely but undocumented) are terminal. Unknown values are kept verbatim.

Every exchange is written once as a generator that yields the requests it needs and parses the answers
(:meth:`DomoHook._cancel_flow`, ...); :meth:`DomoHook._run` sends them synchronously and
:meth:`DomoHook._arun` asynchronously, so the sync and async paths cannot drift apart.
"""

from __future__ import annotations

import re
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any, TypeVar
from urllib.parse import quote

from airflow.sdk import Connection
from airflow.sdk.log import mask_secret

from airflow_provider_wfcancel._connection import ExtraReader, base_url_from_host
from airflow_provider_wfcancel._http import ApiRequest, ApiResponse
from airflow_provider_wfcancel._validation import check_header_secret, check_json, validate_id
from airflow_provider_wfcancel.exceptions import (
    ApiError,
    InvalidInputError,
    PermissionDeniedError,
    WfCancelError,
)
from airflow_provider_wfcancel.hooks._base import (
    BulkCancelItem,
    CancelAck,
    InstanceState,
    ServiceSettings,
    WorkflowServiceHook,
    arun_flow,
    refused_cancel_of_finished,
    run_flow,
)
from airflow_provider_wfcancel.version_compat import (
    AIRFLOW_V_3_2_PLUS,
    legacy_connection_form_widgets,
    legacy_ui_field_behaviour,
)

SERVICE = "Domo"
API_PREFIX = "/api/workflow/v1"
RUNNING_STATUSES = frozenset({None, "IN_PROGRESS"})
CANCELED = "CANCELED"
COMPLETED = "COMPLETED"
#: How Domo might refuse to cancel an instance that already finished (undocumented; the emulator's
#: ``domo_cancel_terminal="conflict"`` answers 409). The hook then looks the instance up.
CANCEL_REFUSED_STATUSES = frozenset({400, 409})
_INSTANCE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")

T = TypeVar("T")
#: A Domo exchange: yields each request, receives its response (see :func:`run_flow`).
Flow = Generator[ApiRequest, ApiResponse, T]


@dataclass(frozen=True)
class DomoSettings(ServiceSettings):
    token: str = field(repr=False)

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


class DomoHook(WorkflowServiceHook[DomoSettings]):
    """Talks to one Domo instance with a developer access token.

    Connection ``domo``: host is the instance (``acme``, ``acme.domo.com`` or a base URL such as
    ``https://acme.domo.com``); port, if set, is added to the host (a URI connection such as
    ``domo://:TOKEN@127.0.0.1:8089`` puts it there); password is the developer access token. Extras: ``timeout``,
    ``verify_ssl``, ``ca_bundle``, ``max_retries``.

    :param domo_conn_id: Airflow connection id.
    """

    conn_name_attr = "domo_conn_id"
    default_conn_name = "domo_default"
    conn_type = "domo"
    hook_name = "Domo"
    service = SERVICE
    if not AIRFLOW_V_3_2_PLUS:  # Airflow 3.1 draws the connection form from these; 3.2+ from provider info
        get_connection_form_widgets = classmethod(legacy_connection_form_widgets)
        get_ui_field_behaviour = classmethod(legacy_ui_field_behaviour)

    def __init__(self, domo_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(domo_conn_id, **kwargs)
        self.domo_conn_id = domo_conn_id

    # -- connection and auth ----------------------------------------------------------------------

    @classmethod
    def parse_connection(cls, conn: Connection) -> DomoSettings:
        conn_id = conn.conn_id
        extras = ExtraReader.of(conn)
        token = (conn.password or "").strip()
        if not token:
            raise InvalidInputError(f"connection {conn_id!r} has no developer access token (password)")
        mask_secret(token)
        check_header_secret(token, field=f"connection {conn_id!r} password (the Domo developer token)")
        return DomoSettings(
            conn_id=conn_id,
            base_url=base_url_from_host(
                conn_id, conn.host, port=conn.port, field="host (Domo instance)", default_domain="domo.com"
            ),
            http=extras.http_settings(),
            token=token,
        )

    # -- request builders and parsing (pure, shared by the sync and async paths) --------------------------

    @classmethod
    def validate_instance_id(cls, value: Any) -> str:
        return validate_id(value, field="instance_id", pattern=_INSTANCE_ID, example="2052e10a-9b8c-...")

    @staticmethod
    def _api_url(settings: DomoSettings, path: str) -> str:
        return f"{settings.base_url}{API_PREFIX}{path}"

    @classmethod
    def _instance_url(cls, settings: DomoSettings, instance_id: str, suffix: str = "") -> str:
        return cls._api_url(settings, f"/instances/{quote(instance_id, safe='')}{suffix}")

    @staticmethod
    def _state_from_body(settings: DomoSettings, instance_id: str, body: dict[str, Any]) -> InstanceState:
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
        )

    @classmethod
    def _state_from(cls, settings: DomoSettings, instance_id: str, response: ApiResponse) -> InstanceState:
        return cls._state_from_body(settings, instance_id, cls._json_object(response))

    @classmethod
    def _ack_from(cls, settings: DomoSettings, instance_id: str, response: ApiResponse) -> CancelAck:
        """A cancel answer: Domo returns the instance as it was when the request arrived."""
        state = cls._state_from(settings, instance_id, response)
        return CancelAck(
            instance_id,
            dict(state.raw),
            state_at_request=state,
            already_finished=state.is_terminal,
            earlier_attempt_may_have_applied=response.earlier_attempt_may_have_applied,
        )

    @staticmethod
    def _unblocked(response: ApiResponse) -> ApiResponse:
        """``response``, unless it is the HTML "Blocked" page Domo's IP allowlist answers with (a 2xx)."""
        if response.content.lstrip()[:1] == b"<" and b"Blocked" in response.content[:4096]:
            raise response.error(
                "Domo blocked the request (IP allowlist page instead of JSON)",
                error_class=PermissionDeniedError,
            )
        return response

    @classmethod
    def _json_object(cls, response: ApiResponse) -> dict[str, Any]:
        return cls._unblocked(response).json_object()

    # -- exchanges: written once, run by _run (sync) or _arun (async) --------------------------------------

    def _get_flow(self, settings: DomoSettings, instance_id: str) -> Flow[InstanceState]:
        response = yield ApiRequest("GET", self._instance_url(settings, instance_id))
        return self._state_from(settings, instance_id, response)

    def _cancel_flow(self, settings: DomoSettings, instance_id: str) -> Flow[CancelAck]:
        """Cancel; when Domo refuses with 400/409 and the instance turns out to be finished, say so."""
        try:
            response = yield ApiRequest("POST", self._instance_url(settings, instance_id, "/cancel"))
        except ApiError as error:
            if error.http_status not in CANCEL_REFUSED_STATUSES:
                raise
            refusal = {"status": error.http_status, "body": error.body_excerpt, "requestId": error.request_id}
            lookup = self._get_flow(settings, instance_id)
            return (yield from refused_cancel_of_finished(SERVICE, instance_id, error, refusal, lookup))
        return self._ack_from(settings, instance_id, response)

    def _start_flow(self, settings: DomoSettings, payload: dict[str, Any]) -> Flow[InstanceState]:
        request = ApiRequest.with_json(
            "POST", self._api_url(settings, "/instances/message"), payload, idempotent=False
        )
        response = yield request
        body = self._json_object(response)
        instance_id = body.get("id")
        if not isinstance(instance_id, str) or not instance_id.strip():
            raise response.error(
                "Domo answered the start without an instance id (a non-empty string 'id'); "
                "an instance may have started"
            )
        return self._state_from_body(settings, instance_id, body)

    def _list_flow(self, settings: DomoSettings, params: dict[str, str]) -> Flow[list[InstanceState]]:
        response = yield ApiRequest("GET", self._api_url(settings, "/instances"), params=params)
        items = self._unblocked(response).json()
        if not isinstance(items, list):
            raise response.error("expected a JSON array of instances")
        return [
            self._state_from_body(settings, str(item.get("id", "")), item)
            for item in items
            if isinstance(item, dict)
        ]

    def _probe_flow(self, settings: DomoSettings) -> Flow[dict[str, Any]]:
        response = yield ApiRequest("GET", f"{settings.base_url}/api/content/v2/users/me")
        return self._json_object(response)

    # -- runners: the only difference between sync and async is how a request is sent ----------------------

    def _run(self, settings: DomoSettings, flow: Flow[T]) -> T:
        auth = DomoTokenAuth(settings.token)
        return run_flow(flow, lambda request: self.transport.send(request, auth))

    async def _arun(self, settings: DomoSettings, flow: Flow[T]) -> T:
        auth = DomoTokenAuth(settings.token)
        transport = await self.atransport()
        return await arun_flow(flow, lambda request: transport.send(request, auth))

    # -- the API ------------------------------------------------------------------------------------------

    def request_cancel(self, instance_id: str) -> CancelAck:
        """``POST /instances/{id}/cancel``. Domo answers with the status at the moment of the request;
        the cancellation itself completes a moment later.

        When Domo refuses with HTTP 400/409 and the instance turns out to be finished, the ack says
        ``already_finished`` with that status; otherwise the refusal is raised.
        """
        instance_id = self.validate_instance_id(instance_id)
        settings = self.settings
        return self._run(settings, self._cancel_flow(settings, instance_id))

    cancel_instance = request_cancel

    async def arequest_cancel(self, instance_id: str) -> CancelAck:
        instance_id = self.validate_instance_id(instance_id)
        settings = await self.asettings()
        return await self._arun(settings, self._cancel_flow(settings, instance_id))

    def get_state(self, instance_id: str) -> InstanceState:
        """``GET /instances/{id}``."""
        instance_id = self.validate_instance_id(instance_id)
        settings = self.settings
        return self._run(settings, self._get_flow(settings, instance_id))

    get_instance = get_state

    async def aget_state(self, instance_id: str) -> InstanceState:
        instance_id = self.validate_instance_id(instance_id)
        settings = await self.asettings()
        return await self._arun(settings, self._get_flow(settings, instance_id))

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
        check_json(data, field="data")
        payload = {"messageName": message_name, "version": version, "modelId": model_id, "data": data or {}}
        settings = self.settings
        return self._run(settings, self._start_flow(settings, payload))

    def list_instances(self, model_id: str, *, limit: int = 50, offset: int = 0) -> list[InstanceState]:
        """``GET /instances?modelId=..`` (newest first): a model's instances."""
        model_id = validate_id(model_id, field="model_id", pattern=_INSTANCE_ID)
        if not (1 <= limit <= 500 and offset >= 0):
            raise InvalidInputError(f"limit must be 1..500 and offset >= 0, got {limit!r}, {offset!r}")
        params = {"modelId": model_id, "limit": str(limit), "offset": str(offset), "sort": "createdOn:desc"}
        settings = self.settings
        return self._run(settings, self._list_flow(settings, params))

    def cancel_instances(self, instance_ids: list[str], *, max_workers: int = 8) -> list[BulkCancelItem]:
        """Cancel many instances concurrently; see :meth:`WorkflowServiceHook.cancel_many`."""
        return self.cancel_many(instance_ids, max_workers=max_workers)

    def probe(self) -> str:
        """``GET /api/content/v2/users/me``: the cheapest call that proves the token."""
        settings = self.settings
        try:
            body = self._run(settings, self._probe_flow(settings))
        except WfCancelError as error:
            if error.http_status == 404:
                raise error.replace(
                    message="no Domo API at this host (is the instance name right?)"
                ) from None
            raise
        who = body.get("displayName") or body.get("id")
        return f"Connected to Domo at {settings.base_url}" + (f" as {who}" if who else "")
