"""The transport options a connection's extras set (parsed in :mod:`..._connection`)."""

from __future__ import annotations

from dataclasses import dataclass, field

from airflow_provider_wfcancel._http import retry
from airflow_provider_wfcancel._http.retry import RetryPolicy

DEFAULT_MAX_RESPONSE_BYTES = 10 * 1024 * 1024


@dataclass(frozen=True)
class HttpSettings:
    """Transport options parsed from a connection's extras (and the provider's configuration)."""

    connect_timeout: float = 10.0
    read_timeout: float = 30.0
    verify: bool | str = True
    retry: RetryPolicy = field(default_factory=lambda: retry.DEFAULT_RETRY_POLICY)
    max_response_bytes: int = DEFAULT_MAX_RESPONSE_BYTES
    #: The connection's ``max_requests_per_second`` extra: paces from the first request and caps growth.
    max_requests_per_second: float | None = None
    #: ``[wfcancel] learned_rates_file``: where learned gateway rates outlive a process (``None``: off).
    learned_rates_file: str | None = None

    @property
    def attempt_seconds(self) -> float:
        """Wall-clock bound of one attempt: connect, send, headers and body together."""
        return self.connect_timeout + self.read_timeout
