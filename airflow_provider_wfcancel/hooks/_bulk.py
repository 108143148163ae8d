"""Bulk cancel: many ids through one hook, paced by the gateway's limiter, within one deadline."""

from __future__ import annotations

import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from airflow_provider_wfcancel._http import MAX_CONCURRENT_SYNC_REQUESTS
from airflow_provider_wfcancel._http.pacing import deadline as deadline_of_requests
from airflow_provider_wfcancel._protocol.exchange import unexpected
from airflow_provider_wfcancel._validation import check_seconds
from airflow_provider_wfcancel.exceptions import InvalidInputError, RateLimitedError, WfCancelError

if TYPE_CHECKING:
    from airflow_provider_wfcancel._protocol.model import CancelAck
    from airflow_provider_wfcancel.hooks._base import WorkflowServiceHook


@dataclass(frozen=True)
class BulkCancelItem:
    """One line of a bulk cancel: the acknowledgement, or the error that stopped that one id."""

    instance_id: str
    ack: CancelAck | None = None
    error: WfCancelError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


#: Seconds a bulk cancel may take in all, by default.
DEFAULT_BULK_DEADLINE = 600.0


def _throttled(error: WfCancelError) -> bool:
    """The gateway said "not now" (429, 503): the request was not processed, so sending it again is safe."""
    return isinstance(error, RateLimitedError) or error.http_status in (429, 503)


def _past_deadline(error: WfCancelError, deadline: float) -> WfCancelError:
    if not _throttled(error):
        return error
    return error.replace(message=f"{error.message} (bulk deadline of {deadline:g} s reached)")


def cancel_many(
    hook: WorkflowServiceHook[Any], instance_ids: Iterable[str], *, max_workers: int, deadline: float
) -> list[BulkCancelItem]:
    """:meth:`WorkflowServiceHook.cancel_many`."""
    if (
        isinstance(max_workers, bool)
        or not isinstance(max_workers, int)
        or not 1 <= max_workers <= MAX_CONCURRENT_SYNC_REQUESTS
    ):
        raise InvalidInputError(
            f"max_workers must be a whole number from 1 to {MAX_CONCURRENT_SYNC_REQUESTS}, got {max_workers!r}"
        )
    deadline = check_seconds("deadline", deadline, minimum=1)
    if isinstance(instance_ids, str):
        raise InvalidInputError("instance ids must be a list of ids, not one string")
    ids = list(dict.fromkeys(hook.validate_instance_id(value) for value in instance_ids))
    # Read the connection and build the pooled session once, before the threads start:
    # ``cached_property`` has no lock on Python 3.12+, so racing workers could each build one.
    _ = hook.transport
    ends = time.monotonic() + deadline

    def cancel_one(instance_id: str) -> BulkCancelItem:
        with deadline_of_requests(ends):
            return send_one(instance_id)

    def send_one(instance_id: str) -> BulkCancelItem:
        while True:
            try:
                return BulkCancelItem(instance_id, ack=hook.request_cancel(instance_id))
            except WfCancelError as error:
                if _throttled(error) and time.monotonic() < ends:
                    continue  # the limiter holds the next attempt until the gateway lets it in
                return BulkCancelItem(instance_id, error=_past_deadline(error, deadline))
            except Exception as error:  # a hook bug must not cost the other ids their results
                return BulkCancelItem(instance_id, error=unexpected(error))

    if not ids:
        return []
    with ThreadPoolExecutor(max_workers=min(max_workers, len(ids))) as pool:
        return list(pool.map(cancel_one, ids))
