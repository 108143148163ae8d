"""Test clients for the emulator: Domo, signed EnOS calls, and a fake clock."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from typing import Any

import requests

from airflow_provider_wfcancel.emulator import (
    DEFAULT_DOMO_TOKEN,
    DEFAULT_ENOS_APP_KEY,
    DEFAULT_ENOS_APP_SECRET,
    DEFAULT_ENOS_ORG_ID,
    DEFAULT_ENOS_USER_ID,
    enos_encryption,
    enos_signature,
)

DOMO_BASE = "/api/workflow/v1"


class FakeClock:
    """Manually advanced epoch clock."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class DomoClient:
    """Minimal Domo client for contract tests."""

    def __init__(self, base_url: str, token: str | None = DEFAULT_DOMO_TOKEN) -> None:
        self.base_url = base_url
        self.session = requests.Session()
        if token is not None:
            self.session.headers["X-DOMO-Developer-Token"] = token

    def start(self, **overrides: Any) -> requests.Response:
        body = {"messageName": "Start AddTwoNumbers", "version": "1.1.0", "modelId": "m-1", "data": {"a": 1}}
        return self.session.post(f"{self.base_url}{DOMO_BASE}/instances/message", json={**body, **overrides})

    def get(self, instance_id: str) -> requests.Response:
        return self.session.get(f"{self.base_url}{DOMO_BASE}/instances/{instance_id}")

    def cancel(self, instance_id: str) -> requests.Response:
        return self.session.post(f"{self.base_url}{DOMO_BASE}/instances/{instance_id}/cancel")

    def list(self, **params: Any) -> requests.Response:
        return self.session.get(f"{self.base_url}{DOMO_BASE}/instances", params=params)


class EnosClient:
    """Signs EnOS calls exactly like a third-party client should (spec section 4)."""

    def __init__(
        self,
        base_url: str,
        clock: Callable[[], float] = time.time,
        app_key: str = DEFAULT_ENOS_APP_KEY,
        app_secret: str = DEFAULT_ENOS_APP_SECRET,
    ) -> None:
        self.base_url = base_url
        self.clock = clock
        self.app_key = app_key
        self.app_secret = app_secret
        self.session = requests.Session()
        self._last_ms = 0

    def timestamp(self) -> int:
        """Epoch ms, unique per call (the token service rejects a reused encryption)."""
        self._last_ms = max(int(self.clock() * 1000), self._last_ms + 1)
        return self._last_ms

    def token_call(self, op: str = "get", **extra: Any) -> dict[str, Any]:
        """Call ``token/get`` or ``token/refresh`` and return the JSON answer."""
        ts = self.timestamp()
        encryption = enos_encryption(self.app_key, ts, self.app_secret)
        body = {"appKey": self.app_key, "encryption": encryption, "timestamp": ts, **extra}
        response = self.session.post(f"{self.base_url}/apim-token-service/v2.0/token/{op}", json=body)
        result: dict[str, Any] = response.json()
        return result

    def token(self) -> str:
        result = self.token_call()
        assert result["status"] == 0, result
        token: str = result["data"]["accessToken"]
        return token

    def call(
        self,
        method: str,
        resource: str,
        action: str | None,
        body: Any = None,
        *,
        token: str | None = None,
        user_id: str = DEFAULT_ENOS_USER_ID,
        org_id: str = DEFAULT_ENOS_ORG_ID,
        timestamp: int | None = None,
        **params: str,
    ) -> requests.Response:
        query = {"userId": user_id, "orgId": org_id, **params}
        if action is not None:
            query["action"] = action
        raw = b"" if body is None else json.dumps(body).encode()
        access_token = token or self.token()
        ts = str(timestamp if timestamp is not None else self.timestamp())
        headers = {
            "apim-accesstoken": access_token,
            "apim-timestamp": ts,
            "apim-signature": enos_signature(access_token, query, raw, ts, self.app_secret),
            "Content-Type": "application/json;charset=UTF-8",
        }
        return self.session.request(
            method,
            f"{self.base_url}/batch-processing-service/v2.1/{resource}",
            params=query,
            data=raw or None,
            headers=headers,
        )

    def cancel(self, instance_id: str, **kwargs: Any) -> requests.Response:
        return self.call("POST", "flowInstances", "cancel", {"flowInstId": instance_id}, **kwargs)

    def get(self, instance_id: str, **kwargs: Any) -> requests.Response:
        return self.call("GET", "flowInstances", "get", flowInstId=instance_id, **kwargs)
