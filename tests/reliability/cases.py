"""The reliability matrix as data: the tests in this package and ``generate_table`` both read it.

Nothing here imports Airflow or the provider, so ``python -m tests.reliability.generate_table`` stays cheap.
Errors are named by class name (looked up in ``airflow_provider_wfcancel.exceptions`` by the tests); routes
are the emulator's route names (``airflow_provider_wfcancel.emulator.common.ROUTES``).

Every fault row runs ``<Service>Cancel...Operator(...).execute(context)`` against the emulator with sentinel
credentials, a connection with ``max_retries=3`` (at most 4 attempts) and the fast backoff of
``tests/conftest.py``; the emulator's cancel delay is 0 unless a row says otherwise, so the first status poll
after an applied cancel already sees the cancelled status and request counts are exact.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

Service = Literal["domo", "enos"]
SERVICES: tuple[Service, ...] = ("domo", "enos")

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


# -- bad input ----------------------------------------------------------------------------------------------

#: In a ``BadInputCase.connection``: remove this field.
DROP = "<drop>"
#: Placeholders in connection values, replaced by the tests.
EMULATOR = "{emulator}"
USERINFO_SECRET = "SENTINEL-userinfo-password-77aa"
#: A file that exists on every machine the tests run on but is no PEM certificate.
NOT_PEM_FILE = str(Path(__file__).resolve())

_VALID_ID = {"domo": "2052e10a-9b8c-4a6f-8d3e-000000000001", "enos": "2438-201908081020"}
_ID_FIELD = {"domo": "instance_id", "enos": "flow_instance_id"}
_CONN_FIELD = {"domo": "domo_conn_id", "enos": "enos_conn_id"}


@dataclass(frozen=True)
class BadInputCase:
    """Input an operator must reject (InvalidInputError) and a notifier must log, with zero requests."""

    id: str
    service: Service
    label: str
    message: str
    #: Operator keyword arguments replacing the valid defaults (id, connection id).
    kwargs: Mapping[str, Any] = field(default_factory=dict)
    #: Changes to the valid connection (``DROP`` removes a field; ``extra`` is merged key by key).
    connection: Mapping[str, Any] = field(default_factory=dict)
    #: What the notifier logs instead, when it differs (ids that rendered empty are skipped, not tried).
    notifier_message: str | None = None
    #: Which task the row goes through: the single cancel, the bulk cancel of a list of ids, cancel all
    #: running (a model or flow id), or the instance sensor. Bulk and sensor rows have no notifier;
    #: all-running rows use the all-running notifier when the argument is one it takes
    #: (``notifier_kwargs``), else none.
    operator: Literal["cancel", "bulk", "all_running", "sensor", "start"] = "cancel"
    notifier_kwargs: bool = False

    @property
    def valid_id(self) -> str:
        return _VALID_ID[self.service]

    @property
    def id_field(self) -> str:
        return _ID_FIELD[self.service]

    @property
    def conn_field(self) -> str:
        return _CONN_FIELD[self.service]

    @property
    def logged(self) -> str:
        return self.notifier_message or self.message


def _fullwidth(text: str) -> str:
    """``text`` with its ASCII letters and digits replaced by their fullwidth forms (U+FF10...)."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


#: Messages that ``validate_id`` starts with the field name (the others quote the value first).
_PREFIXED = ("is required", "is empty", "is too long", "must be")


