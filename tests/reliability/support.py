"""Sentinel credentials, connection builders, an emulator-side transition counter and the secret-leak scan."""

from __future__ import annotations

import json
import logging
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
from pytest_mock import MockerFixture

from airflow_provider_wfcancel.emulator import DEFAULT_ENOS_ORG_ID, DEFAULT_ENOS_USER_ID
from tests.reliability.cases import DROP, EMULATOR, USERINFO_SECRET, Service

# Distinctive values, so a scan for them cannot match anything by accident.
DOMO_TOKEN = "SENTINEL-domo-token-5b0c3f7e9a21"
DOMO_UNREGISTERED_TOKEN = "SENTINEL-unregistered-domo-token-84d2"
DOMO_NO_GRANT_TOKEN = "SENTINEL-no-grant-domo-token-1e6f"
ENOS_APP_KEY = "sentinel-app-key"  # the Access Key is an identifier, logged on purpose; not scanned
ENOS_APP_SECRET = "SENTINEL-enos-app-secret-c47d19"
ENOS_WRONG_SECRET = "SENTINEL-wrong-enos-secret-09ab"
STATIC_SECRETS = {
    "Domo token": DOMO_TOKEN,
    "unregistered Domo token": DOMO_UNREGISTERED_TOKEN,
    "no-grant Domo token": DOMO_NO_GRANT_TOKEN,
    "EnOS appSecret": ENOS_APP_SECRET,
    "wrong EnOS appSecret": ENOS_WRONG_SECRET,
    "password in a host URL": USERINFO_SECRET,
}
CONN_IDS: dict[Service, str] = {"domo": "domo_default", "enos": "enos_default"}


def register_sentinels(control: Any) -> None:
    """Make the emulator know the sentinel credentials (call after every reset)."""
    control.add_domo_token(DOMO_TOKEN)
    control.add_domo_token(DOMO_NO_GRANT_TOKEN, workflow_grant=False)
    control.add_enos_app(ENOS_APP_KEY, ENOS_APP_SECRET)


def connection(service: Service, host: str, *, credentials: str = "sentinel", **extra: Any) -> dict[str, Any]:
    """A connection (JSON fields) with sentinel credentials and ``max_retries=3``."""
    if service == "domo":
        token = {"unregistered": DOMO_UNREGISTERED_TOKEN, "no_grant": DOMO_NO_GRANT_TOKEN}.get(
            credentials, DOMO_TOKEN
        )
        return {"conn_type": "domo", "host": host, "password": token, "extra": {"max_retries": 3, **extra}}
    secret = ENOS_WRONG_SECRET if credentials == "wrong_secret" else ENOS_APP_SECRET
    return {
        "conn_type": "enos",
        "host": host,
        "login": ENOS_APP_KEY,
        "password": secret,
        "extra": {"org_id": DEFAULT_ENOS_ORG_ID, "user_id": DEFAULT_ENOS_USER_ID, "max_retries": 3, **extra},
    }


def changed(conn: Mapping[str, Any], changes: Mapping[str, Any], emulator_url: str) -> dict[str, Any]:
    """``conn`` with ``changes`` applied (``DROP`` removes; ``extra`` merges; ``{emulator}`` is filled in)."""

    def fill(value: Any) -> Any:
        return value.replace(EMULATOR, emulator_url) if isinstance(value, str) else value

    result = {**conn, "extra": dict(conn.get("extra", {}))}
    for name, value in changes.items():
        if name == "extra" and isinstance(value, str):
            result["extra"] = value  # extras as Airflow stores them: text that should hold a JSON object
        elif name == "extra":
            for key, item in value.items():
                if item == DROP:
                    result["extra"].pop(key, None)
                else:
                    result["extra"][key] = fill(item)
        elif value == DROP:
            result.pop(name, None)
        else:
            result[name] = fill(value)
    return result


def set_connection(monkeypatch: pytest.MonkeyPatch, conn_id: str, conn: Mapping[str, Any]) -> None:
    monkeypatch.setenv(f"AIRFLOW_CONN_{conn_id.upper()}", json.dumps(conn))


@dataclass
class Transitions:
    """Counts cancel requests the emulator applied (``scheduled``) and repeats it absorbed (``absorbed``)."""

    scheduled: int = 0
    absorbed: int = 0


