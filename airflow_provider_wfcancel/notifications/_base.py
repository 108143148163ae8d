"""Cancel callbacks: the cancel path of :mod:`.._cancel_path` for ``on_failure_callback`` and Deadline Alerts.

- As a task or DAG ``on_failure_callback`` the cancel is best-effort: the callback cannot change the run,
  so a failed cancel is logged at error level with its reason and swallowed.
- As a Deadline Alert callback (``SyncCallback`` in the executor, or ``AsyncCallback`` in the triggerer,
  which runs :meth:`BaseCancelNotifier.async_notify` on the hooks' async path) Airflow records the
  callback's outcome, so a cancel that could not be sent or was refused raises and the callback is
  FAILED with the reason in its log. So does any call whose context is not a failure callback's (a
  callback runner that passes none): success is reported only for a cancel that was sent.

Either way an id that rendered empty or to a placeholder such as ``None`` (see
:func:`~airflow_provider_wfcancel._validation.is_missing_id`) is logged and skipped: nothing was started.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar, NoReturn

from airflow_provider_wfcancel._cancel_path import CancelPlan, CancelResult, acancel, cancel
from airflow_provider_wfcancel._validation import is_missing_id
from airflow_provider_wfcancel.exceptions import InvalidInputError
from airflow_provider_wfcancel.version_compat import (
    AIRFLOW_V_3_1_PLUS,
    AIRFLOW_V_3_3_PLUS,
    BaseNotifier,
    NotifierContextMixin,
    RenderEmptyTemplatesMixin,
)

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_wfcancel.hooks._base import WorkflowServiceHook

#: The XCom key under which the start operators push the id of the instance they started.
STARTED_KEY = "instance_id"


def is_best_effort(context: Any) -> bool:
    """Whether the notifier runs as a task or DAG failure callback, whose context names the task instance
    or the DAG run (and no deadline): the callback cannot change the run, so a failed cancel is logged,
    not raised. Anything else (a Deadline Alert's ``{"dag_run": ..., "deadline": ...}``, or a callback
    runner that passed no context at all) records the callback's outcome: a failed cancel raises."""
    return (
        isinstance(context, Mapping)
        and "deadline" not in context
        and any(key in context for key in ("ti", "task_instance", "dag_run"))
    )


