"""Hook for Domo Workflows: the connection, and the public calls on top of :mod:`.._protocol.domo`."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from airflow_provider_wfcancel._connection import ExtraReader, base_url_from_host, required_field
from airflow_provider_wfcancel._protocol import domo
from airflow_provider_wfcancel._protocol.domo import DomoSettings, DomoTokenAuth, normalize_status
from airflow_provider_wfcancel._protocol.exchange import Exchange
from airflow_provider_wfcancel._protocol.failure import DetailBounds, FailureDetail
from airflow_provider_wfcancel._protocol.model import CancelAck, InstanceState
from airflow_provider_wfcancel._validation import check_header_secret, check_json, validate_id
from airflow_provider_wfcancel.exceptions import InvalidInputError
from airflow_provider_wfcancel.hooks._base import WorkflowServiceHook
from airflow_provider_wfcancel.hooks._bulk import DEFAULT_BULK_DEADLINE, BulkCancelItem
from airflow_provider_wfcancel.hooks._listing import ListingBounds, OlderInARow, Page, start_budget, walk
from airflow_provider_wfcancel.version_compat import Connection

__all__ = ["DomoHook", "DomoSettings", "DomoTokenAuth", "normalize_status"]


PAGE_SIZE = 500


class DomoHook(WorkflowServiceHook[DomoSettings]):
    """Talks to one Domo instance with a developer access token.

    Connection ``domo``: host is the instance (``acme``, ``acme.domo.com`` or a base URL such as
    ``https://acme.domo.com``); port, if set, is added to the host (a URI connection such as
    ``domo://:TOKEN@127.0.0.1:8089`` puts it there); password is the developer access token. Extras:
    ``timeout``, ``verify_ssl``, ``ca_bundle``, ``max_retries``, ``max_response_bytes``, ``max_requests_per_second``.

    :param domo_conn_id: Airflow connection id.
    """

    conn_name_attr = "domo_conn_id"
    default_conn_name = "domo_default"
    conn_type = "domo"
    hook_name = "Domo"
    service = domo.SERVICE
    not_found_message = "no Domo API at this host (is the instance name right?)"
    terminal_statuses = domo.TERMINAL_STATUSES
    success_status = domo.COMPLETED

    def __init__(self, domo_conn_id: str = default_conn_name, **kwargs: Any) -> None:
        super().__init__(domo_conn_id, **kwargs)
        self.domo_conn_id = domo_conn_id

    @classmethod
    def parse_connection(cls, conn: Connection) -> DomoSettings:
        conn_id = conn.conn_id
        extras = ExtraReader.of(conn)
        token = required_field(conn_id, conn.password, "developer access token (password)")
        check_header_secret(token, field=f"connection {conn_id!r} password (the Domo developer token)")
        return DomoSettings(
            conn_id=conn_id,
            base_url=base_url_from_host(
                conn_id, conn.host, port=conn.port, field="host (Domo instance)", default_domain="domo.com"
            ),
            http=extras.http_settings(),
            token=token,
        )

    @classmethod
    def validate_instance_id(cls, value: Any) -> str:
        return validate_id(
            value, field="instance_id", pattern=domo.INSTANCE_ID, example=domo.INSTANCE_ID_EXAMPLE
        )

    def cancel_exchange(
        self, settings: DomoSettings, instance_id: str, **options: Any
    ) -> Exchange[CancelAck]:
        return domo.cancel(settings, instance_id)

    def get_exchange(
        self, settings: DomoSettings, instance_id: str, **options: Any
    ) -> Exchange[InstanceState]:
        return domo.get(settings, instance_id)

    def failure_exchange(
        self, settings: DomoSettings, state: InstanceState, bounds: DetailBounds, **options: Any
    ) -> Exchange[FailureDetail]:
        """What the instance record holds (Domo has no log or task API)."""
        return domo.failure(state, bounds)

    # -- Domo's own calls -------------------------------------------------------------------------------

    cancel_instance = WorkflowServiceHook.request_cancel
    get_instance = WorkflowServiceHook.get_state

    def start_workflow(
        self, model_id: str, version: str, message_name: str, data: dict[str, Any] | None = None
    ) -> InstanceState:
        """``POST /instances/message``: start a deployed model version; returns the new instance.

        Not retried after the request may have reached Domo (a retry could start a second instance).
        """
        model_id = validate_id(model_id, field="model_id", pattern=domo.INSTANCE_ID)
        for name, value in (("version", version), ("message_name", message_name)):
            if not isinstance(value, str) or not value.strip():
                raise InvalidInputError(f"{name} must be a non-empty string, got {value!r}")
        if data is not None and not isinstance(data, dict):
            raise InvalidInputError(f"data must be a dict of start inputs, got {type(data).__name__}")
        check_json(data, field="data")
        payload = {"messageName": message_name, "version": version, "modelId": model_id, "data": data or {}}
        return self.run(domo.start(self.settings, payload))

    def list_instances(self, model_id: str, *, limit: int = 50, offset: int = 0) -> list[InstanceState]:
        """``GET /instances?modelId=..`` (newest first): a model's instances."""
        params = self._list_params(model_id, limit, offset)
        return self.run(domo.list_instances(self.settings, params))

    async def alist_instances(
        self, model_id: str, *, limit: int = 50, offset: int = 0
    ) -> list[InstanceState]:
        """Async twin of :meth:`list_instances` (event triggers)."""
        params = self._list_params(model_id, limit, offset)
        return await self.arun(domo.list_instances(await self.asettings(), params))

    @staticmethod
    def _list_params(model_id: str, limit: int, offset: int) -> dict[str, str]:
        model_id = validate_id(model_id, field="model_id", pattern=domo.INSTANCE_ID)
        whole = all(isinstance(n, int) and not isinstance(n, bool) for n in (limit, offset))
        if not (whole and 1 <= limit <= 500 and offset >= 0):
            raise InvalidInputError(f"limit must be 1..500 and offset >= 0, got {limit!r}, {offset!r}")
        return {"modelId": model_id, "limit": str(limit), "offset": str(offset), "sort": "createdOn:desc"}

    def running_instances(
        self,
        model_id: str,
        *,
        version: str | None = None,
        started_after: datetime | None = None,
        keep: Callable[[InstanceState], bool] | None = None,
        limit: int = 10_000,
        bounds: ListingBounds | None = None,
    ) -> list[InstanceState]:
        """A model's running instances (optionally of one ``version``) that ``keep`` accepts, newest first,
        paging through ``list_instances`` within ``bounds``; at most ``limit`` + 1 are collected (enough to
        tell a caller's cap was passed). Domo's list has no status filter, so this walks the model's
        history, asked newest first; with ``started_after`` the walk ends once a whole page in a row was
        created before it, and only while the server's order held (else it reads on, within ``bounds``)."""
        model_id = validate_id(model_id, field="model_id", pattern=domo.INSTANCE_ID)

        def page(number: int, offset: int) -> Page:
            return Page(self.list_instances(model_id, limit=PAGE_SIZE, offset=offset))

        found: list[InstanceState] = []
        window = OlderInARow(started_after, PAGE_SIZE)
        budget = start_budget(bounds)
        for state in walk(
            page, page_size=PAGE_SIZE, what=f"of Domo model {model_id}", service=self.service, budget=budget
        ):
            if window.passed(state):
                break  # a whole page older than the window, in order: everything further is older
            if state.is_terminal or (version is not None and state.raw.get("modelVersion") != version):
                continue
            if keep is None or keep(state):
                found.append(state)
                if len(found) > limit:
                    break
        return found

    def cancel_instances(
        self, instance_ids: list[str], *, max_workers: int = 8, deadline: float = DEFAULT_BULK_DEADLINE
    ) -> list[BulkCancelItem]:
        """Cancel many instances concurrently; see :meth:`WorkflowServiceHook.cancel_many`."""
        return self.cancel_many(instance_ids, max_workers=max_workers, deadline=deadline)

    def _probe(self, settings: DomoSettings) -> str:
        body = self.run(domo.probe(settings))
        who = body.get("displayName") or body.get("id")
        return f"Connected to Domo at {settings.base_url}" + (f" as {who}" if who else "")