def _id_cases(service: Service) -> list[BadInputCase]:
    field_name = _ID_FIELD[service]
    skipped = "Not cancelling: " + field_name + " rendered to"
    values: list[tuple[str, str, Any, str, str | None]] = [
        ("none", "None", None, "is required but got None", skipped),
        ("empty", "empty string", "", "is empty", skipped),
        ("whitespace", "whitespace only", " \t ", "is empty", skipped),
        ("none-string", '"None"', "None", "what a template renders when its value is missing", skipped),
        (
            "undefined-string",
            '"undefined"',
            "undefined",
            "what a template renders when its value is missing",
            skipped,
        ),
        ("slash", "path separator `/`", "abc/def", "contains characters not allowed in an id: ['/']", None),
        ("backslash", "path separator `\\`", "abc\\def", "contains characters not allowed in an id", None),
        ("dotdot", "`..`", "..", "contains characters not allowed in an id: ['..']", None),
        ("traversal", "`../admin`", "../admin", "contains characters not allowed in an id", None),
        ("query", "query character `?`", "abc?x=1", "contains characters not allowed in an id: ['?']", None),
        (
            "fragment",
            "fragment character `#`",
            "abc#top",
            "contains characters not allowed in an id: ['#']",
            None,
        ),
        (
            "percent",
            "pre-encoded `%2F`",
            "abc%2Fdef",
            "contains characters not allowed in an id: ['%']",
            None,
        ),
        ("nul", "control character NUL", "abc\x00def", "contains control characters", None),
        ("newline", "embedded newline", "abc\ndef", "contains control characters", None),
        ("del", "control character DEL", "abc\x7f", "contains control characters", None),
        ("10k-chars", "10,000-character id", "7" * 10_000, "is too long: 10000 characters", None),
        ("int", "an int", 12345, "must be a string, got int", None),
        ("float", "a float", 2438.5, "must be a string, got float", None),
        ("bool", "a bool", True, "must be a string, got bool", None),
        ("bytes", "bytes", b"abc", "must be a string, got bytes", None),
        ("dict", "a dict", {"id": "abc"}, "must be a string, got dict", None),
        ("list", "a list where one id is expected", [_VALID_ID[service]], "must be a string, got list", None),
    ]
    if service == "domo":
        values += [
            ("non-ascii", "non-ASCII letters", "instância-1", "is not a valid id", None),
            (
                "fullwidth",
                "fullwidth letters (`abc` as U+FF41...)",
                _fullwidth("abc"),
                "is not a valid id",
                None,
            ),
        ]
    else:
        values += [
            ("non-ascii", "non-ASCII letters", "2438-2019080810ü", "is not a valid id", None),
            (
                "fullwidth-digits",
                "non-ASCII digits (`2438-201908081020` in fullwidth, U+FF10...)",
                _fullwidth(_VALID_ID["enos"]),
                "is not a valid id",
                None,
            ),
            ("wrong-shape", "not `{flowId}-{digits}`", "flow-abc", "is not a valid id", None),
        ]
    return [
        BadInputCase(
            id=f"{service}-id-{slug}",
            service=service,
            label=f"`{field_name}`: {label}",
            kwargs={field_name: value},
            message=f"{field_name} {message}" if message.startswith(_PREFIXED) else message,
            notifier_message=notifier,
        )
        for slug, label, value, message, notifier in values
    ]


