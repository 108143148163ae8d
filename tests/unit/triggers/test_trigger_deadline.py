"""A trigger's deadline holds while a poll is still waiting for its answer."""

from __future__ import annotations

import json
import time
from typing import Any

import pytest

from airflow_provider_wfcancel.triggers import _base as triggers_base
from airflow_provider_wfcancel.triggers.domo import DomoInstanceTrigger
from tests.reliability import hostile


async def test_a_poll_still_running_at_the_deadline_ends_in_a_timeout_event(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The server drips its answer; the connection allows each attempt 10 s, the trigger's deadline is
    0.5 s away. The trigger reports ``timeout`` at its deadline instead of waiting out the request."""
    monkeypatch.setattr(triggers_base, "MIN_POLL_SECONDS", 0.1)
    with hostile.hostile_server(lambda request: hostile.drip_body) as server:
        conn = {
            "conn_type": "domo",
            "host": server.url,
            "password": "t0ken",
            "extra": {"timeout": 5, "max_retries": 0},
        }
        monkeypatch.setenv("AIRFLOW_CONN_DRIPPING", json.dumps(conn))
        trigger = DomoInstanceTrigger(
            conn_id="dripping", instance_id="abc", deadline=time.time() + 0.5, poll_interval=0.05
        )
        events: list[Any] = [event.payload async for event in trigger.run()]
    assert [event["status"] for event in events] == ["timeout"]
    assert "no status could be read" in events[0]["message"]
    assert events[0]["last_status"] is None
