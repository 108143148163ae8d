"""Rates learned from gateways, kept in a small file so another process starts at the right one (opt-in).

``[wfcancel] learned_rates_file`` names the file; unset (the default), nothing is read or written and each
process (a task's worker process, a triggerer's event loop) learns a gateway on its own.

Why a file and not an Airflow Variable: the limiter lives in the HTTP layer of every process that calls a
gateway (task processes, the triggerer's event loop, the API server's page), and a file is read there in
microseconds without a database or API round trip, blocking nothing; and a file only the Airflow user can
write cannot be set by whoever may edit Variables in the UI (a rate set by someone else would make the
provider hammer a gateway, or crawl). On several hosts, each host learns once (or point them all at one
shared path).

What is in it: one entry per gateway, keyed by a digest of the gateway's identity (service, base URL and a
digest of the credentials: no secret, nothing that leads back to one), holding the rate and when it was
found. A read is bounded in bytes; a file another user owns, or others may write, is not read (a rate
set by someone else could make the provider hammer a gateway); an entry older than :data:`MAX_AGE` or
outside ``[MIN_RATE, cap]`` is ignored; a broken file reads as empty. Writes replace the file atomically (readers see the old or the new
file, never half of one); two processes writing at once may lose one of their updates, which only means
that process's gateway is learned again: it is a cache.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import math
import os
import tempfile
import time
from collections.abc import Callable
from typing import TypeGuard

log = logging.getLogger(__name__)

#: A learned rate older than this is not reused (seconds).
MAX_AGE = 7 * 24 * 3600.0
#: Hosts sharing the file may disagree on the time by this much (seconds).
CLOCK_SKEW = 60.0
#: At most this many gateways are kept; the oldest go first.
MAX_ENTRIES = 1000
#: A file larger than this is not read.
MAX_BYTES = 256 * 1024


class LearnedRates:
    """The learned rate of one gateway in the file at ``path``."""

    def __init__(self, path: str, gateway: tuple[object, ...], *, clock: Callable[[], float] = time.time):
        self.path = path
        self.entry = hashlib.sha256(repr(gateway).encode()).hexdigest()[:32]
        self._clock = clock

    def __repr__(self) -> str:
        return f"LearnedRates({self.path!r})"

    def load(self, *, minimum: float, maximum: float | None) -> float | None:
        """The rate learned for this gateway, if recent and plausible."""
        entry = self._read().get(self.entry)
        if not isinstance(entry, dict):
            return None
        rate, found_at = entry.get("rate"), entry.get("found_at")
        if (
            not (_finite(rate) and _finite(found_at))
            or not -CLOCK_SKEW <= self._clock() - found_at <= MAX_AGE
        ):
            return None
        if rate < minimum or (maximum is not None and rate > maximum):
            return None
        return float(rate)

    def save(self, rate: float) -> None:
        """Record ``rate`` as this gateway's; a failure is logged, never raised (the cache is optional)."""
        entries = self._read()
        entries[self.entry] = {"rate": round(rate, 3), "found_at": round(self._clock(), 3)}
        if len(entries) > MAX_ENTRIES:
            newest = sorted(entries.items(), key=lambda item: _found_at(item[1]), reverse=True)
            entries = dict(newest[:MAX_ENTRIES])
        directory = os.path.dirname(os.path.abspath(self.path))
        try:
            handle, temporary = tempfile.mkstemp(prefix=".learned-rates-", dir=directory)
            try:
                with os.fdopen(handle, "w") as out:  # mkstemp: readable and writable by this user only
                    json.dump(entries, out, separators=(",", ":"))
                os.replace(temporary, self.path)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise
        except OSError as error:
            log.warning("Could not write the learned rates file %s: %s", self.path, error.strerror or error)

    def _read(self) -> dict[str, object]:
        try:
            with open(self.path, "rb") as source:
                status = os.fstat(source.fileno())
                if status.st_uid != os.getuid() or status.st_mode & 0o022:
                    log.warning(
                        "The learned rates file %s is not this user's alone (owner or group/other write): "
                        "not read",
                        self.path,
                    )
                    return {}
                content = source.read(MAX_BYTES + 1)
        except FileNotFoundError:
            return {}
        except OSError as error:
            log.warning("Could not read the learned rates file %s: %s", self.path, error.strerror or error)
            return {}
        if len(content) > MAX_BYTES:
            log.warning("The learned rates file %s is larger than %d bytes; not read", self.path, MAX_BYTES)
            return {}
        try:
            entries = json.loads(content)
        except ValueError:
            log.warning("The learned rates file %s is not JSON; it is rewritten on the next save", self.path)
            return {}
        return entries if isinstance(entries, dict) else {}


def _finite(value: object) -> TypeGuard[float]:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _found_at(entry: object) -> float:
    found_at = entry.get("found_at") if isinstance(entry, dict) else None
    return float(found_at) if _finite(found_at) else 0.0
