"""Incident-scale operators: cancel a list of ids, or every running instance of a Domo model / EnOS flow.

All four build on :mod:`.._bulk_path` (validation, ``cancel_many`` with the gateway's limiter and a batch
deadline, one :class:`~airflow_provider_wfcancel._bulk_path.BulkResult` for both services, a log summary).
Every argument is checked when the task runs, before any request. The task fails when an id ended in
``error`` (``fail_on_error``, default on), after pushing the result under the XCom key ``bulk_result``.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from airflow_provider_wfcancel import _bulk_path
from airflow_provider_wfcancel._bulk_path import BulkPlan, BulkResult
from airflow_provider_wfcancel._provenance import Expected
from airflow_provider_wfcancel._service_task import DomoConnection, EnosConnection
from airflow_provider_wfcancel._validation import as_bool, validate_id
from airflow_provider_wfcancel.exceptions import WfCancelError
from airflow_provider_wfcancel.version_compat import BaseOperator, RenderEmptyTemplatesMixin

if TYPE_CHECKING:
    from airflow.sdk import Context

    from airflow_provider_wfcancel.hooks._base import WorkflowServiceHook
    from airflow_provider_wfcancel.hooks.domo import DomoHook
    from airflow_provider_wfcancel.hooks.enos import EnosHook

_PLAN_FIELDS = (
    "max_workers",
    "deadline",
    "wait_for_termination",
    "timeout",
    "poll_interval",
    "max_poll_interval",
)


class _BulkOperator(RenderEmptyTemplatesMixin, BaseOperator):
    """Plan fields shared by the four operators.

    :param max_workers: requests in flight at once (1-64).
    :param deadline: seconds the whole batch may take; ids the gateway still throttles then fail.
    :param wait_for_termination: poll until every cancelled instance is terminal (at most ``timeout``).
    :param max_poll_interval: the rounds of that wait start ``poll_interval`` apart and double up to this
        (default: ``poll_interval``, constant).
    :param fail_on_error: fail the task when any id ended in ``error`` (after pushing ``bulk_result``).
    """

    def __init__(
        self,
        *,
        max_workers: int = 8,
        deadline: float = 600.0,
        wait_for_termination: Any = False,
        timeout: float = 600.0,
        poll_interval: float = 5.0,
        max_poll_interval: float | None = None,
        fail_on_error: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.max_workers = max_workers
        self.deadline = deadline
        self.wait_for_termination = wait_for_termination
        self.timeout = timeout
        self.poll_interval = poll_interval
        self.max_poll_interval = max_poll_interval
        self.fail_on_error = fail_on_error

    @cached_property
    def hook(self) -> WorkflowServiceHook[Any]:
        return self.make_hook()

    def make_hook(self) -> WorkflowServiceHook[Any]:
        raise NotImplementedError

    def plan(self, dry_run: Any = False) -> BulkPlan:
        return BulkPlan.checked(
            max_workers=self.max_workers,
            deadline=self.deadline,
            wait=self.wait_for_termination,
            timeout=self.timeout,
            poll_interval=self.poll_interval,
            max_poll_interval=self.max_poll_interval,
            dry_run=dry_run,
        )

    def finish(self, context: Context, result: BulkResult) -> BulkResult:
        errors = result["counts"]["error"]
        if errors and as_bool("fail_on_error", self.fail_on_error):
            context["ti"].xcom_push(key="bulk_result", value=result)
            raise WfCancelError(
                f"{errors} of {result['matched']} {self.hook.service} cancel(s) failed; "
                "see the log or the bulk_result XCom for each id's reason",
                service=self.hook.service,
            )
        return result


class _IdsMixin(_BulkOperator):
    instance_ids: Any

    def execute(self, context: Context) -> BulkResult:
        ids = _bulk_path.check_id_list(self.instance_ids, service=self.hook.conn_type)
        plan = self.plan()
        want = self.only_of()
        if not ids:  # a dry run that listed nothing (an empty list is refused above)
            self.log.info("The dry run listed no %s instance; nothing to cancel", self.hook.service)
            return _bulk_path.summarised(self.hook, [], dry_run=False, log=self.log)
        if want is not None:
            _bulk_path.check_provenance(self.hook, ids, want, log=self.log)
        return self.finish(context, _bulk_path.run(self.hook, ids, plan, log=self.log))

    def only_of(self) -> Expected | None:
        """The model (version) or flow every id must be an instance of, when the task names one."""
        raise NotImplementedError


class _AllRunningMixin(_BulkOperator):
    """Cancel every running instance a filter selects.

    :param started_after: only instances started (Domo: created; EnOS: triggered) at or after this
        ISO-8601 time; templated.
    :param started_before: ... and at or before this one; templated.
    :param dry_run: list what would be cancelled, cancel nothing; templated (as ``is_dry_run``: ``dry_run``
        is a method of every operator).
    :param max_instances: fail before any cancel when more instances match (>= 1).
    """

    def __init__(
        self,
        *,
        started_after: Any = None,
        started_before: Any = None,
        dry_run: Any = False,
        max_instances: int = 100,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.started_after = started_after
        self.started_before = started_before
        self.is_dry_run = dry_run
        self.max_instances = max_instances

    def execute(self, context: Context) -> BulkResult:
        window = _bulk_path.TimeWindow.checked(self.started_after, self.started_before)
        cap = _bulk_path.check_max_instances(self.max_instances)
        plan = self.plan(self.is_dry_run)
        self.check_filter()
        matched = self.list_running(window, cap)
        ids = _bulk_path.select(matched, cap, self.hook.service)
        if not ids:
            self.log.info("No running %s instance matches; nothing to cancel", self.hook.service)
        result = _bulk_path.run(self.hook, ids, plan, log=self.log, window=window, listed=matched)
        return self.finish(context, result)

    def check_filter(self) -> None:
        raise NotImplementedError

    def list_running(self, window: _bulk_path.TimeWindow, cap: int) -> list[Any]:
        """The running instances the filter selects that ``window`` accepts (at most ``cap`` + 1)."""
        raise NotImplementedError


class DomoBulkCancelOperator(DomoConnection, _IdsMixin):
    """Cancel a list of Domo Workflow instances in one task; returns a ``BulkResult``.

    :param instance_ids: the ids (a list, an XComArg or a rendered ``params`` list), or the result of a
        ``DomoCancelAllRunningOperator`` dry run (its ``output``): exactly the ids it listed; templated.
    :param model_id: when given, Domo must say every id is an instance of this model (and ``version``)
        before anything is cancelled (one read per id); else nothing is; templated.
    :param version: the model version ``model_id``'s check also requires; templated.
    :param domo_conn_id: ``domo`` connection; templated.
    """

    template_fields = ("instance_ids", "model_id", "version", "domo_conn_id", *_PLAN_FIELDS)

    def __init__(
        self, *, instance_ids: Any, model_id: str | None = None, version: str | None = None, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.instance_ids = instance_ids
        self.model_id = model_id
        self.version = version

    def only_of(self) -> Expected | None:
        from airflow_provider_wfcancel._protocol.domo import INSTANCE_ID

        if self.model_id is None or not str(self.model_id).strip():
            return None
        model = validate_id(self.model_id, field="model_id", pattern=INSTANCE_ID)
        version = str(self.version).strip() if self.version is not None else ""
        target = {"model_id": model, "version": version or None}
        return Expected(service="domo", conn_id=self.domo_conn_id, target=target)


class EnosBulkCancelOperator(EnosConnection, _IdsMixin):
    """Cancel a list of EnOS flow instances in one task; returns a ``BulkResult``.

    :param instance_ids: the flow instance ids, or the result of an ``EnosCancelAllRunningOperator`` dry
        run (its ``output``): exactly the ids it listed; templated.
    :param flow_id: when given, EnOS must say every id is an instance of this flow before anything is
        cancelled (one read per id); else nothing is; templated.
    :param enos_conn_id: ``enos`` connection; ``user_id``/``org_id`` as for the single cancel; templated.
    """

    template_fields = ("instance_ids", "flow_id", "enos_conn_id", "user_id", "org_id", *_PLAN_FIELDS)

    def __init__(self, *, instance_ids: Any, flow_id: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.instance_ids = instance_ids
        self.flow_id = flow_id

    def only_of(self) -> Expected | None:
        from airflow_provider_wfcancel.hooks.enos import validate_flow_id

        if self.flow_id is None or not str(self.flow_id).strip():
            return None
        target = {"flow_id": str(validate_flow_id(self.flow_id))}
        return Expected(service="enos", conn_id=self.enos_conn_id, target=target)


class DomoCancelAllRunningOperator(DomoConnection, _AllRunningMixin):
    """Cancel every running instance of a Domo Workflow model (optionally one version).

    :param model_id: the workflow model id; templated.
    :param version: only instances of this model version, e.g. ``1.3.10``; templated.
    """

    template_fields = (
        "model_id",
        "version",
        "domo_conn_id",
        "started_after",
        "started_before",
        "is_dry_run",
        "max_instances",
        *_PLAN_FIELDS,
    )

    def __init__(self, *, model_id: str, version: str | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.model_id = model_id
        self.version = version

    def check_filter(self) -> None:
        from airflow_provider_wfcancel._protocol.domo import INSTANCE_ID

        self.model_id = validate_id(self.model_id, field="model_id", pattern=INSTANCE_ID)
        if self.version is not None and not str(self.version).strip():
            self.version = None

    def list_running(self, window: _bulk_path.TimeWindow, cap: int) -> list[Any]:
        hook: DomoHook = self.hook  # type: ignore[assignment]
        return hook.running_instances(
            self.model_id, version=self.version, started_after=window.after, keep=window, limit=cap
        )


class EnosCancelAllRunningOperator(EnosConnection, _AllRunningMixin):
    """Cancel every running instance of an EnOS Batch Processing flow (found with List Flow Instances).

    :param flow_id: the flow id, a positive whole number; templated.
    """

    template_fields = (
        "flow_id",
        "enos_conn_id",
        "user_id",
        "org_id",
        "started_after",
        "started_before",
        "is_dry_run",
        "max_instances",
        *_PLAN_FIELDS,
    )

    def __init__(self, *, flow_id: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.flow_id = flow_id

    def check_filter(self) -> None:
        from airflow_provider_wfcancel.hooks.enos import validate_flow_id

        self.flow_id = validate_flow_id(self.flow_id)

    def list_running(self, window: _bulk_path.TimeWindow, cap: int) -> list[Any]:
        hook: EnosHook = self.hook  # type: ignore[assignment]
        return hook.running_flow_instances(
            self.flow_id, started_after=window.after, started_before=window.before, keep=window, limit=cap
        )
