"""EnOS APIM token service, gateway signature check and Batch Processing Service v2.1 flow instances."""

from __future__ import annotations

import functools
import hmac
import json
import math
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from starlette.datastructures import QueryParams
from starlette.responses import Response

from .common import ENOS_MESSAGES, ApiError, enos_envelope, json_response, parse_json_object, token_envelope
from .enos_flows import find_task, render_graph, start_run, task_log
from .signing import enos_encryption, enos_signature
from .state import (
    ENOS_CANCEL,
    ENOS_INIT,
    ENOS_RUNNING,
    ENOS_STATUS_NAMES,
    EmulatorState,
    EnosInstance,
    EnosToken,
    state_of,
)

router = APIRouter()

TOKEN_PATH = "/apim-token-service/v2.0/token"
BATCH_PATH = "/batch-processing-service/v2.1"
GATEWAY_HEADERS = ("apim-accesstoken", "apim-timestamp", "apim-signature")
SORT_FIELDS = {
    "createTime": "created",
    "updateTime": "updated",
    "startTime": "started",
    "triggerTime": "trigger",
    "endTime": "ended",
}
#: Samples use snake_case sorter fields although the docs list camelCase ones; accept both.
SORT_ALIASES = {
    "create_time": "createTime",
    "update_time": "updateTime",
    "start_time": "startTime",
    "trigger_time": "triggerTime",
    "end_time": "endTime",
}


def business_error(code: int, detail: str | None = None) -> ApiError:
    """A batch-processing error: HTTP 200 with a non-zero ``code``."""
    message = ENOS_MESSAGES[code]
    return ApiError(200, f"{message}: {detail}" if detail else message, code)


# -- time formats ---------------------------------------------------------------------------------------------


def _utc(epoch_seconds: float) -> datetime:
    return datetime.fromtimestamp(epoch_seconds, UTC)


def enos_time(epoch_seconds: float | None) -> str | None:
    """``yyyy-MM-dd HH:mm:ss`` (UTC)."""
    return None if epoch_seconds is None else _utc(epoch_seconds).strftime("%Y-%m-%d %H:%M:%S")


def _java_timestamp(epoch_seconds: float) -> str:
    """``yyyy-MM-dd HH:mm:ss.S`` like ``java.sql.Timestamp.toString`` (``.0``, ``.5``, ``.123``)."""
    moment = _utc(epoch_seconds)
    millis = f"{moment.microsecond // 1000:03d}".rstrip("0") or "0"
    return f"{moment:%Y-%m-%d %H:%M:%S}.{millis}"


def _timestamp_ms(value: Any, now: float, window: float, http_status: int) -> int:
    """Validate a client epoch-ms timestamp against the allowed skew (APIM code 1004 otherwise)."""
    if isinstance(value, str) and value.isascii() and value.isdigit():  # not "²": int() refuses it
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool):
        raise ApiError(http_status, f"{ENOS_MESSAGES[1004]}: timestamp must be epoch milliseconds", 1004)
    if abs(value / 1000 - now) > window:
        raise ApiError(http_status, f"{ENOS_MESSAGES[1004]}: timestamp is outside the allowed window", 1004)
    return value


# -- flow instance rendering ----------------------------------------------------------------------------------


def render_flow_instance(instance: EnosInstance, now: float, viewer: str) -> dict[str, Any]:
    """The FlowInstance object at ``now``, as seen by user ``viewer``."""
    life = instance.life
    phase, since = life.phase(now)
    status: int = {
        "pending": ENOS_INIT,
        "running": ENOS_RUNNING if life.held_status is None else life.held_status,
        "finished": life.final_status,
        "canceled": ENOS_CANCEL,
    }[phase]
    terminal = phase in ("finished", "canceled")
    started = life.start_at <= (since if terminal else now)
    status_name = ENOS_STATUS_NAMES.get(status, "UNKNOWN")
    graph = render_graph(instance, now)
    return {
        "instanceId": instance.instance_id,
        "flowId": instance.flow_id,
        "flowName": instance.flow_name,
        "freq": "",
        "cycle": "D",
        "parameters": "[]",
        "doAs": instance.owner,
        "graph": json.dumps(graph, separators=(",", ":")),
        "status": status,
        "statusDesc": status_name,
        "triggerTime": enos_time(instance.trigger_time),
        "startTime": enos_time(life.start_at) if started else None,
        "endTime": enos_time(since) if terminal else None,
        "timestamp": _java_timestamp(since),
        "virtual": False,
        "owner": instance.owner,
        "alertMode": 0,
        "calDt": (_utc(instance.trigger_time) - timedelta(days=1)).strftime("%Y-%m-%d"),
        "hasEditPri": viewer == instance.owner,
        "hasReadPri": True,
    }


# -- token service --------------------------------------------------------------------------------------------