def _connection_cases(service: Service) -> list[BadInputCase]:
    conn_field = _CONN_FIELD[service]
    conn_id = f"{service}_default"
    rows: list[tuple[str, str, Mapping[str, Any], Mapping[str, Any], str]] = [
        (
            "missing-connection",
            "connection not defined",
            {conn_field: "no_such_conn"},
            {},
            "connection 'no_such_conn' is not defined",
        ),
        (
            "conn-id-empty",
            "empty connection id",
            {conn_field: ""},
            {},
            f"{conn_field} must be a non-empty string",
        ),
        (
            "conn-id-none",
            "connection id None",
            {conn_field: None},
            {},
            f"{conn_field} must be a non-empty string",
        ),
        ("no-host", "connection without host", {}, {"host": DROP}, f"connection '{conn_id}' has no host"),
        (
            "host-not-http",
            "malformed host `ftp://...`",
            {},
            {"host": "ftp://example.com"},
            "is not a valid base URL",
        ),
        (
            "host-bad-port",
            "malformed host (port 99999)",
            {},
            {"host": "http://127.0.0.1:99999"},
            "is not a valid base URL",
        ),
        ("host-space", "malformed host (space)", {}, {"host": "acme domo.com"}, "is not a valid base URL"),
        (
            "host-percent-encoded",
            "percent-encoded host (`https://acme%2edomo.com`: not the host it shows)",
            {},
            {"host": "https://acme%2edomo.com"},
            "is not a valid base URL",
        ),
        (
            "host-query",
            "malformed host (query string)",
            {},
            {"host": f"{EMULATOR}?x=1"},
            "is not a valid base URL",
        ),
        (
            "host-userinfo",
            "host with credentials in it (`https://user:secret@host`); the error must not echo them",
            {},
            {"host": f"https://user:{USERINFO_SECRET}@example.com"},
            "is not a valid base URL",
        ),
        (
            "host-userinfo-no-user",
            "host with only a password in it (`https://:secret@host`)",
            {},
            {"host": f"https://:{USERINFO_SECRET}@example.com"},
            "is not a valid base URL",
        ),
        (
            "host-userinfo-no-scheme",
            "host with only a password and no scheme (`:secret@host`)",
            {},
            {"host": f":{USERINFO_SECRET}@example.com"},
            "is not a valid base URL",
        ),
        ("host-port-zero", "host with port 0", {}, {"host": "http://127.0.0.1:0"}, "is not a valid base URL"),
        (
            "port-bool",
            "JSON `port` true (Airflow would turn it into 1)",
            {},
            {"port": True},
            "port must be a whole number from 1 to 65535, got True",
        ),
        (
            "port-fraction",
            "JSON `port` 8089.5 (Airflow would turn it into 8089)",
            {},
            {"port": 8089.5},
            "port must be a whole number from 1 to 65535, got 8089.5",
        ),
        (
            "port-text",
            'JSON `port` "abc" (Airflow reports the connection as undefined)',
            {},
            {"port": "abc"},
            "port must be a whole number from 1 to 65535, got 'abc'",
        ),
        (
            "extra-not-json",
            "`extra` that is not a JSON object (Airflow would ignore every setting in it)",
            {},
            {"extra": "timeout=5"},
            "extra is not a JSON object",
        ),
        (
            "timeout-nan",
            "extra `timeout` NaN",
            {},
            {"extra": {"timeout": "nan"}},
            "extra field 'timeout' must be a number between",
        ),
        (
            "timeout-inf",
            "extra `timeout` infinite",
            {},
            {"extra": {"timeout": "inf"}},
            "extra field 'timeout' must be a number between",
        ),
        (
            "max-response-bytes-tiny",
            "extra `max_response_bytes` below 1024",
            {},
            {"extra": {"max_response_bytes": 10}},
            "extra field 'max_response_bytes' must be a whole number between 1024",
        ),
        (
            "ca-bundle-not-pem",
            "extra `ca_bundle` a file that is not a PEM certificate",
            {},
            {"extra": {"ca_bundle": NOT_PEM_FILE}},
            "is not a PEM certificate file Python can load",
        ),
        (
            "timeout-text",
            "extra `timeout` of the wrong type (text)",
            {},
            {"extra": {"timeout": "fast"}},
            "extra field 'timeout' must be a number",
        ),
        (
            "timeout-list",
            "extra `timeout` of the wrong type (list)",
            {},
            {"extra": {"timeout": [5]}},
            "extra field 'timeout' must be a number",
        ),
        (
            "max-retries-float",
            "extra `max_retries` not a whole number",
            {},
            {"extra": {"max_retries": 2.5}},
            "extra field 'max_retries' must be a whole number",
        ),
        (
            "max-retries-bool",
            "extra `max_retries` a bool",
            {},
            {"extra": {"max_retries": True}},
            "extra field 'max_retries' must be a whole number",
        ),
        (
            "verify-ssl-text",
            "extra `verify_ssl` not a boolean",
            {},
            {"extra": {"verify_ssl": "maybe"}},
            "extra field 'verify_ssl' must be true or false",
        ),
    ]
    if service == "domo":
        rows += [
            (
                "no-token",
                "connection without token (password)",
                {},
                {"password": DROP},
                "has no developer access token (password)",
            ),
            (
                "blank-token",
                "connection whose token is whitespace",
                {},
                {"password": "   "},
                "has no developer access token (password)",
            ),
            (
                "token-line-break",
                "token with a line break in it (header injection)",
                {},
                {"password": "abc\r\nX-Injected: 1"},
                "password (the Domo developer token) contains characters an HTTP header cannot carry",
            ),
            (
                "token-non-latin",
                "token with non-ASCII characters",
                {},
                {"password": "tökén-ʃ-1234"},
                "password (the Domo developer token) contains characters an HTTP header cannot carry",
            ),
        ]
    else:
        rows += [
            ("no-login", "connection without Access Key (login)", {}, {"login": DROP}, "has no login"),
            (
                "no-password",
                "connection without Secret Key (password)",
                {},
                {"password": DROP},
                "has no password",
            ),
            (
                "no-org-id",
                "connection without extra `org_id`",
                {},
                {"extra": {"org_id": DROP}},
                "has no extra 'org_id'",
            ),
            (
                "org-id-list",
                "extra `org_id` of the wrong type (list)",
                {},
                {"extra": {"org_id": ["o1"]}},
                "extra field 'org_id' must be a string",
            ),
            (
                "login-space",
                "Access Key (login) with a space",
                {},
                {"login": "sentinel app key"},
                "login (the Access Key, appKey) 'sentinel app key' is not a valid id",
            ),
            (
                "login-cyrillic",
                "Access Key (login) with a Cyrillic look-alike letter",
                {},
                {"login": "sentinel-\u0430pp-key"},  # a Cyrillic a
                "is not a valid id (expected something like '5acb82e7-",
            ),
            (
                "secret-line-break",
                "Secret Key (password) with a line break",
                {},
                {"password": "abc\ndef"},
                "password (the Secret Key) contains control characters",
            ),
            (
                "org-id-fullwidth",
                "extra `org_id` in fullwidth digits",
                {},
                {"extra": {"org_id": "o" + _fullwidth("15000000000001")}},
                "is not a valid id (expected something like 'o15724268424841')",
            ),
            (
                "org-id-zero-width",
                "extra `org_id` with a zero-width space",
                {},
                {"extra": {"org_id": "o150000\u200b00000001"}},
                "is not a valid id (expected something like 'o15724268424841')",
            ),
            (
                "org-id-traversal",
                "extra `org_id` with a path separator",
                {},
                {"extra": {"org_id": "o1/../o2"}},
                "contains characters not allowed in an id",
            ),
            (
                "user-id-dict",
                "extra `user_id` of the wrong type (dict)",
                {},
                {"extra": {"user_id": {"id": "u1"}}},
                "extra field 'user_id' must be a string",
            ),
            (
                "no-user-id",
                "no `user_id` anywhere (connection or argument)",
                {},
                {"extra": {"user_id": DROP}},
                "no EnOS user id",
            ),
            (
                "arg-user-id-none-string",
                '`user_id` argument "None" (a template whose value is missing)',
                {"user_id": "None"},
                {},
                "what a template renders when its value is missing",
            ),
            (
                "arg-user-id-query",
                "`user_id` argument with `?`",
                {"user_id": "u1?x=1"},
                {},
                "contains characters not allowed in an id",
            ),
            (
                "arg-user-id-ampersand",
                "`user_id` argument with `&`",
                {"user_id": "u1&orgId=o2"},
                {},
                "user_id 'u1&orgId=o2' is not a valid id (expected something like 'u15426865866571')",
            ),
            (
                "arg-user-id-plus",
                "`user_id` argument with `+`",
                {"user_id": "u1+2"},
                {},
                "user_id 'u1+2' is not a valid id",
            ),
            (
                "arg-user-id-space",
                "`user_id` argument with a space inside",
                {"user_id": "u150 00"},
                {},
                "user_id 'u150 00' is not a valid id",
            ),
            (
                "arg-user-id-cyrillic",
                "`user_id` argument starting with a Cyrillic `и`",
                {"user_id": "и15000000000001"},
                {},
                "is not a valid id (expected something like 'u15426865866571')",
            ),
            (
                "arg-user-id-placeholder",
                "`user_id` argument a placeholder nobody filled in (`{user_id}`)",
                {"user_id": "{user_id}"},
                {},
                "user_id '{user_id}' is not a valid id",
            ),
            (
                "arg-org-id-int",
                "`org_id` argument an int",
                {"org_id": 15},
                {},
                "org_id must be a string, got int",
            ),
        ]
    return [
        BadInputCase(
            id=f"{service}-{slug}",
            service=service,
            label=label,
            kwargs=kwargs,
            connection=connection,
            message=message,
        )
        for slug, label, kwargs, connection, message in rows
    ]


