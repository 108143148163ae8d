"""The Remote instances app's own threads: nothing it does blocks one of the API server's shared ones.

Starlette runs a sync route in anyio's default thread pool, which every sync route of the API server
shares (40 threads per worker process). A page request may wait for a service for minutes (a listing
pages, a cancel waits up to 120 s), so 40 of them would stall ``/api/v2`` for everyone. Instead:

- the app's routes are ``async``; every blocking step (the connection's lookup and permission check,
  a listing, a cancel, one poll round of a wait, the DAG-run lookup and the audit rows) runs on
  :data:`POOL`, :data:`THREADS` threads of its own;
- a cancel that waits sleeps on the event loop between poll rounds, holding no thread;
- at most :data:`MAX_REQUESTS` requests hold a place at once (queued, running or waiting); one more is
  answered 503 at once with ``Retry-After``.

A listing stops when its client disconnects (:func:`watching` sets a flag the hook checks between
pages); a waiting cancel stops waiting (its audit rows are written all the same).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import functools
import logging
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from fastapi import HTTPException, Request, status

log = logging.getLogger(__name__)
T = TypeVar("T")

#: Threads that call the services and the metadata DB for the page, per API-server worker process.
THREADS = 8
#: Requests that may hold a place at once (queued for a thread, running, or waiting for cancels to end).
MAX_REQUESTS = 200


class ClientGone(Exception):
    """Raised between two pages of a listing whose client disconnected."""


class PagePool:
    """A bounded executor with a bounded number of places for the requests that use it."""

    def __init__(self, threads: int = THREADS, max_requests: int = MAX_REQUESTS) -> None:
        self.threads = threads
        self.max_requests = max_requests
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._taken = 0

    @property
    def taken(self) -> int:
        """Requests holding a place now."""
        return self._taken

    def _pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(self.threads, thread_name_prefix="wfcancel-page")
            return self._executor

    @contextlib.asynccontextmanager
    async def place(self) -> AsyncIterator[None]:
        """Hold one of :attr:`max_requests` places for a request, or answer 503 at once."""
        with self._lock:
            if self._taken >= self.max_requests:
                raise HTTPException(
                    status.HTTP_503_SERVICE_UNAVAILABLE,
                    f"the Remote instances page is serving {self.max_requests} requests; try again shortly",
                    headers={"Retry-After": "5"},
                )
            self._taken += 1
        try:
            yield
        finally:
            with self._lock:
                self._taken -= 1

    async def run(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` on one of the pool's threads (with the caller's context variables)."""
        call = functools.partial(contextvars.copy_context().run, fn, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._pool(), call)

    async def run_watching(self, request: Request, fn: Callable[[threading.Event], T]) -> T:
        """``fn(stop)`` on the pool; ``stop`` is set once the request's client has disconnected."""
        async with watching(request) as stop:
            return await self.run(fn, stop)


@contextlib.asynccontextmanager
async def watching(request: Request) -> AsyncIterator[threading.Event]:
    """An event set once the client of ``request`` has disconnected, for as long as the block runs.

    A task waits on the request's ``receive`` (a disconnect is the only message left once the body was
    read). ``Request.is_disconnected()`` would not do: it never waits, and behind a ``BaseHTTPMiddleware``
    (Airflow's ``JWTRefreshMiddleware``) a receive that does not wait never sees the disconnect.
    """
    stop = threading.Event()

    async def watch() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass
        log.info("The client of %s disconnected: stopping after the current request", request.url.path)
        stop.set()

    watcher = asyncio.ensure_future(watch())
    try:
        yield stop
    finally:
        watcher.cancel()


#: The pool of the app (one per API-server worker process).
POOL = PagePool()
