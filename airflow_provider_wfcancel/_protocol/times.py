"""Reading the start time a service reports for an instance (no I/O, no Airflow).

The forms the specifications and their samples show:

- Domo: ISO-8601 UTC with milliseconds, ``2023-11-15T15:28:57.479Z``;
- EnOS: ``yyyy-MM-dd HH:mm:ss`` without a zone (``timestamp`` adds ``.S``), and epoch milliseconds in its
  request fields (``fromTriggerTime``), which a gateway may echo in answers.

A time without a zone is read as UTC: Domo documents UTC; EnOS documents no zone (its spec's unknown 8), and
the EnOS window is also applied by the service itself, in epoch milliseconds, so a wrong guess here can only
exclude an instance near an edge of the window, never add one. Digit-only text is read by its length:
10 or 13 digits are epoch seconds or milliseconds, 8 or 14 digits the compact ``yyyyMMdd[HHmmss]`` (the
form inside an EnOS instance id); any other length names no time. Anything else (missing, a boolean, an
unparseable text, a number out of range) reads as ``None``: the caller decides, and a time window then
excludes the instance (fails closed).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import Any

#: Epoch values at or above this are milliseconds (1e11 s is the year 5138; 1e11 ms is 1973).
_MILLISECONDS_FROM = 10**11
#: Years a start time may name (outside: unreadable, not a time the service meant).
_YEARS = range(1970, 10000)


def parse_instance_time(value: Any) -> datetime | None:
    """The aware datetime ``value`` names, or ``None`` when it names none."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return _from_epoch(value)
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.isascii() and text.isdigit():
        return _from_digits(text)
    if not text or not text.isascii():
        return None
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return None
    if parsed.year not in _YEARS:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


#: Digit-only text: its length decides what it is (``None``: epoch).
_DIGIT_FORMATS = {8: "%Y%m%d", 10: None, 13: None, 14: "%Y%m%d%H%M%S"}


def _from_digits(text: str) -> datetime | None:
    if len(text) not in _DIGIT_FORMATS:
        return None
    pattern = _DIGIT_FORMATS[len(text)]
    if pattern is None:
        return _from_epoch(int(text))
    try:
        return datetime.strptime(text, pattern).replace(tzinfo=UTC)
    except ValueError:
        return None


def _from_epoch(value: float) -> datetime | None:
    if not math.isfinite(value) or value < 0:
        return None
    seconds = value / 1000 if value >= _MILLISECONDS_FROM else value
    try:
        parsed = datetime.fromtimestamp(seconds, tz=UTC)
    except (OverflowError, OSError, ValueError):
        return None
    return parsed if parsed.year in _YEARS else None
