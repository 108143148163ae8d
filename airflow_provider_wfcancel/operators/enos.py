"""Operators for the EnOS Batch Processing Service."""

from __future__ import annotations

from typing import Any

from airflow_provider_wfcancel._validation import blank_as_none
from airflow_provider_wfcancel.hooks.enos import EnosHook
from airflow_provider_wfcancel.operators._base import BaseCancelOperator, BaseStartOperator


class _EnosIdentityMixin:
    """``user_id``/``org_id`` given to the operator become the hook's defaults for every call.

    An empty or whitespace-only value (what a UI form sends for an empty optional field, rendered at
    execute time) counts as not given: the connection's ``user_id``/``org_id`` extra applies.
    """

    user_id: str | None
    org_id: str | None

    def make_hook(self, conn_id: str) -> EnosHook:
        return EnosHook(conn_id, user_id=blank_as_none(self.user_id), org_id=blank_as_none(self.org_id))


class EnosCancelFlowInstanceOperator(_EnosIdentityMixin, BaseCancelOperator):
    """Cancel a running EnOS Batch Processing flow instance and return a :class:`CancelResult` to XCom.

    EnOS answers a cancel with an empty ``data`` and reports ``CANCEL`` a moment later, so by default the
    operator waits (at most ``timeout`` seconds) until the instance reports a terminal status. EnOS lets
    only the instance's owner cancel it: ``user_id`` (or the connection's ``user_id`` extra) must be that
    owner. When EnOS refuses the cancel because the instance had already finished, the result's outcome
    is ``already_finished``.

    :param flow_instance_id: the flow instance id, ``{flowId}-{digits}`` such as ``2438-201908081020``;
        templated.
    :param enos_conn_id: ``enos`` connection; templated.
    :param user_id: EnOS User ID to act as (default, also when empty: the connection's ``user_id``
        extra); templated.
    :param org_id: EnOS Organization ID (default, also when empty: the connection's ``org_id`` extra);
        templated.
    :param wait_for_termination: wait until the instance is terminal (``CANCEL`` or another end);
        templated, so a UI form's boolean can drive it.
    :param timeout: seconds to wait before failing with the last status seen.
    :param poll_interval: seconds between status checks while waiting.
    :param fail_if_already_finished: fail when the instance had already finished, instead of
        succeeding with outcome ``already_finished``.
    :param deferrable: wait in the triggerer instead of holding a worker slot (default from
        ``[operators] default_deferrable``); the XCom result is the same.
    """

    template_fields = ("flow_instance_id", "user_id", "org_id", "enos_conn_id", "wait_for_termination")
    hook_class = EnosHook
    service_key = "enos"
    instance_id_field = "flow_instance_id"
    conn_id_field = "enos_conn_id"

    def __init__(
        self,
        *,
        flow_instance_id: str,
        enos_conn_id: str = EnosHook.default_conn_name,
        user_id: str | None = None,
        org_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.flow_instance_id = flow_instance_id
        self.enos_conn_id = enos_conn_id
        self.user_id = user_id
        self.org_id = org_id


class EnosTriggerFlowOperator(_EnosIdentityMixin, BaseStartOperator):
    """Trigger an EnOS Batch Processing flow; push the new ``instance_id`` at once.

    EnOS answers a trigger with the new id only: the id is pushed (and kept for ``on_kill``) first, then
    one Get Flow Instance reads ``status_at_start``, best-effort (``None`` when that read fails).

    :param flow_id: the flow to trigger (an integer, or a string of digits from a template); templated.
    :param trigger_time_ms: scheduled time of the instance, epoch milliseconds (default: now).
    :param enos_conn_id: ``enos`` connection; templated.
    :param user_id: EnOS User ID to act as, the owner of the new instance (default, also when empty:
        the connection's ``user_id`` extra); templated.
    :param org_id: EnOS Organization ID (default, also when empty: the connection's ``org_id`` extra);
        templated.
    :param wait_for_completion: wait until the instance ends; fail unless it ends ``SUCCESS``.
    :param timeout: seconds to wait for completion (default 3600) before failing with
        :class:`~airflow_provider_wfcancel.exceptions.WaitTimeoutError`.
    :param poll_interval: seconds between status checks while waiting (default 10).
    :param cancel_on_kill: cancel the instance when the task is killed (marked failed, cleared,
        ``execution_timeout``), and when a wait for completion times out, deferred or not; best-effort,
        with a confirmation wait of at most ``min(timeout, 60)`` seconds.
    :param deferrable: wait in the triggerer instead of holding a worker slot (default from
        ``[operators] default_deferrable``); the XCom result is the same.
    """

    template_fields = ("flow_id", "user_id", "org_id", "enos_conn_id", "wait_for_completion")
    hook_class = EnosHook
    service_key = "enos"
    conn_id_field = "enos_conn_id"

    def __init__(
        self,
        *,
        flow_id: int | str,
        trigger_time_ms: int | None = None,
        enos_conn_id: str = EnosHook.default_conn_name,
        user_id: str | None = None,
        org_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.flow_id = flow_id
        self.trigger_time_ms = trigger_time_ms
        self.enos_conn_id = enos_conn_id
        self.user_id = user_id
        self.org_id = org_id

    def start_instance(self) -> str:
        """Trigger the flow; return the new instance id (the status is read by ``execute``, afterwards)."""
        flow_id = self.flow_id
        if isinstance(flow_id, str) and flow_id.strip().isascii() and flow_id.strip().isdigit():
            flow_id = int(flow_id)
        hook = self.hook
        assert isinstance(hook, EnosHook)
        return hook.trigger_flow(flow_id, self.trigger_time_ms)  # type: ignore[arg-type]  # validated there
