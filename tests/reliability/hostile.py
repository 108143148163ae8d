"""A small raw-socket HTTP server on loopback that misbehaves on purpose.

It answers each request with one scripted behaviour (see :data:`BEHAVIOURS`): drip, stall, send endless
chunks, giant or compressed bodies, deep JSON, redirects, or echo what the client sent. The emulator can
only misbehave in ways a framework lets it; this server writes the bytes itself. Every loop it runs is
bounded (:data:`MAX_SECONDS`) and stops as soon as the client hangs up.
"""

from __future__ import annotations

import contextlib
import gzip
import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

#: No behaviour keeps a connection longer than this, whatever the client does.
MAX_SECONDS = 20.0
#: A body that inflates to this many bytes of zeros (about 100 KB on the wire).
BOMB_BYTES = 100 * 1024 * 1024
#: Nesting deep enough to exhaust Python's JSON parser, small enough to send at once.
DEEP_JSON = b"[" * 200_000 + b"]" * 200_000

_gzip_bomb: bytes | None = None


def gzip_bomb() -> bytes:
    global _gzip_bomb
    if _gzip_bomb is None:
        _gzip_bomb = gzip.compress(b"\0" * BOMB_BYTES, compresslevel=9)
    return _gzip_bomb


@dataclass
class Request:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Connection:
    """One accepted connection: what it asked and how many bytes the server managed to write."""

    sock: socket.socket
    started: float = field(default_factory=time.monotonic)
    bytes_sent: int = 0
    client_gone: bool = False

    def send(self, data: bytes) -> bool:
        """Write ``data``; ``False`` once the client has hung up (or the time is up)."""
        if self.client_gone or time.monotonic() - self.started > MAX_SECONDS:
            return False
        try:
            self.sock.sendall(data)
        except OSError:
            self.client_gone = True
            return False
        self.bytes_sent += len(data)
        return True

    def drip(self, data: bytes, every: float) -> None:
        """``data`` one byte at a time, ``every`` seconds apart."""
        for i in range(len(data)):
            if not self.send(data[i : i + 1]):
                return
            time.sleep(every)

    def respond(self, status: str, body: bytes, *headers: str) -> None:
        head = [f"HTTP/1.1 {status}", f"Content-Length: {len(body)}", "Connection: close", *headers]
        self.send(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)

    def json(self, payload: Any, status: str = "200 OK") -> None:
        self.respond(status, json.dumps(payload).encode(), "Content-Type: application/json")


Behaviour = Callable[[Request, Connection], None]


def drip_headers(request: Request, conn: Connection) -> None:
    conn.drip(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Padding: " + b"a" * 10_000, 0.05)


def drip_body(request: Request, conn: Connection) -> None:
    if conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n"):
        conn.drip(b'{"status": "IN_PROGRESS", "padding": "' + b"a" * 100_000, 0.05)


def stall(request: Request, conn: Connection) -> None:
    """Wait, without a byte, until the client hangs up."""
    with contextlib.suppress(OSError):
        conn.sock.recv(1)


def endless_chunks(request: Request, conn: Connection) -> None:
    if not conn.send(
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    ):
        return
    while conn.send(b"400\r\n" + b" " * 1024 + b"\r\n"):
        time.sleep(0.05)


def giant_body_declared(request: Request, conn: Connection) -> None:
    size = 300 * 1024 * 1024
    if conn.send(f"HTTP/1.1 200 OK\r\nContent-Length: {size}\r\n\r\n".encode()):
        while conn.send(b" " * 65536):
            pass


def giant_body_streamed(request: Request, conn: Connection) -> None:
    """No Content-Length: the body ends when the connection closes, so only counting can stop it."""
    if conn.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"):
        while conn.send(b" " * 65536):
            pass


def gzip_bomb_body(request: Request, conn: Connection) -> None:
    """(Call :func:`gzip_bomb` before the client starts: compressing takes longer than its timeout.)"""
    conn.respond("200 OK", gzip_bomb(), "Content-Type: application/json", "Content-Encoding: gzip")


def deep_json(request: Request, conn: Connection) -> None:
    conn.respond("200 OK", DEEP_JSON, "Content-Type: application/json")


def redirect(request: Request, conn: Connection) -> None:
    conn.respond("302 Found", b"", "Location: https://login.example.net/portal?next=/api")


def echo_request(request: Request, conn: Connection) -> None:
    """A 400 whose body repeats every header and the body the client sent (a debugging proxy, a WAF)."""
    conn.json(
        {
            "code": 400,
            "msg": f"rejected: {json.dumps(request.headers)} {request.body.decode('utf-8', 'replace')}",
            "echo": {"headers": request.headers, "body": request.body.decode("utf-8", "replace")},
        },
        status="400 Bad Request",
    )


BEHAVIOURS: dict[str, Behaviour] = {
    "drip-headers": drip_headers,
    "drip-body": drip_body,
    "stall": stall,
    "endless-chunks": endless_chunks,
    "giant-body-declared": giant_body_declared,
    "giant-body-streamed": giant_body_streamed,
    "gzip-bomb": gzip_bomb_body,
    "deep-json": deep_json,
    "redirect": redirect,
    "echo-request": echo_request,
}


def _read_request(sock: socket.socket) -> Request | None:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            return None
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0") or 0)
    while len(body) < length:
        chunk = sock.recv(65536)
        if not chunk:
            break
        body += chunk
    return Request(method, path, headers, body)


class HostileServer:
    """Serves every request with ``choose(request)``'s behaviour, one thread per connection."""

    def __init__(self, choose: Callable[[Request], Behaviour]) -> None:
        self.choose = choose
        self.requests: list[Request] = []
        self.connections: list[Connection] = []
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.2)
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"

    def __enter__(self) -> HostileServer:
        accept = threading.Thread(target=self._accept, daemon=True)
        accept.start()
        self._threads.append(accept)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stopping.set()
        for connection in self.connections:
            connection.client_gone = True
            with contextlib.suppress(OSError):
                connection.sock.close()
        for thread in self._threads:
            thread.join(timeout=MAX_SECONDS)
        self._listener.close()

    def _accept(self) -> None:
        while not self._stopping.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(sock,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _serve(self, sock: socket.socket) -> None:
        conn = Connection(sock)
        self.connections.append(conn)
        with contextlib.suppress(OSError), sock:
            sock.settimeout(MAX_SECONDS)
            request = _read_request(sock)
            if request is None:
                return
            self.requests.append(request)
            self.choose(request)(request, conn)


@contextlib.contextmanager
def hostile_server(choose: Callable[[Request], Behaviour]) -> Iterator[HostileServer]:
    with HostileServer(choose) as server:
        yield server
