"""The gateway tables: rate-limited gateways (bulk cancels, triggers) and hostile servers."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from tests.reliability.cases.common import SERVICES, Service


@dataclass(frozen=True)
class RateLimitCase:
    """A row of the rate-limit matrix: many requests to one throttling gateway (bulk cancel, triggers)."""

    id: str
    service: Service
    kind: Literal["bulk", "triggers"]
    case: str
    expected: str
    result: str
    #: The ``EmulatorControl.set_rate_limit`` call.
    limit: Mapping[str, Any]
    instances: int
    #: Ids given twice (bulk): each must still be cancelled once.
    duplicates: int = 0
    deadline: float = 120.0
    max_workers: int = 8
    #: Ids expected to end in ``error`` because the batch deadline passed while throttled.
    deadline_errors: int = 0
    #: The largest share of requests the gateway may answer 429, if bounded.
    max_throttled: float | None = None


def _rate_limit_cases(service: Service) -> list[RateLimitCase]:
    burst = 2 if service == "enos" else 1  # EnOS' token call takes one
    return [
        RateLimitCase(
            id=f"{service}-bulk-throttled",
            service=service,
            kind="bulk",
            case="bulk cancel of 30 ids (2 repeated), 8 workers, at a gateway allowing 8 requests/s, "
            "burst 2, `Retry-After: 0.2`",
            expected="no id fails because of 429: the limiter slows or pauses every worker and paces, the batch "
            "resends throttled ids until its deadline",
            result="30 rows in input order, each `cancel_requested`; each id reached the API once; the "
            "gateway did answer 429",
            limit={"scope": service, "rate": 8, "burst": 2, "retry_after": 0.2},
            instances=30,
            duplicates=2,
        ),
        RateLimitCase(
            id=f"{service}-bulk-no-burst",
            service=service,
            kind="bulk",
            case="bulk cancel of 60 ids, 8 workers, at a gateway without burst (burst 1: two requests closer "
            "than its interval are refused) allowing 20 requests/s, `Retry-After: 1`",
            expected="after the first 429 the limiter never sends two requests closer than its interval; "
            "no id fails",
            result="60 rows, each `cancel_requested`, each id reached the API once; at most 20 % of requests "
            "answered 429 (before the fix: about half, and 18x N/rate)",
            limit={"scope": service, "rate": 20, "burst": 1, "retry_after": 1},
            instances=60,
            max_throttled=0.2,
        ),
        RateLimitCase(
            id=f"{service}-bulk-deadline",
            service=service,
            kind="bulk",
            case="bulk cancel of 3 ids, 1 worker, `deadline=1`, at a gateway allowing one cancel per "
            "1,000 s (`Retry-After: 0.1`)",
            expected="ids still throttled when the batch deadline passes fail with that reason; the "
            "task fails after pushing `bulk_result`",
            result="first id `cancel_requested`, the other two `error`: “bulk deadline of 1 s reached”",
            limit={
                "scope": f"{service}.{'flowinstance.' if service == 'enos' else ''}cancel",
                "rate": 0.001,
                "burst": 1,
                "retry_after": 0.1,
            },
            instances=3,
            deadline=1.0,
            max_workers=1,
            deadline_errors=2,
        ),
        RateLimitCase(
            id=f"{service}-triggers-throttled",
            service=service,
            kind="triggers",
            case="20 triggers in one event loop polling every 0.2 s a gateway allowing 10 requests/s, "
            f"burst {burst}, `Retry-After: 0.3`",
            expected="the loop's limiter slows or pauses and paces every trigger's polls: no error event",
            result="20 `success` events with the right final status; the gateway did answer 429",
            limit={"scope": service, "rate": 10, "burst": burst, "retry_after": 0.3},
            instances=20,
        ),
    ]


RATE_LIMIT_CASES: tuple[RateLimitCase, ...] = tuple(
    case for service in SERVICES for case in _rate_limit_cases(service)
)


@dataclass(frozen=True)
class HostileCase:
    """One row of the hostile-server matrix (``tests/reliability/hostile.py`` plays the server).

    Each row runs a status read (Domo) and a signed status read (EnOS, after a good token) through the
    sync and the async transport, with a connection ``timeout`` of 0.5 s (an attempt may take 1 s: connect
    plus read), ``max_retries`` 0 and ``max_response_bytes`` 1 MiB.
    """

    id: str
    server_does: str
    error: str
    message: str
    #: What bounds it, for the table.
    bound: str
    services: tuple[Service, ...] = SERVICES


HOSTILE_ATTEMPT_SECONDS = 1.0
HOSTILE_MAX_RESPONSE_BYTES = 1024 * 1024

HOSTILE_CASES: tuple[HostileCase, ...] = (
    HostileCase(
        "drip-headers",
        "sends its status line, then the headers one byte every 50 ms",
        "DeadlineExceededError",
        "did not send its whole answer within 1 s",
        "attempt deadline (connect + read timeout)",
    ),
    HostileCase(
        "drip-body",
        "sends the headers, then the body one byte every 50 ms",
        "DeadlineExceededError",
        "did not send its whole answer within 1 s",
        "attempt deadline",
    ),
    HostileCase(
        "endless-chunks",
        "sends 1 KiB chunks every 50 ms, never the last chunk",
        "DeadlineExceededError",
        "did not send its whole answer within 1 s",
        "attempt deadline",
    ),
    HostileCase(
        "stall",
        "reads the request and never answers",
        "TransientError",
        "could not be reached (ReadTimeout)",
        "read timeout",
    ),
    HostileCase(
        "giant-body-declared",
        "declares a 300 MiB body (Content-Length)",
        "ResponseTooLargeError",
        "answered with more than 1048576 bytes",
        "size cap, before reading the body",
    ),
    HostileCase(
        "giant-body-streamed",
        "streams an endless body without Content-Length as fast as it can",
        "ResponseTooLargeError",
        "answered with more than 1048576 bytes",
        "size cap, counted while reading",
    ),
    HostileCase(
        "gzip-bomb",
        "sends 100 KiB of gzip that inflates to 100 MiB",
        "ResponseTooLargeError",
        "answered with more than 1048576 bytes",
        "size cap, counted after decompression",
    ),
    HostileCase(
        "deep-json",
        "answers 200 with JSON nested 200,000 levels deep",
        "ApiError",
        "the response is not valid JSON",
        "parser error mapped into the hierarchy",
    ),
    HostileCase(
        "redirect",
        "answers 302 to a login portal",
        "ApiError",
        "redirects are not followed",
        "one request, never followed",
    ),
    HostileCase(
        "echo-request",
        "answers 400 with every request header and the body echoed in its message and body",
        "ApiError",
        "HTTP 400",
        "no token, signature or timestamp-bound value in the error",
    ),
    HostileCase(
        "echo-token-request",
        "(EnOS token service) answers 400 echoing the token request, `encryption` included",
        "ApiError",
        "HTTP 400",
        "no `encryption` in the error",
        services=("enos",),
    ),
    HostileCase(
        "bad-access-token",
        "(EnOS token service) issues an access token with a line break and non-ASCII letters in it",
        "ApiError",
        "an access token no header can carry",
        "refused before any header is built",
        services=("enos",),
    ),
)
