"""EnOS APIM signing scheme, as the emulator checks it (pure functions).

Deliberately written apart from the hook's ``sign_request``/``token_encryption`` (``hooks/enos.py``):
the two are independent readings of the spec, so a misreading in one makes the hook and the emulator
disagree instead of hiding in code both use.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping


def enos_encryption(app_key: str, timestamp: str | int, app_secret: str) -> str:
    """``encryption`` for the token service: ``sha256(appKey + timestamp + appSecret)``, lowercase hex."""
    return hashlib.sha256(f"{app_key}{timestamp}{app_secret}".encode()).hexdigest()


def enos_signature(
    access_token: str,
    query: Mapping[str, str] | Iterable[tuple[str, str]],
    body: bytes,
    timestamp: str | int,
    app_secret: str,
) -> str:
    """``apim-signature`` of an API call.

    ``sha256(accessToken + paramsData + timestamp + appSecret)`` as lowercase hex, where ``paramsData`` is every
    URL-decoded query parameter sorted by name (stable for repeated names) as ``name + value``, followed by the raw
    request body bytes.
    """
    pairs = list(query.items()) if isinstance(query, Mapping) else list(query)
    params = "".join(f"{name}{value}" for name, value in sorted(pairs, key=lambda pair: pair[0]))
    message = f"{access_token}{params}".encode() + body + f"{timestamp}{app_secret}".encode()
    return hashlib.sha256(message).hexdigest()
