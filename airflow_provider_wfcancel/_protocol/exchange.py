"""One exchange type for both services, and its one sync/async driver pair.

An exchange is a generator: it yields steps (send this request, mask this secret, or a service's own step
such as EnOS' "give me an access token"), receives each step's result, or has the step's provider error
thrown in, and returns its value. It does no I/O itself, so it is written once for the sync and the async
path, and a test can drive it with canned answers.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Generator
from typing import Any, NamedTuple, TypeVar

from airflow_provider_wfcancel._http import ApiRequest, Authenticator, ResponseClassifier
from airflow_provider_wfcancel._protocol.model import CancelAck, InstanceState
from airflow_provider_wfcancel.exceptions import UnexpectedError, WfCancelError

log = logging.getLogger(__name__)

T = TypeVar("T")
Exchange = Generator[Any, Any, T]


class Send(NamedTuple):
    """Send ``request`` (retried by the HTTP layer's policy); the result is its :class:`ApiResponse`."""

    request: ApiRequest
    auth: Authenticator | None = None
    classify: ResponseClassifier | None = None


class Mask(NamedTuple):
    """Register ``secret`` with the secrets masker before anything could log it; the result is ``None``."""

    secret: str

    def __repr__(self) -> str:
        return "Mask(secret=***)"


def unexpected(error: Exception) -> UnexpectedError:
    """A failure outside the hierarchy (a parser, an encoder, a bug), wrapped so that only provider errors
    leave a hook; the original is chained as the cause."""
    text = str(error)
    wrapped = UnexpectedError(
        f"unexpected {type(error).__name__} while talking to the service"
        + (f": {text[:200]}" if text else "")
    )
    wrapped.__cause__ = error
    return wrapped


def _advance(exchange: Exchange[T], result: Any, error: WfCancelError | None) -> tuple[bool, Any]:
    """One step of ``exchange``: ``(True, value)`` when it returned, else ``(False, next step)``."""
    try:
        return False, exchange.throw(error) if error is not None else exchange.send(result)
    except StopIteration as stop:
        return True, stop.value
    except WfCancelError:
        raise
    except Exception as exc:
        raise unexpected(exc) from exc


def run_exchange(exchange: Exchange[T], perform: Callable[[Any], Any]) -> T:
    """Drive ``exchange`` to its return value, performing each step synchronously."""
    result: Any = None
    error: WfCancelError | None = None
    try:
        while True:
            done, value = _advance(exchange, result, error)
            if done:
                return value  # type: ignore[no-any-return]
            result, error = None, None
            try:
                result = perform(value)
            except WfCancelError as exc:
                error = exc
            except Exception as exc:
                error = unexpected(exc)
    finally:
        exchange.close()


async def arun_exchange(exchange: Exchange[T], perform: Callable[[Any], Awaitable[Any]]) -> T:
    """:func:`run_exchange`, awaiting each step."""
    result: Any = None
    error: WfCancelError | None = None
    try:
        while True:
            done, value = _advance(exchange, result, error)
            if done:
                return value  # type: ignore[no-any-return]
            result, error = None, None
            try:
                result = await perform(value)
            except WfCancelError as exc:
                error = exc
            except Exception as exc:
                error = unexpected(exc)
    finally:
        exchange.close()


def refused_cancel_of_finished(
    service: str,
    instance_id: str,
    refusal: WfCancelError,
    response: dict[str, Any],
    lookup: Exchange[InstanceState],
) -> Exchange[CancelAck]:
    """After a service refused a cancel: look the instance up (``lookup``); if it had already finished,
    that is no failure, so acknowledge ``already_finished`` with ``response`` (the refusal, for XCom);
    otherwise, or if the lookup fails, raise the refusal. Neither service documents why it refuses, and
    a finished instance is one plausible reason."""
    try:
        state = yield from lookup
    except WfCancelError:
        raise refusal from None
    if not state.is_terminal:
        raise refusal
    log.info(
        "%s refused the cancel of %s, which had already finished (%s)", service, instance_id, state.status
    )
    return CancelAck(
        instance_id,
        response,
        state_at_request=state,
        already_finished=True,
        earlier_attempt_may_have_applied=refusal.earlier_attempt_may_have_applied,
    )
