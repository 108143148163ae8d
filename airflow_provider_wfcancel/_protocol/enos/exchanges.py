"""EnOS calls as exchanges: settings, the ``userId``/``orgId`` every call carries, request builders, and
the multi-step exchanges (token renewal, call-and-reauthenticate, cancel-then-look-up).

Besides :class:`~airflow_provider_wfcancel._protocol.exchange.Send` and ``Mask``, an EnOS exchange yields
:class:`AccessToken` (the hook answers with a fresh :class:`CachedToken`, renewing it if needed) and
:class:`DropToken` (the gateway rejected that token: forget it).
"""

from __future__ import annotations

import dataclasses
import hashlib
import logging
import re
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from airflow_provider_wfcancel._http import ApiRequest, ApiResponse, ResponseClassifier
from airflow_provider_wfcancel._protocol.enos.responses import (
    SERVICE,
    STATUS_NAMES,
    FlowInstancePage,
    as_code,
    classify_batch_response,
    classify_get_response,
    classify_token_response,
    is_gateway_rejection,
    parse_token_response,
    state_from_instance,
)
from airflow_provider_wfcancel._protocol.enos.signing import (
    EnosGatewayAuth,
    StaleTokenError,
    fresh_timestamp_ms,
    token_encryption,
)
from airflow_provider_wfcancel._protocol.enos.tokens import CachedToken, TokenKey
from airflow_provider_wfcancel._protocol.exchange import Exchange, Mask, Send, refused_cancel_of_finished
from airflow_provider_wfcancel._protocol.model import CancelAck, InstanceState, ServiceSettings
from airflow_provider_wfcancel._validation import validate_id
from airflow_provider_wfcancel.exceptions import (
    ApiError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    TransientError,
    WfCancelError,
    error_for_response,
)

log = logging.getLogger(__name__)

APIM_PATH = "/apim-token-service/v2.0"
BATCH_PATH = "/batch-processing-service/v2.1"
#: Tokens one call may go through: one rejection by the gateway, the rest expired before sending.
MAX_TOKEN_ROUNDS = 5

FLOW_INSTANCE_ID = re.compile(r"[0-9]{1,18}-[0-9]{8,14}")
FLOW_INSTANCE_EXAMPLE = "2438-201908081020"
#: Documented shapes (examples in the EnOS docs: ``u15426865866571``, ``o1578468179``, appKey
#: ``5acb82e7-...``). Letters are allowed after the prefix in case a deployment uses them; anything
#: outside ASCII letters, digits (and, in an appKey, ``-``/``_``) is refused before any request.
USER_ID = re.compile(r"u[0-9A-Za-z]{1,63}")
ORG_ID = re.compile(r"o[0-9A-Za-z]{1,63}")
APP_KEY = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]{0,127}")
APP_KEY_EXAMPLE = "5acb82e7-1234-4abc-9def-0123456789ab"
#: ``flowId`` is a Java long.
MAX_FLOW_ID = 2**63 - 1


@dataclass(frozen=True)
class EnosSettings(ServiceSettings):
    app_key: str
    app_secret: str = field(repr=False)
    org_id: str
    user_id: str | None = None

    @property
    def secrets(self) -> tuple[str, ...]:
        return (self.app_secret,)

    @property
    def token_key(self) -> TokenKey:
        """Token cache key: gateway, appKey and a digest of the secret (a changed secret gets its own token)."""
        return TokenKey(self.base_url, self.app_key, hashlib.sha256(self.app_secret.encode()).digest())


@dataclass(frozen=True)
class Identity:
    """The ``userId``/``orgId`` pair every batch-processing call carries."""

    user_id: str
    org_id: str


def check_user_id(value: Any, name: str) -> str:
    return validate_id(value, field=name, pattern=USER_ID, example="u15426865866571")


def validate_flow_id(value: Any) -> int:
    """A flow id is a positive whole number (``3377``), checked before any request."""
    text = str(value).strip() if isinstance(value, str | int) and not isinstance(value, bool) else ""
    if not text.isascii() or not text.isdigit() or int(text) < 1:
        raise InvalidInputError(f"flow_id must be a positive whole number such as 3377, got {value!r}")
    return int(text)


def check_org_id(value: Any, name: str) -> str:
    return validate_id(value, field=name, pattern=ORG_ID, example="o15724268424841")


def check_flow_instance_id(value: Any) -> str:
    return validate_id(
        value, field="flow_instance_id", pattern=FLOW_INSTANCE_ID, example=FLOW_INSTANCE_EXAMPLE
    )


class AccessToken(NamedTuple):
    """Step: a fresh access token for ``settings`` (the result is a :class:`CachedToken`)."""

    settings: EnosSettings


class DropToken(NamedTuple):
    """Step: the gateway rejected ``token``; forget it if it is still the cached one."""

    key: TokenKey
    token: str

    def __repr__(self) -> str:
        return "DropToken(token=***)"