class BaseCancelNotifier(RenderEmptyTemplatesMixin, NotifierContextMixin, BaseNotifier):
    """Cancels one instance; subclasses name the id field and build the hook from their (rendered) fields.

    Give either the id (templated: ``"{{ dag_run.conf['instance_id'] }}"``, ``"{{ ti.xcom_pull(...) }}"``)
    or ``start_task_id``: the task of the same DAG run whose pushed ``instance_id`` is to be cancelled.
    ``start_task_id`` reads XCom, which a failure callback can do, an ``AsyncCallback`` from Airflow 3.3
    on, and a ``SyncCallback`` (run by the executor) not at all: there it fails and says so.

    :param wait_for_termination: wait (at most ``timeout`` s, default 60) for the service to confirm; off
        by default so callbacks stay short. Subclasses pass it, ``timeout``, ``poll_interval``,
        ``max_poll_interval`` (the cap the interval grows to; default: constant), ``start_task_id`` and
        Airflow's ``context`` through.
    """

    #: The name of the templated id argument (for messages).
    instance_id_field: ClassVar[str]

    def __init__(
        self,
        *,
        start_task_id: str | None = None,
        wait_for_termination: bool = False,
        timeout: float = 60,
        poll_interval: float = 2,
        max_poll_interval: float | None = None,
        context: Context | None = None,
    ) -> None:
        if AIRFLOW_V_3_1_PLUS:
            super().__init__(context=context)
        else:  # pragma: no cover - Airflow 3.0's BaseNotifier takes no context (Deadline Alerts came in 3.1)
            super().__init__()
        self.start_task_id = start_task_id
        self.wait_for_termination = wait_for_termination
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval

    def __getattr__(self, name: str) -> NoReturn:
        # Airflow stores a callback by import path; an instance has none to give (``__qualname__``).
        if name == "__qualname__":
            raise AttributeError(
                f"pass the class {type(self).__name__} to SyncCallback/AsyncCallback with its arguments in "
                f"kwargs={{...}}, not an instance: Airflow imports the callback by its path"
            )
        raise AttributeError(name)

    @abstractmethod
    def instance_id_value(self) -> Any:
        """The (rendered) id argument, or ``None`` when the id comes from ``start_task_id``."""

    @abstractmethod
    def make_hook(self) -> WorkflowServiceHook[Any]:
        """The service hook for the (rendered) connection fields."""

    def plan(self) -> CancelPlan:
        return CancelPlan.checked(
            wait=self.wait_for_termination,
            timeout=self.timeout,
            poll_interval=self.poll_interval,
            max_poll_interval=self.max_poll_interval,
        )

    # -- where the id comes from -------------------------------------------------------------------

    def _own_id(self) -> Any:
        given = self.instance_id_value()
        if self.start_task_id is not None and given is not None:
            raise InvalidInputError(f"give either {self.instance_id_field} or start_task_id, not both")
        return given

    def _id_from_context(self, context: Context) -> Any:
        if (given := self._own_id()) is not None or self.start_task_id is None:
            return given
        ti = context.get("ti")
        if ti is None:
            raise InvalidInputError(
                "start_task_id reads the id from XCom, which a SyncCallback (run by the executor) cannot; "
                f"use AsyncCallback, or pass {self.instance_id_field} (for example from dag_run.conf)"
            )
        return ti.xcom_pull(task_ids=self.start_task_id, key=STARTED_KEY)

    async def _aid_from_context(self, context: Context) -> Any:
        if (given := self._own_id()) is not None or self.start_task_id is None:
            return given
        from airflow_provider_wfcancel.version_compat import XCom

        if not AIRFLOW_V_3_3_PLUS:  # the triggerer serves XCom to callbacks from 3.3 on
            raise InvalidInputError(
                f"start_task_id needs Airflow 3.3 or later in a Deadline Alert; pass {self.instance_id_field} "
                "(for example from dag_run.conf)"
            )
        # The deadline context's dag_run is the run as the REST API returns it: its id is ``dag_run_id``.
        run: Any = context.get("dag_run") or {}
        return await XCom.aget_one(
            key=STARTED_KEY, dag_id=run["dag_id"], task_id=str(self.start_task_id), run_id=run["dag_run_id"]
        )

    def _skipped(self, instance_id: Any) -> bool:
        if is_missing_id(instance_id):
            source = f"start task {self.start_task_id!r} pushed" if self.start_task_id else "rendered to"
            self.log.warning(
                "Not cancelling: %s %s %r (nothing was started?)", self.instance_id_field, source, instance_id
            )
            return True
        return False

    # -- BaseNotifier -----------------------------------------------------------------------------------

    def notify(self, context: Context) -> None:
        """Failure callbacks (best-effort) and ``SyncCallback`` Deadline Alerts (a failure raises)."""
        strict = not is_best_effort(context)
        instance_id: Any = self.instance_id_field
        try:
            instance_id = self._id_from_context(context)
            if self._skipped(instance_id):
                return
            result = cancel(self.make_hook(), instance_id, self.plan(), log=self.log)
        except Exception as error:
            self.log.error(
                "%s of %s failed: %s", "Cancel" if strict else "Best-effort cancel", instance_id, error
            )
            if strict:
                raise  # the Deadline Alert's callback is then FAILED, with this reason
            return  # a failure callback reports, it never raises
        self._log_result(result)

    async def async_notify(self, context: Context) -> None:
        """``AsyncCallback`` Deadline Alerts, in the triggerer: a failure raises (the callback is FAILED)."""
        instance_id = await self._aid_from_context(context)
        if self._skipped(instance_id):
            return
        self._log_result(await acancel(self.make_hook(), instance_id, self.plan(), log=self.log))

    def _log_result(self, result: CancelResult) -> None:
        self.log.info(
            "Cancel of %s %s from callback: %s (final status %s)",
            result["service"],
            result["instance_id"],
            result["outcome"],
            result["final_status"] or "not awaited",
        )
