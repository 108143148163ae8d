"""The cancel-all time window: user times without a zone are in Airflow's default timezone, and an
instance it cannot place inside the window is excluded, never cancelled."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pendulum
import pytest

from airflow_provider_wfcancel._bulk_path import TimeWindow
from airflow_provider_wfcancel._protocol.model import InstanceState


def state(started: Any) -> InstanceState:
    return InstanceState(
        service="domo",
        instance_id="i-1",
        status="IN_PROGRESS",
        is_terminal=False,
        is_cancelled=False,
        started_at=started,
    )


def test_a_time_without_a_zone_is_in_airflows_default_timezone(monkeypatch: pytest.MonkeyPatch) -> None:
    import airflow.settings

    monkeypatch.setattr(airflow.settings, "TIMEZONE", pendulum.timezone("Asia/Shanghai"))
    window = TimeWindow.checked("2026-12-07T08:00:00", datetime(2026, 12, 7, 9, 0))
    assert window.after == datetime(2026, 12, 7, 0, 0, tzinfo=UTC)
    assert window.before == datetime(2026, 12, 7, 1, 0, tzinfo=UTC)


def test_a_time_with_a_zone_keeps_it() -> None:
    window = TimeWindow.checked("2026-12-07T08:00:00+08:00", None)
    assert window.after == datetime(2026, 12, 7, 0, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "started",
    [
        None,
        datetime(1970, 1, 1, tzinfo=UTC),  # an "unset" 0
        datetime(1999, 12, 31, 23, 59, tzinfo=UTC),
        datetime.now(UTC) + timedelta(days=2),  # more than a day ahead
        datetime(9999, 12, 31, tzinfo=UTC),
    ],
)
def test_an_instance_it_cannot_place_is_excluded_and_kept_for_the_report(started: Any) -> None:
    window = TimeWindow.checked(None, "2030-01-01T00:00:00Z")
    assert window(state(started)) is False
    assert [s.instance_id for s in window.unreadable] == ["i-1"]


def test_an_open_window_keeps_everything() -> None:
    window = TimeWindow.checked(None, None)
    assert window(state(None)) is True
    assert window.unreadable == []
