"""Access tokens, cached process-wide per gateway, appKey and secret.

A token is renewed when less than min(300 s, 10 % of its lifetime) remains. Renewal runs under a per-key
lock, so at most one token request per key is in flight among a process's threads, and one per event
loop among its coroutines (see ``hooks/enos.py``, which holds the locks while it drives the renewal).
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from dataclasses import dataclass, field


@dataclass(frozen=True)
class TokenKey:
    """Whose token: gateway, appKey and the secret's digest (never shown: it could confirm a guessed secret)."""

    base_url: str
    app_key: str
    secret_digest: bytes = field(repr=False)


@dataclass(frozen=True)
class CachedToken:
    token: str = field(repr=False)
    expires_at: float  # time.monotonic()
    renew_at: float

    @classmethod
    def issued(cls, token: str, lifetime: float) -> CachedToken:
        """Renew ahead of expiry by min(300 s, 10 % of the lifetime)."""
        now = time.monotonic()
        return cls(token, now + lifetime, now + lifetime - min(300.0, 0.1 * lifetime))

    def is_fresh(self) -> bool:
        return time.monotonic() < self.renew_at

    def is_valid(self) -> bool:
        return time.monotonic() < self.expires_at


class TokenCache:
    """Process-wide access tokens with one renewal in flight per key (per thread pool, per event loop)."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._entries: dict[TokenKey, CachedToken] = {}
        self._locks: dict[TokenKey, threading.Lock] = {}
        self._async_locks: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, dict[TokenKey, asyncio.Lock]
        ] = weakref.WeakKeyDictionary()

    def lock(self, key: TokenKey) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(key, threading.Lock())

    def alock(self, key: TokenKey) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        with self._guard:
            return self._async_locks.setdefault(loop, {}).setdefault(key, asyncio.Lock())

    def get(self, key: TokenKey) -> CachedToken | None:
        with self._guard:
            return self._entries.get(key)

    def fresh_token(self, key: TokenKey) -> CachedToken | None:
        entry = self.get(key)
        return entry if entry is not None and entry.is_fresh() else None

    def store(self, key: TokenKey, entry: CachedToken) -> None:
        with self._guard:
            self._entries[key] = entry

    def invalidate(self, key: TokenKey, token: str) -> None:
        """Forget ``token`` if it is still the cached one (another caller may have replaced it already)."""
        with self._guard:
            entry = self._entries.get(key)
            if entry is not None and entry.token == token:
                del self._entries[key]

    def clear(self) -> None:
        with self._guard:
            self._entries.clear()


TOKEN_CACHE = TokenCache()


def clear_token_cache() -> None:
    """Forget every cached EnOS access token of this process (the next call gets a new one)."""
    TOKEN_CACHE.clear()
