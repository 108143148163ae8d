"""The leak scan itself: it must catch a planted secret on each surface, or a clean result means nothing."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from airflow_provider_wfcancel.hooks.enos import EnosHook
from tests.reliability.support import (
    CONN_IDS,
    DOMO_TOKEN,
    ENOS_APP_SECRET,
    LeakScan,
    connection,
    emulator_surfaces,
    error_surfaces,
    log_surfaces,
    set_connection,
)


def test_planted_secrets_are_found(
    sentinel_emu: Any,
    leak_scan: LeakScan,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("airflow_provider_wfcancel.test").debug("token is %s", DOMO_TOKEN)
    print(f"secret {ENOS_APP_SECRET}")
    error = RuntimeError(f"boom {DOMO_TOKEN}")  # the provider's own errors mask registered secrets
    leaks = leak_scan.leaks({**log_surfaces(caplog, capsys.readouterr()), **error_surfaces(error)})
    assert "Domo token found in log records" in leaks
    assert "EnOS appSecret found in stdout/stderr" in leaks
    # Surfaces are told apart. (Not the log record on stdout: Airflow 3.0's console handler prints DEBUG.)
    assert "EnOS appSecret found in log records" not in leaks
    assert "Domo token found in exception text" in leaks


def test_access_tokens_and_signatures_are_collected(
    sentinel_emu: Any, leak_scan: LeakScan, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_connection(monkeypatch, CONN_IDS["enos"], connection("enos", sentinel_emu.base_url))
    running = sentinel_emu.control.create_enos_instance(status=2)
    EnosHook(CONN_IDS["enos"]).get_state(running["instanceId"])
    kinds = [kind for kind, _ in leak_scan.secrets()]
    assert kinds.count("EnOS access token") == 1
    assert kinds.count("EnOS apim-signature") == 1
    assert kinds.count("EnOS token-request encryption") == 1
    signature = leak_scan.signatures[0]
    assert leak_scan.leaks({"planted": f"x{signature}x"}) == ["EnOS apim-signature found in planted"]
    # The emulator redacts credentials in its own log, so the request log is a fair surface to scan.
    assert leak_scan.leaks(emulator_surfaces(sentinel_emu.control)) == []