def now_ms() -> int:
    return int(time.time() * 1000)


def batch_request(
    settings: EnosSettings,
    resource: str,
    action: str,
    ident: Identity,
    *,
    extra_params: Mapping[str, str] | None = None,
    payload: Any = None,
    idempotent: bool = True,
) -> ApiRequest:
    url = f"{settings.base_url}{BATCH_PATH}/{resource}"
    params = {"action": action, **(extra_params or {}), "userId": ident.user_id, "orgId": ident.org_id}
    if payload is None:
        return ApiRequest("GET", url, params=params, idempotent=idempotent)
    return ApiRequest.with_json("POST", url, payload, params=params, idempotent=idempotent)


def token_request(settings: EnosSettings, previous: str | None) -> ApiRequest:
    """``/token/get`` (or ``/token/refresh`` of ``previous``), with a fresh timestamp."""
    timestamp = fresh_timestamp_ms()
    encryption = token_encryption(settings.app_key, timestamp, settings.app_secret)
    payload: dict[str, Any] = {
        "appKey": settings.app_key,
        "encryption": encryption,
        "timestamp": timestamp,
    }
    if previous is not None:
        payload["accessToken"] = previous
    verb = "get" if previous is None else "refresh"
    # ``encryption`` would let anyone who sees it test guesses of the secret offline: never shown
    url = f"{settings.base_url}{APIM_PATH}/token/{verb}"
    return ApiRequest.with_json("POST", url, payload, secrets=(encryption,))


def search_payload(
    flow_type: int,
    expression: str,
    owner: str,
    from_ms: int | None,
    to_ms: int | None,
    statuses: Iterable[int] | None,
    page_no: int,
    page_size: int,
    sorters: Sequence[tuple[str, str]],
) -> dict[str, Any]:
    def whole(value: Any) -> bool:
        return isinstance(value, int) and not isinstance(value, bool)

    if flow_type not in (0, 1, 2) or not whole(flow_type):
        raise InvalidInputError(
            f"flow_type must be 0 (manual), 1 (periodic) or 2 (temporary), got {flow_type!r}"
        )
    for name, text in (("expression", expression), ("owner", owner)):
        if not isinstance(text, str) or any(ord(c) < 32 for c in text):
            raise InvalidInputError(f"{name} must be a string without control characters, got {text!r}")
    now = now_ms()
    high = now if to_ms is None else to_ms
    low = high - 7 * 24 * 3600 * 1000 if from_ms is None else from_ms
    if not (whole(low) and whole(high) and 0 <= low <= high):
        raise InvalidInputError(
            f"the trigger-time range must be epoch ms with from <= to, got {low!r}..{high!r}"
        )
    if not (whole(page_no) and whole(page_size) and page_no >= 0 and 1 <= page_size <= 1000):
        raise InvalidInputError(f"page_no must be >= 0 and page_size 1..1000, got {page_no!r}, {page_size!r}")
    pagination: dict[str, Any] = {"pageNo": page_no, "pageSize": page_size}
    if sorters:
        checked = []
        for sorter in sorters:
            if not (
                isinstance(sorter, tuple | list)
                and len(sorter) == 2
                and str(sorter[1]).upper() in ("ASC", "DESC")
            ):
                raise InvalidInputError(f"each sorter must be (field, 'ASC' or 'DESC'), got {sorter!r}")
            checked.append({"field": str(sorter[0]), "order": str(sorter[1]).upper()})
        pagination["sorters"] = checked
    payload: dict[str, Any] = {
        "type": flow_type,
        "expression": expression,
        "owner": owner,
        "fromTriggerTime": low,
        "toTriggerTime": high,
        "pagination": pagination,
    }
    if statuses is not None:
        codes = list(statuses)
        if not codes or not all(whole(c) and c in STATUS_NAMES for c in codes):
            raise InvalidInputError(
                f"statuses must be status codes from {sorted(STATUS_NAMES)}, got {codes!r}"
            )
        payload["status"] = ",".join(str(c) for c in codes)
    return payload


def fetch_token(settings: EnosSettings, previous: str | None) -> Exchange[CachedToken]:
    """One token request; a 1001 (reused encryption) is answered once more with a fresh timestamp."""
    for attempt in (1, 2):
        try:
            response = yield Send(token_request(settings, previous), None, classify_token_response)
        except ApiError as error:
            if attempt == 1 and as_code(error.service_code) == 1001:
                continue
            raise
        token, lifetime = parse_token_response(response)
        yield Mask(token)
        log.info(
            "Obtained an EnOS access token for appKey %s (valid for %d s, %s)",
            settings.app_key,
            lifetime,
            "refreshed" if previous else "new",
        )
        return CachedToken.issued(token, lifetime)
    raise AssertionError("unreachable")