def spy_on_transitions(monkeypatch: pytest.MonkeyPatch) -> Transitions:
    """Wrap the emulator's ``Lifecycle.request_cancel`` (the emulator runs in this process)."""
    from airflow_provider_wfcancel.emulator import state

    counter = Transitions()
    original = state.Lifecycle.request_cancel

    def request_cancel(self: Any, now: float, delay: float) -> None:
        if self.cancel_at is None:
            counter.scheduled += 1
        else:
            counter.absorbed += 1
        original(self, now, delay)

    monkeypatch.setattr(state.Lifecycle, "request_cancel", request_cancel)
    return counter


@dataclass
class LeakScan:
    """Collects every secret a run produced and checks that none reached an observable surface.

    Secrets: the sentinel credentials, every EnOS access token the emulator issued (and the one in the hook's
    token cache), and every request signature and token-request encryption the hook computed (recorded by
    spies on ``sign_request`` and ``token_encryption``).
    """

    emulator: Any
    signature_spy: Any = None
    encryption_spy: Any = None

    def install(self, mocker: MockerFixture) -> LeakScan:
        from airflow_provider_wfcancel._protocol.enos import exchanges, signing

        self.signature_spy = mocker.spy(signing, "sign_request")
        self.encryption_spy = mocker.spy(exchanges, "token_encryption")
        return self

    @property
    def signatures(self) -> list[str]:
        return list(self.signature_spy.spy_return_list) if self.signature_spy else []

    @property
    def encryptions(self) -> list[str]:
        return list(self.encryption_spy.spy_return_list) if self.encryption_spy else []

    def issued_tokens(self) -> list[str]:
        state = self.emulator.app_state
        with state.lock:
            return list(state.data.enos_tokens)

    def cached_tokens(self) -> list[str]:
        from airflow_provider_wfcancel._protocol.enos.tokens import TOKEN_CACHE
        from airflow_provider_wfcancel.hooks.enos import EnosHook

        try:
            entry = TOKEN_CACHE.get(EnosHook(CONN_IDS["enos"]).settings.token_key)
        except Exception:  # no usable EnOS connection in this test: nothing can be cached for it
            return []
        return [entry.token] if entry is not None else []

    def secrets(self) -> list[tuple[str, str]]:
        """``(kind, value)`` of every secret known so far."""
        pairs = list(STATIC_SECRETS.items())
        pairs += [("EnOS access token", t) for t in sorted({*self.issued_tokens(), *self.cached_tokens()})]
        pairs += [("EnOS apim-signature", s) for s in sorted(set(self.signatures))]
        pairs += [("EnOS token-request encryption", e) for e in sorted(set(self.encryptions))]
        return pairs

    def leaks(self, surfaces: Mapping[str, str]) -> list[str]:
        secrets = self.secrets()
        return sorted(
            {
                f"{kind} found in {where}"
                for where, text in surfaces.items()
                for kind, secret in secrets
                if secret in text
            }
        )

    def assert_clean(self, surfaces: Mapping[str, str]) -> None:
        leaks = self.leaks(surfaces)
        assert not leaks, "secret leak: " + "; ".join(leaks)


def log_surfaces(caplog: pytest.LogCaptureFixture, captured: pytest.CaptureResult[str]) -> dict[str, str]:
    """Captured library logs (stdlib, DEBUG) and the task log (structlog writes to stdout)."""
    records = "\n".join(f"{r.getMessage()}\n{r.exc_text or ''}" for r in caplog.records)
    return {
        "log records": records,
        "formatted log": caplog.text,
        "stdout/stderr": captured.out + captured.err,
    }


def error_surfaces(error: BaseException | None) -> dict[str, str]:
    if error is None:
        return {}
    chain = "".join(traceback.format_exception(error))
    return {"exception text": str(error), "exception repr": repr(error), "traceback": chain}


def emulator_surfaces(control: Any) -> dict[str, str]:
    """What the server saw: paths, queries, and the rest of each logged request."""
    entries = control.requests()
    return {
        "request URLs": "\n".join(
            f"{e['path']}?{json.dumps(e['query'], ensure_ascii=False)}" for e in entries
        ),
        "request log": json.dumps(entries, ensure_ascii=False),
    }


def template_surfaces(operator: Any) -> dict[str, str]:
    return {
        f"template field {name}": json.dumps(getattr(operator, name, None), default=repr, ensure_ascii=False)
        for name in operator.template_fields
    }


def json_surface(name: str, value: Any) -> dict[str, str]:
    return {name: json.dumps(value, default=repr, ensure_ascii=False)}


def combined(surfaces: Iterable[Mapping[str, str]]) -> dict[str, str]:
    result: dict[str, str] = {}
    for part in surfaces:
        result.update(part)
    return result


def enable_debug_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
