"""What travels through the HTTP layer: one logical request, one answer, and what an authenticator adds."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx

from airflow_provider_wfcancel._http.retry import parse_retry_after
from airflow_provider_wfcancel.exceptions import (
    InvalidInputError,
    WfCancelError,
    error_for_response,
)

REQUEST_ID_HEADERS = ("x-request-id", "request-id", "x-correlation-id", "x-amzn-requestid")


@dataclass
class ApiRequest:
    """One logical request. ``params`` keep their order; ``body`` is sent byte for byte.

    ``secrets`` are values derived for this request that must never be shown (a token request's
    ``encryption``); errors about its answers blank them, wherever the server echoes them.
    """

    method: str
    url: str
    params: dict[str, str] = field(default_factory=dict)
    # Out of repr: a token request's body and an auth header are secrets.
    body: bytes | None = field(default=None, repr=False)
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    idempotent: bool = True
    secrets: tuple[str, ...] = field(default=(), repr=False)

    @classmethod
    def with_json(cls, method: str, url: str, payload: Any, **kwargs: Any) -> ApiRequest:
        """A request with a compact JSON body; a payload JSON cannot carry (NaN, a set, ...) is an
        :class:`InvalidInputError` before anything is sent."""
        try:
            text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError) as error:
            raise InvalidInputError(f"the request body cannot be sent as JSON: {error}") from None
        headers = {"Content-Type": "application/json;charset=UTF-8", **kwargs.pop("headers", {})}
        return cls(method, url, body=text.encode("utf-8"), headers=headers, **kwargs)

    @property
    def display_url(self) -> str:
        """The URL with its query, for logs and errors; this provider puts no secret in a URL."""
        return str(httpx.URL(self.url, params=self.params)) if self.params else self.url

    def describe(self) -> str:
        return f"{self.method} {self.display_url}"


@dataclass(frozen=True)
class ApiResponse:
    status_code: int
    headers: Mapping[str, str] = field(repr=False)
    content: bytes = field(repr=False)  # a token response carries the access token
    request: ApiRequest
    service: str | None = None
    #: An earlier attempt of this request may have been applied although its answer was lost (a read
    #: timeout, a dropped connection, 500/502/504): a cancel then sees the instance already cancelled.
    earlier_attempt_may_have_applied: bool = False
    #: The request's secrets plus the credentials this attempt carried (a signature, a token).
    secrets: tuple[str, ...] = field(default=(), repr=False)

    @property
    def request_id(self) -> str | None:
        for name in REQUEST_ID_HEADERS:
            if value := self.headers.get(name):
                return value
        return None

    def json(self) -> Any:
        """The body as JSON, or :class:`ApiError` naming the request when it is not JSON."""
        try:
            return json.loads(self.content)
        except (ValueError, RecursionError):  # RecursionError: nesting deeper than Python's parser goes
            raise self.error("the response is not valid JSON") from None

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object, or :class:`ApiError`."""
        body = self.json()
        if not isinstance(body, dict):
            raise self.error("expected a JSON object")
        return body

    def error(
        self,
        message: str | None = None,
        *,
        error_class: type[WfCancelError] | None = None,
        service_code: str | int | None = None,
        service_message: str | None = None,
        request_id: str | None = None,
    ) -> WfCancelError:
        """The error about this answer; the class follows the HTTP status unless ``error_class`` says.

        The one place a response becomes an error: it carries the request, the status, the request id,
        a redacted body excerpt, and blanks this exchange's secrets wherever the server echoed them.
        """
        return error_for_response(
            service=self.service or "service",
            method=self.request.method,
            url=self.request.display_url,
            status_code=self.status_code,
            body=self.content,
            request_id=request_id or self.request_id,
            service_code=service_code,
            service_message=service_message,
            error_class=error_class,
            message=message,
            earlier_attempt_may_have_applied=self.earlier_attempt_may_have_applied,
            retry_after=parse_retry_after(self.headers.get("retry-after")),
            secrets=self.secrets,
        )


# Turns a 2xx response that carries a service error (EnOS: non-zero ``code``) into that error.
ResponseClassifier = Callable[[ApiResponse], "WfCancelError | None"]


class Authenticator(Protocol):
    """Adds credentials to each attempt; called again for every retry (signatures are per attempt).

    Called right before the attempt is sent (in the async transport, once the attempt holds its request
    slot), so what it signs is fresh. Every value it returns is treated as secret in errors.
    """

    def headers(self, request: ApiRequest) -> dict[str, str]: ...