def _authenticate_app(state: EmulatorState, body: dict[str, Any], now: float) -> str:
    """Check ``appKey``/``encryption``/``timestamp`` (1202, 1004, 1002, 1003, 1001); return the app key."""
    missing = [name for name in ("appKey", "encryption", "timestamp") if body.get(name) in (None, "")]
    if missing:
        raise ApiError(200, f"{ENOS_MESSAGES[1202]}: {', '.join(missing)}", 1202)
    app_key, encryption, timestamp = body["appKey"], body["encryption"], body["timestamp"]
    if not isinstance(app_key, str) or not isinstance(encryption, str):
        raise ApiError(200, f"{ENOS_MESSAGES[1004]}: appKey and encryption must be strings", 1004)
    app = state.data.enos_apps.get(app_key)
    if app is None:
        raise ApiError(200, ENOS_MESSAGES[1002], 1002)
    if not hmac.compare_digest(encryption, enos_encryption(app_key, timestamp, app.secret)):
        raise ApiError(200, ENOS_MESSAGES[1003], 1003)
    window = state.config.enos_timestamp_window
    timestamp_ms = _timestamp_ms(timestamp, now, window, 200)
    used = state.data.enos_used_encryptions
    for stale in [key for key, until in used.items() if until < now]:
        del used[stale]
    if encryption in used:
        raise ApiError(200, ENOS_MESSAGES[1001], 1001)
    used[encryption] = timestamp_ms / 1000 + window
    return app_key


def _issue_token(state: EmulatorState, app_key: str, now: float) -> str:
    token = secrets.token_hex(16)
    state.data.enos_tokens[token] = EnosToken(app_key, now + state.config.enos_token_lifetime)
    state.data.enos_apps[app_key].token = token
    return token


def _token_answer(state: EmulatorState, token: str, now: float) -> Response:
    expire = math.ceil(state.data.enos_tokens[token].expires_at - now)
    return json_response(token_envelope(0, "SUCCESS", {"accessToken": token, "expire": expire}))


async def _token_body(request: Request) -> dict[str, Any]:
    body = parse_json_object(await request.body())
    if body is None:
        raise ApiError(200, f"{ENOS_MESSAGES[1004]}: body must be a JSON object", 1004)
    return body


@router.post(f"{TOKEN_PATH}/get", name="enos.token.get")
async def token_get(request: Request) -> Response:
    """Return the app's current token while it is valid (remaining ``expire``), else issue a new one."""
    body = await _token_body(request)
    state = state_of(request)
    with state.locked() as now:
        app_key = _authenticate_app(state, body, now)
        current = state.data.enos_apps[app_key].token
        entry = state.data.enos_tokens.get(current) if current else None
        if current is None or entry is None or entry.revoked or entry.expires_at <= now:
            current = _issue_token(state, app_key, now)
        return _token_answer(state, current, now)


@router.post(f"{TOKEN_PATH}/refresh", name="enos.token.refresh")
async def token_refresh(request: Request) -> Response:
    """Issue a new token for a valid one (1203 if expired, 1204 if unknown/revoked/foreign)."""
    body = await _token_body(request)
    state = state_of(request)
    with state.locked() as now:
        old = body.get("accessToken")
        if old in (None, ""):
            raise ApiError(200, f"{ENOS_MESSAGES[1202]}: accessToken", 1202)
        app_key = _authenticate_app(state, body, now)
        entry = state.data.enos_tokens.get(old) if isinstance(old, str) else None
        if entry is None or entry.revoked or entry.app_key != app_key:
            raise ApiError(200, f"{ENOS_MESSAGES[1204]}: unknown access token", 1204)
        if entry.expires_at <= now:
            raise ApiError(200, ENOS_MESSAGES[1203], 1203)
        entry.revoked = state.config.enos_refresh_revokes_old
        return _token_answer(state, _issue_token(state, app_key, now), now)


# -- gateway --------------------------------------------------------------------------------------------------


async def gateway_auth(request: Request) -> None:
    """Check the ``apim-*`` headers; failures are HTTP 401 with an EnOS envelope (1202, 1203, 1004, 1003).

    Called directly rather than through ``Depends`` (cheaper per request).
    """
    headers = request.headers
    missing = [name for name in GATEWAY_HEADERS if not headers.get(name)]
    if missing:
        raise ApiError(401, f"{ENOS_MESSAGES[1202]}: {', '.join(missing)}", 1202)
    token, timestamp, signature = (headers[name] for name in GATEWAY_HEADERS)
    state = state_of(request)
    with state.locked() as now:
        entry = state.data.enos_tokens.get(token)
        if entry is None or entry.revoked:
            raise ApiError(401, "Invalid access token", 1203)
        if entry.expires_at <= now:
            raise ApiError(401, ENOS_MESSAGES[1203], 1203)
        secret = state.data.enos_apps[entry.app_key].secret
        _timestamp_ms(timestamp, now, state.config.enos_timestamp_window, 401)
    expected = enos_signature(
        token, request.query_params.multi_items(), await request.body(), timestamp, secret
    )
    if not hmac.compare_digest(expected, signature):
        raise ApiError(401, "Invalid signature", 1003)