def _argument_cases(service: Service) -> list[BadInputCase]:
    return [
        BadInputCase(
            id=f"{service}-wait-text",
            service=service,
            label="`wait_for_termination` neither true nor false",
            kwargs={"wait_for_termination": "maybe"},
            message="wait_for_termination must be true or false",
        ),
        BadInputCase(
            id=f"{service}-timeout-negative",
            service=service,
            label="negative `timeout`",
            kwargs={"timeout": -1},
            message="timeout must be a number >= 0",
        ),
        BadInputCase(
            id=f"{service}-poll-zero",
            service=service,
            label="`poll_interval` 0",
            kwargs={"poll_interval": 0},
            message="poll_interval must be a number >= 0.01",
        ),
        BadInputCase(
            id=f"{service}-arg-timeout-nan",
            service=service,
            label="`timeout` NaN (a wait that would never end)",
            kwargs={"timeout": float("nan")},
            message="timeout must be a number >= 0",
        ),
        BadInputCase(
            id=f"{service}-arg-timeout-inf",
            service=service,
            label="`timeout` infinite",
            kwargs={"timeout": float("inf")},
            message="timeout must be a number >= 0",
        ),
        BadInputCase(
            id=f"{service}-poll-nan",
            service=service,
            label="`poll_interval` NaN",
            kwargs={"poll_interval": float("nan")},
            message="poll_interval must be a number >= 0.01",
        ),
    ]


