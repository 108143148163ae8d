"""How EnOS credentials become request headers (spec 4.1, 4.3): the token request's ``encryption`` and
each call's ``apim-signature``, computed per attempt with a fresh, strictly increasing timestamp."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING

from airflow_provider_wfcancel._http import ApiRequest
from airflow_provider_wfcancel.exceptions import AuthenticationError

if TYPE_CHECKING:
    from airflow_provider_wfcancel._protocol.enos.tokens import CachedToken

SERVICE = "EnOS"


def token_encryption(app_key: str, timestamp_ms: int | str, app_secret: str) -> str:
    """``encryption`` of a token request: lowercase hex ``sha256(appKey + timestamp + appSecret)``."""
    return hashlib.sha256(f"{app_key}{timestamp_ms}{app_secret}".encode()).hexdigest()


def sign_request(
    access_token: str,
    params: Mapping[str, str],
    body: bytes | None,
    timestamp_ms: int | str,
    app_secret: str,
) -> str:
    """``apim-signature`` of an API call (spec 4.3).

    ``paramsData`` is every query parameter sorted by name, as ``name + value`` without separators,
    followed by the request body exactly as sent; the signature is the lowercase hex
    ``sha256(accessToken + paramsData + timestamp + appSecret)`` over UTF-8.

    Not shared with the emulator's ``emulator/signing.py``: see ``docs/design.md`` (independent readings).
    """
    params_data = "".join(f"{name}{params[name]}" for name in sorted(params))
    digest = hashlib.sha256(f"{access_token}{params_data}".encode())
    if body:
        digest.update(body)
    digest.update(f"{timestamp_ms}{app_secret}".encode())
    return digest.hexdigest()


_clock_lock = threading.Lock()
_last_timestamp_ms = 0


def fresh_timestamp_ms() -> int:
    """Current epoch milliseconds, strictly increasing within the process.

    The token service refuses a reused ``encryption`` (code 1001), which a repeated millisecond would cause.
    """
    global _last_timestamp_ms
    with _clock_lock:
        _last_timestamp_ms = max(int(time.time() * 1000), _last_timestamp_ms + 1)
        return _last_timestamp_ms


class StaleTokenError(AuthenticationError):
    """The access token expired while its request waited to be sent (nothing was sent)."""


class EnosGatewayAuth:
    """Signs each attempt of an API call with one access token (fresh timestamp per attempt). Signing
    happens right before the attempt is sent; a token that expired meanwhile is not sent."""

    def __init__(self, token: CachedToken, app_secret: str) -> None:
        self.token = token
        self._app_secret = app_secret

    def headers(self, request: ApiRequest) -> dict[str, str]:
        if not self.token.is_valid():
            raise StaleTokenError(
                "the EnOS access token expired before the request could be sent", service=SERVICE
            )
        access_token = self.token.token
        timestamp = str(fresh_timestamp_ms())
        signature = sign_request(access_token, request.params, request.body, timestamp, self._app_secret)
        return {"apim-accesstoken": access_token, "apim-timestamp": timestamp, "apim-signature": signature}

    def __repr__(self) -> str:
        return "EnosGatewayAuth(access_token=***, app_secret=***)"