# -- batch processing -----------------------------------------------------------------------------------------

Handler = Callable[[EmulatorState, str, QueryParams, dict[str, Any]], Any]


async def _dispatch(request: Request, actions: dict[str, tuple[str, Handler]]) -> Response:
    """Authenticate, select the operation by ``action``, check ``userId``/``orgId`` and the body, run it."""
    await gateway_auth(request)
    params = request.query_params
    action = params.get("action")
    if not action:
        raise business_error(62102, "action is missing")
    if action not in actions:
        raise business_error(62102, f"unsupported action {action!r}")
    method, handler = actions[action]
    if request.method != method:
        raise business_error(62102, f"action {action!r} requires {method}")
    user_id, org_id = params.get("userId"), params.get("orgId")
    if not user_id or not org_id:
        raise business_error(62102, "userId and orgId are required")
    state = state_of(request)
    with state.lock:
        if state.data.enos_users.get(user_id) != org_id:
            raise business_error(62101)
    body: dict[str, Any] = {}
    if method == "POST":
        parsed = parse_json_object(await request.body())
        if parsed is None:
            raise business_error(62102, "request body must be a JSON object")
        body = parsed
    return json_response(enos_envelope(0, "OK", handler(state, user_id, params, body)))


def _instance(state: EmulatorState, instance_id: Any) -> EnosInstance:
    if not isinstance(instance_id, str) or not instance_id:
        raise business_error(62102, "flowInstId is required")
    instance = state.data.enos_instances.get(instance_id)
    if instance is None:
        raise business_error(62102, f"flow instance {instance_id} not found")
    return instance


def _cancel(state: EmulatorState, user_id: str, params: QueryParams, body: dict[str, Any]) -> str:
    """Owner only; CANCEL(8) follows after ``enos_cancel_delay``."""
    with state.locked() as now:
        instance = _instance(state, body.get("flowInstId"))
        if instance.owner != user_id:
            raise business_error(62103, "only the owner can cancel the flow instance")
        if not instance.life.is_terminal(now):
            instance.life.request_cancel(now, state.config.enos_cancel_delay)
        elif code := state.config.enos_cancel_terminal_code:
            raise ApiError(200, "Flow instance is already finished", code)
    return ""


def _get(state: EmulatorState, user_id: str, params: QueryParams, body: dict[str, Any]) -> dict[str, Any]:
    with state.locked() as now:
        instance = _instance(state, params.get("flowInstId"))
        if instance.org_id != params["orgId"]:
            raise business_error(62103)
        return render_flow_instance(instance, now, user_id)


def _search(state: EmulatorState, user_id: str, params: QueryParams, body: dict[str, Any]) -> dict[str, Any]:
    """Filter by org, ``expression``, ``owner``, ``status``, trigger-time range; sort and page (``pageNo`` 1-based)."""
    statuses = _status_filter(body.get("status"))
    expression = _typed(body, "expression", str) or ""
    owner = _typed(body, "owner", str) or ""
    low = _typed(body, "fromTriggerTime", int)
    high = _typed(body, "toTriggerTime", int)
    _typed(body, "type", int)  # validated only: every emulated instance matches any type
    pagination = _typed(body, "pagination", dict) or {}
    page_no, page_size = pagination.get("pageNo", 1), pagination.get("pageSize")
    sorters = pagination.get("sorters") or [{"field": "triggerTime", "order": "DESC"}]
    if not isinstance(page_no, int) or not (page_size is None or isinstance(page_size, int)):
        raise business_error(62102, "pageNo and pageSize must be integers")
    if not isinstance(sorters, list) or not all(isinstance(s, dict) for s in sorters):
        raise business_error(62102, "The sorters field parameter is invalid")
    with state.locked() as now:
        rendered = [
            (instance, render_flow_instance(instance, now, user_id))
            for instance in state.data.enos_instances.values()
            if instance.org_id == params["orgId"]
            and (expression in instance.instance_id or expression in instance.flow_name)
            and owner in ("", instance.owner)
            and (low is None or instance.trigger_time * 1000 >= low)
            and (high is None or instance.trigger_time * 1000 <= high)
        ]
    found = [(i, item) for i, item in rendered if statuses is None or item["status"] in statuses]
    for sorter in reversed(sorters):
        name = SORT_ALIASES.get(sorter.get("field", ""), sorter.get("field", ""))
        if name not in SORT_FIELDS:
            raise business_error(62102, "The sorters field parameter is invalid")
        descending = str(sorter.get("order", "DESC")).upper() == "DESC"
        key = SORT_FIELDS[name]
        found.sort(key=lambda pair: _sort_value(pair[0], key, now), reverse=descending)
    items = [{**item, "isCancelled": item["status"] == ENOS_CANCEL} for _, item in found]
    if page_size:
        start = (max(page_no, 1) - 1) * page_size
        items = items[start : start + page_size]
    return {"flowInsts": items, "count": len(found)}