_TARGET = {"domo": ("model_id", "a8afdc89-1b2c-4d5e-8f90-1234567890ab"), "enos": ("flow_id", "3377")}


def _bulk_cases(service: Service) -> list[BadInputCase]:
    target, _ = _TARGET[service]
    bad_target = "model id" if service == "domo" else "flow id"
    bulk = [
        ("bulk-ids-empty", "bulk: an empty id list", {"instance_ids": []}, "instance_ids is empty"),
        (
            "bulk-ids-string",
            "bulk: one string where a list is expected",
            {"instance_ids": "abc"},
            "not one string",
        ),
        (
            "bulk-ids-dict",
            "bulk: a mapping where a list is expected",
            {"instance_ids": {"a": 1}},
            "must be a list",
        ),
        ("bulk-deadline-zero", "bulk: `deadline` 0", {"deadline": 0}, "deadline must be a number >= 1"),
        (
            "bulk-workers-zero",
            "bulk: `max_workers` 0",
            {"max_workers": 0},
            "max_workers must be a whole number",
        ),
    ]
    running = [
        (
            "all-max-zero",
            "cancel all running: `max_instances` 0",
            {"max_instances": 0},
            "max_instances must be",
            True,
        ),
        (
            "all-dry-run-text",
            "cancel all running: `dry_run` neither true nor false",
            {"dry_run": "maybe"},
            "dry_run must be true or false",
            False,
        ),
        (
            "all-window-reversed",
            "cancel all running: window ends before it starts",
            {"started_after": "2026-03-02T00:00:00Z", "started_before": "2026-03-01T00:00:00Z"},
            "is before started_after",
            False,
        ),
        (
            "all-window-text",
            "cancel all running: `started_after` not a date",
            {"started_after": "yesterday"},
            "started_after must be an ISO-8601",
            False,
        ),
        (
            f"all-{target.replace('_', '-')}-malformed",
            f"cancel all running: malformed {bad_target}",
            {target: "12 34"},
            target,
            True,
        ),
    ]
    return [
        BadInputCase(
            id=f"{service}-{slug}",
            service=service,
            label=label,
            kwargs=kwargs,
            message=message,
            operator="bulk",
        )
        for slug, label, kwargs, message in bulk
    ] + [
        BadInputCase(
            id=f"{service}-{slug}",
            service=service,
            label=label,
            kwargs=kwargs,
            message=message,
            operator="all_running",
            notifier_kwargs=notifier,
        )
        for slug, label, kwargs, message, notifier in running
    ]


