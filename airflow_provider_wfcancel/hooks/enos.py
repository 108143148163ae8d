"""Hook for the EnOS Batch Processing Service v2.1 behind the EnOS API gateway (APIM).

Authentication (the documented scheme for callers that do not use Envision's SDKs): the application's
Access Key (``appKey``) and Secret Key (``appSecret``) buy an access token from
``/apim-token-service/v2.0/token/get``; every API call then carries ``apim-accesstoken``,
``apim-timestamp`` and ``apim-signature`` (see :func:`sign_request`).

Tokens are cached process-wide per gateway, appKey and secret. A token is renewed when less than
min(300 s, 10 % of its lifetime) remains: ``/token/refresh`` while it is still valid, ``/token/get`` when
there is none, it expired, or refresh is refused. Renewal runs under a per-key lock, so at most one token
request per key is in flight among a process's threads, and one per event loop among its coroutines.
When the gateway rejects a token anyway (HTTP 401, or an APIM code such as 1203 in a 2xx body), the hook
drops it, gets a new one and repeats the call exactly once.

Status semantics (``FlowInstanceStatus``): terminal are FAIL(-1), SUCCESS(1), INTERNAL_ERROR(4),
TIMEOUT(7), CANCEL(8) and SKIP(10); cancelled is CANCEL. INIT(0), RUNNING(2), SUSPEND(3), WAIT(5),
READY(6) and RERUN(9) are running. An undocumented code is kept as ``UNKNOWN(<code>)`` and treated as
running, so a wait ends at its timeout naming it rather than reporting an end that may not have happened.

Every multi-step exchange (token renewal, call-and-reauthenticate, cancel-then-look-up) is written once
as a generator of I/O steps; :meth:`EnosHook._run` performs the steps synchronously and
:meth:`EnosHook._arun` asynchronously, so the sync and async paths cannot drift apart.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import logging
import re
import threading
import time
import weakref
from collections.abc import Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

from airflow.sdk import Connection
from airflow.sdk.log import mask_secret

from airflow_provider_wfcancel._connection import ExtraReader, base_url_from_host
from airflow_provider_wfcancel._http import ApiRequest, ApiResponse, ResponseClassifier
from airflow_provider_wfcancel._validation import check_no_control_characters, validate_id
from airflow_provider_wfcancel.exceptions import (
    ApiError,
    AuthenticationError,
    InvalidInputError,
    NotFoundError,
    PermissionDeniedError,
    TransientError,
    WfCancelError,
    error_for_response,
)
from airflow_provider_wfcancel.hooks._base import (
    BulkCancelItem,
    CancelAck,
    InstanceState,
    ServiceSettings,
    WorkflowServiceHook,
    arun_flow,
    refused_cancel_of_finished,
    run_flow,
)
from airflow_provider_wfcancel.version_compat import (
    AIRFLOW_V_3_2_PLUS,
    amask_secret,
    legacy_connection_form_widgets,
    legacy_ui_field_behaviour,
)

log = logging.getLogger(__name__)

SERVICE = "EnOS"
APIM_PATH = "/apim-token-service/v2.0"
BATCH_PATH = "/batch-processing-service/v2.1"
DEFAULT_TOKEN_LIFETIME = 7200
#: A longer ``expire`` than this is not believed (the default lifetime is used instead).
MAX_TOKEN_LIFETIME = 30 * 24 * 3600

#: ``FlowInstanceStatus`` codes (List Flow Instances). Kept apart from the emulator's table
#: (``emulator/state.py``) on purpose: see :func:`sign_request`.
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
#: Tokens one call may go through: one rejection by the gateway, the rest expired before sending.
MAX_TOKEN_ROUNDS = 5
_GATEWAY_CODE_IN_BODY = re.compile(r'"(?:code|status|stauts|apim_status)"\s*:\s*"?(\d+)')

_FLOW_INSTANCE_ID = re.compile(r"[0-9]{1,18}-[0-9]{8,14}")
_FLOW_INSTANCE_EXAMPLE = "2438-201908081020"
#: Documented shapes (examples in the EnOS docs: ``u15426865866571``, ``o1578468179``, appKey
#: ``5acb82e7-...``). Letters are allowed after the prefix in case a deployment uses them; anything
#: outside ASCII letters, digits (and, in an appKey, ``-``/``_``) is refused before any request.
_USER_ID = re.compile(r"u[0-9A-Za-z]{1,63}")
_ORG_ID = re.compile(r"o[0-9A-Za-z]{1,63}")
_APP_KEY = re.compile(r"[0-9A-Za-z][0-9A-Za-z_-]{0,127}")
#: ``flowId`` is a Java long.
MAX_FLOW_ID = 2**63 - 1

T = TypeVar("T")


# -- signing (pure) -----------------------------------------------------------------------------------------


def token_encryption(app_key: str, timestamp_ms: int | str, app_secret: str) -> str:
    """``encryption`` of a token request: lowercase hex ``sha256(appKey + timestamp + appSecret)``."""
    return hashlib.sha256(f"{app_key}{timestamp_ms}{app_secret}".encode()).hexdigest()


def sign_request(
    access_token: str,
    params: Mapping[str, str],
    body: bytes | None,
    timestamp_ms: int | str,
    app_secret: str,
) -> str:
    """``apim-signature`` of an API call (spec 4.3).

    ``paramsData`` is every query parameter sorted by name, as ``name + value`` without separators,
    followed by the request body exactly as sent; the signature is the lowercase hex
    ``sha256(accessToken + paramsData + timestamp + appSecret)`` over UTF-8.

    Deliberately not shared with the emulator's ``emulator/signing.py`` (nor is :data:`STATUS_NAMES`
    with ``emulator/state.py``): each is an independent reading of the spec, so a misreading in one
    shows up as a failing exchange instead of hiding in code both sides use.
    """
    params_data = "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hashlib.sha256(f"{access_token}{params_data}".encode())
    if body:
        digest.update(body)
    digest.update(f"{timestamp_ms}{app_secret}".encode())
    return digest.hexdigest()


_clock_lock = threading.Lock()
_last_timestamp_ms = 0


def fresh_timestamp_ms() -> int:
    """Current epoch milliseconds, strictly increasing within the process.

    The token service refuses a reused ``encryption`` (code 1001), which a repeated millisecond would cause.
    """
    global _last_timestamp_ms
    with _clock_lock:
        _last_timestamp_ms = max(int(time.time() * 1000), _last_timestamp_ms + 1)
        return _last_timestamp_ms


class StaleTokenError(AuthenticationError):
    """The access token expired while its request waited to be sent (nothing was sent)."""


class EnosGatewayAuth:
    """Signs each attempt of an API call with one access token (fresh timestamp per attempt). Signing
    happens right before the attempt is sent; a token that expired meanwhile is not sent."""

    def __init__(self, token: CachedToken, app_secret: str) -> None:
        self.token = token
        self._app_secret = app_secret

    def headers(self, request: ApiRequest) -> dict[str, str]:
        if not self.token.is_valid():
            raise StaleTokenError(
                "the EnOS access token expired before the request could be sent", service=SERVICE
            )
        access_token = self.token.token
        timestamp = str(fresh_timestamp_ms())
        signature = sign_request(access_token, request.params, request.body, timestamp, self._app_secret)
        return {"apim-accesstoken": access_token, "apim-timestamp": timestamp, "apim-signature": signature}

    def __repr__(self) -> str:
        return "EnosGatewayAuth(access_token=***, app_secret=***)"


# -- settings -----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TokenKey:
    """Whose token: gateway, appKey and the secret's digest (never shown: it could confirm a guessed secret)."""

    base_url: str
    app_key: str
    secret_digest: bytes = field(repr=False)


