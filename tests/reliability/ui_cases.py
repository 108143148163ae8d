"""Rows of the Remote instances API table in docs/reliability.md: bad input and service faults, each a
request through the API server's app as a user allowed to cancel (``op``), with sentinel credentials.

``tests/reliability/test_ui_api.py`` runs them; ``generate_table.py`` writes the table from them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from tests.reliability.cases import Service

_DOMO_ID = "5f1c9a52-0000-4000-8000-000000000001"
_ENOS_ID = "2438-201908081020"
_MODEL = "a8afdc89-1b2c-4d5e-8f90-1234567890ab"
_VALID = {"domo": _DOMO_ID, "enos": _ENOS_ID}


@dataclass(frozen=True)
class UiCase:
    """One request to the app: what it sends, the status and message it gets, the requests it causes."""

    id: str
    service: Service
    label: str
    #: ``list``: GET instances; ``get``: GET one instance; ``cancel``: POST cancel; ``version``: Airflow's
    #: own ``GET /api/v2/version`` (while :attr:`waiting` page cancels wait); ``incident``: the incident view.
    call: Literal["list", "get", "cancel", "version", "incident"]
    status: int
    message: str
    #: The cancel body, the listing's query, or the instance id (``get``).
    body: Mapping[str, Any] = field(default_factory=dict)
    params: Mapping[str, str] = field(default_factory=dict)
    instance_id: str = ""
    conn_id: str | None = None
    #: A fault injected in the emulator first: ``(route, status)``.
    fault: tuple[str, int] | None = None
    #: Requests the emulator must receive, per route (none for bad input).
    requests: Mapping[str, int] = field(default_factory=dict)
    #: Page cancels with ``wait`` still waiting (their instances do not end) while this request is made.
    waiting: int = 0

    @property
    def request(self) -> str:
        conn = self.conn_id or f"{self.service}_default"
        if self.call == "version":
            return f"GET /api/v2/version while {self.waiting} POST …/{conn}/cancel {dict(self.body)} wait"
        if self.call == "cancel":
            return f"POST …/{conn}/cancel {dict(self.body)}"
        if self.call == "get":
            return f"GET …/{conn}/instances/{self.instance_id}"
        if self.call == "incident":
            return "GET …/incident?" + "&".join(f"{k}={v}" for k, v in self.params.items())
        query = "&".join(f"{k}={v}" for k, v in self.params.items())
        return f"GET …/{conn}/instances" + (f"?{query}" if query else "")


def _bad_ids(service: Service) -> tuple[UiCase, ...]:
    field_ = "instance_id"
    return (
        UiCase(
            f"ui-{service}-path-in-id",
            service,
            "an id with a path",
            "cancel",
            400,
            f"{field_} '../../users/me' contains characters not allowed",
            body={"instance_ids": ["../../users/me"]},
        ),
        UiCase(
            f"ui-{service}-placeholder-id",
            service,
            "a template placeholder as id",
            "cancel",
            400,
            f"{field_} is 'None', which is what a template renders",
            body={"instance_ids": ["None"]},
        ),
        UiCase(
            f"ui-{service}-one-bad-id-among-good",
            service,
            "one bad id among good ones: nothing is sent",
            "cancel",
            400,
            f"{field_} contains control characters",
            body={"instance_ids": [_VALID[service], "bad\nid"]},
        ),
        UiCase(
            f"ui-{service}-no-ids",
            service,
            "an empty selection",
            "cancel",
            400,
            "instance_ids is empty",
            body={"instance_ids": []},
        ),
        UiCase(
            f"ui-{service}-ids-not-a-list",
            service,
            "one string instead of a list",
            "cancel",
            400,
            "instance_ids must be a list of ids, not one string",
            body={"instance_ids": _VALID[service]},
        ),
        UiCase(
            f"ui-{service}-too-many-ids",
            service,
            "more than 100 ids",
            "cancel",
            400,
            "instance_ids holds 101 ids; at most 100 per request",
            body={"instance_ids": [_VALID[service]] * 101},
        ),
        UiCase(
            f"ui-{service}-long-wait",
            service,
            "a wait longer than 120 s",
            "cancel",
            400,
            "timeout must be at most 120 seconds",
            body={"instance_ids": [_VALID[service]], "wait": True, "timeout": 3600},
        ),
        UiCase(
            f"ui-{service}-unknown-connection",
            service,
            "a connection that is not defined",
            "cancel",
            404,
            "connection 'nowhere' is not defined",
            body={"instance_ids": [_VALID[service]]},
            conn_id="nowhere",
        ),
        UiCase(
            f"ui-{service}-bad-id-read",
            service,
            "reading an id with a space",
            "get",
            400,
            f"{field_} 'x y' is not a valid id",
            instance_id="x%20y",
        ),
    )


def _identity(service: Service) -> tuple[UiCase, ...]:
    """The connection is named exactly as Airflow knows it, or refused before any check or request."""
    conn = f"{service}_default"
    body = {"instance_ids": [_VALID[service]]}
    return (
        UiCase(
            f"ui-{service}-conn-trailing-space",
            service,
            "a connection id with a space after it",
            "cancel",
            400,
            f"connection_id '{conn} ' has whitespace around it",
            body=body,
            conn_id=f"{conn}%20",
        ),
        UiCase(
            f"ui-{service}-conn-leading-tab",
            service,
            "a connection id after a tab",
            "list",
            400,
            f"connection_id '\\t{conn}' has whitespace around it",
            conn_id=f"%09{conn}",
        ),
        UiCase(
            f"ui-{service}-conn-case-variant",
            service,
            "the connection id in capitals (the variable's name)",
            "cancel",
            400,
            f"names an AIRFLOW_CONN_* variable, whose id is '{conn}'; use that id",
            body=body,
            conn_id=conn.upper(),
        ),
        UiCase(
            f"ui-{service}-conn-not-an-id",
            service,
            "a connection id Airflow would not accept",
            "get",
            400,
            "is not a connection id Airflow allows",
            instance_id=_VALID[service],
            conn_id=f"{conn}%3Cb%3E",
        ),
        UiCase(
            f"ui-{service}-id-with-spaces",
            service,
            "an instance id with spaces around it",
            "cancel",
            400,
            "(whitespace around it, padding); send the id exactly",
            body={"instance_ids": [f" {_VALID[service]} "]},
        ),
    )


UI_CASES: tuple[UiCase, ...] = (
    *_bad_ids("domo"),
    *_bad_ids("enos"),
    *_identity("domo"),
    *_identity("enos"),
    UiCase(
        "ui-domo-model-with-spaces",
        "domo",
        "a model id with a space before it",
        "list",
        400,
        "model_id ' a8afdc89",
        params={"model_id": f" {_MODEL}"},
    ),
    UiCase(
        "ui-enos-padded-flow",
        "enos",
        "a flow id with a leading zero",
        "list",
        400,
        "flow_id '03377' is not written exactly as the id '3377'",
        params={"flow_id": "03377"},
    ),
    UiCase(
        "ui-domo-threads-held",
        "domo",
        "50 page cancels wait (up to 120 s) for instances that do not end: Airflow's own API still answers",
        "version",
        200,
        '"version"',
        body={"instance_ids": ["<one running instance each>"], "wait": True, "timeout": 120},
        requests={"domo.cancel": 50},
        waiting=50,
    ),
    UiCase(
        "ui-domo-incident-bad-status",
        "domo",
        "an incident view status filter with markup in it",
        "incident",
        400,
        "status must be comma-separated status labels (letters, digits, _ and -), got '<b>'",
        params={"status": "IN_PROGRESS,<b>"},
    ),
    UiCase(
        "ui-domo-no-model",
        "domo",
        "a Domo listing without model_id",
        "list",
        400,
        "model_id is required but got None",
    ),
    UiCase(
        "ui-domo-bad-limit",
        "domo",
        "a listing limit of 0",
        "list",
        400,
        "limit must be a whole number from 1 to 500",
        params={"model_id": _MODEL, "limit": "0"},
    ),
    UiCase(
        "ui-enos-bad-flow",
        "enos",
        "a flow id that is not a number",
        "list",
        400,
        "flow_id must be a positive whole number",
        params={"flow_id": "33x7"},
    ),
    UiCase(
        "ui-enos-control-search",
        "enos",
        "a search text with a line break",
        "list",
        400,
        "expression must be a string without control characters",
        params={"search": "a\nb"},
    ),
    UiCase(
        "ui-domo-service-down",
        "domo",
        "Domo answers 503 to every read",
        "get",
        503,
        "Domo kept failing with a transient error",
        instance_id=_DOMO_ID,
        fault=("domo.get", 503),
        requests={"domo.get": 4},
    ),
    UiCase(
        "ui-domo-unknown-instance",
        "domo",
        "an instance Domo does not know",
        "get",
        404,
        "Domo has no such resource",
        instance_id=_DOMO_ID,
        requests={"domo.get": 1},
    ),
    UiCase(
        "ui-enos-throttled",
        "enos",
        "EnOS answers 429 to every search",
        "list",
        429,
        "EnOS kept rate-limiting the request",
        fault=("enos.flowinstance.search", 429),
        requests={"enos.token.get": 1, "enos.flowinstance.search": 4},
    ),
)
