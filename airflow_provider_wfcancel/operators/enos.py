"""Operators for the EnOS Batch Processing Service."""

from __future__ import annotations

from typing import Any

from airflow_provider_wfcancel.hooks._base import CancelAck
from airflow_provider_wfcancel.hooks.enos import EnosHook
from airflow_provider_wfcancel.links import EnosFlowInstanceLink
from airflow_provider_wfcancel.operators._base import BaseCancelOperator


class EnosCancelFlowInstanceOperator(BaseCancelOperator):
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

    def make_hook(self, conn_id: str) -> EnosHook:
        # The overrides become the hook's defaults, so the base wait loop's get_state uses them too.
        return EnosHook(conn_id, user_id=self.user_id, org_id=self.org_id)

    def request_cancel(self, instance_id: str) -> CancelAck:
        hook = self.hook
        assert isinstance(hook, EnosHook)
        return hook.request_cancel(instance_id, user_id=self.user_id, org_id=self.org_id)
