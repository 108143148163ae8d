"""Cancel-on-failure callbacks that reuse the operators' cancel path.

A callback must never fail the thing it is attached to: every error is logged with its reason and
swallowed, and an id that rendered empty or to a placeholder such as ``None`` (the producing task never
pushed one; see :func:`~airflow_provider_wfcancel._validation.is_missing_id`) is skipped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseNotifier

from airflow_provider_wfcancel._validation import is_missing_id
from airflow_provider_wfcancel.operators._base import BaseCancelOperator
from airflow_provider_wfcancel.version_compat import RenderEmptyTemplatesMixin

if TYPE_CHECKING:
    from airflow.sdk import Context


class BaseCancelNotifier(RenderEmptyTemplatesMixin, BaseNotifier):
    """Runs ``operator_class``'s cancel (without XCom pushes) from ``on_failure_callback`` and friends."""

    operator_class: ClassVar[type[BaseCancelOperator]]

    def __init__(self, **operator_kwargs: Any) -> None:
        super().__init__()
        self.operator_kwargs = operator_kwargs
        for name in self.template_fields:
            setattr(self, name, operator_kwargs.pop(name))

    def notify(self, context: Context) -> None:
        id_field = self.operator_class.instance_id_field
        instance_id = getattr(self, id_field)
        if is_missing_id(instance_id):
            self.log.warning(
                "Not cancelling: %s rendered to %r (nothing was started?)", id_field, instance_id
            )
            return
        fields = {name: getattr(self, name) for name in self.template_fields}
        try:
            operator = self.operator_class(task_id="cancel_on_callback", **fields, **self.operator_kwargs)
            result = operator.cancel()
        except Exception as error:  # a callback reports, it never raises
            self.log.warning("Best-effort cancel of %s failed: %s", instance_id, error)
            return
        self.log.info(
            "Cancel of %s %s from callback: %s (final status %s)",
            result["service"],
            result["instance_id"],
            result["outcome"],
            result["final_status"] or "not awaited",
        )
