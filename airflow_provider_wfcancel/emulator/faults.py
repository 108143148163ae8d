"""Fault injection and the request log, as one pure ASGI middleware placed outside FastAPI.

The middleware names each request (see ``common.ROUTES``), buffers its body, applies the first matching fault
and records a log entry just before the last response byte is handed to the server, so a client can never see
a response that is not in the log yet. Control requests (``/_emulator``) and the instance pages are neither
faulted nor logged.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, Field, model_validator
from starlette.responses import Response
from starlette.routing import BaseRoute, Match

from .common import (
    ENOS_MESSAGES,
    ROUTES,
    enos_envelope,
    error_response,
    json_response,
    service_for_path,
    token_envelope,
)

if TYPE_CHECKING:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send

    from .state import EmulatorState

FaultMode = Literal["drop", "truncate", "html", "apply_then_drop", "enos_code"]

#: Control requests and the HTML pages (``pages.py``) are not part of an emulated API: never faulted or logged.
UNRECORDED_ROUTE_PREFIXES = ("control.", "page.")
UNKNOWN_ROUTE = "unknown"
REDACTED = "<redacted>"
SENSITIVE_HEADERS = frozenset(
    {"x-domo-developer-token", "apim-accesstoken", "apim-signature", "authorization"}
)
SENSITIVE_BODY_KEYS = frozenset({"accessToken", "encryption", "appSecret"})
BLOCKED_PAGE = (
    "<!DOCTYPE html><html><head><title>Domo - Blocked</title></head>"
    "<body><h1>Access blocked</h1><p>Your IP address is not allowed.</p></body></html>"
)
FAULT_MESSAGES = {
    429: "API rate limit exceeded",
    500: "An unexpected error occurred",
    502: "Bad gateway",
    503: "Service unavailable",
    504: "Gateway timeout",
}


class FaultSpec(BaseModel):
    """What to inject; see ``EmulatorControl.inject_fault``."""

    model_config = ConfigDict(extra="forbid")

    route: str
    status: int | None = Field(default=None, ge=400, le=599)
    retry_after: int | float | str | None = None
    latency: float | None = Field(default=None, ge=0)
    mode: FaultMode | None = None
    count: int = Field(default=1, ge=1)
    duration: float | None = Field(default=None, gt=0)
    body: Any = None

    @model_validator(mode="after")
    def _consistent(self) -> FaultSpec:
        if self.route != "*" and self.route not in ROUTES:
            raise ValueError(f"unknown route {self.route!r}; expected '*' or one of {', '.join(ROUTES)}")
        if self.status is None and self.mode is None and self.latency is None:
            raise ValueError("give at least one of status, mode, latency")
        if self.status is not None and self.mode not in (None, "html"):
            raise ValueError("status can only be combined with mode='html'")
        if self.retry_after is not None and self.status is None:
            raise ValueError("retry_after needs status")
        if self.mode == "enos_code":
            if not self.route.startswith("enos."):
                raise ValueError("mode='enos_code' needs an enos.* route")
            if not _enos_code_of(self.body):
                raise ValueError(
                    "mode='enos_code' needs body=<non-zero code> or body={'code': ..., 'msg': ...}"
                )
        elif self.body is not None and self.status is None:
            raise ValueError("body needs status or mode='enos_code'")
        return self

    @property
    def label(self) -> str:
        """Short description for the request log."""
        return self.mode or (f"status {self.status}" if self.status else "latency")


def _enos_code_of(body: Any) -> int | None:
    code = body.get("code") if isinstance(body, dict) else body
    return code if isinstance(code, int) and not isinstance(code, bool) and code != 0 else None


@dataclass
class Fault:
    """An injected fault with its remaining uses (``count``) or its end time (``duration``)."""

    spec: FaultSpec
    remaining: int | None
    until: float | None

    @classmethod
    def create(cls, spec: FaultSpec, now: float) -> Fault:
        if spec.duration is not None:
            return cls(spec, None, now + spec.duration)
        return cls(spec, spec.count, None)

    def active(self, now: float) -> bool:
        return (self.remaining is None or self.remaining > 0) and (self.until is None or now < self.until)

    def matches(self, route: str) -> bool:
        return self.spec.route in ("*", route)

    def consume(self) -> None:
        if self.remaining is not None:
            self.remaining -= 1


def route_name(routes: list[BaseRoute], scope: Scope, query: dict[str, str]) -> str:
    """Route name of a request; ``{action}`` in a name is filled from the ``action`` query parameter."""
    name = UNKNOWN_ROUTE
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            name = getattr(route, "name", UNKNOWN_ROUTE)
            break
        if match is Match.PARTIAL and name == UNKNOWN_ROUTE:
            name = getattr(route, "name", UNKNOWN_ROUTE)
    action = query.get("action")
    return name.replace(".{action}", f".{action}" if action else "")


def canned_response(spec: FaultSpec, path: str) -> Response:
    """The response of a fault that answers without running the handler."""
    if spec.mode == "html":
        return Response(BLOCKED_PAGE, status_code=spec.status or 200, media_type="text/html; charset=utf-8")
    if spec.mode == "enos_code":
        code = _enos_code_of(spec.body) or 0
        msg = spec.body.get("msg") if isinstance(spec.body, dict) else None
        envelope = token_envelope if service_for_path(path) == "token" else enos_envelope
        return json_response(envelope(code, str(msg or ENOS_MESSAGES.get(code, "Error")), None))
    status = spec.status or 500
    headers = {}
    if spec.retry_after is not None:
        retry_after = spec.retry_after
        if isinstance(retry_after, float) and retry_after.is_integer():
            retry_after = int(retry_after)
        headers["Retry-After"] = str(retry_after)
    if spec.body is None:
        return error_response(path, status, FAULT_MESSAGES.get(status, "Injected fault"), headers=headers)
    if isinstance(spec.body, str):
        return Response(spec.body, status_code=status, headers=headers, media_type="text/plain")
    return json_response(spec.body, status, headers)


def redact_logged_request_body(body: bytes) -> str:
    """Request body as text, with secret-bearing JSON keys redacted."""
    text = body.decode("utf-8", errors="replace")
    if not any(key in text for key in SENSITIVE_BODY_KEYS):
        return text
    try:
        value = json.loads(text)
    except ValueError:
        return text
    if not isinstance(value, dict):
        return text
    return json.dumps(
        {k: REDACTED if k in SENSITIVE_BODY_KEYS else v for k, v in value.items()}, ensure_ascii=False
    )


def drop_connection(send: Send) -> None:
    """Close the TCP connection without answering.

    Works with uvicorn (its ``send`` is a bound method of the request cycle, which owns the transport); under any
    other server the request fails with ``ConnectionAbortedError`` instead.
    """
    cycle = getattr(send, "__self__", None)
    transport = getattr(cycle, "transport", None)
    if transport is None:
        raise ConnectionAbortedError("emulated dropped connection")
    transport.close()
    cycle.disconnected = True  # type: ignore[union-attr]  # tell uvicorn not to answer with a 500


async def _discard(message: Message) -> None:
    """``send`` that throws the response away (for ``apply_then_drop``)."""


class EmulatorMiddleware:
    """Applies injected faults and writes the request log."""

    def __init__(self, app: ASGIApp, routes: list[BaseRoute], state: EmulatorState) -> None:
        self.app = app
        self.routes = routes
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = dict(parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True))
        route = route_name(self.routes, scope, query)
        if route.startswith(UNRECORDED_ROUTE_PREFIXES):
            await self.app(scope, receive, send)
            return
        body = await _read_body(receive)
        retry_after = self.state.take_rate_token(route)
        if retry_after is not None:  # the gateway refuses before the API sees the request
            exchange = _Exchange(self.state, scope, route, query, body, send, "rate_limit")
            spec429 = FaultSpec(route=route, status=429, retry_after=retry_after or None)
            await canned_response(spec429, scope["path"])(scope, _replay(body, receive), exchange.send)
            return
        fault = self.state.take_fault(route)
        spec = fault.spec if fault else None
        exchange = _Exchange(self.state, scope, route, query, body, send, spec.label if spec else None)
        if spec is not None and spec.latency:
            await asyncio.sleep(spec.latency)
        replay = _replay(body, receive)
        if spec is None or (spec.status is None and spec.mode is None):
            await self.app(scope, replay, exchange.send)
        elif spec.mode == "truncate":
            await self.app(scope, replay, exchange.send_truncated)
        elif spec.mode in ("drop", "apply_then_drop"):
            if spec.mode == "apply_then_drop":
                await self.app(scope, replay, _discard)
            exchange.log(None)
            drop_connection(send)
        else:
            await canned_response(spec, scope["path"])(scope, replay, exchange.send)


async def _read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that yields the buffered body once, then defers to the server (disconnect events)."""
    delivered = False

    async def replay() -> Message:
        nonlocal delivered
        if delivered:
            return await receive()
        delivered = True
        return {"type": "http.request", "body": body, "more_body": False}

    return replay


