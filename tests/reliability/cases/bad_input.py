"""The bad-input table: ids and arguments the tasks and notifiers must refuse before any request.

The connection rows are in ``connections``; ``BAD_INPUT_CASES`` (in ``__init__``) puts them in order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from tests.reliability.cases.common import Service

DROP = "<drop>"
#: Placeholders in connection values, replaced by the tests.
EMULATOR = "{emulator}"
USERINFO_SECRET = "SENTINEL-userinfo-password-77aa"
#: A file that exists on every machine the tests run on but is no PEM certificate.
NOT_PEM_FILE = str(Path(__file__).resolve())

_VALID_ID = {"domo": "2052e10a-9b8c-4a6f-8d3e-000000000001", "enos": "2438-201908081020"}
_ID_FIELD = {"domo": "instance_id", "enos": "flow_instance_id"}
CONN_FIELD = {"domo": "domo_conn_id", "enos": "enos_conn_id"}


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
    operator: Literal["cancel", "bulk", "all_running", "sensor", "start", "watcher"] = "cancel"
    notifier_kwargs: bool = False

    @property
    def valid_id(self) -> str:
        return _VALID_ID[self.service]

    @property
    def id_field(self) -> str:
        return _ID_FIELD[self.service]

    @property
    def conn_field(self) -> str:
        return CONN_FIELD[self.service]

    @property
    def logged(self) -> str:
        return self.notifier_message or self.message


def fullwidth(text: str) -> str:
    """``text`` with its ASCII letters and digits replaced by their fullwidth forms (U+FF10...)."""
    return "".join(chr(ord(c) + 0xFEE0) if c.isascii() and c.isalnum() else c for c in text)


#: Messages that ``validate_id`` starts with the field name (the others quote the value first).
_PREFIXED = ("is required", "is empty", "is too long", "must be")


def id_cases(service: Service) -> list[BadInputCase]:
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
                fullwidth("abc"),
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
                fullwidth(_VALID_ID["enos"]),
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


def argument_cases(service: Service) -> list[BadInputCase]:
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
        BadInputCase(
            id=f"{service}-max-poll-text",
            service=service,
            label="`max_poll_interval` not a number",
            kwargs={"max_poll_interval": "300"},
            message="max_poll_interval must be a number >= 0.01",
        ),
    ]


_TARGET = {"domo": ("model_id", "a8afdc89-1b2c-4d5e-8f90-1234567890ab"), "enos": ("flow_id", "3377")}


def _plan(service: str, *, dry_run: bool) -> dict[str, Any]:
    """A cancel-all result (one row) as its XCom holds it."""
    row = {"instance_id": _VALID_ID[service], "outcome": "would_cancel" if dry_run else "cancel_requested"}
    return {"service": service, "dry_run": dry_run, "matched": 1, "instances": [row], "excluded": []}


def bulk_cases(service: Service) -> list[BadInputCase]:
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
        (
            "bulk-ids-not-a-dry-run",
            "bulk: a cancel-all result that is not a dry run (it cancelled already)",
            {"instance_ids": _plan(service, dry_run=False)},
            f"the result of a {service} cancel-all dry run",
        ),
        (
            "bulk-ids-other-service-dry-run",
            "bulk: another service's dry run",
            {"instance_ids": _plan("enos" if service == "domo" else "domo", dry_run=True)},
            f"the result of a {service} cancel-all dry run",
        ),
        (
            f"bulk-{target.replace('_', '-')}-malformed",
            f"bulk: malformed {bad_target} to check the ids against",
            {target: "12 34"},
            target,
        ),
        ("bulk-deadline-zero", "bulk: `deadline` 0", {"deadline": 0}, "deadline must be a number >= 1"),
        (
            "bulk-workers-zero",
            "bulk: `max_workers` 0",
            {"max_workers": 0},
            "max_workers must be a whole number",
        ),
        (
            "bulk-max-poll-below",
            "bulk: `max_poll_interval` below `poll_interval`",
            {"poll_interval": 5, "max_poll_interval": 1},
            "max_poll_interval must be at least poll_interval (5 s), got 1",
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


def sensor_cases(service: Service) -> list[BadInputCase]:
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
        (
            "max-poll-below",
            "sensor: `max_poll_interval` below `poke_interval`",
            {"poke_interval": 60, "max_poll_interval": 30},
            "max_poll_interval must be at least poke_interval (60 s), got 30",
        ),
        (
            "max-poll-with-backoff",
            "sensor: `max_poll_interval` with Airflow's `exponential_backoff`",
            {"max_poll_interval": 300, "exponential_backoff": True},
            "max_poll_interval replaces exponential_backoff and max_wait",
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


def start_cases(service: Service) -> list[BadInputCase]:
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
            "max-poll-below",
            "start: `max_poll_interval` below `poll_interval`",
            {"poll_interval": 10, "max_poll_interval": 5},
            "max_poll_interval must be at least poll_interval (10 s), got 5",
        ),
        (
            "if-running-unknown",
            "start: `if_running` not one of start, reuse, fail",
            {"if_running": "skip"},
            "if_running must be one of 'start', 'reuse', 'fail'",
        ),
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
    if service == "enos":
        rows.append(
            (
                "rerun-text",
                "start: `rerun_failed_from_task` neither true nor false",
                {"rerun_failed_from_task": "maybe"},
                "rerun_failed_from_task must be true or false",
            )
        )
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


def watcher_cases(service: Service) -> list[BadInputCase]:
    """The event triggers' arguments (``DomoWorkflowFinishedTrigger``, ``EnosFlowFinishedTrigger``): refused when
    the trigger is built, which is when the DAG file that holds the ``AssetWatcher`` is parsed."""
    target = _START_TARGET[service]
    rows: list[tuple[str, str, Mapping[str, Any], str]] = [
        (
            "target-bad",
            f"event trigger: `{target}` not an id",
            {target: "no such id!"},
            "model_id 'no such id!' is not a valid id"
            if service == "domo"
            else "flow_id must be a positive whole number",
        ),
        (
            "only-success-text",
            "event trigger: `only_success` not a bool",
            {"only_success": "yes"},
            "only_success must be True or False",
        ),
        ("poll-zero", "event trigger: `poll_interval` 0", {"poll_interval": 0}, "poll_interval must be"),
        ("lookback-short", "event trigger: `lookback` under a minute", {"lookback": 5}, "lookback must be"),
        (
            "lookback-under-polls",
            "event trigger: `lookback` under twice `poll_interval`",
            {"poll_interval": 3600, "lookback": 3600},
            "lookback must be at least twice poll_interval (3600 s), got 3600",
        ),
        (
            "conn-blank",
            "event trigger: blank connection id",
            {CONN_FIELD[service]: " "},
            f"{CONN_FIELD[service]} must be a non-empty string",
        ),
    ]
    if service == "domo":
        rows.append(
            (
                "version-empty",
                "event trigger: `model_version` empty",
                {"model_version": ""},
                "model_version must be a non-empty string or None",
            )
        )
    return [
        BadInputCase(
            id=f"{service}-watcher-{slug}",
            service=service,
            label=label,
            kwargs=kwargs,
            message=message,
            operator="watcher",
        )
        for slug, label, kwargs, message in rows
    ]
