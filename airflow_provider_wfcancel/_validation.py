"""Checks on ids before they go anywhere near a URL."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Collection
from datetime import timedelta
from typing import Any

from airflow_provider_wfcancel.exceptions import InvalidInputError

MAX_ID_LENGTH = 256
# What a template renders to when the value it reads is missing.
_PLACEHOLDER_IDS = {"none", "null", "undefined", "nan"}


def is_missing_id(value: Any) -> bool:
    """True for what a template renders when the id it reads was never set: ``None``, a blank string or a
    placeholder such as ``"None"`` (the one definition the notifiers' skip and :func:`validate_id` share)."""
    return value is None or (isinstance(value, str) and value.strip().lower() in {"", *_PLACEHOLDER_IDS})


def blank_as_none(value: Any) -> Any:
    """``None`` for an empty or whitespace-only string (what a UI form sends for an empty optional field),
    else ``value`` unchanged."""
    return None if isinstance(value, str) and not value.strip() else value


def as_bool(name: str, value: Any) -> bool:
    """Accept a real bool, or the text a non-native template renders (``"True"``, ``"false"``)."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "false"):
        return text == "true"
    raise InvalidInputError(f"{name} must be true or false, got {value!r}")


def check_conn_id(name: str, value: Any) -> str:
    """A connection id (templated, so checked when used)."""
    if not isinstance(value, str) or not value.strip():
        raise InvalidInputError(f"{name} must be a non-empty string, got {value!r}")
    return value.strip()


def check_seconds(name: str, value: Any, *, minimum: float, maximum: float = 366 * 24 * 3600.0) -> float:
    """A finite number of seconds in ``[minimum, maximum]``; NaN, infinity, bools and text are refused."""
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not minimum <= value <= maximum
    ):
        raise InvalidInputError(
            f"{name} must be a number >= {minimum:g} and at most {maximum:,.0f} seconds, got {value!r}"
        )
    return float(value)


def check_duration(name: str, value: Any, *, minimum: float) -> float:
    """:func:`check_seconds` for an argument Airflow also takes as a ``timedelta`` (a sensor's
    ``poke_interval`` and ``timeout``)."""
    return check_seconds(
        name, value.total_seconds() if isinstance(value, timedelta) else value, minimum=minimum
    )


def check_statuses(field: str, value: Any, *, known: Collection[str], service: str) -> frozenset[str]:
    """A non-empty list of status names, each one of ``known`` (compared without case); the error names
    ``field`` and lists the names it takes."""
    choices = ", ".join(sorted(known))
    if isinstance(value, str | bytes) or not isinstance(value, list | tuple | set | frozenset):
        raise InvalidInputError(
            f"{field} must be a list of {service} status names (some of {choices}), "
            f"got {type(value).__name__} {_shorten(repr(value))}"
        )
    if not value:
        raise InvalidInputError(f"{field} is empty; leave it unset to accept only success")
    names: set[str] = set()
    for item in value:
        name = item.strip().upper() if isinstance(item, str) else None
        if name is None or name not in known:
            raise InvalidInputError(
                f"{field} holds {_shorten(repr(item))}, which is not a terminal {service} status; "
                f"it takes some of {choices}"
            )
        names.add(name)
    return frozenset(names)


def check_header_secret(value: str, *, field: str) -> str:
    """A credential sent in an HTTP header must be visible ASCII (no spaces, no line breaks). The error
    names the field and never the value."""
    if not all("!" <= c <= "~" for c in value):
        raise InvalidInputError(
            f"{field} contains characters an HTTP header cannot carry (spaces, line breaks, non-ASCII); "
            "paste the value again without them"
        )
    return value


def check_no_control_characters(value: str, *, field: str) -> str:
    """A secret that is only hashed may hold any printable text, but not control characters; the error
    never shows the value."""
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise InvalidInputError(f"{field} contains control characters (a line break?); paste it again")
    return value


def check_json(value: Any, *, field: str) -> Any:
    """``value`` if JSON can carry it exactly: no NaN or infinity, nothing but dicts, lists, strings,
    numbers, bools and None."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError, RecursionError) as error:
        raise InvalidInputError(f"{field} cannot be sent as JSON: {error}") from None
    return value


#: Control characters (C0 and DEL), refused anywhere in an id.
_CONTROL_CHARACTER = re.compile(r"[\x00-\x1f\x7f]")
#: What would change the path or query an id is put in: a separator, an escape, or a parent step.
_NOT_IN_AN_ID = re.compile(r"[/\\?#%]|\.\.")


def _shorten(value: str, limit: int = 80) -> str:
    return value if len(value) <= limit else f"{value[:limit]}... ({len(value)} characters)"


def validate_id(value: Any, *, field: str, pattern: re.Pattern[str] | None = None, example: str = "") -> str:
    """Return ``value`` stripped, or raise :class:`InvalidInputError` saying what is wrong with it."""
    if value is None:
        raise InvalidInputError(f"{field} is required but got None")
    if not isinstance(value, str):
        raise InvalidInputError(
            f"{field} must be a string, got {type(value).__name__} {_shorten(repr(value))}"
        )
    text = value.strip()
    if not text:
        raise InvalidInputError(f"{field} is empty (did a template render to an empty string?)")
    if text.lower() in _PLACEHOLDER_IDS:
        raise InvalidInputError(
            f"{field} is {text!r}, which is what a template renders when its value is missing"
        )
    if len(text) > MAX_ID_LENGTH:
        raise InvalidInputError(f"{field} is too long: {len(text)} characters (at most {MAX_ID_LENGTH})")
    if _CONTROL_CHARACTER.search(text):
        raise InvalidInputError(f"{field} contains control characters: {_shorten(repr(text))}")
    if _NOT_IN_AN_ID.search(text):
        bad = sorted(set(_NOT_IN_AN_ID.findall(text)))
        raise InvalidInputError(f"{field} {_shorten(text)!r} contains characters not allowed in an id: {bad}")
    if pattern is not None and not pattern.fullmatch(text):
        hint = f" (expected something like {example!r})" if example else ""
        raise InvalidInputError(f"{field} {_shorten(text)!r} is not a valid id{hint}")
    return text
