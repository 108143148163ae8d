"""The two transports: :class:`SyncTransport` (requests) and :class:`AsyncTransport` (httpx).

The loops are deliberately tiny; every decision (what is retryable, how long to wait, when to give up,
which error to raise) is :class:`Attempts`' and :mod:`.retry`'s, so sync and async cannot drift apart.
Every attempt is bounded in wall time and in bytes (:mod:`.bounds`); nothing but a provider error
leaves :meth:`send`.
"""

from __future__ import annotations

import asyncio
import logging
import os
import ssl
import time
import weakref
from typing import Any

import httpx

from airflow_provider_wfcancel import __version__
from airflow_provider_wfcancel._http import bounds, pacing, ratelimit
from airflow_provider_wfcancel._http.attempts import Attempts
from airflow_provider_wfcancel._http.learned_rates import LearnedRates
from airflow_provider_wfcancel._http.messages import (
    ApiRequest,
    ApiResponse,
    Authenticator,
    ResponseClassifier,
)
from airflow_provider_wfcancel._http.retry import AttemptDeadlineExceeded
from airflow_provider_wfcancel._http.settings import HttpSettings
from airflow_provider_wfcancel.exceptions import (
    WfCancelError,
)

log = logging.getLogger(__name__)

USER_AGENT = f"airflow-provider-wfcancel/{__version__}"
# The waits between attempts; module attributes so tests can record them instead of sleeping.
_sleep = time.sleep
_asleep = asyncio.sleep
#: The most sync requests one transport sends at once (bulk cancel's ``max_workers``); its pool holds as many.
MAX_CONCURRENT_SYNC_REQUESTS = 64


def _with_auth(request: ApiRequest, auth: Authenticator | None) -> tuple[dict[str, str], tuple[str, ...]]:
    """The attempt's headers, and the secrets it carries (the request's and every credential header)."""
    headers = dict(request.headers)
    if auth is None:
        return headers, request.secrets
    credentials = auth.headers(request)
    headers.update(credentials)
    return headers, request.secrets + tuple(credentials.values())


def _environment_verify(verify: bool | str) -> bool | str:
    """What requests would verify against: the connection's setting, or for plain ``True`` the bundle the
    environment names (``REQUESTS_CA_BUNDLE``, ``CURL_CA_BUNDLE``), as requests itself reads them."""
    if verify is True:
        return os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE") or True
    return verify


def _length_delimited(headers: Any) -> bool:
    """Whether a body's end is marked (a length, or chunked encoding): then a complete read is complete."""
    return "content-length" in headers or "chunked" in headers.get("transfer-encoding", "").lower()


