"""The emulator ASGI application."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp

from . import control, domo, enos, enos_flows, pages
from .common import ApiError, error_response
from .faults import EmulatorMiddleware
from .state import EmulatorConfig, EmulatorState


class EmulatorApp(FastAPI):
    """FastAPI app whose outermost layer is the fault/request-log middleware.

    It must sit outside Starlette's own middleware so that it receives the server's ``send`` (needed to drop
    connections).
    """

    def __init__(self, state: EmulatorState) -> None:
        super().__init__(title="wfcancel emulator", docs_url=None, redoc_url=None, openapi_url=None)
        self.emulator = state
        self.state.emulator = state
        #: The included routers' own routes, which name each request: newer FastAPI releases (0.14x+) wrap
        #: an included router in one unnamed route of their own.
        self.named_routes: list[Any] = []

    def include_router(self, router: APIRouter, *args: Any, **kwargs: Any) -> None:
        super().include_router(router, *args, **kwargs)
        self.named_routes.extend(router.routes)

    def build_middleware_stack(self) -> ASGIApp:
        return EmulatorMiddleware(super().build_middleware_stack(), self.named_routes, self.emulator)


def _validation_message(errors: Any) -> str:
    return "; ".join(
        f"{'.'.join(str(part) for part in error.get('loc', ()) if part != 'body') or 'request'}: {error.get('msg')}"
        for error in errors
    )


async def _api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return error_response(request.url.path, exc.http_status, exc.message, exc.code)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    return error_response(request.url.path, exc.status_code, str(exc.detail), headers=dict(exc.headers or {}))


async def _invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError | ValidationError)
    return error_response(request.url.path, 400, _validation_message(exc.errors()))


async def _unexpected(request: Request, exc: Exception) -> Response:
    return error_response(request.url.path, 500, f"Internal emulator error: {type(exc).__name__}")


def create_app(
    config: EmulatorConfig | None = None, *, clock: Callable[[], float] | None = None
) -> EmulatorApp:
    """Build the emulator app (Domo + EnOS + control API) with fresh state.

    ``clock`` (epoch seconds, default ``time.time``) drives every timestamp and lifecycle transition.
    """
    state = EmulatorState(config) if clock is None else EmulatorState(config, clock)
    app = EmulatorApp(state)
    for router in (domo.router, enos.router, control.router, enos_flows.router, pages.router):
        app.include_router(router)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _invalid)
    app.add_exception_handler(ValidationError, _invalid)
    app.add_exception_handler(Exception, _unexpected)
    return app