def renew_token(settings: EnosSettings, current: CachedToken | None) -> Exchange[CachedToken]:
    """Refresh a still-valid token; get a new one when there is none, it expired, or refresh fails."""
    if current is not None and current.is_valid():
        try:
            return (yield from fetch_token(settings, current.token))
        except TransientError as error:
            log.warning("Could not refresh the EnOS access token (%s); using it until it expires", error)
            retry_at = min(current.expires_at, time.monotonic() + 30.0)
            return dataclasses.replace(current, renew_at=retry_at)
        except WfCancelError as error:
            log.info("EnOS refused to refresh the access token (%s); getting a new one", error)
    return (yield from fetch_token(settings, None))


def call(
    settings: EnosSettings, request: ApiRequest, classify: ResponseClassifier = classify_batch_response
) -> Exchange[dict[str, Any]]:
    """A signed batch-processing call; a rejected token is replaced and the call repeated once. A token
    that expired while the call waited for a request slot is replaced without counting (nothing was sent).
    ``classify``: what a non-zero ``code`` means (an operation may read one differently)."""
    rejected = False
    for _ in range(MAX_TOKEN_ROUNDS):
        token: CachedToken = yield AccessToken(settings)
        try:
            response: ApiResponse = yield Send(request, EnosGatewayAuth(token, settings.app_secret), classify)
        except StaleTokenError:
            continue  # the next AccessToken step renews it
        except WfCancelError as error:
            if not is_gateway_rejection(error):
                raise
            if rejected:
                raise error.replace(
                    message="the EnOS gateway rejected the access token even after getting a new one"
                ) from error
            rejected = True
            log.info("The EnOS gateway rejected the access token (%s); getting a new one", error.message)
            yield DropToken(settings.token_key, token.token)
            continue
        return response.json_object()
    raise StaleTokenError(
        f"the EnOS access token expired {MAX_TOKEN_ROUNDS} times before the request could be sent "
        "(tokens shorter-lived than the wait for a request slot)",
        service=SERVICE,
        url=request.display_url,
        method=request.method,
    )


def get(settings: EnosSettings, instance_id: str, ident: Identity) -> Exchange[InstanceState]:
    request = batch_request(settings, "flowInstances", "get", ident, extra_params={"flowInstId": instance_id})
    body = yield from call(settings, request, classify_get_response)
    data = body.get("data")
    if not isinstance(data, dict):
        raise error_for_response(
            service=SERVICE,
            method=request.method,
            url=request.display_url,
            status_code=200,
            request_id=str(body.get("requestId") or "") or None,
            error_class=NotFoundError if data in (None, "") else ApiError,
            message=f"EnOS returned no flow instance {instance_id}",
        )
    return state_from_instance(instance_id, data)


def cancel(settings: EnosSettings, instance_id: str, ident: Identity) -> Exchange[CancelAck]:
    request = batch_request(settings, "flowInstances", "cancel", ident, payload={"flowInstId": instance_id})
    try:
        body = yield from call(settings, request)
    except (ApiError, PermissionDeniedError) as error:
        if error.service_code is None:
            raise
        refusal = {
            "code": error.service_code,
            "msg": error.service_message,
            "requestId": error.request_id,
        }
        lookup = get(settings, instance_id, ident)
        return (yield from refused_cancel_of_finished(SERVICE, instance_id, error, refusal, lookup))
    return CancelAck(instance_id, body, state_at_request=None)


def search(settings: EnosSettings, ident: Identity, payload: dict[str, Any]) -> Exchange[FlowInstancePage]:
    request = batch_request(settings, "flowInstances", "search", ident, payload=payload)
    body = yield from call(settings, request)
    data = body.get("data")
    items = data.get("flowInsts") if isinstance(data, dict) else None
    if not isinstance(items, list):
        raise ApiError(
            "EnOS answered a search without data.flowInsts", service=SERVICE, url=request.display_url
        )
    states = [state_from_instance(str(i.get("instanceId", "")), i) for i in items if isinstance(i, dict)]
    count = as_code(data.get("count")) if isinstance(data, dict) else None
    return FlowInstancePage(states, count)


def trigger(
    settings: EnosSettings, ident: Identity, payload: dict[str, Any], action: str = "trigger"
) -> Exchange[str]:
    """Trigger Flow, or (``action="triggerFromTask"``) Trigger Flow From Task: the new instance's id."""
    request = batch_request(settings, "flows", action, ident, payload=payload, idempotent=False)
    body = yield from call(settings, request)
    data = body.get("data")
    new_id = data.get("flowInstanceId") if isinstance(data, dict) else None
    if not isinstance(new_id, str) or not new_id:
        raise ApiError(
            "EnOS answered a trigger without data.flowInstanceId",
            service=SERVICE,
            url=request.display_url,
        )
    return new_id