class SyncTransport:
    """requests-based client with pooled connections; safe to share between threads for bulk work.

    requests is imported where it is used, not at module level: only running tasks need it (DAG parsing
    does not, and triggers use httpx).
    """

    def __init__(
        self,
        service: str,
        settings: HttpSettings,
        *,
        pool_size: int = MAX_CONCURRENT_SYNC_REQUESTS,
        gateway: tuple[object, ...] | None = None,
    ) -> None:
        import requests

        self.service = service
        self.settings = settings
        # The process's limiter for this gateway (base URL + credential digest); none without one.
        self.limiter = (
            None
            if gateway is None
            else ratelimit.sync_limiter(
                gateway, settings.max_requests_per_second, _learned(settings, gateway)
            )
        )
        self.session = requests.Session()
        # The environment (proxies, CA bundle) is read here and once per host below, not by requests on
        # every request (which scans os.environ each time, most of a call's client time); and no ~/.netrc
        # credential is ever added to a request that carries the connection's own.
        self.session.trust_env = False
        self._verify = _environment_verify(settings.verify)
        self._proxies: dict[str, dict[str, str]] = {}
        self.session.headers["User-Agent"] = USER_AGENT
        self.session.headers["Accept"] = "application/json"
        adapter = bounds.tracked_adapter(pool_size)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    def send(
        self,
        request: ApiRequest,
        auth: Authenticator | None = None,
        classify: ResponseClassifier | None = None,
    ) -> ApiResponse:
        import requests

        attempts = Attempts(self.service, request, self.settings)
        limiter = self.limiter
        while True:
            if limiter is not None:
                try:
                    pacing.wait(limiter, _sleep)
                except pacing.PastDeadline:
                    attempts.past_deadline()
            try:
                try:
                    seconds = attempts.begin()
                    sent_at = time.monotonic()
                    response = self._attempt(request, auth, attempts, seconds)
                except BaseException:
                    if limiter is not None:
                        limiter.release()  # no answer to count (an answer frees its slot in record)
                    raise
            except WfCancelError:
                raise
            except requests.exceptions.ContentDecodingError as error:
                attempts.undecodable(error)
            except (
                requests.exceptions.ConnectionError,
                requests.exceptions.Timeout,
                requests.exceptions.ChunkedEncodingError,
                AttemptDeadlineExceeded,
            ) as error:
                _sleep(attempts.after_error(error, seconds))
                continue
            except Exception as error:
                attempts.unexpected(error)
            attempts.record(limiter, sent_at, response)
            delay = attempts.after_response(response, classify)
            if delay is None:
                return response
            _sleep(delay)

    def _attempt(
        self, request: ApiRequest, auth: Authenticator | None, attempts: Attempts, seconds: float
    ) -> ApiResponse:
        headers, secrets = _with_auth(request, auth)
        with bounds.WATCHDOG.watch(seconds) as watched:
            try:
                raw = self.session.request(
                    request.method,
                    request.url,
                    params=request.params or None,
                    data=request.body,
                    headers=headers,
                    timeout=(self.settings.connect_timeout, self.settings.read_timeout),
                    verify=self._verify,
                    proxies=self._environment_proxies(request.url),
                    allow_redirects=False,
                    stream=True,
                )
                try:
                    chunks = raw.iter_content(bounds.READ_CHUNK_BYTES)
                    content = bounds.read_capped(chunks, raw.headers, self.settings.max_response_bytes)
                    expired = bounds.WATCHDOG.finish(watched)
                except bounds.ResponseTooLarge as error:
                    attempts.too_large(error.size, raw.status_code)
                finally:
                    raw.close()
            except Exception as error:
                if watched.expired:
                    raise AttemptDeadlineExceeded(seconds) from error
                raise
        if expired and not _length_delimited(raw.headers):
            raise AttemptDeadlineExceeded(seconds)  # a shut socket also ends a body that ends at close
        return attempts.response(raw.status_code, raw.headers, content, secrets)

    def _environment_proxies(self, url: str) -> dict[str, str]:
        """The proxies the environment names for ``url``'s host (``HTTPS_PROXY``, ``NO_PROXY``, ...), read
        once per host."""
        from requests.utils import get_environ_proxies

        origin = url.split("/", 3)[:3]
        key = "/".join(origin)
        proxies = self._proxies.get(key)
        if proxies is None:
            proxies = self._proxies[key] = get_environ_proxies(url)
        return proxies

    def close(self) -> None:
        self.session.close()


# One httpx client per event loop and settings, so thousands of triggers share a connection pool.
_async_clients: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[Any, ...], httpx.AsyncClient]
] = weakref.WeakKeyDictionary()

#: HTTP exchanges in flight per event loop (per triggerer), shared by every trigger of this provider. It
#: bounds the burst a busy triggerer sends when its triggers start together and keeps httpx's pool queue
#: short. A waiting request is only delayed; backoff sleeps run outside the slot, and an attempt's
#: credentials and time bound start once it holds one.
MAX_CONCURRENT_ASYNC_REQUESTS = 32
_async_request_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _async_request_slot() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    slots = _async_request_slots.get(loop)
    if slots is None:
        slots = _async_request_slots[loop] = asyncio.Semaphore(MAX_CONCURRENT_ASYNC_REQUESTS)
    return slots


