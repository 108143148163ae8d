"""Bounds on one attempt: its wall-clock time (connect, headers and body together) and its answer's size.

A read timeout is per read, so a server that drips a byte a second, or sends an endless chunked body,
never trips it. Async attempts run under ``asyncio.timeout``. Sync attempts (requests) are watched by
:data:`WATCHDOG`, one daemon thread that shuts down the sockets of an attempt that outlives its deadline,
which ends whatever read the attempt is blocked in. Sizes are counted after decompression.
"""

from __future__ import annotations

import contextlib
import math
import socket
import threading
import time
import zlib
from collections.abc import AsyncIterator, Iterable, Iterator
from typing import Any

#: Bytes read (and decompressed) per step; bounds what one step can inflate to.
READ_CHUNK_BYTES = 64 * 1024
#: After a deadline fired, how often the watchdog shuts sockets again (a connection may get its socket late).
_REFIRE_SECONDS = 0.25


class ResponseTooLarge(Exception):
    """The answer grew past the byte limit; ``size`` is what was seen (or declared) when it was stopped."""

    def __init__(self, size: int) -> None:
        super().__init__(size)
        self.size = size


def _declared_length(headers: Any) -> int | None:
    value = headers.get("content-length")
    return int(value) if isinstance(value, str) and value.strip().isdigit() else None


def _check_declared(headers: Any, limit: int) -> None:
    declared = _declared_length(headers)
    if declared is not None and declared > limit:
        raise ResponseTooLarge(declared)


def read_capped(chunks: Iterable[bytes], headers: Any, limit: int) -> bytes:
    """The whole body from decoded ``chunks``; :class:`ResponseTooLarge` past ``limit`` bytes."""
    _check_declared(headers, limit)
    parts: list[bytes] = []
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > limit:
            raise ResponseTooLarge(total)
        parts.append(chunk)
    return b"".join(parts)


class UndecodableBody(Exception):
    """The body's ``Content-Encoding`` is not one this client asked for, or its data is corrupt."""


#: What the async transport asks for, and so decodes itself (one step never inflates past the limit).
ACCEPT_ENCODING = "gzip, deflate"


def _inflater(headers: Any) -> Any:
    """A zlib decompressor for the body's ``Content-Encoding``, or ``None`` for an identity body."""
    codings = [c.strip().lower() for c in headers.get("content-encoding", "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if not codings:
        return None
    if len(codings) > 1 or codings[0] not in ("gzip", "x-gzip", "deflate"):
        raise UndecodableBody(f"unsupported Content-Encoding {', '.join(codings)!r}")
    return zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib, told apart by their header


async def aread_capped(raw_chunks: AsyncIterator[bytes], headers: Any, limit: int) -> bytes:
    """The whole body from the wire's ``raw_chunks``, decompressed here step by step: no step inflates more
    than :data:`READ_CHUNK_BYTES`, so a compression bomb stops at ``limit`` without first filling memory.
    :class:`ResponseTooLarge` past ``limit``; :class:`UndecodableBody` for an encoding it cannot read."""
    _check_declared(headers, limit)
    inflater = _inflater(headers)
    parts: list[bytes] = []
    total = 0

    def take(piece: bytes) -> None:
        nonlocal total
        total += len(piece)
        if total > limit:
            raise ResponseTooLarge(total)
        parts.append(piece)

    try:
        async for chunk in raw_chunks:
            if inflater is None:
                take(chunk)
                continue
            data = chunk
            while data:
                take(inflater.decompress(data, READ_CHUNK_BYTES))
                data = inflater.unconsumed_tail
        if inflater is not None:
            take(inflater.flush())
    except zlib.error as error:
        raise UndecodableBody(f"corrupt compressed body ({error})") from None
    return b"".join(parts)


class Attempt:
    """One watched sync attempt: its deadline, the connections it used, and whether time ran out."""

    __slots__ = ("connections", "deadline", "expired")

    def __init__(self, deadline: float) -> None:
        self.deadline = deadline
        self.connections: list[Any] = []
        self.expired = False


def _shut(connection: Any) -> None:
    sock = getattr(connection, "sock", None)
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


class Watchdog:
    """Ends sync attempts that outlive their deadline. Attempts register the urllib3 connections they
    take from the pool (see ``transport``); on expiry their sockets are shut down, so the blocked read
    fails at once and the transport reports the attempt as out of time."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._attempts: set[Attempt] = set()
        self._local = threading.local()
        self._thread: threading.Thread | None = None
        #: When the watchdog thread wakes up next (``inf``: only when told); an attempt that ends later
        #: than that need not wake it, which keeps the common case free of thread switches.
        self._next_wake = math.inf

    @contextlib.contextmanager
    def watch(self, seconds: float) -> Iterator[Attempt]:
        attempt = Attempt(time.monotonic() + seconds)
        self._local.current = attempt
        with self._cond:
            self._attempts.add(attempt)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._run, name="wfcancel-http-watchdog", daemon=True)
                self._thread.start()
            if attempt.deadline < self._next_wake:
                self._next_wake = attempt.deadline
                self._cond.notify()
        try:
            yield attempt
        finally:
            self._local.current = None
            with self._cond:
                self._attempts.discard(attempt)

    def track(self, connection: Any) -> None:
        """Called in the requesting thread for every connection its current attempt takes."""
        attempt: Attempt | None = getattr(self._local, "current", None)
        if attempt is not None:
            attempt.connections.append(connection)

    def finish(self, attempt: Attempt) -> bool:
        """Stop watching ``attempt`` (its answer is read; its connection may go back to the pool and serve
        another attempt); ``True`` if its deadline had fired first."""
        with self._cond:
            self._attempts.discard(attempt)
            return attempt.expired

    def _run(self) -> None:
        while True:
            with self._cond:  # held throughout: an attempt that finished is never shut afterwards
                now = time.monotonic()
                for attempt in self._attempts:
                    if attempt.deadline <= now:
                        attempt.expired = True
                        for connection in list(attempt.connections):
                            _shut(connection)
                wait = min((a.deadline - now for a in self._attempts), default=None)
                if wait is not None and wait <= 0:
                    wait = _REFIRE_SECONDS  # expired but still running: shut again shortly
                self._next_wake = math.inf if wait is None else now + wait
                self._cond.wait(timeout=wait)


WATCHDOG = Watchdog()


def tracked_adapter(pool_size: int) -> Any:
    """A requests adapter whose urllib3 pools report each connection an attempt takes to the watchdog."""
    from requests.adapters import HTTPAdapter
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class TrackedHTTPPool(HTTPConnectionPool):
        def _get_conn(self, timeout: float | None = None) -> Any:
            connection = super()._get_conn(timeout)
            WATCHDOG.track(connection)
            return connection

    class TrackedHTTPSPool(HTTPSConnectionPool):
        def _get_conn(self, timeout: float | None = None) -> Any:
            connection = super()._get_conn(timeout)
            WATCHDOG.track(connection)
            return connection

    tracked = {"http": TrackedHTTPPool, "https": TrackedHTTPSPool}

    class TrackedAdapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = tracked

        def proxy_manager_for(self, proxy: str, **kwargs: Any) -> Any:
            manager = super().proxy_manager_for(proxy, **kwargs)
            if not proxy.lower().startswith("socks"):  # SOCKS pools: bounded per read only
                manager.pool_classes_by_scheme = tracked
            return manager

    return TrackedAdapter(pool_connections=4, pool_maxsize=pool_size)
