"""Hook for the EnOS Batch Processing Service: the connection, and the public calls on top of
:mod:`.._protocol.enos`; the access token's steps (cache, per-key locks) are in :mod:`._enos_token`.
When the gateway rejects a token, the exchange drops it, gets a new one and repeats the call exactly once.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from airflow_provider_wfcancel._connection import ExtraReader, base_url_from_host, required_field
from airflow_provider_wfcancel._protocol.enos import exchanges as enos
from airflow_provider_wfcancel._protocol.enos.exchanges import EnosSettings, Identity, validate_flow_id
from airflow_provider_wfcancel._protocol.enos.responses import (
    SERVICE,
    SUCCEEDED,
    TERMINAL_STATUSES,
    FlowInstancePage,
)
from airflow_provider_wfcancel._protocol.enos.tokens import clear_token_cache
from airflow_provider_wfcancel._protocol.exchange import Exchange
from airflow_provider_wfcancel._protocol.model import CancelAck, InstanceState
from airflow_provider_wfcancel._validation import check_no_control_characters, validate_id
from airflow_provider_wfcancel.exceptions import InvalidInputError
from airflow_provider_wfcancel.hooks._base import WorkflowServiceHook
from airflow_provider_wfcancel.hooks._bulk import DEFAULT_BULK_DEADLINE, BulkCancelItem
from airflow_provider_wfcancel.hooks._enos_flows import EnosFlowTriggers
from airflow_provider_wfcancel.hooks._enos_token import EnosTokenSteps
from airflow_provider_wfcancel.hooks._listing import ListingBounds, Page, start_budget, walk
from airflow_provider_wfcancel.version_compat import Connection

__all__ = ["EnosHook", "EnosSettings", "FlowInstancePage", "clear_token_cache", "validate_flow_id"]


SEARCH_PAGE_SIZE = 100
#: INIT, RUNNING, SUSPEND, WAIT, READY, RERUN: the codes of a flow instance that has not ended.
RUNNING_CODES = (0, 2, 3, 5, 6, 9)


class EnosHook(EnosTokenSteps, EnosFlowTriggers, WorkflowServiceHook[EnosSettings]):
    """Talks to the EnOS Batch Processing Service as one application (service account).

    Connection ``enos``: host is the API gateway (``apim-ppe1.envisioniot.com`` or a URL; https is
    assumed); port, if set, is added to the host; login is the Access Key (appKey); password is the
    Secret Key (appSecret). Extras: ``org_id`` (required, the Organization ID), ``user_id`` (the User ID
    every batch-processing call runs as; cancelling requires the instance's owner), and ``timeout``,
    ``verify_ssl``, ``ca_bundle``, ``max_retries``, ``max_response_bytes``, ``max_requests_per_second``.

    :param enos_conn_id: Airflow connection id.
    :param user_id: default ``userId`` for every call of this hook (overrides the connection's).
    :param org_id: default ``orgId`` for every call of this hook (overrides the connection's).
    """

    conn_name_attr = "enos_conn_id"
    default_conn_name = "enos_default"
    conn_type = "enos"
    hook_name = "EnOS"
    service = SERVICE
    not_found_message = "no EnOS Batch Processing API at this gateway (is the host right?)"
    terminal_statuses = TERMINAL_STATUSES
    success_status = SUCCEEDED

    def __init__(
        self,
        enos_conn_id: str = default_conn_name,
        *,
        user_id: str | None = None,
        org_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(enos_conn_id, **kwargs)
        self.enos_conn_id = enos_conn_id
        self.user_id = user_id
        self.org_id = org_id

    def task_options(self) -> dict[str, Any]:
        return {"user_id": self.user_id, "org_id": self.org_id}

    @classmethod
    def parse_connection(cls, conn: Connection) -> EnosSettings:
        conn_id = conn.conn_id
        extras = ExtraReader.of(conn)
        app_key = required_field(conn_id, conn.login, "login (the EnOS application's Access Key, appKey)")
        app_secret = required_field(
            conn_id, conn.password, "password (the EnOS application's Secret Key, appSecret)"
        )
        check_no_control_characters(app_secret, field=f"connection {conn_id!r} password (the Secret Key)")
        org_id = extras.string("org_id")
        if org_id is None:
            raise InvalidInputError(
                f"connection {conn_id!r} has no extra 'org_id' (the EnOS Organization ID, e.g. 'o1578468179')"
            )
        user_id = extras.string("user_id")
        return EnosSettings(
            conn_id=conn_id,
            base_url=base_url_from_host(conn_id, conn.host, port=conn.port, field="host (EnOS API gateway)"),
            http=extras.http_settings(),
            app_key=validate_id(
                app_key,
                field=f"connection {conn_id!r} login (the Access Key, appKey)",
                pattern=enos.APP_KEY,
                example=enos.APP_KEY_EXAMPLE,
            ),
            app_secret=app_secret,
            org_id=enos.check_org_id(org_id, f"connection {conn_id!r} extra 'org_id'"),
            user_id=None
            if user_id is None
            else enos.check_user_id(user_id, f"connection {conn_id!r} extra 'user_id'"),
        )

    def identity(
        self, settings: EnosSettings, user_id: str | None = None, org_id: str | None = None
    ) -> Identity:
        """``userId``/``orgId`` for one call: the argument, else the hook's default, else the connection's."""
        user = user_id if user_id is not None else self.user_id
        org = org_id if org_id is not None else self.org_id
        if user is None:
            user = settings.user_id
            if user is None:
                raise InvalidInputError(
                    f"no EnOS user id: pass user_id or set the extra 'user_id' of connection {settings.conn_id!r} "
                    "(batch-processing calls run as a user, e.g. 'u15426865866571')"
                )
        return Identity(
            user_id=enos.check_user_id(user, "user_id"),
            org_id=enos.check_org_id(org if org is not None else settings.org_id, "org_id"),
        )

    @classmethod
    def validate_instance_id(cls, value: Any) -> str:
        return enos.check_flow_instance_id(value)

    def cancel_exchange(
        self, settings: EnosSettings, instance_id: str, **options: Any
    ) -> Exchange[CancelAck]:
        """``options``: ``user_id``/``org_id`` of this call (default: the hook's, then the connection's)."""
        return enos.cancel(settings, instance_id, self.identity(settings, **options))

    def get_exchange(
        self, settings: EnosSettings, instance_id: str, **options: Any
    ) -> Exchange[InstanceState]:
        return enos.get(settings, instance_id, self.identity(settings, **options))

    # -- EnOS' own calls -------------------------------------------------------------------------------

    cancel_flow_instance = WorkflowServiceHook.request_cancel
    get_flow_instance = WorkflowServiceHook.get_state

    def search_flow_instances(
        self,
        *,
        flow_type: int = 1,
        expression: str = "",
        owner: str = "",
        from_trigger_time_ms: int | None = None,
        to_trigger_time_ms: int | None = None,
        statuses: Iterable[int] | None = None,
        page_no: int = 1,
        page_size: int = 20,
        sorters: Sequence[tuple[str, str]] = (),
        user_id: str | None = None,
        org_id: str | None = None,
    ) -> FlowInstancePage:
        """List Flow Instances (``POST flowInstances?action=search``).

        :param flow_type: 0 manual, 1 periodic, 2 temporary.
        :param expression: fuzzy match on instance id or flow name.
        :param owner: owner's user name ("" for any).
        :param from_trigger_time_ms: start of the trigger-time range (default: 7 days ago).
        :param to_trigger_time_ms: end of the trigger-time range (default: now).
        :param statuses: status codes to keep (``None`` for all).
        :param sorters: ``(field, "ASC"|"DESC")`` pairs, field one of createTime, updateTime,
            startTime, triggerTime, endTime.
        """
        call = {name: value for name, value in locals().items() if name != "self"}
        return self.run(self._search(self.settings, call))

    async def asearch_flow_instances(self, **arguments: Any) -> FlowInstancePage:
        """Async twin of :meth:`search_flow_instances` (event triggers), with its keyword arguments."""
        if unknown := sorted(set(arguments) - set(_SEARCH_DEFAULTS)):
            raise TypeError(f"asearch_flow_instances() got unexpected keyword arguments {unknown}")
        return await self.arun(self._search(await self.asettings(), {**_SEARCH_DEFAULTS, **arguments}))

    def _search(self, settings: EnosSettings, call: dict[str, Any]) -> Exchange[FlowInstancePage]:
        ident = self.identity(settings, call["user_id"], call["org_id"])
        bounds = (call["from_trigger_time_ms"], call["to_trigger_time_ms"], call["statuses"])
        paging = (call["page_no"], call["page_size"], call["sorters"])
        payload = enos.search_payload(call["flow_type"], call["expression"], call["owner"], *bounds, *paging)
        return enos.search(settings, ident, payload)

    def running_flow_instances(
        self, flow_id: Any, *, keep: Callable[[InstanceState], bool] | None = None, **options: Any
    ) -> list[InstanceState]:
        """A flow's running instances (every flow type) that ``keep`` accepts; see :meth:`search_running`."""
        flow = str(validate_flow_id(flow_id))

        def of_flow(state: InstanceState) -> bool:
            return str(state.raw.get("flowId")) == flow and (keep is None or keep(state))

        return self.search_running(expression=flow, keep=of_flow, **options)

    def search_running(
        self,
        *,
        expression: str = "",
        started_after: datetime | None = None,
        started_before: datetime | None = None,
        keep: Callable[[InstanceState], bool] | None = None,
        limit: int = 10_000,
        bounds: ListingBounds | None = None,
    ) -> list[InstanceState]:
        """The organization's running flow instances (every flow type) whose id or flow name contains
        ``expression`` (``""``: all), triggered inside the window, that ``keep`` accepts. The service filters
        by status (List Flow Instances' ``status``), so the default window is every trigger time up to a
        day ahead (the service's own default, the last 7 days, would hide an instance stuck for longer).
        The three flow types' listings share ``bounds``; each instance once, at most ``limit`` + 1 collected
        (enough to tell a caller's cap was passed)."""
        low = int(started_after.timestamp() * 1000) if started_after else 0
        high = int((started_before or datetime.now(UTC) + timedelta(days=1)).timestamp() * 1000)
        found: dict[str, InstanceState] = {}
        budget = start_budget(bounds)
        for flow_type in (0, 1, 2):

            def page(number: int, offset: int, flow_type: int = flow_type) -> Page:
                answer = self.search_flow_instances(
                    flow_type=flow_type,
                    expression=expression,
                    from_trigger_time_ms=low,
                    to_trigger_time_ms=high,
                    statuses=RUNNING_CODES,
                    page_no=number + 1,
                    page_size=SEARCH_PAGE_SIZE,
                )
                return Page(answer.instances, answer.count)

            what = f"of running EnOS flow instances (type {flow_type}, {expression!r})"
            for state in walk(page, page_size=SEARCH_PAGE_SIZE, what=what, service=SERVICE, budget=budget):
                if not state.is_terminal and (keep is None or keep(state)):
                    found.setdefault(state.instance_id, state)
                    if len(found) > limit:
                        return list(found.values())
        return list(found.values())

    def cancel_flow_instances(
        self, instance_ids: list[str], *, max_workers: int = 8, deadline: float = DEFAULT_BULK_DEADLINE
    ) -> list[BulkCancelItem]:
        """Cancel many instances concurrently (one shared token); see :meth:`WorkflowServiceHook.cancel_many`."""
        return self.cancel_many(instance_ids, max_workers=max_workers, deadline=deadline)

    def _probe(self, settings: EnosSettings) -> str:
        """Get a token (proves appKey and secret), then one tiny signed search (proves userId/orgId)."""
        self._access_token(settings)
        if settings.user_id is None and self.user_id is None:
            return (
                f"Connected to EnOS at {settings.base_url}: the access key and secret key are valid; "
                "set the extra 'user_id' to also check batch-processing access"
            )
        ident = self.identity(settings)
        self.run(enos.search(settings, ident, enos.search_payload(1, "", "", None, None, None, 1, 1, ())))
        return (
            f"Connected to EnOS at {settings.base_url}: the keys are valid and user {ident.user_id} "
            f"in organization {ident.org_id} can use the Batch Processing Service"
        )


#: The keyword arguments of a search and their defaults (:meth:`EnosHook.asearch_flow_instances`).
_SEARCH_DEFAULTS: dict[str, Any] = {
    name: parameter.default
    for name, parameter in inspect.signature(EnosHook.search_flow_instances).parameters.items()
    if name != "self"
}
