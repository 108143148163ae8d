"""Run the emulator with uvicorn: :class:`EmulatorServer` (background thread) and the ``wfcancel-emulator`` CLI."""

from __future__ import annotations

import argparse
import copy
import signal
import socket
import threading
import time
from collections.abc import Callable, Sequence
from types import FrameType, TracebackType

import uvicorn
import uvicorn.config
from pydantic import ValidationError

from .app import create_app
from .control import EmulatorControl
from .state import (
    DEFAULT_DOMO_TOKEN,
    DEFAULT_ENOS_APP_KEY,
    DEFAULT_ENOS_APP_SECRET,
    DEFAULT_ENOS_ORG_ID,
    DEFAULT_ENOS_USER_ID,
    EmulatorConfig,
    EmulatorState,
)

START_TIMEOUT = 10.0
#: uvicorn's logging with the access log on stderr too: stdout carries only the CLI's own lines.
LOG_CONFIG = copy.deepcopy(uvicorn.config.LOGGING_CONFIG)
LOG_CONFIG["handlers"]["access"]["stream"] = "ext://sys.stderr"
GRACE_PERIOD = 0.5
STOP_TIMEOUT = 2.0


class EmulatorServer:
    """The emulator on a loopback port, served by uvicorn in a daemon thread.

    ``port=0`` picks a free port. Use as a context manager, or call :meth:`start` / :meth:`stop`.
    ``access_log=True`` has uvicorn log its start and one line per request (stderr).
    """

    def __init__(
        self,
        config: EmulatorConfig | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        clock: Callable[[], float] | None = None,
        access_log: bool = False,
    ) -> None:
        self.app = create_app(config, clock=clock)
        self.host = host
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind((host, port))
        self.port: int = self._socket.getsockname()[1]
        self._server = uvicorn.Server(
            uvicorn.Config(
                self.app,
                log_level="info" if access_log else "warning",
                access_log=access_log,
                log_config=LOG_CONFIG,
                lifespan="off",
                limit_concurrency=None,
                proxy_headers=False,
                server_header=False,
            )
        )
        self._thread: threading.Thread | None = None
        self._control: EmulatorControl | None = None

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def control(self) -> EmulatorControl:
        if self._control is None:
            self._control = EmulatorControl(self.base_url)
        return self._control

    @property
    def app_state(self) -> EmulatorState:
        """Direct, thread-safe access to the emulator state (tests)."""
        return self.app.emulator

    def start(self) -> EmulatorServer:
        """Serve in the background; returns once connections are accepted."""
        if self._thread is not None:
            raise RuntimeError("emulator server already started")
        self._socket.listen(2048)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [self._socket]}, name="wfcancel-emulator", daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the emulator server failed to start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        """Stop serving (in-flight requests get a short grace period) and release the port."""
        if self._control is not None:
            self._control.close()
            self._control = None
        if self._thread is not None:
            self._server.should_exit = True
            self._thread.join(GRACE_PERIOD)
            if self._thread.is_alive():
                self._server.force_exit = True
                self._thread.join(STOP_TIMEOUT)
            self._thread = None
        self._socket.close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="wfcancel-emulator",
        description="Local emulator of the Domo Workflows and EnOS Batch Processing APIs.",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="interface to bind (default 127.0.0.1). WARNING: the control API (/_emulator/...: reset, "
        "faults, seeded credentials) has no authentication; bind only to loopback or a network you trust",
    )
    parser.add_argument(
        "--port", type=int, default=8089, help="port to bind, 0 = any free port (default 8089)"
    )
    parser.add_argument(
        "--access-log", action="store_true", help="log each request to stderr (uvicorn's access log)"
    )
    for name, field in EmulatorConfig.model_fields.items():
        parser.add_argument(
            f"--{name.replace('_', '-')}", dest=name, metavar="VALUE", help=f"default {field.default!r}"
        )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """CLI entry point: serve until Ctrl-C or SIGTERM, then exit 0."""
    parser = _parser()
    args = vars(parser.parse_args(argv))
    host, port, access_log = args.pop("host"), args.pop("port"), args.pop("access_log")
    try:
        config = EmulatorConfig.model_validate({k: v for k, v in args.items() if v is not None})
    except ValidationError as exc:
        parser.error(str(exc))
    stop = threading.Event()

    def request_stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {signum: signal.signal(signum, request_stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        with EmulatorServer(config, host, port, access_log=access_log) as server:
            print(f"wfcancel emulator listening on {server.base_url}", flush=True)
            _print_credentials()
            while not stop.wait(0.2):
                pass
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return 0


def _print_credentials() -> None:
    """Seeded demo credentials (emulator-only values, safe to show)."""
    lines = {
        "Domo developer token (X-DOMO-Developer-Token)": DEFAULT_DOMO_TOKEN,
        "EnOS app key": DEFAULT_ENOS_APP_KEY,
        "EnOS app secret": DEFAULT_ENOS_APP_SECRET,
        "EnOS orgId": DEFAULT_ENOS_ORG_ID,
        "EnOS userId": DEFAULT_ENOS_USER_ID,
    }
    for label, value in lines.items():
        print(f"  {label}: {value}", flush=True)
