"""What the protocol layer hands up: settings a hook parsed, an instance's state, a cancel's answer."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from airflow_provider_wfcancel._http import HttpSettings


@dataclass(frozen=True)
class ServiceSettings:
    """Fields every parsed connection has; services extend it."""

    conn_id: str
    base_url: str
    http: HttpSettings

    @property
    def secrets(self) -> tuple[str, ...]:
        """Values the hook registers with the secrets masker as soon as the connection is parsed."""
        return ()


@dataclass(frozen=True)
class InstanceState:
    """A remote instance's status as the service reported it, with its meaning spelled out."""

    service: str
    instance_id: str
    status: str | None
    is_terminal: bool
    is_cancelled: bool
    is_success: bool = False
    url: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    #: When the instance started (Domo: created; EnOS: triggered), or ``None`` when the service's answer
    #: names no readable time (:func:`.times.parse_instance_time`).
    started_at: datetime | None = field(default=None, compare=False)

    @property
    def status_label(self) -> str:
        return self.status if self.status is not None else "null"


@dataclass(frozen=True)
class CancelAck:
    """What the service answered to a cancel request.

    ``state_at_request`` is the status the service reported for the moment it received the request
    (Domo does; EnOS answers with an empty ``data`` and leaves it ``None``). ``already_finished`` is
    set when the service said the instance had already ended; with
    ``earlier_attempt_may_have_applied``, that may be this very cancel, resent after its answer was lost.
    """

    instance_id: str
    response: Any
    state_at_request: InstanceState | None = None
    already_finished: bool = False
    earlier_attempt_may_have_applied: bool = False
