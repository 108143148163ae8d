"""Start times in every form the specifications and their samples show; anything else reads as None."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from airflow_provider_wfcancel._protocol.times import parse_instance_time

AT = datetime(2026, 12, 7, 6, 20, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-12-07T06:20:00.000Z", AT),  # Domo: ISO UTC with millis
        ("2026-12-07T06:20:00Z", AT),
        ("2026-12-07T14:20:00+08:00", AT),
        ("2026-12-07 06:20:00", AT),  # EnOS: no zone, read as UTC
        ("2026-12-07 06:20:00.0", AT),  # EnOS `timestamp` adds .S
        (1796624400000, AT),  # epoch milliseconds
        ("1796624400000", AT),
        (1796624400, AT),  # epoch seconds
        (1796624400.0, AT),
        ("1796624400", AT),  # epoch seconds as 10 digits
        ("20261207062000", AT),  # compact yyyyMMddHHmmss (an EnOS instance id's suffix)
        ("20261207", AT.replace(hour=0, minute=20 - 20)),  # compact yyyyMMdd
    ],
)
def test_readable_times(value: Any, expected: datetime) -> None:
    parsed = parse_instance_time(value)
    assert parsed == expected
    assert parsed is not None
    assert parsed.tzinfo is not None


def test_a_zone_is_kept() -> None:
    parsed = parse_instance_time("2026-12-07T14:20:00+08:00")
    assert parsed is not None
    assert parsed.utcoffset() == timezone(timedelta(hours=8)).utcoffset(None)


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "  ",
        True,
        False,
        "yesterday",
        "07/12/2026 06:30",
        -1,
        float("nan"),
        float("inf"),
        10**30,
        "0001-01-01T00:00:00Z",
        "\uff12\uff10\uff12\uff16-12-07",  # full-width digits
        [],
        {},
        "2026-13-07T00:00:00Z",
        "179662440",  # 9 digits: neither epoch seconds nor milliseconds nor a compact date
        "17966244000000",  # 14 digits that are no yyyyMMddHHmmss (month 66)
        "123",
    ],
)
def test_unreadable_times_are_none(value: Any) -> None:
    assert parse_instance_time(value) is None
