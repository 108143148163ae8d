"""Fixtures of the reliability suite: sentinel credentials, the leak scan and the transition counter."""

from __future__ import annotations

import socket
from typing import Any

import pytest
from pytest_mock import MockerFixture

from tests.reliability.support import LeakScan, Transitions, register_sentinels, spy_on_transitions


@pytest.fixture
def sentinel_emu(emu: Any) -> Any:
    """The reset emulator, knowing the sentinel credentials, with cancels that take effect at once."""
    register_sentinels(emu.control)
    emu.control.configure(domo_cancel_delay=0, enos_cancel_delay=0)
    return emu


@pytest.fixture
def leak_scan(sentinel_emu: Any, mocker: MockerFixture) -> LeakScan:
    return LeakScan(sentinel_emu).install(mocker)


@pytest.fixture
def transitions(monkeypatch: pytest.MonkeyPatch) -> Transitions:
    return spy_on_transitions(monkeypatch)


@pytest.fixture
def closed_port_url() -> str:
    """A loopback URL nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"
