"""Control API (``/_emulator``, no auth) and :class:`EmulatorControl`, its ``requests``-based client."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field
from requests import Session
from starlette.responses import Response

from .common import CONTROL_PREFIX, ApiError, json_response
from .domo import render_instance
from .enos import render_flow_instance
from .enos_flows import DEFAULT_REASON, EnosFailureSpec, fail_instance, start_run
from .faults import Fault, FaultSpec
from .ratelimit import RateLimitSpec
from .state import DEFAULT_DOMO_USER_ID, DEFAULT_ENOS_ORG_ID, DEFAULT_ENOS_USER_ID, state_of

router = APIRouter(prefix=CONTROL_PREFIX)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DomoTokenSpec(_Strict):
    token: str = Field(min_length=1)
    workflow_grant: bool = True


class DomoInstanceSpec(_Strict):
    model_id: str | None = None
    model_version: str = "1.0.0"
    model_name: str = "Example"
    runs_for: float | None = Field(default=None, ge=0)
    final_status: str = "COMPLETED"
    status: str | None = None
    failure_reason: str | None = None


class EnosAppSpec(_Strict):
    app_key: str = Field(min_length=1)
    app_secret: str = Field(min_length=1)


class EnosUserSpec(_Strict):
    user_id: str = Field(min_length=1)
    org_id: str = Field(min_length=1)


class EnosInstanceSpec(_Strict):
    flow_id: int = 2438
    flow_name: str | None = None
    owner_user_id: str = DEFAULT_ENOS_USER_ID
    org_id: str = DEFAULT_ENOS_ORG_ID
    runs_for: float | None = Field(default=None, ge=0)
    final_status: int = 1
    status: int | None = None


OK: dict[str, Any] = {"ok": True}


@router.post("/reset", name="control.reset")
async def reset(request: Request) -> Response:
    state_of(request).reset()
    return json_response(OK)


@router.get("/config", name="control.config")
async def get_config(request: Request) -> Response:
    return json_response(state_of(request).config.model_dump())


@router.patch("/config", name="control.configure")
async def configure(request: Request, settings: dict[str, Any]) -> Response:
    return json_response(state_of(request).configure(**settings).model_dump())


@router.post("/domo/tokens", name="control.domo.token")
async def add_domo_token(request: Request, spec: DomoTokenSpec) -> Response:
    user = state_of(request).add_domo_token(spec.token, workflow_grant=spec.workflow_grant)
    return json_response({"userId": user.user_id, "workflowGrant": user.workflow_grant})


@router.post("/domo/instances", name="control.domo.create")
async def create_domo_instance(request: Request, spec: DomoInstanceSpec) -> Response:
    state = state_of(request)
    instance = state.create_domo_instance(
        model_id=spec.model_id or str(uuid.uuid4()),
        model_name=spec.model_name,
        model_version=spec.model_version,
        created_by=DEFAULT_DOMO_USER_ID,
        runs_for=spec.runs_for,
        final_status=spec.final_status,
        status=spec.status,
        failure_reason=spec.failure_reason,
    )
    return json_response(render_instance(instance, state.now()))


@router.get("/domo/instances/{instance_id}", name="control.domo.get")
async def domo_instance(request: Request, instance_id: str) -> Response:
    state = state_of(request)
    with state.locked() as now:
        instance = state.data.domo_instances.get(instance_id)
        if instance is None:
            raise ApiError(404, f"unknown Domo instance {instance_id}")
        return json_response(render_instance(instance, now))


@router.post("/enos/apps", name="control.enos.app")
async def add_enos_app(request: Request, spec: EnosAppSpec) -> Response:
    state_of(request).add_enos_app(spec.app_key, spec.app_secret)
    return json_response(OK)


@router.post("/enos/users", name="control.enos.user")
async def add_enos_user(request: Request, spec: EnosUserSpec) -> Response:
    state_of(request).add_enos_user(spec.user_id, spec.org_id)
    return json_response(OK)


@router.post("/enos/instances", name="control.enos.create")
async def create_enos_instance(request: Request, spec: EnosInstanceSpec) -> Response:
    state = state_of(request)
    instance = start_run(
        state,
        flow_id=spec.flow_id,
        flow_name=spec.flow_name,
        owner=spec.owner_user_id,
        org_id=spec.org_id,
        runs_for=spec.runs_for,
        final_status=spec.final_status,
        status=spec.status,
    )
    return json_response(render_flow_instance(instance, state.now(), instance.owner))


@router.post("/enos/instances/{instance_id}/failure", name="control.enos.failure")
async def set_enos_failure(request: Request, instance_id: str, spec: EnosFailureSpec) -> Response:
    """Where and why the instance fails when it ends in failure; ``status`` (terminal) ends it so now."""
    state = state_of(request)
    with state.locked() as now:
        instance = state.data.enos_instances.get(instance_id)
        if instance is None:
            raise ApiError(404, f"unknown EnOS flow instance {instance_id}")
        fail_instance(instance, now, spec)
        return json_response(render_flow_instance(instance, now, instance.owner))


@router.get("/enos/instances/{instance_id}", name="control.enos.get")
async def enos_instance(request: Request, instance_id: str) -> Response:
    state = state_of(request)
    with state.locked() as now:
        instance = state.data.enos_instances.get(instance_id)
        if instance is None:
            raise ApiError(404, f"unknown EnOS flow instance {instance_id}")
        return json_response(render_flow_instance(instance, now, instance.owner))


@router.post("/faults", name="control.faults.add")
async def inject_fault(request: Request, spec: FaultSpec) -> Response:
    state = state_of(request)
    state.add_fault(Fault.create(spec, state.now()))
    return json_response(spec.model_dump())


@router.delete("/faults", name="control.faults.clear")
async def clear_faults(request: Request) -> Response:
    state_of(request).clear_faults()
    return json_response(OK)


@router.put("/limits", name="control.rate_limits.set")
async def set_rate_limit(request: Request, spec: RateLimitSpec) -> Response:
    state_of(request).set_rate_limit(spec)
    return json_response(spec.model_dump())


@router.delete("/limits", name="control.rate_limits.clear")
async def clear_rate_limits(request: Request) -> Response:
    state_of(request).clear_rate_limits()
    return json_response(OK)


@router.get("/requests", name="control.requests")
async def request_log(request: Request, route: str | None = None) -> Response:
    return json_response(state_of(request).requests(route))


@router.get("/counts", name="control.counts")
async def counts(request: Request) -> Response:
    return json_response(state_of(request).counts())


class EmulatorControlError(RuntimeError):
    """The control API rejected a call (bad setting, unknown route, unknown instance...)."""


class EmulatorControl:
    """Client of the control API, e.g. ``EmulatorControl("http://127.0.0.1:8089")``."""

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self._session = Session()

    def close(self) -> None:
        self._session.close()

    def _call(self, method: str, path: str, payload: Any = None, params: dict[str, str] | None = None) -> Any:
        response = self._session.request(
            method,
            f"{self.base_url}{CONTROL_PREFIX}{path}",
            json=payload,
            params=params,
            timeout=self.timeout,
        )
        try:
            result = response.json()
        except ValueError:
            result = {"error": response.text}
        if response.status_code >= 400:
            error = result.get("error", result) if isinstance(result, dict) else result
            raise EmulatorControlError(f"{method} {path} failed ({response.status_code}): {error}")
        return result

    def reset(self) -> None:
        """Forget instances, faults and the request log; restore seeded credentials and the start-up config."""
        self._call("POST", "/reset")

    def config(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/config")
        return result

    def configure(self, **settings: Any) -> dict[str, Any]:
        """Change ``EmulatorConfig`` values at runtime; returns the resulting config."""
        result: dict[str, Any] = self._call("PATCH", "/config", settings)
        return result

    def add_domo_token(self, token: str, *, workflow_grant: bool = True) -> dict[str, Any]:
        """Register a developer token; returns ``{"userId", "workflowGrant"}``."""
        result: dict[str, Any] = self._call(
            "POST", "/domo/tokens", {"token": token, "workflow_grant": workflow_grant}
        )
        return result

    def create_domo_instance(
        self,
        *,
        model_id: str | None = None,
        model_version: str = "1.0.0",
        model_name: str = "Example",
        runs_for: float | None = None,
        final_status: str = "COMPLETED",
        status: str | None = None,
        failure_reason: str | None = None,
    ) -> dict[str, Any]:
        """Start a Domo instance directly; ``status`` forces its current status; ``failure_reason`` is its
        record's ``errorMessage`` once it ended in failure."""
        result: dict[str, Any] = self._call(
            "POST",
            "/domo/instances",
            {
                "model_id": model_id,
                "model_version": model_version,
                "model_name": model_name,
                "runs_for": runs_for,
                "final_status": final_status,
                "status": status,
                "failure_reason": failure_reason,
            },
        )
        return result

    def domo_instance(self, instance_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/domo/instances/{instance_id}")
        return result

    def add_enos_app(self, app_key: str, app_secret: str) -> None:
        self._call("POST", "/enos/apps", {"app_key": app_key, "app_secret": app_secret})

    def add_enos_user(self, user_id: str, org_id: str) -> None:
        self._call("POST", "/enos/users", {"user_id": user_id, "org_id": org_id})

    def create_enos_instance(
        self,
        *,
        flow_id: int = 2438,
        flow_name: str | None = None,
        owner_user_id: str = DEFAULT_ENOS_USER_ID,
        org_id: str = DEFAULT_ENOS_ORG_ID,
        runs_for: float | None = None,
        final_status: int = 1,
        status: int | None = None,
    ) -> dict[str, Any]:
        """Create an EnOS flow instance (with the flow's task nodes, :meth:`define_enos_flow`); returns the
        FlowInstance object (with ``instanceId``)."""
        result: dict[str, Any] = self._call(
            "POST",
            "/enos/instances",
            {
                "flow_id": flow_id,
                "flow_name": flow_name,
                "owner_user_id": owner_user_id,
                "org_id": org_id,
                "runs_for": runs_for,
                "final_status": final_status,
                "status": status,
            },
        )
        return result

    def fail_enos_instance(
        self,
        instance_id: str,
        *,
        task: int | None = None,
        reason: str = DEFAULT_REASON,
        log: list[str] | None = None,
        status: int | None = -1,
    ) -> dict[str, Any]:
        """Make the instance fail at its task ``task`` (a ``taskId`` of its graph it runs; default its last)
        with ``reason``, its log showing ``log`` before the reason; ``status`` (a terminal code, default FAIL) ends it now, ``None``
        leaves the ending to its lifecycle."""
        result: dict[str, Any] = self._call(
            "POST",
            f"/enos/instances/{instance_id}/failure",
            {"task": task, "reason": reason, "log": log or [], "status": status},
        )
        return result

    def enos_instance(self, instance_id: str) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", f"/enos/instances/{instance_id}")
        return result

    def define_enos_flow(
        self,
        flow_id: int,
        *,
        tasks: list[int],
        fail_at_task: int | None = None,
        failures: int = 1,
        reason: str = DEFAULT_REASON,
        log: list[str] | None = None,
    ) -> dict[str, Any]:
        """Give flow ``flow_id`` the chain of ``tasks`` (task ids), which its instances started from then
        on run; the next ``failures`` of them that run ``fail_at_task`` fail there (FAIL) with ``reason``,
        their log showing ``log`` before it (as :meth:`fail_enos_instance` makes one instance fail)."""
        spec = {
            "tasks": tasks,
            "fail_at_task": fail_at_task,
            "failures": failures,
            "reason": reason,
            "log": log or [],
        }
        result: dict[str, Any] = self._call("PUT", f"/enos/flows/{flow_id}", spec)
        return result

    def inject_fault(
        self,
        route: str,
        *,
        status: int | None = None,
        retry_after: float | str | None = None,
        latency: float | None = None,
        mode: str | None = None,
        count: int = 1,
        duration: float | None = None,
        body: Any = None,
    ) -> dict[str, Any]:
        """Inject a fault on ``route`` (or ``"*"``) for the next ``count`` requests, or for ``duration`` seconds.

        ``status``: answer 4xx/5xx (``retry_after`` -> ``Retry-After``); ``latency``: delay in seconds; ``mode``:
        ``drop``, ``truncate``, ``html``, ``apply_then_drop`` or ``enos_code`` (``body`` = code or
        ``{"code", "msg"}``); ``body`` with ``status`` replaces the error body.
        """
        spec = {
            "route": route,
            "status": status,
            "retry_after": retry_after,
            "latency": latency,
            "mode": mode,
            "count": count,
            "duration": duration,
            "body": body,
        }
        result: dict[str, Any] = self._call("POST", "/faults", spec)
        return result

    def clear_faults(self) -> None:
        self._call("DELETE", "/faults")

    def set_rate_limit(
        self,
        scope: str = "*",
        *,
        rate: float,
        burst: int = 1,
        retry_after: float | None = None,
        retry_after_header: bool = True,
    ) -> dict[str, Any]:
        """Limit ``scope`` (``"*"``, ``"domo"``, ``"enos"`` or a route) to ``rate`` requests/s with bursts of
        ``burst``: a request above it is answered 429 with ``Retry-After`` (``retry_after`` seconds, or the
        wait until the next token rounded up; none with ``retry_after_header=False``). Replaces an earlier
        limit on the same scope."""
        spec = {
            "scope": scope,
            "rate": rate,
            "burst": burst,
            "retry_after": retry_after,
            "retry_after_header": retry_after_header,
        }
        result: dict[str, Any] = self._call("PUT", "/limits", spec)
        return result

    def clear_rate_limits(self) -> None:
        self._call("DELETE", "/limits")

    def requests(self, route: str | None = None) -> list[dict[str, Any]]:
        """Request log entries (oldest first), optionally only those of ``route``."""
        result: list[dict[str, Any]] = self._call(
            "GET", "/requests", params={"route": route} if route else None
        )
        return result

    def counts(self) -> dict[str, int]:
        """Number of requests received per route since the last reset."""
        result: dict[str, int] = self._call("GET", "/counts")
        return result