_SERVICE_NAME = {"domo": "Domo", "enos": "EnOS"}
_RUNNING_NAME = {"domo": "IN_PROGRESS", "enos": "RUNNING"}


def _sensor_cases(service: Service) -> list[BadInputCase]:
    id_field, name = _ID_FIELD[service], _SERVICE_NAME[service]
    rows: list[tuple[str, str, Mapping[str, Any], str]] = [
        ("id-empty", f"sensor: `{id_field}` empty", {id_field: ""}, f"{id_field} is empty"),
        (
            "id-placeholder",
            f'sensor: `{id_field}` "None" (a template whose value is missing)',
            {id_field: "None"},
            "what a template renders when its value is missing",
        ),
        (
            "status-unknown",
            "sensor: unknown status name in `accepted_statuses`",
            {"accepted_statuses": ["DONE"]},
            f"accepted_statuses holds 'DONE', which is not a terminal {name} status",
        ),
        (
            "status-running",
            "sensor: a running status in `accepted_statuses`",
            {"accepted_statuses": [_RUNNING_NAME[service]]},
            f"accepted_statuses holds '{_RUNNING_NAME[service]}', which is not a terminal {name} status",
        ),
        (
            "status-string",
            "sensor: `accepted_statuses` one string, not a list",
            {"accepted_statuses": "CANCEL"},
            f"accepted_statuses must be a list of {name} status names",
        ),
        (
            "poke-negative",
            "sensor: negative `poke_interval`",
            {"poke_interval": -1},
            "poke_interval must be a number >= 0.01",
        ),
        ("timeout-negative", "sensor: negative `timeout`", {"timeout": -5}, "timeout must be a number >= 0"),
        (
            "deferrable-text",
            "sensor: `deferrable` neither true nor false",
            {"deferrable": "maybe"},
            "deferrable must be true or false",
        ),
    ]
    return [
        BadInputCase(
            id=f"{service}-sensor-{slug}",
            service=service,
            label=label,
            kwargs=kwargs,
            message=message,
            operator="sensor",
        )
        for slug, label, kwargs, message in rows
    ]


_START_TARGET = {"domo": "model_id", "enos": "flow_id"}


def _start_cases(service: Service) -> list[BadInputCase]:
    """The start operators' own arguments (resumable starts: ``durable``)."""
    target = _START_TARGET[service]
    rows: list[tuple[str, str, Mapping[str, Any], str]] = [
        ("durable-text", "start: `durable` neither true nor false", {"durable": "maybe"}, "durable must be"),
        (
            "wait-text",
            "start: `wait_for_completion` neither true nor false",
            {"wait_for_completion": "soon"},
            "wait_for_completion must be",
        ),
        ("poll-negative", "start: negative `poll_interval`", {"poll_interval": -1}, "poll_interval must be"),
        (
            "deferrable-text",
            "start: `deferrable` neither true nor false",
            {"deferrable": "maybe"},
            "deferrable must be",
        ),
        (
            "target-empty",
            f"start: `{target}` empty",
            {target: ""},
            f"{target} is empty" if service == "domo" else "flow_id must be a positive integer",
        ),
    ]
    return [
        BadInputCase(
            id=f"{service}-start-{slug}",
            service=service,
            label=label,
            kwargs=kwargs,
            message=message,
            operator="start",
        )
        for slug, label, kwargs, message in rows
    ]


BAD_INPUT_CASES: tuple[BadInputCase, ...] = tuple(
    case
    for service in SERVICES
    for case in (
        *_id_cases(service),
        *_connection_cases(service),
        *_argument_cases(service),
        *_bulk_cases(service),
        *_sensor_cases(service),
        *_start_cases(service),
    )
)


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
            expected="no id fails because of 429: the limiter pauses every worker and paces, the batch "
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
            expected="the loop's limiter pauses and paces every trigger's polls: no error event",
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


def _check_unique() -> None:
    for cases in (FAULT_CASES, BAD_INPUT_CASES, HOSTILE_CASES, RATE_LIMIT_CASES):
        ids = [c.id for c in cases]
        duplicates = {i for i in ids if ids.count(i) > 1}
        assert not duplicates, duplicates


_check_unique()
