from __future__ import annotations

import threading
from typing import Any

import pytest

from airflow_provider_wfcancel._http import SyncTransport
from airflow_provider_wfcancel.hooks import _base


@pytest.fixture
def transport_threads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The name of the thread that built each sync transport (session) a hook creates."""
    built_in: list[str] = []

    class RecordingTransport(SyncTransport):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            built_in.append(threading.current_thread().name)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(_base, "SyncTransport", RecordingTransport)
    return built_in
