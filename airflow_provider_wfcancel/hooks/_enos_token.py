"""The EnOS hook's own exchange steps: the access token from the process-wide cache.

Tokens are cached per gateway, appKey and secret and renewed under a per-key lock: at most one token
request per key is in flight among a process's threads, and one per event loop among its coroutines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_wfcancel._protocol.enos import exchanges as enos
from airflow_provider_wfcancel._protocol.enos.exchanges import AccessToken, DropToken, EnosSettings
from airflow_provider_wfcancel._protocol.enos.tokens import TOKEN_CACHE, CachedToken

if TYPE_CHECKING:
    from airflow_provider_wfcancel.hooks._base import WorkflowServiceHook

    _Hook = WorkflowServiceHook[EnosSettings]
else:
    _Hook = object


class EnosTokenSteps(_Hook):
    """Performs ``AccessToken`` and ``DropToken``; every other step goes to the hook base."""

    def perform(self, step: Any) -> Any:
        if isinstance(step, AccessToken):
            return self._access_token(step.settings)
        if isinstance(step, DropToken):
            return TOKEN_CACHE.invalidate(step.key, step.token)
        return super().perform(step)

    async def aperform(self, step: Any) -> Any:
        if isinstance(step, AccessToken):
            return await self._aaccess_token(step.settings)
        if isinstance(step, DropToken):
            return TOKEN_CACHE.invalidate(step.key, step.token)
        return await super().aperform(step)

    def _access_token(self, settings: EnosSettings) -> CachedToken:
        """The cached token, renewed under a per-key lock (one token request in flight per key)."""
        key = settings.token_key
        if token := TOKEN_CACHE.fresh_token(key):
            return token
        with TOKEN_CACHE.lock(key):
            current = TOKEN_CACHE.get(key)
            if current is not None and current.is_fresh():
                return current
            entry = self.run(enos.renew_token(settings, current))
            TOKEN_CACHE.store(key, entry)
            return entry

    async def _aaccess_token(self, settings: EnosSettings) -> CachedToken:
        """Async twin of :meth:`_access_token`: coroutines of one event loop share one renewal."""
        key = settings.token_key
        if token := TOKEN_CACHE.fresh_token(key):
            return token
        async with TOKEN_CACHE.alock(key):
            current = TOKEN_CACHE.get(key)
            if current is not None and current.is_fresh():
                return current
            entry = await self.arun(enos.renew_token(settings, current))
            TOKEN_CACHE.store(key, entry)
            return entry
