"""The fault matrix: faults injected into the emulator, and what the cancel operators must do.

Every fault row runs ``<Service>Cancel...Operator(...).execute(context)`` against the emulator with sentinel
credentials, a connection with ``max_retries=3`` (at most 4 attempts) and the fast backoff of
``tests/conftest.py``; the emulator's cancel delay is 0 unless a row says otherwise, so the first status poll
after an applied cancel already sees the cancelled status and request counts are exact.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from tests.reliability.cases.common import Service

# Emulator route names.
DOMO_CANCEL = "domo.cancel"
DOMO_GET = "domo.get"
ENOS_TOKEN = "enos.token.get"
ENOS_REFRESH = "enos.token.refresh"
ENOS_CANCEL = "enos.flowinstance.cancel"
ENOS_GET = "enos.flowinstance.get"

#: Upper bound on one attempt sequence with the fast backoff (0.01-0.05 s between at most 4 attempts),
#: generous for a loaded 2-core machine; the unpatched policy would need several seconds.
FAST = 3.0


@dataclass(frozen=True)
class Fault:
    """One ``EmulatorControl.inject_fault`` call."""

    route: str
    status: int | None = None
    retry_after: str | None = None
    #: ``Retry-After`` as an HTTP-date this many seconds from injection time (whole seconds, floored).
    retry_after_date_in: float | None = None
    latency: float | None = None
    mode: str | None = None
    count: int = 1
    body: Any = None


Credentials = Literal["sentinel", "unregistered", "no_grant", "wrong_secret"]
Instance = Literal["running", "finished", "unknown"]


@dataclass(frozen=True)
class FaultCase:
    """One row of the fault matrix: setup, and every expectation the test asserts."""

    id: str
    service: Service
    case: str
    expected: str
    requests: Mapping[str, int]
    final_status: str
    transitions: int
    outcome: str | None = None
    error: str | None = None
    #: Fragment of the error text; for a success, of the captured logs (task log and library logs).
    message: str = ""
    faults: tuple[Fault, ...] = ()
    #: An ``EmulatorControl.set_rate_limit`` call (a token bucket at the gateway), if any.
    rate_limit: Mapping[str, Any] = field(default_factory=dict)
    instance: Instance = "running"
    credentials: Credentials = "sentinel"
    host: Literal["emulator", "closed_port"] = "emulator"
    conn_extra: Mapping[str, Any] = field(default_factory=dict)
    emulator_config: Mapping[str, Any] = field(default_factory=dict)
    #: Overrides of the (already fast) ``_http.DEFAULT_RETRY_POLICY``.
    policy: Mapping[str, float] = field(default_factory=dict)
    poll_interval: float = 0.01
    timeout: float = 5.0
    #: Something a test does while the operator runs: ``revoke_token`` refreshes the app's token from
    #: another client after 0.3 s (which revokes the token the hook holds).
    during: Literal["revoke_token"] | None = None
    min_seconds: float = 0.0
    max_seconds: float = FAST

    def __post_init__(self) -> None:
        assert (self.outcome is None) != (self.error is None), self.id


@dataclass(frozen=True)
class _Svc:
    """Per-service names, so one row definition serves both services."""

    name: Service
    cancel: str
    get: str
    running: str
    cancelled: str
    finished: str

    def requests(self, *, cancel: int = 1, get: int = 0, token: int = 1, **more: int) -> dict[str, int]:
        """Exact expected counts per route; EnOS gets its token first unless the row says otherwise."""
        counts = {self.cancel: cancel, self.get: get, **more}
        if self.name == "enos":
            counts[ENOS_TOKEN] = token
        return {route: n for route, n in sorted(counts.items()) if n}


DOMO = _Svc("domo", DOMO_CANCEL, DOMO_GET, "IN_PROGRESS", "CANCELED", "COMPLETED")
ENOS = _Svc("enos", ENOS_CANCEL, ENOS_GET, "RUNNING", "CANCEL", "SUCCESS")


def _shared(s: _Svc) -> list[FaultCase]:
    """Rows that apply to both services the same way."""
    enos = s.name == "enos"

    def row(slug: str, case: str, expected: str, **kwargs: Any) -> FaultCase:
        return FaultCase(id=f"{s.name}-{slug}", service=s.name, case=case, expected=expected, **kwargs)

    rows = [
        row(
            "baseline",
            "no fault (control row)",
            "one cancel, one status poll that already sees the cancelled status",
            requests=s.requests(cancel=1, get=1),
            outcome="cancelled",
            message=f"Outcome: cancelled (final status {s.cancelled})",
            final_status=s.cancelled,
            transitions=1,
        ),
        row(
            "429-retry-after-seconds",
            "429 with `Retry-After: 1` (delta-seconds), once",
            "waits the hinted ~1 s (not the backoff), resends, succeeds",
            faults=(Fault(s.cancel, status=429, retry_after="1"),),
            requests=s.requests(cancel=2, get=1),
            outcome="cancelled",
            message="answered HTTP 429; retrying in 1.00 s",
            final_status=s.cancelled,
            transitions=1,
            min_seconds=0.9,
            max_seconds=5.0,
        ),
        row(
            "rate-limited-gateway",
            "the gateway allows 2 requests/s with bursts of "
            + ("2 (token and cancel)" if enos else "1")
            + " and answers 429 `Retry-After: 0.6` above it",
            "the status poll right after the cancel is throttled; the gateway's limiter pauses every request "
            "for the hinted 0.6 s, then paces, and the next poll sees the cancelled status",
            rate_limit={"scope": s.name, "rate": 2, "burst": 2 if enos else 1, "retry_after": 0.6},
            requests=s.requests(cancel=1, get=2),
            outcome="cancelled",
            message="answered HTTP 429; retrying in 0.60 s",
            final_status=s.cancelled,
            transitions=1,
            min_seconds=0.5,
            max_seconds=5.0,
        ),
        row(
            "429-retry-after-http-date",
            "429 with `Retry-After` as an HTTP-date ~2 s ahead, once",
            "parses the date, waits until then (between ~1 and 2 s), resends, succeeds",
            faults=(Fault(s.cancel, status=429, retry_after_date_in=2),),
            requests=s.requests(cancel=2, get=1),
            outcome="cancelled",
            message="answered HTTP 429; retrying in",
            final_status=s.cancelled,
            transitions=1,
            min_seconds=0.5,
            max_seconds=5.0,
        ),
        row(
            "429-retry-after-beyond-budget",
            "429 with `Retry-After: 120` while the time budget (`max_elapsed`) is 5 s",
            "does not sleep past the budget: fails at once with the rate-limit error",
            faults=(Fault(s.cancel, status=429, retry_after="120", count=50),),
            policy={"max_elapsed": 5.0},
            requests=s.requests(cancel=1),
            error="RateLimitedError",
            message="kept rate-limiting the request",
            final_status=s.running,
            transitions=0,
            max_seconds=2.0,
        ),
    ]
    for status in (500, 502, 503, 504):
        rows.append(
            row(
                f"{status}-burst-recovers",
                f"HTTP {status} 3x on the cancel, then normal",
                "retried with backoff; the 4th attempt (the last allowed) succeeds",
                faults=(Fault(s.cancel, status=status, count=3),),
                requests=s.requests(cancel=4, get=1),
                outcome="cancelled",
                message=f"answered HTTP {status}; retrying in",
                final_status=s.cancelled,
                transitions=1,
            )
        )
    rows += [
        row(
            "503-burst-during-wait",
            "HTTP 503 3x on the status poll while waiting",
            "the poll is retried like any idempotent call; the wait then sees the cancel",
            faults=(Fault(s.get, status=503, count=3),),
            requests=s.requests(cancel=1, get=4),
            outcome="cancelled",
            message="answered HTTP 503; retrying in",
            final_status=s.cancelled,
            transitions=1,
        ),
        row(
            "503-persistent",
            "HTTP 503 on every cancel",
            "gives up after the 4 allowed attempts, within the time bound; nothing was applied",
            faults=(Fault(s.cancel, status=503, count=50),),
            requests=s.requests(cancel=4),
            error="TransientError",
            message="kept failing with a transient error after 4 attempts",
            final_status=s.running,
            transitions=0,
        ),
        row(
            "read-timeout-once",
            "0.5 s latency on one cancel, connection `timeout` 0.2 s",
            "read timeout, resent (cancel is idempotent); the slow first request, applied late, "
            "is absorbed by the server: still one transition",
            faults=(Fault(s.cancel, latency=0.5),),
            conn_extra={"timeout": 0.2},
            requests=s.requests(cancel=2, get=1),
            outcome="cancelled",
            message="answered ReadTimeout; retrying in",
            final_status=s.cancelled,
            transitions=1,
            min_seconds=0.2,
        ),
        row(
            "read-timeout-persistent",
            "0.5 s latency on every cancel, connection `timeout` 0.2 s",
            "4 timed-out attempts, then TransientError; the server applied the first one late, so "
            "the instance does end cancelled (a task retry reports `already_finished`)",
            faults=(Fault(s.cancel, latency=0.5, count=50),),
            conn_extra={"timeout": 0.2},
            requests=s.requests(cancel=4),
            error="TransientError",
            message="could not be reached (ReadTimeout) after 4 attempt(s)",
            final_status=s.cancelled,
            transitions=1,
            min_seconds=0.8,
            max_seconds=4.0,
        ),
        row(
            "connection-refused",
            "connection refused (a closed port)",
            "connect errors are retried (the request never left); TransientError after 4 attempts",
            host="closed_port",
            requests={},
            error="TransientError",
            message="could not be reached (ConnectionError) after 4 attempt(s)",
            final_status=s.running,
            transitions=0,
        ),
        row(
            "connection-dropped",
            "connection closed without a response (`drop`), once",
            "the request was not applied; resent and succeeds",
            faults=(Fault(s.cancel, mode="drop"),),
            requests=s.requests(cancel=2, get=1),
            outcome="cancelled",
            message="answered ConnectionError; retrying in",
            final_status=s.cancelled,
            transitions=1,
        ),
        row(
            "lost-response-of-applied-cancel",
            "cancel applied, then the connection dropped (`apply_then_drop`), once",
            "resent; the server already cancelled it"
            + (", refuses the repeat (62102) and the hook's lookup sees CANCEL" if enos else "")
            + "; known to follow a lost answer, so the outcome is `cancelled`, not `already_finished` "
            "(never an error, never a second transition)",
            faults=(Fault(s.cancel, mode="apply_then_drop"),),
            requests=s.requests(cancel=2, get=1 if enos else 0),
            outcome="cancelled",
            message="an earlier attempt of this cancel went through, its answer was lost",
            final_status=s.cancelled,
            transitions=1,
        ),
        row(
            "truncated-json",
            "cancel answered 200 with the body cut in half (`truncate`)",
            "a 2xx is final: fails naming the unreadable body, no retry; the cancel the server "
            "applied stands",
            faults=(Fault(s.cancel, mode="truncate"),),
            requests=s.requests(cancel=1),
            error="ApiError",
            message="the response is not valid JSON",
            final_status=s.cancelled,
            transitions=1,
        ),
        row(
            "html-page-200",
            "HTML page with status 200 " + ("(a proxy page)" if enos else "(Domo's IP-allowlist block page)"),
            (
                "fails naming the non-JSON answer, no retry"
                if enos
                else "recognised as the IP block: PermissionDeniedError, no retry"
            ),
            faults=(Fault(s.cancel, mode="html"),),
            requests=s.requests(cancel=1),
            error="ApiError" if enos else "PermissionDeniedError",
            message="the response is not valid JSON" if enos else "IP allowlist page instead of JSON",
            final_status=s.running,
            transitions=0,
        ),
        row(
            "403-forbidden",
            "HTTP 403 on the cancel" if enos else "token without the Workflow API grant (HTTP 403)",
            "PermissionDeniedError after exactly one request, no retry",
            faults=(Fault(s.cancel, status=403, count=50),) if enos else (),
            credentials="sentinel" if enos else "no_grant",
            requests=s.requests(cancel=1),
            error="PermissionDeniedError",
            message="the credentials lack the needed permission",
            final_status=s.running,
            transitions=0,
        ),
        row(
            "unknown-instance",
            "unknown instance id (well-formed)",
            (
                "EnOS has no 404: it answers 62102; the hook looks the id up once (also 62102) "
                "and raises the cancel's refusal"
                if enos
                else "NotFoundError after one request, no retry"
            ),
            instance="unknown",
            requests=s.requests(cancel=1, get=1 if enos else 0),
            error="ApiError" if enos else "NotFoundError",
            message="code 62102" if enos else "has no such resource",
            final_status=s.running,
            transitions=0,
        ),
        row(
            "already-finished",
            f"instance already {s.finished}",
            "succeeds with outcome `already_finished`, no transition"
            + ("; EnOS refuses with 62102 and the hook's lookup sees SUCCESS" if enos else ""),
            instance="finished",
            requests=s.requests(cancel=1, get=1 if enos else 0),
            outcome="already_finished",
            message=f"had already finished (status {s.finished})",
            final_status=s.finished,
            transitions=0,
        ),
    ]
    return rows


def _domo_only() -> list[FaultCase]:
    return [
        FaultCase(
            id="domo-401-rejected-token",
            service="domo",
            case="unregistered developer token (HTTP 401)",
            expected="AuthenticationError after exactly one request, no retry",
            credentials="unregistered",
            requests=DOMO.requests(cancel=1),
            error="AuthenticationError",
            message="Domo rejected the credentials",
            final_status=DOMO.running,
            transitions=0,
        )
    ]


def _enos_only() -> list[FaultCase]:
    s = ENOS

    def row(slug: str, case: str, expected: str, **kwargs: Any) -> FaultCase:
        return FaultCase(id=f"enos-{slug}", service="enos", case=case, expected=expected, **kwargs)

    code_rows = [
        (
            62101,
            "PermissionDeniedError",
            "does not know user",
            "user/org mismatch: PermissionDeniedError; no retry",
        ),
        (62102, "ApiError", "EnOS rejected a parameter", "invalid parameter: ApiError; no retry"),
        (
            62103,
            "PermissionDeniedError",
            "has no privilege",
            "not the owner: PermissionDeniedError; no retry",
        ),
    ]
    rows = [
        row(
            f"code-{code}",
            f"cancel answered with EnOS code {code}",
            f"{what}; the hook's one lookup sees the instance still running, so the refusal is raised",
            faults=(Fault(s.cancel, mode="enos_code", body=code, count=50),),
            requests=s.requests(cancel=1, get=1),
            error=error,
            message=message,
            final_status=s.running,
            transitions=0,
        )
        for code, error, message, what in code_rows
    ]
    rows += [
        row(
            "code-62109-transient",
            "EnOS code 62109 (internal exception) 2x, then normal",
            "62109 is transient: retried like a 5xx, then succeeds",
            faults=(Fault(s.cancel, mode="enos_code", body=62109, count=2),),
            requests=s.requests(cancel=3, get=1),
            outcome="cancelled",
            message="answered 62109 Internal server exception; retrying in",
            final_status=s.cancelled,
            transitions=1,
        ),
        row(
            "code-62109-persistent",
            "EnOS code 62109 on every cancel",
            "TransientError after the 4 allowed attempts",
            faults=(Fault(s.cancel, mode="enos_code", body=62109, count=50),),
            requests=s.requests(cancel=4),
            error="TransientError",
            message="internal server exception after 4 attempts",
            final_status=s.running,
            transitions=0,
        ),
        row(
            "401-once",
            "gateway HTTP 401 on one cancel",
            "by design the hook drops the token, gets one again and repeats the call exactly once",
            faults=(Fault(s.cancel, status=401),),
            requests=s.requests(cancel=2, get=1, token=2),
            outcome="cancelled",
            message="The EnOS gateway rejected the access token",
            final_status=s.cancelled,
            transitions=1,
        ),
        row(
            "401-persistent",
            "gateway HTTP 401 on every cancel",
            "exactly one token re-get and one repeat (documented), then AuthenticationError",
            faults=(Fault(s.cancel, status=401, count=50),),
            requests=s.requests(cancel=2, token=2),
            error="AuthenticationError",
            message="rejected the access token even after getting a new one",
            final_status=s.running,
            transitions=0,
        ),
        row(
            "wrong-secret",
            "wrong Secret Key (token service answers 1003)",
            "AuthenticationError naming the Secret Key after one token request; nothing reaches the gateway",
            credentials="wrong_secret",
            requests={ENOS_TOKEN: 1},
            error="AuthenticationError",
            message="EnOS rejected the Secret Key",
            final_status=s.running,
            transitions=0,
        ),
        row(
            "token-expires-during-wait",
            "access token lifetime 2 s, cancel takes effect after 1 s, poll every 2.1 s",
            "the token expires between two polls; the hook gets a new one before the next call "
            "(no 401 round trip) and the wait completes",
            emulator_config={"enos_token_lifetime": 2, "enos_cancel_delay": 1.0},
            poll_interval=2.1,
            timeout=10.0,
            requests=s.requests(cancel=1, get=2, token=2),
            outcome="cancelled",
            message="valid for 2 s, new",
            final_status=s.cancelled,
            transitions=1,
            min_seconds=2.1,
            max_seconds=5.0,
        ),
        row(
            "token-revoked-during-wait",
            "another client refreshes the app's token mid-wait (revoking the hook's token)",
            "the next poll gets 401 (1203); the hook gets the current token and repeats the poll once",
            emulator_config={"enos_cancel_delay": 0.6},
            poll_interval=0.8,
            during="revoke_token",
            requests=s.requests(cancel=1, get=3, token=2, **{ENOS_REFRESH: 1}),
            outcome="cancelled",
            message="The EnOS gateway rejected the access token",
            final_status=s.cancelled,
            transitions=1,
            min_seconds=0.8,
            max_seconds=4.0,
        ),
    ]
    return rows


FAULT_CASES: tuple[FaultCase, ...] = (*_shared(DOMO), *_domo_only(), *_shared(ENOS), *_enos_only())
