"""Operators for the EnOS Batch Processing Service."""

from __future__ import annotations

from typing import Any

from airflow_provider_wfcancel.hooks._base import InstanceState
from airflow_provider_wfcancel.hooks.enos import EnosHook
from airflow_provider_wfcancel.links import EnosFlowInstanceLink
from airflow_provider_wfcancel.operators._base import BaseCancelOperator, BaseStartOperator


class _EnosIdentityMixin:
    """``user_id``/``org_id`` given to the operator become the hook's defaults for every call."""

    user_id: str | None
    org_id: str | None

    def make_hook(self, conn_id: str) -> EnosHook:
        return EnosHook(conn_id, user_id=self.user_id, org_id=self.org_id)


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
    :param user_id: EnOS User ID to act as (default: the connection's ``user_id`` extra); templated.
    :param org_id: EnOS Organization ID (default: the connection's ``org_id`` extra); templated.
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
    operator_extra_links = (EnosFlowInstanceLink(),)
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

    :param flow_id: the flow to trigger (an integer, or a string of digits from a template); templated.
    :param trigger_time_ms: scheduled time of the instance, epoch milliseconds (default: now).
    :param enos_conn_id: ``enos`` connection; templated.
    :param user_id: EnOS User ID to act as, the owner of the new instance; templated.
    :param org_id: EnOS Organization ID; templated.
    :param wait_for_completion: wait until the instance ends; fail unless it ends ``SUCCESS``.
    :param cancel_on_kill: cancel the instance when the task is killed (marked failed, cleared,
        ``execution_timeout``).
    """

    template_fields = ("flow_id", "user_id", "org_id", "enos_conn_id", "wait_for_completion")
    operator_extra_links = (EnosFlowInstanceLink(),)
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

    def start_instance(self) -> InstanceState:
        flow_id = self.flow_id
        if isinstance(flow_id, str) and flow_id.strip().isdigit():
            flow_id = int(flow_id)
        hook = self.hook
        assert isinstance(hook, EnosHook)
        instance_id = hook.trigger_flow(flow_id, self.trigger_time_ms)  # type: ignore[arg-type]  # validated there
        return hook.get_state(instance_id)