def _shared_async_client(settings: HttpSettings) -> httpx.AsyncClient:
    loop = asyncio.get_running_loop()
    per_loop = _async_clients.setdefault(loop, {})
    verify = _environment_verify(settings.verify)
    key = (settings.connect_timeout, settings.read_timeout, verify)
    client = per_loop.get(key)
    if client is None or client.is_closed:
        client = httpx.AsyncClient(
            timeout=httpx.Timeout(settings.read_timeout, connect=settings.connect_timeout),
            # httpx takes a CA bundle as an SSL context (a path is deprecated)
            verify=(ssl.create_default_context(cafile=verify) if isinstance(verify, str) else verify),
            headers={
                "User-Agent": USER_AGENT,
                "Accept": "application/json",
                "Accept-Encoding": bounds.ACCEPT_ENCODING,
            },
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=100),
            follow_redirects=False,
        )
        per_loop[key] = client
    return client


async def _take_turn(
    limiter: ratelimit.GatewayLimiter | None, slot: asyncio.Semaphore, attempts: Attempts
) -> None:
    """Wait for the gateway's limiter, then for a slot (a paced request must not hold one while it waits);
    if the gateway paused everyone while this request queued for its slot, give the slot back and wait."""
    while True:
        if limiter is not None:
            try:
                await pacing.await_turn(limiter, _asleep)
            except pacing.PastDeadline:
                attempts.past_deadline()
        try:
            await slot.acquire()
        except BaseException:
            if limiter is not None:
                limiter.release()
            raise
        if limiter is None or limiter.ready():
            return
        slot.release()
        limiter.release()


class AsyncTransport:
    """httpx-based twin of :class:`SyncTransport` for triggers; same policy, same bounds, same errors."""

    def __init__(
        self, service: str, settings: HttpSettings, *, gateway: tuple[object, ...] | None = None
    ) -> None:
        self.service = service
        self.settings = settings
        self.gateway = gateway

    async def send(
        self,
        request: ApiRequest,
        auth: Authenticator | None = None,
        classify: ResponseClassifier | None = None,
    ) -> ApiResponse:
        attempts = Attempts(self.service, request, self.settings)
        limiter = (
            None
            if self.gateway is None
            else ratelimit.async_limiter(
                self.gateway,
                self.settings.max_requests_per_second,
                _learned(self.settings, self.gateway),
            )
        )
        while True:
            slot = _async_request_slot()
            await _take_turn(limiter, slot, attempts)
            try:
                try:
                    seconds = attempts.begin()
                    sent_at = time.monotonic()
                    response = await self._attempt(request, auth, attempts, seconds)
                except BaseException:
                    if limiter is not None:
                        limiter.release()  # no answer to count (an answer frees its slot in record)
                    raise
                finally:
                    slot.release()
            except WfCancelError:
                raise
            except (httpx.TransportError, AttemptDeadlineExceeded) as error:
                await _asleep(attempts.after_error(error, seconds))
                continue
            except Exception as error:
                attempts.unexpected(error)
            attempts.record(limiter, sent_at, response)
            delay = attempts.after_response(response, classify)
            if delay is None:
                return response
            await _asleep(delay)

    async def _attempt(
        self, request: ApiRequest, auth: Authenticator | None, attempts: Attempts, seconds: float
    ) -> ApiResponse:
        client = _shared_async_client(self.settings)
        headers, secrets = _with_auth(request, auth)
        try:
            async with (
                asyncio.timeout(seconds),
                client.stream(
                    request.method,
                    request.url,
                    params=request.params or None,
                    content=request.body,
                    headers=headers,
                ) as raw,
            ):
                try:
                    content = await bounds.aread_capped(
                        raw.aiter_raw(), raw.headers, self.settings.max_response_bytes
                    )
                except bounds.ResponseTooLarge as error:
                    attempts.too_large(error.size, raw.status_code)
                except bounds.UndecodableBody as error:
                    attempts.undecodable(error)
        except TimeoutError as error:
            raise AttemptDeadlineExceeded(seconds) from error
        return attempts.response(raw.status_code, raw.headers, content, secrets)


def _learned(settings: HttpSettings, gateway: tuple[object, ...]) -> LearnedRates | None:
    """Where this gateway's learned rate is kept across processes (``[wfcancel] learned_rates_file``)."""
    path = settings.learned_rates_file
    return None if not path else LearnedRates(path, gateway)