@dataclass(frozen=True)
class EnosSettings(ServiceSettings):
    app_key: str
    app_secret: str = field(repr=False)
    org_id: str
    user_id: str | None = None

    @property
    def token_key(self) -> TokenKey:
        """Token cache key: gateway, appKey and a digest of the secret (a changed secret gets its own token)."""
        return TokenKey(self.base_url, self.app_key, hashlib.sha256(self.app_secret.encode()).digest())


@dataclass(frozen=True)
class Identity:
    """The ``userId``/``orgId`` pair every batch-processing call carries."""

    user_id: str
    org_id: str


@dataclass(frozen=True)
class FlowInstancePage:
    """One page of List Flow Instances: the instances and the total number that matched."""

    instances: list[InstanceState]
    count: int


def _check_user_id(value: Any, name: str) -> str:
    return validate_id(value, field=name, pattern=_USER_ID, example="u15426865866571")


def _check_org_id(value: Any, name: str) -> str:
    return validate_id(value, field=name, pattern=_ORG_ID, example="o15724268424841")


# -- token cache --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CachedToken:
    token: str = field(repr=False)
    expires_at: float  # time.monotonic()
    renew_at: float

    @classmethod
    def issued(cls, token: str, lifetime: float) -> CachedToken:
        """Renew ahead of expiry by min(300 s, 10 % of the lifetime)."""
        now = time.monotonic()
        return cls(token, now + lifetime, now + lifetime - min(300.0, 0.1 * lifetime))

    def is_fresh(self) -> bool:
        return time.monotonic() < self.renew_at

    def is_valid(self) -> bool:
        return time.monotonic() < self.expires_at