def _typed(body: dict[str, Any], name: str, kind: type) -> Any:
    value = body.get(name)
    if value is not None and (not isinstance(value, kind) or isinstance(value, bool)):
        raise business_error(62102, f"{name} must be of type {kind.__name__}")
    return value


def _status_filter(value: Any) -> set[int] | None:
    """``status`` is a comma-separated string of codes (a bare number is accepted too)."""
    if value in (None, ""):
        return None
    try:
        return {int(part) for part in str(value).split(",")}
    except ValueError:
        raise business_error(62102, "status must be comma-separated status codes") from None


def _sort_value(instance: EnosInstance, key: str, now: float) -> float:
    life = instance.life
    return {
        "created": life.created_at,
        "updated": life.phase(now)[1],
        "started": life.start_at,
        "trigger": instance.trigger_time,
        "ended": life.phase(now)[1] if life.is_terminal(now) else math.inf,
    }[key]


def _trigger(
    state: EmulatorState, user_id: str, params: QueryParams, body: dict[str, Any], *, from_task: bool = False
) -> dict[str, str]:
    """Start a new instance of ``flowId`` owned by the caller (``from_task``: from its task ``taskId``)."""
    flow_id = body.get("flowId")
    if not isinstance(flow_id, int) or isinstance(flow_id, bool):
        raise business_error(62102, "flowId must be an integer")
    task_id = _typed(body, "taskId", int) if from_task else None
    if from_task and task_id is None:
        raise business_error(62102, "taskId is required")
    trigger_ms = _typed(body, "triggerTime", int)
    instance = start_run(
        state,
        flow_id=flow_id,
        owner=user_id,
        org_id=params["orgId"],
        trigger_time=None if trigger_ms is None else trigger_ms / 1000,
        from_task=task_id,
    )
    return {"flowInstanceId": instance.instance_id}


FLOW_INSTANCE_ACTIONS: dict[str, tuple[str, Handler]] = {
    "cancel": ("POST", _cancel),
    "get": ("GET", _get),
    "search": ("POST", _search),
}
FLOW_ACTIONS: dict[str, tuple[str, Handler]] = {
    "trigger": ("POST", _trigger),
    "triggerFromTask": ("POST", functools.partial(_trigger, from_task=True)),
}


def _task_log(
    state: EmulatorState, user_id: str, params: QueryParams, body: dict[str, Any]
) -> dict[str, str]:
    """Get Task Instance Log: 62102 "Instance not found" for an unknown id, 62109 "No log found" for a task
    that has not run; ``maxLength`` (default 2**20) keeps the log's start."""
    task_inst_id, max_length = params.get("taskInstId"), params.get("maxLength") or ""
    if not task_inst_id:
        raise business_error(62102, "taskInstId is required")
    if max_length and not (max_length.isascii() and max_length.isdigit()):
        raise business_error(62102, "maxLength must be a non-negative integer")
    with state.locked() as now:
        found = find_task(state.data.enos_instances, task_inst_id)
        if found is None:
            raise ApiError(200, "Instance not found", 62102)
        instance, index = found
        if instance.org_id != params["orgId"]:
            raise business_error(62103)
        log = task_log(instance, index, now, enos_time(now) or "")
    if log is None:
        raise ApiError(200, "No log found", 62109)
    return {"log": log[: int(max_length) if max_length else 2**20]}


TASK_INSTANCE_ACTIONS: dict[str, tuple[str, Handler]] = {"getLog": ("GET", _task_log)}


@router.api_route(f"{BATCH_PATH}/flowInstances", methods=["GET", "POST"], name="enos.flowinstance.{action}")
async def flow_instances(request: Request) -> Response:
    return await _dispatch(request, FLOW_INSTANCE_ACTIONS)


@router.api_route(f"{BATCH_PATH}/flows", methods=["GET", "POST"], name="enos.flow.{action}")
async def flows(request: Request) -> Response:
    return await _dispatch(request, FLOW_ACTIONS)


@router.api_route(f"{BATCH_PATH}/taskInstances", methods=["GET", "POST"], name="enos.taskinstance.{action}")
async def task_instances(request: Request) -> Response:
    return await _dispatch(request, TASK_INSTANCE_ACTIONS)
