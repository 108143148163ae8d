"""The emulator's rate limits: token buckets per service or route, like an API gateway's traffic limits.

A limit holds ``burst`` tokens and gains ``rate`` tokens per second of the emulator's clock (injectable, so
tests are reproducible). A request it covers takes one token; with none left it is answered 429
"API rate limit exceeded" with a ``Retry-After`` header (unless the limit sends none), before any handler runs (so a throttled cancel
changes nothing), and logged with the fault ``rate_limit``. Every covered request counts, list and search
included. Limits last until cleared or reset.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, model_validator

from .common import ROUTES

#: Scopes a limit may cover besides one route: every route, or every route of one service.
SERVICE_SCOPES = ("*", "domo", "enos")


class RateLimitSpec(BaseModel):
    """What to limit; see ``EmulatorControl.set_rate_limit``."""

    model_config = ConfigDict(extra="forbid")

    scope: str = "*"
    rate: float = Field(gt=0, le=100_000)
    burst: int = Field(default=1, ge=1, le=100_000)
    #: Seconds sent in ``Retry-After``; ``None``: the wait until the next token, rounded up to whole seconds.
    retry_after: float | None = Field(default=None, ge=0, le=3600)
    #: ``False``: a 429 without ``Retry-After`` (the client picks its own wait).
    retry_after_header: bool = True

    @model_validator(mode="after")
    def _known_scope(self) -> RateLimitSpec:
        if self.scope not in SERVICE_SCOPES and self.scope not in ROUTES:
            raise ValueError(
                f"unknown scope {self.scope!r}; expected one of {', '.join(SERVICE_SCOPES + ROUTES)}"
            )
        return self

    def covers(self, route: str) -> bool:
        return self.scope == "*" or self.scope == route or route.startswith(self.scope + ".")


@dataclass
class TokenBucket:
    """One limit's bucket; ``take`` returns ``None`` when a token was taken, else the ``Retry-After`` (``""``
    for a limit that sends none)."""

    spec: RateLimitSpec
    tokens: float
    updated: float

    @classmethod
    def create(cls, spec: RateLimitSpec, now: float) -> TokenBucket:
        return cls(spec, float(spec.burst), now)

    def take(self, now: float) -> str | None:
        elapsed = max(0.0, now - self.updated)
        self.tokens = min(float(self.spec.burst), self.tokens + elapsed * self.spec.rate)
        self.updated = max(self.updated, now)
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return None
        if not self.spec.retry_after_header:
            return ""
        if self.spec.retry_after is not None:
            seconds = self.spec.retry_after
        else:
            seconds = max(1, math.ceil((1.0 - self.tokens) / self.spec.rate))
        return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"
