"""What EnOS answers mean: flow-instance statuses, business and gateway codes, token answers.

Status semantics (``FlowInstanceStatus``): terminal are FAIL(-1), SUCCESS(1), INTERNAL_ERROR(4),
TIMEOUT(7), CANCEL(8) and SKIP(10); cancelled is CANCEL. INIT(0), RUNNING(2), SUSPEND(3), WAIT(5),
READY(6) and RERUN(9) are running. An undocumented code is kept as ``UNKNOWN(<code>)`` and treated as
running, so a wait ends at its timeout naming it rather than reporting an end that may not have happened.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, cast

from airflow_provider_wfcancel._http import ApiResponse
from airflow_provider_wfcancel._protocol.model import InstanceState
from airflow_provider_wfcancel._protocol.times import parse_instance_time
from airflow_provider_wfcancel.exceptions import (
    ApiError,
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    TransientError,
    WfCancelError,
)

SERVICE = "EnOS"
DEFAULT_TOKEN_LIFETIME = 7200
#: A longer ``expire`` than this is not believed (the default lifetime is used instead).
MAX_TOKEN_LIFETIME = 30 * 24 * 3600

#: ``FlowInstanceStatus`` codes (List Flow Instances). Not shared with the emulator's table
#: (``emulator/state.py``): see ``docs/design.md`` (independent readings).
STATUS_NAMES: dict[int, str] = {
    -1: "FAIL",
    0: "INIT",
    1: "SUCCESS",
    2: "RUNNING",
    3: "SUSPEND",
    4: "INTERNAL_ERROR",
    5: "WAIT",
    6: "READY",
    7: "TIMEOUT",
    8: "CANCEL",
    9: "RERUN",
    10: "SKIP",
}
TERMINAL_STATUSES = frozenset({"FAIL", "SUCCESS", "INTERNAL_ERROR", "TIMEOUT", "CANCEL", "SKIP"})
CANCELLED = "CANCEL"
SUCCEEDED = "SUCCESS"

#: Batch-processing business codes (HTTP 200, non-zero ``code``).
CODE_USER_ORG_MISMATCH = 62101
CODE_INVALID_PARAMETER = 62102
CODE_NO_PRIVILEGE = 62103
CODE_INTERNAL = 62109
#: APIM codes that say the access token or the signature was not accepted: 1003 invalid signature,
#: 1202 a gateway header missing, 1203 token expired or invalid; 4011/4012 are the Poseidon SDK's.
GATEWAY_REJECTION_CODES = frozenset({1003, 1202, 1203, 4011, 4012})
_GATEWAY_CODE_IN_BODY = re.compile(r'"(?:code|status|stauts|apim_status)"\s*:\s*"?(\d+)')


@dataclass(frozen=True)
class FlowInstancePage:
    """One page of List Flow Instances: the instances and the total number that matched (``None`` when
    the answer has no readable ``count``: a listing then reads on until an empty page)."""

    instances: list[InstanceState]
    count: int | None


def as_code(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    return None


def _envelope_or_none(response: ApiResponse) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ApiError:
        return None
    return body if isinstance(body, dict) else None


def _error(
    response: ApiResponse,
    cls: type[WfCancelError],
    message: str,
    *,
    code: int | None = None,
    body: Mapping[str, Any] | None = None,
) -> WfCancelError:
    request_id = body.get("requestId") if body else None
    msg = body.get("msg") if body else None
    return response.error(
        message,
        error_class=cls,
        service_code=code,
        service_message=str(msg)[:500] if msg is not None else None,
        request_id=str(request_id)[:200] if request_id else None,
    )


def _gateway_rejection(response: ApiResponse, body: Mapping[str, Any]) -> WfCancelError | None:
    """An APIM token/signature rejection answered with HTTP 2xx (``apim_status`` or an APIM code)."""
    for name in ("apim_status", "code", "status"):
        code = as_code(body.get(name))
        if code in GATEWAY_REJECTION_CODES:
            return _error(
                response,
                AuthenticationError,
                "the EnOS gateway rejected the access token or the request signature",
                code=code,
                body=body,
            )
    return None


def classify_batch_response(response: ApiResponse) -> WfCancelError | None:
    """Map an HTTP-200 batch-processing answer with a non-zero ``code`` to its error.

    62101/62103 -> :class:`PermissionDeniedError`; 62102 and unknown codes -> :class:`ApiError`;
    62109 -> :class:`TransientError` (retried by the shared policy); APIM token rejections ->
    :class:`AuthenticationError` (the hook then gets a new token and repeats the call once).
    """
    body = _envelope_or_none(response)
    if body is None:
        return None  # the parser names a non-JSON answer
    if rejection := _gateway_rejection(response, body):
        return rejection
    code = as_code(body.get("code"))
    if code is None and "code" not in body:
        code = as_code(body.get("status"))  # the v2.0 envelope
    if not code:
        return None
    params = response.request.params
    who = f"user {params.get('userId')!r} in organization {params.get('orgId')!r}"
    mapping: dict[int, tuple[type[WfCancelError], str]] = {
        CODE_USER_ORG_MISMATCH: (
            PermissionDeniedError,
            f"EnOS does not know {who}: the userId does not exist or does not belong to that orgId",
        ),
        CODE_NO_PRIVILEGE: (
            PermissionDeniedError,
            f"EnOS says {who} has no privilege for this (cancelling needs the instance's owner)",
        ),
        CODE_INVALID_PARAMETER: (ApiError, "EnOS rejected a parameter of the request"),
        CODE_INTERNAL: (TransientError, "EnOS reported an internal server exception"),
    }
    cls, message = mapping.get(code, (ApiError, "EnOS refused the request"))
    return _error(response, cls, message, code=code, body=body)


def classify_get_response(response: ApiResponse) -> WfCancelError | None:
    """As any batch-processing answer, except an unknown instance: EnOS documents no code for it; it answers
    a task instance it does not know with 62102 "Instance not found", and the provider reads a 62102 whose
    message says "not found" as :class:`NotFoundError` for a flow instance too (so a record of an instance
    EnOS no longer knows is dropped rather than read again on every retry)."""
    error = classify_batch_response(response)
    if (
        error is not None
        and as_code(error.service_code) == CODE_INVALID_PARAMETER
        and "not found" in str(error.service_message or "").lower()
    ):
        return as_not_found(response, error, "EnOS does not know this flow instance")
    return error


def as_not_found(response: ApiResponse, error: WfCancelError, message: str) -> NotFoundError:
    """``error`` (a business code of ``response``) read as :class:`NotFoundError`, with ``message``."""
    found = response.error(
        message,
        error_class=NotFoundError,
        service_code=error.service_code,
        service_message=error.service_message,
        request_id=error.request_id,
    )
    return cast("NotFoundError", found)


_TOKEN_ERRORS: dict[int, tuple[type[WfCancelError], str]] = {
    1001: (ApiError, "the EnOS token service refused a repeated request (reused timestamp)"),
    1002: (AuthenticationError, "EnOS does not know this Access Key (appKey, the connection's login)"),
    1003: (
        AuthenticationError,
        "EnOS rejected the Secret Key (the connection's password): the token request's encryption is invalid",
    ),
    1004: (ApiError, "the EnOS token service rejected a parameter (is the worker's clock right?)"),
    1005: (TransientError, "the EnOS token service reported an internal error"),
    1202: (ApiError, "the EnOS token service says a parameter is empty"),
    1203: (AuthenticationError, "the EnOS access token has expired"),
    1204: (AuthenticationError, "the EnOS token service could not refresh the access token"),
}


def classify_token_response(response: ApiResponse) -> WfCancelError | None:
    """Map a token-service answer with a non-zero ``status`` (``stauts`` in one doc build) to its error."""
    body = _envelope_or_none(response)
    if body is None:
        return None
    code: int | None = None
    for name in ("status", "stauts", "code"):
        if name in body:
            code = as_code(body[name])
            break
    if not code:
        return None
    cls, message = _TOKEN_ERRORS.get(code, (ApiError, "the EnOS token service refused the request"))
    return _error(response, cls, message, code=code, body=body)


def parse_token_response(response: ApiResponse) -> tuple[str, float]:
    """``(accessToken, lifetime seconds)`` of a successful token-service answer."""
    body = response.json_object()
    data = body.get("data")
    token = data.get("accessToken") if isinstance(data, dict) else None
    if not isinstance(token, str) or not token:
        raise _error(
            response, ApiError, "the EnOS token service answered without data.accessToken", body=body
        )
    if len(token) > 4096 or not all("!" <= c <= "~" for c in token):
        raise _error(
            response,
            ApiError,
            "the EnOS token service answered with an access token no header can carry",
            body=body,
        )
    expire = as_code(data.get("expire")) if isinstance(data, dict) else None
    lifetime = expire if expire is not None and 0 < expire <= MAX_TOKEN_LIFETIME else DEFAULT_TOKEN_LIFETIME
    return token, float(lifetime)


def is_gateway_rejection(error: WfCancelError) -> bool:
    """Whether a failed call says the access token (or its signature) was not accepted."""
    if error.http_status == 401:
        return True
    if isinstance(error, AuthenticationError) and as_code(error.service_code) in GATEWAY_REJECTION_CODES:
        return True
    if error.http_status in (400, 403) and error.service_code is None:
        match = _GATEWAY_CODE_IN_BODY.search(error.body_excerpt)
        return match is not None and int(match.group(1)) in GATEWAY_REJECTION_CODES
    return False


def status_name(code: Any, desc: Any = None) -> str:
    """The status NAME for a numeric code; unknown codes become ``UNKNOWN(<code>)``."""
    number = as_code(code)
    if number is not None and number in STATUS_NAMES:
        return STATUS_NAMES[number]
    if number is None and isinstance(desc, str) and desc in STATUS_NAMES.values():
        return desc
    return f"UNKNOWN({code})"


def state_from_instance(instance_id: str, data: Mapping[str, Any]) -> InstanceState:
    """An :class:`InstanceState` from a FlowInstance object."""
    status = status_name(data.get("status"), data.get("statusDesc"))
    return InstanceState(
        service=SERVICE,
        instance_id=str(data.get("instanceId") or instance_id),
        status=status,
        is_terminal=status in TERMINAL_STATUSES,
        is_cancelled=status == CANCELLED,
        is_success=status == SUCCEEDED,
        url=None,  # EnOS documents no console URL for a flow instance
        raw=dict(data),
        started_at=parse_instance_time(data.get("triggerTime")),
    )