class _Exchange:
    """One request/response pair: forwards the response and logs it exactly once."""

    def __init__(
        self,
        state: EmulatorState,
        scope: Scope,
        route: str,
        query: dict[str, str],
        body: bytes,
        send: Send,
        fault: str | None,
    ) -> None:
        self.state = state
        self.entry: dict[str, Any] = {
            "route": route,
            "method": scope["method"],
            "path": scope["path"],
            "query": query,
            "headers": {
                name.decode("latin-1"): REDACTED
                if name.decode("latin-1") in SENSITIVE_HEADERS
                else value.decode("latin-1")
                for name, value in scope["headers"]
            },
            "body": redact_logged_request_body(body),
            "fault": fault,
        }
        self._send = send
        self._status: int | None = None
        self._held: list[Message] = []
        self._arrived_in = state.data  # a reset replaces it

    def log(self, status: int | None) -> None:
        self.entry["status"] = status
        self.state.log_request(self.entry, arrived_in=self._arrived_in)

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self._status = message["status"]
        elif message["type"] == "http.response.body" and not message.get("more_body", False):
            self.log(self._status)
        await self._send(message)

    async def send_truncated(self, message: Message) -> None:
        """Buffer the response, then send only the first half of its body."""
        self._held.append(message)
        if message["type"] != "http.response.body" or message.get("more_body", False):
            return
        start, *chunks = self._held
        body = b"".join(chunk.get("body", b"") for chunk in chunks)
        cut = body[: len(body) // 2]
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        headers.append((b"content-length", str(len(cut)).encode()))
        await self.send({**start, "headers": headers})
        await self.send({"type": "http.response.body", "body": cut, "more_body": False})