class TokenCache:
    """Process-wide access tokens with one renewal in flight per key (per thread pool, per event loop)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._entries: dict[TokenKey, CachedToken] = {}
        self._locks: dict[TokenKey, threading.Lock] = {}
        self._async_locks: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[TokenKey, asyncio.Lock]
        ] = weakref.WeakKeyDictionary()

    def lock(self, key: TokenKey) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def alock(self, key: TokenKey) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        with self._guard:
            return self._async_locks.setdefault(loop, {}).setdefault(key, asyncio.Lock())

    def get(self, key: TokenKey) -> CachedToken | None:
        with self._guard:
            return self._entries.get(key)

    def fresh_token(self, key: TokenKey) -> CachedToken | None:
        entry = self.get(key)
        return entry if entry is not None and entry.is_fresh() else None

    def store(self, key: TokenKey, entry: CachedToken) -> None:
        with self._guard:
            self._entries[key] = entry

    def invalidate(self, key: TokenKey, token: str) -> None:
        """Forget ``token`` if it is still the cached one (another caller may have replaced it already)."""
        with self._guard:
            entry = self._entries.get(key)
            if entry is not None and entry.token == token:
                del self._entries[key]

    def clear(self) -> None:
        with self._guard:
            self._entries.clear()


TOKEN_CACHE = TokenCache()


def clear_token_cache() -> None:
    """Forget every cached EnOS access token of this process (the next call gets a new one)."""
    TOKEN_CACHE.clear()


# -- the I/O steps a flow yields (named tuples: a third of a dataclass's import cost) -----------------------


class _Send(NamedTuple):
    request: ApiRequest
    auth: EnosGatewayAuth | None
    classify: ResponseClassifier


class _Mask(NamedTuple):
    secret: str

    def __repr__(self) -> str:
        return "_Mask(secret=***)"


class _AccessToken(NamedTuple):
    settings: EnosSettings


_Step = _Send | _Mask | _AccessToken
Flow = Generator[_Step, Any, T]


# -- response parsing (pure) --------------------------------------------------------------------------------


def _as_code(value: Any) -> int | None:
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
        code = _as_code(body.get(name))
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
    code = _as_code(body.get("code"))
    if code is None and "code" not in body:
        code = _as_code(body.get("status"))  # the v2.0 envelope
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
            code = _as_code(body[name])
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
    expire = _as_code(data.get("expire")) if isinstance(data, dict) else None
    lifetime = expire if expire is not None and 0 < expire <= MAX_TOKEN_LIFETIME else DEFAULT_TOKEN_LIFETIME
    return token, float(lifetime)


def is_gateway_rejection(error: WfCancelError) -> bool:
    """Whether a failed call says the access token (or its signature) was not accepted."""
    if error.http_status == 401:
        return True
    if isinstance(error, AuthenticationError) and _as_code(error.service_code) in GATEWAY_REJECTION_CODES:
        return True
    if error.http_status in (400, 403) and error.service_code is None:
        match = _GATEWAY_CODE_IN_BODY.search(error.body_excerpt)
        return match is not None and int(match.group(1)) in GATEWAY_REJECTION_CODES
    return False


def status_name(code: Any, desc: Any = None) -> str:
    """The status NAME for a numeric code; unknown codes become ``UNKNOWN(<code>)``."""
    number = _as_code(code)
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
    )


# -- the hook -----------------------------------------------------------------------------------------------


class EnosHook(WorkflowServiceHook[EnosSettings]):
    """Talks to the EnOS Batch Processing Service as one application (service account).

    Connection ``enos``: host is the API gateway (``apim-ppe1.envisioniot.com`` or a URL; https is
    assumed); port, if set, is added to the host; login is the Access Key (appKey); password is the
    Secret Key (appSecret). Extras:
    ``org_id`` (required, the Organization ID), ``user_id`` (the User ID every batch-processing call
    runs as; cancelling requires the instance's owner), and ``timeout``, ``verify_ssl``, ``ca_bundle``,
    ``max_retries``.

    :param enos_conn_id: Airflow connection id.
    :param user_id: default ``userId`` for every call of this hook (overrides the connection's).
    :param org_id: default ``orgId`` for every call of this hook (overrides the connection's).
    """

    conn_name_attr = "enos_conn_id"
    default_conn_name = "enos_default"
    conn_type = "enos"
    hook_name = "EnOS"
    service = SERVICE
    if not AIRFLOW_V_3_2_PLUS:  # Airflow 3.1 draws the connection form from these; 3.2+ from provider info
        get_connection_form_widgets = classmethod(legacy_connection_form_widgets)
        get_ui_field_behaviour = classmethod(legacy_ui_field_behaviour)

    def __init__(
        self,
        enos_conn_id: str = default_conn_name,
        *,
        user_id: str | None = None,
        org_id: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(enos_conn_id, **kwargs)
        self.enos_conn_id = enos_conn_id
        self.user_id = user_id
        self.org_id = org_id

    # -- connection ---------------------------------------------------------------------------------------

    @classmethod
    def parse_connection(cls, conn: Connection) -> EnosSettings:
        conn_id = conn.conn_id
        extras = ExtraReader.of(conn)
        app_key = (conn.login or "").strip()
        if not app_key:
            raise InvalidInputError(
                f"connection {conn_id!r} has no login (the EnOS application's Access Key, appKey)"
            )
        app_secret = (conn.password or "").strip()
        if not app_secret:
            raise InvalidInputError(
                f"connection {conn_id!r} has no password (the EnOS application's Secret Key, appSecret)"
            )
        mask_secret(app_secret)
        check_no_control_characters(app_secret, field=f"connection {conn_id!r} password (the Secret Key)")
        org_id = extras.string("org_id")
        if org_id is None:
            raise InvalidInputError(
                f"connection {conn_id!r} has no extra 'org_id' (the EnOS Organization ID, e.g. 'o1578468179')"
            )
        user_id = extras.string("user_id")
        return EnosSettings(
            conn_id=conn_id,
            base_url=base_url_from_host(conn_id, conn.host, port=conn.port, field="host (EnOS API gateway)"),
            http=extras.http_settings(),
            app_key=validate_id(
                app_key,
                field=f"connection {conn_id!r} login (the Access Key, appKey)",
                pattern=_APP_KEY,
                example="5acb82e7-1234-4abc-9def-0123456789ab",
            ),
            app_secret=app_secret,
            org_id=_check_org_id(org_id, f"connection {conn_id!r} extra 'org_id'"),
            user_id=None
            if user_id is None
            else _check_user_id(user_id, f"connection {conn_id!r} extra 'user_id'"),
        )

    def _identity(self, settings: EnosSettings, user_id: str | None, org_id: str | None) -> Identity:
        """``userId``/``orgId`` for one call: the argument, else the hook's default, else the connection's."""
        user = user_id if user_id is not None else self.user_id
        org = org_id if org_id is not None else self.org_id
        if user is None:
            user = settings.user_id
            if user is None:
                raise InvalidInputError(
                    f"no EnOS user id: pass user_id or set the extra 'user_id' of connection {settings.conn_id!r} "
                    "(batch-processing calls run as a user, e.g. 'u15426865866571')"
                )
        return Identity(
            user_id=_check_user_id(user, "user_id"),
            org_id=_check_org_id(org if org is not None else settings.org_id, "org_id"),
        )

    # -- request builders (shared by the sync and async paths) --------------------------------------------

    @classmethod
    def validate_instance_id(cls, value: Any) -> str:
        return validate_id(
            value, field="flow_instance_id", pattern=_FLOW_INSTANCE_ID, example=_FLOW_INSTANCE_EXAMPLE
        )

    @staticmethod
    def _batch_request(
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

    @staticmethod
    def _token_request(settings: EnosSettings, previous: str | None) -> ApiRequest:
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

    # -- flows: written once, run by _run (sync) or _arun (async) ----------------------------------------

    def _fetch_token(self, settings: EnosSettings, previous: str | None) -> Flow[CachedToken]:
        """One token request; a 1001 (reused encryption) is answered once more with a fresh timestamp."""
        for attempt in (1, 2):
            try:
                response = yield _Send(self._token_request(settings, previous), None, classify_token_response)
            except ApiError as error:
                if attempt == 1 and _as_code(error.service_code) == 1001:
                    continue
                raise
            token, lifetime = parse_token_response(response)
            yield _Mask(token)
            log.info(
                "Obtained an EnOS access token for appKey %s (valid for %d s, %s)",
                settings.app_key,
                lifetime,
                "refreshed" if previous else "new",
            )
            return CachedToken.issued(token, lifetime)
        raise AssertionError("unreachable")

    def _renew_token(self, settings: EnosSettings, current: CachedToken | None) -> Flow[CachedToken]:
        """Refresh a still-valid token; get a new one when there is none, it expired, or refresh fails."""
        if current is not None and current.is_valid():
            try:
                return (yield from self._fetch_token(settings, current.token))
            except TransientError as error:
                log.warning("Could not refresh the EnOS access token (%s); using it until it expires", error)
                retry_at = min(current.expires_at, time.monotonic() + 30.0)
                return dataclasses.replace(current, renew_at=retry_at)
            except WfCancelError as error:
                log.info("EnOS refused to refresh the access token (%s); getting a new one", error)
        return (yield from self._fetch_token(settings, None))

    def _call(self, settings: EnosSettings, request: ApiRequest) -> Flow[dict[str, Any]]:
        """A signed batch-processing call; a rejected token is replaced and the call repeated once. A token
        that expired while the call waited for a request slot is replaced without counting (nothing was sent)."""
        rejected = False
        for _ in range(MAX_TOKEN_ROUNDS):
            token: CachedToken = yield _AccessToken(settings)
            try:
                response: ApiResponse = yield _Send(
                    request, EnosGatewayAuth(token, settings.app_secret), classify_batch_response
                )
            except StaleTokenError:
                continue  # the next _AccessToken renews it
            except WfCancelError as error:
                if not is_gateway_rejection(error):
                    raise
                if rejected:
                    raise error.replace(
                        message="the EnOS gateway rejected the access token even after getting a new one"
                    ) from error
                rejected = True
                log.info("The EnOS gateway rejected the access token (%s); getting a new one", error.message)
                TOKEN_CACHE.invalidate(settings.token_key, token.token)
                continue
            return response.json_object()
        raise StaleTokenError(
            f"the EnOS access token expired {MAX_TOKEN_ROUNDS} times before the request could be sent "
            "(tokens shorter-lived than the wait for a request slot)",
            service=SERVICE,
            url=request.display_url,
            method=request.method,
        )

    def _get_flow(self, settings: EnosSettings, instance_id: str, ident: Identity) -> Flow[InstanceState]:
        request = self._batch_request(
            settings, "flowInstances", "get", ident, extra_params={"flowInstId": instance_id}
        )
        body = yield from self._call(settings, request)
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

    def _cancel_flow(self, settings: EnosSettings, instance_id: str, ident: Identity) -> Flow[CancelAck]:
        request = self._batch_request(
            settings, "flowInstances", "cancel", ident, payload={"flowInstId": instance_id}
        )
        try:
            body = yield from self._call(settings, request)
        except (ApiError, PermissionDeniedError) as error:
            if error.service_code is None:
                raise
            refusal = {
                "code": error.service_code,
                "msg": error.service_message,
                "requestId": error.request_id,
            }
            lookup = self._get_flow(settings, instance_id, ident)
            return (yield from refused_cancel_of_finished(SERVICE, instance_id, error, refusal, lookup))
        return CancelAck(instance_id, body, state_at_request=None)

    def _search_flow(
        self, settings: EnosSettings, ident: Identity, payload: dict[str, Any]
    ) -> Flow[FlowInstancePage]:
        request = self._batch_request(settings, "flowInstances", "search", ident, payload=payload)
        body = yield from self._call(settings, request)
        data = body.get("data")
        items = data.get("flowInsts") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise ApiError(
                "EnOS answered a search without data.flowInsts", service=SERVICE, url=request.display_url
            )
        states = [state_from_instance(str(i.get("instanceId", "")), i) for i in items if isinstance(i, dict)]
        count = _as_code(data.get("count")) if isinstance(data, dict) else None
        return FlowInstancePage(states, count if count is not None else len(states))

    def _trigger_flow(self, settings: EnosSettings, ident: Identity, payload: dict[str, Any]) -> Flow[str]:
        request = self._batch_request(settings, "flows", "trigger", ident, payload=payload, idempotent=False)
        body = yield from self._call(settings, request)
        data = body.get("data")
        new_id = data.get("flowInstanceId") if isinstance(data, dict) else None
        if not isinstance(new_id, str) or not new_id:
            raise ApiError(
                "EnOS answered a trigger without data.flowInstanceId",
                service=SERVICE,
                url=request.display_url,
            )
        return new_id

    # -- flow runners -------------------------------------------------------------------------------------

    def _run(self, flow: Flow[T]) -> T:
        """Perform a flow's steps with the sync transport."""

        def perform(step: _Step) -> Any:
            if isinstance(step, _Send):
                return self.transport.send(step.request, step.auth, step.classify)
            if isinstance(step, _Mask):
                return mask_secret(step.secret)
            return self._access_token(step.settings)

        return run_flow(flow, perform)

    async def _arun(self, flow: Flow[T]) -> T:
        """Perform a flow's steps with the async transport."""
        transport = await self.atransport()

        async def perform(step: _Step) -> Any:
            if isinstance(step, _Send):
                return await transport.send(step.request, step.auth, step.classify)
            if isinstance(step, _Mask):
                return await amask_secret(step.secret)
            return await self._aaccess_token(step.settings)

        return await arun_flow(flow, perform)

    def _access_token(self, settings: EnosSettings) -> CachedToken:
        """The cached token, renewed under a per-key lock (one token request in flight per key)."""
        key = settings.token_key
        if token := TOKEN_CACHE.fresh_token(key):
            return token
        with TOKEN_CACHE.lock(key):
            current = TOKEN_CACHE.get(key)
            if current is not None and current.is_fresh():
                return current
            entry = self._run(self._renew_token(settings, current))
            TOKEN_CACHE.store(key, entry)
            return entry

    async def _aaccess_token(self, settings: EnosSettings) -> CachedToken:
        """Async twin of :meth:`_access_token`: coroutines of one event loop share one renewal."""
        key = settings.token_key
        if token := TOKEN_CACHE.fresh_token(key):
            return token
        async with TOKEN_CACHE.alock(key):
            current = TOKEN_CACHE.get(key)
            if current is not None and current.is_fresh():
                return current
            entry = await self._arun(self._renew_token(settings, current))
            TOKEN_CACHE.store(key, entry)
            return entry

    # -- the API ------------------------------------------------------------------------------------------

    def request_cancel(
        self, instance_id: str, *, user_id: str | None = None, org_id: str | None = None
    ) -> CancelAck:
        """Cancel Flow Instance (``POST flowInstances?action=cancel``); EnOS answers with ``data: ""``.

        When EnOS refuses with a business code and the instance turns out to be finished, the ack says
        ``already_finished`` with that status; otherwise the refusal is raised.
        """
        instance_id = self.validate_instance_id(instance_id)
        settings = self.settings
        ident = self._identity(settings, user_id, org_id)
        return self._run(self._cancel_flow(settings, instance_id, ident))

    cancel_flow_instance = request_cancel

    async def arequest_cancel(
        self, instance_id: str, *, user_id: str | None = None, org_id: str | None = None
    ) -> CancelAck:
        instance_id = self.validate_instance_id(instance_id)
        settings = await self.asettings()
        ident = self._identity(settings, user_id, org_id)
        return await self._arun(self._cancel_flow(settings, instance_id, ident))

    def get_state(
        self, instance_id: str, *, user_id: str | None = None, org_id: str | None = None
    ) -> InstanceState:
        """Get Flow Instance (``GET flowInstances?action=get``)."""
        instance_id = self.validate_instance_id(instance_id)
        settings = self.settings
        ident = self._identity(settings, user_id, org_id)
        return self._run(self._get_flow(settings, instance_id, ident))

    get_flow_instance = get_state

    async def aget_state(
        self, instance_id: str, *, user_id: str | None = None, org_id: str | None = None
    ) -> InstanceState:
        instance_id = self.validate_instance_id(instance_id)
        settings = await self.asettings()
        ident = self._identity(settings, user_id, org_id)
        return await self._arun(self._get_flow(settings, instance_id, ident))

    def trigger_flow(
        self,
        flow_id: int,
        trigger_time_ms: int | None = None,
        *,
        user_id: str | None = None,
        org_id: str | None = None,
    ) -> str:
        """Trigger Flow (``POST flows?action=trigger``); returns the new flow instance id.

        Not idempotent: it is resent only when the gateway proves it did not run it (connect error,
        429, 503, or a rejected token).
        """
        if isinstance(flow_id, bool) or not isinstance(flow_id, int) or not 0 < flow_id <= MAX_FLOW_ID:
            raise InvalidInputError(f"flow_id must be a positive integer (at most 2**63-1), got {flow_id!r}")
        if trigger_time_ms is not None and (
            isinstance(trigger_time_ms, bool) or not isinstance(trigger_time_ms, int) or trigger_time_ms < 0
        ):
            raise InvalidInputError(f"trigger_time_ms must be epoch milliseconds, got {trigger_time_ms!r}")
        settings = self.settings
        ident = self._identity(settings, user_id, org_id)
        payload = {
            "flowId": flow_id,
            "triggerTime": trigger_time_ms if trigger_time_ms is not None else _now_ms(),
        }
        return self._run(self._trigger_flow(settings, ident, payload))

    def search_flow_instances(
        self,
        *,
        flow_type: int = 1,
        expression: str = "",
        owner: str = "",
        from_trigger_time_ms: int | None = None,
        to_trigger_time_ms: int | None = None,
        statuses: Iterable[int] | None = None,
        page_no: int = 1,
        page_size: int = 20,
        sorters: Sequence[tuple[str, str]] = (),
        user_id: str | None = None,
        org_id: str | None = None,
    ) -> FlowInstancePage:
        """List Flow Instances (``POST flowInstances?action=search``).

        :param flow_type: 0 manual, 1 periodic, 2 temporary.
        :param expression: fuzzy match on instance id or flow name.
        :param owner: owner's user name ("" for any).
        :param from_trigger_time_ms: start of the trigger-time range (default: 7 days ago).
        :param to_trigger_time_ms: end of the trigger-time range (default: now).
        :param statuses: status codes to keep (``None`` for all).
        :param sorters: ``(field, "ASC"|"DESC")`` pairs, field one of createTime, updateTime,
            startTime, triggerTime, endTime.
        """
        settings = self.settings
        ident = self._identity(settings, user_id, org_id)
        payload = self._search_payload(
            flow_type,
            expression,
            owner,
            from_trigger_time_ms,
            to_trigger_time_ms,
            statuses,
            page_no,
            page_size,
            sorters,
        )
        return self._run(self._search_flow(settings, ident, payload))

    @staticmethod
    def _search_payload(
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
        now = _now_ms()
        high = now if to_ms is None else to_ms
        low = high - 7 * 24 * 3600 * 1000 if from_ms is None else from_ms
        if not (whole(low) and whole(high) and 0 <= low <= high):
            raise InvalidInputError(
                f"the trigger-time range must be epoch ms with from <= to, got {low!r}..{high!r}"
            )
        if not (whole(page_no) and whole(page_size) and page_no >= 0 and 1 <= page_size <= 1000):
            raise InvalidInputError(
                f"page_no must be >= 0 and page_size 1..1000, got {page_no!r}, {page_size!r}"
            )
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

    def cancel_flow_instances(self, instance_ids: list[str], *, max_workers: int = 8) -> list[BulkCancelItem]:
        """Cancel many instances concurrently (one shared token); see :meth:`WorkflowServiceHook.cancel_many`."""
        return self.cancel_many(instance_ids, max_workers=max_workers)

    def probe(self) -> str:
        """Get a token (proves appKey and secret), then one tiny signed search (proves userId/orgId)."""
        settings = self.settings
        self._access_token(settings)
        if settings.user_id is None and self.user_id is None:
            return (
                f"Connected to EnOS at {settings.base_url}: the access key and secret key are valid; "
                "set the extra 'user_id' to also check batch-processing access"
            )
        ident = self._identity(settings, None, None)
        payload = self._search_payload(1, "", "", None, None, None, 1, 1, ())
        try:
            self._run(self._search_flow(settings, ident, payload))
        except WfCancelError as error:
            if error.http_status == 404:
                raise error.replace(
                    message="no EnOS Batch Processing API at this gateway (is the host right?)"
                ) from error.__cause__
            raise
        return (
            f"Connected to EnOS at {settings.base_url}: the keys are valid and user {ident.user_id} "
            f"in organization {ident.org_id} can use the Batch Processing Service"
        )


def _now_ms() -> int:
    return int(time.time() * 1000)
