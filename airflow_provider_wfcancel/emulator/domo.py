"""Domo Workflows product API (``/api/workflow/v1``) and the ``/api/content/v2/users/me`` token check."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import Response

from .common import ApiError, json_response, parse_json_object
from .state import DOMO_CANCELED, DOMO_RUNNING, DomoInstance, DomoToken, state_of

COMPLETED = "COMPLETED"

router = APIRouter(prefix="/api")

START_FIELDS = {"messageName": str, "version": str, "modelId": str, "data": dict}
START_PREFIX = "Start "
DEFAULT_LIST_LIMIT = 50


def iso_millis(epoch_seconds: float) -> str:
    """``2023-11-15T15:28:57.479Z``."""
    return (
        datetime.fromtimestamp(epoch_seconds, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def render_instance(instance: DomoInstance, now: float) -> dict[str, Any]:
    """The instance object as returned by start, get, list and cancel (status derived at ``now``)."""
    life = instance.life
    phase, since = life.phase(now)
    status = {
        "pending": None,
        "running": life.held_status or DOMO_RUNNING,
        "finished": life.final_status,
        "canceled": DOMO_CANCELED,
    }[phase]
    version = instance.model_version
    record = {
        "id": instance.id,
        "modelId": instance.model_id,
        "deploymentId": str(uuid.uuid5(uuid.NAMESPACE_URL, f"{instance.model_id}/{version}")),
        "modelName": instance.model_name,
        "modelVersion": version,
        "bpmnProcessId": f"Process_{instance.model_id}_{version}_1",
        "bpmnProcessName": f"domo {instance.model_name} {version} 1",
        "createdBy": instance.created_by,
        "createdOn": iso_millis(life.created_at),
        "updatedBy": instance.created_by,
        "updatedOn": iso_millis(since),
        "status": status,
        "isTestRun": instance.is_test_run,
    }
    if (
        instance.failure_reason is not None
        and phase == "finished"
        and status not in (COMPLETED, DOMO_CANCELED)
    ):
        record["errorMessage"] = instance.failure_reason
    return record


def authenticate(request: Request, *, workflow_api: bool = True) -> DomoToken:
    """Resolve ``X-DOMO-Developer-Token``: 401 if missing or unknown, 403 if ``workflow_api`` and the token's
    user lacks the Workflow API grant.

    Called directly rather than through ``Depends``: FastAPI's dependency solving would double the per-request cost.
    """
    token = request.headers.get("x-domo-developer-token")
    state = state_of(request)
    with state.lock:
        user = state.data.domo_tokens.get(token) if token else None
    if user is None:
        raise ApiError(401, "Missing or invalid X-DOMO-Developer-Token")
    if workflow_api and not user.workflow_grant:
        raise ApiError(403, "The token's user does not have the Workflow API grant")
    return user


def _lookup(request: Request) -> DomoInstance:
    """The instance named by the ``instance_id`` path parameter (caller holds the lock); 404 if unknown."""
    instance_id = request.path_params["instance_id"]
    instance = state_of(request).data.domo_instances.get(instance_id)
    if instance is None:
        raise ApiError(404, f"Workflow instance {instance_id} not found")
    return instance


@router.post("/workflow/v1/instances/message", name="domo.start")
async def start_instance(request: Request) -> Response:
    user = authenticate(request)
    body = parse_json_object(await request.body())
    if body is None:
        raise ApiError(400, "Request body must be a JSON object")
    missing = [name for name in START_FIELDS if body.get(name) in (None, "")]
    if missing:
        raise ApiError(400, f"Missing required field(s): {', '.join(missing)}")
    wrong = [name for name, kind in START_FIELDS.items() if not isinstance(body[name], kind)]
    if wrong:
        raise ApiError(400, f"Field(s) of the wrong type: {', '.join(wrong)}")
    message: str = body["messageName"]
    state = state_of(request)
    instance = state.create_domo_instance(
        model_id=body["modelId"],
        model_name=message.removeprefix(START_PREFIX) or message,
        model_version=body["version"],
        created_by=user.user_id,
    )
    return json_response(render_instance(instance, state.now()))


@router.get("/workflow/v1/instances", name="domo.list")
async def list_instances(request: Request) -> Response:
    authenticate(request)
    params = request.query_params
    limit = _non_negative_int(params, "limit", DEFAULT_LIST_LIMIT)
    offset = _non_negative_int(params, "offset", 0)
    model_id = params.get("modelId")
    oldest_first = params.get("sort", "").lower() == "createdon:asc"
    state = state_of(request)
    with state.locked() as now:
        found = [i for i in state.data.domo_instances.values() if model_id in (None, "", i.model_id)]
        if not oldest_first:
            found.reverse()
        page = [render_instance(i, now) for i in found[offset : offset + limit]]
    return json_response(page)


def _non_negative_int(params: Any, name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None:
        return default
    if not (raw.isascii() and raw.isdigit()):  # not "²": int() refuses it
        raise ApiError(400, f"Query parameter {name} must be a non-negative integer")
    return int(raw)


@router.get("/workflow/v1/instances/{instance_id}", name="domo.get")
async def get_instance(request: Request) -> Response:
    authenticate(request)
    state = state_of(request)
    with state.locked() as now:
        return json_response(render_instance(_lookup(request), now))


@router.post("/workflow/v1/instances/{instance_id}/cancel", name="domo.cancel")
async def cancel_instance(request: Request) -> Response:
    """Answer with the status at the moment of the request; ``CANCELED`` follows after ``domo_cancel_delay``."""
    authenticate(request)
    state = state_of(request)
    with state.locked() as now:
        instance = _lookup(request)
        rendered = render_instance(instance, now)
        if not instance.life.is_terminal(now):
            instance.life.request_cancel(now, state.config.domo_cancel_delay)
        elif state.config.domo_cancel_terminal == "conflict":
            raise ApiError(409, f"Workflow instance {instance.id} is already {rendered['status']}")
    return json_response(rendered)


@router.get("/content/v2/users/me", name="domo.me")
async def users_me(request: Request) -> Response:
    """Cheap token check: any valid token works, with or without the Workflow API grant."""
    user = authenticate(request, workflow_api=False)
    return json_response(
        {"id": int(user.user_id), "displayName": f"Emulator User {user.user_id}", "role": "Participant"}
    )
