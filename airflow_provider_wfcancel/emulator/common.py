"""Helpers shared by the Domo, EnOS and control parts: route names, JSON responses and service-style errors."""

from __future__ import annotations

import json
import uuid
from http import HTTPStatus
from typing import Any, Literal

from starlette.responses import Response

#: Route names used by fault injection and the request log.
ROUTES: tuple[str, ...] = (
    "domo.start",
    "domo.get",
    "domo.cancel",
    "domo.list",
    "domo.me",
    "enos.token.get",
    "enos.token.refresh",
    "enos.flowinstance.cancel",
    "enos.flowinstance.get",
    "enos.flowinstance.search",
    "enos.flow.trigger",
    "enos.flow.triggerFromTask",
    "enos.taskinstance.getLog",
)

TOKEN_PREFIX = "/apim-token-service/"
ENOS_PREFIX = "/batch-processing-service/"
CONTROL_PREFIX = "/_emulator"

#: Documented EnOS messages (batch-processing codes and APIM token/gateway codes).
ENOS_MESSAGES: dict[int, str] = {
    0: "OK",
    1001: "Repeated request: the encryption was already used",
    1002: "appKey does not exist",
    1003: "Invalid encryption",
    1004: "Invalid parameter",
    1005: "Internal error",
    1202: "Parameter empty",
    1203: "Access token expired",
    1204: "Refresh failed",
    62101: "userId does not exist, or it does not match to orgId",
    62102: "Invalid parameter",
    62103: "User has no privilege",
    62104: "Flow has no task",
    62109: "Internal server exception",
}

Service = Literal["domo", "enos", "token", "control"]


def service_for_path(path: str) -> Service:
    """Which service's error style applies to ``path``: EnOS and its token service under their prefixes, the
    control API's own under ``/_emulator``, Domo's everywhere else (unknown paths included)."""
    if path.startswith(ENOS_PREFIX):
        return "enos"
    if path.startswith(TOKEN_PREFIX):
        return "token"
    if path == CONTROL_PREFIX or path.startswith(f"{CONTROL_PREFIX}/"):
        return "control"
    return "domo"


class ApiError(Exception):
    """An error answered in the style of the service that owns the request path.

    ``code`` is the EnOS business/APIM code (defaults to the HTTP status); Domo ignores it.
    """

    def __init__(self, http_status: int, message: str, code: int | None = None) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.message = message
        self.code = code


def new_request_id() -> str:
    return uuid.uuid4().hex


def json_response(content: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Compact UTF-8 JSON response (bypasses FastAPI's encoder, which the emulator does not need)."""
    body = json.dumps(content, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(body, status_code=status, headers=headers, media_type="application/json")


def enos_envelope(code: int, msg: str, data: Any) -> dict[str, Any]:
    """The batch-processing envelope; every answer carries a fresh ``requestId``."""
    return {"code": code, "msg": msg, "requestId": new_request_id(), "data": data}


def token_envelope(status: int, msg: str, data: Any) -> dict[str, Any]:
    """The APIM token-service envelope (``status`` instead of ``code``)."""
    return {"status": status, "msg": msg, "business": "apim-token-service", "data": data}


def error_body(path: str, http_status: int, message: str, code: int | None = None) -> dict[str, Any]:
    """Error JSON in the style of the service owning ``path``."""
    service = service_for_path(path)
    if service == "domo":
        return {
            "status": http_status,
            "statusReason": HTTPStatus(http_status).phrase,
            "message": message,
            "path": path,
            "toe": uuid.uuid4().hex.upper(),
        }
    if service == "enos":
        return enos_envelope(http_status if code is None else code, message, None)
    if service == "token":
        return token_envelope(http_status if code is None else code, message, None)
    return {"error": message, "path": path}


def error_response(
    path: str, http_status: int, message: str, code: int | None = None, headers: dict[str, str] | None = None
) -> Response:
    return json_response(error_body(path, http_status, message, code), http_status, headers)


def parse_json_object(body: bytes) -> dict[str, Any] | None:
    """Decode a JSON object body; ``None`` if it is not valid JSON or not an object."""
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None
