"""Why an instance failed, as both services can tell it: the shape of a failure detail, its bounds, and
the pure helpers that keep it small (no I/O; what each service reads is in :mod:`.domo` and
:mod:`.enos.task_logs`).

A detail is JSON-safe and bounded whatever the service answers: at most ``max_tasks`` failed tasks, each
with at most the last ``max_lines`` lines and ``max_bytes`` bytes (UTF-8) of its log, every other string
cut to ``max_bytes``. Redaction is the caller's (``_failure_path``): the protocol layer knows no secrets.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypedDict

#: How much of a log is looked at before its last lines are taken: a log of any size costs the same.
LOG_WINDOW_FACTOR = 4


@dataclass(frozen=True)
class DetailBounds:
    """How much a failure detail may hold, and how long reading it may take (each request is also bounded
    by the HTTP layer: the connection's timeout, retry budget and ``max_response_bytes``)."""

    max_tasks: int = 3
    max_lines: int = 20
    max_bytes: int = 4096
    #: Seconds for all the detail's requests together; a log not asked for by then is reported as such.
    deadline: float = 60.0


DEFAULT_BOUNDS = DetailBounds()


class TaskFailure(TypedDict):
    """One failed task node (EnOS) and the end of its log."""

    name: str | None
    task_id: str | None
    task_instance_id: str | None
    status: str | None
    log: list[str]
    log_truncated: bool
    log_error: str | None


class FailureDetail(TypedDict):
    """Why an instance ended in failure, as far as the service tells (XCom ``failure_detail``)."""

    status: str | None
    message: str | None
    record: dict[str, Any]
    tasks: list[TaskFailure]
    tasks_not_shown: int
    error: str | None


def empty_detail(status: str | None, error: str | None = None) -> FailureDetail:
    """A detail with nothing read (``error`` says why)."""
    return FailureDetail(status=status, message=None, record={}, tasks=[], tasks_not_shown=0, error=error)


def clip(value: Any, max_bytes: int) -> str | None:
    """``value`` as text of at most ``max_bytes`` UTF-8 bytes (its start), ``None`` for ``None``."""
    if value is None:
        return None
    text = value if isinstance(value, str) else str(value)
    text = text[:max_bytes]
    encoded = text.encode("utf-8")
    if len(encoded) <= max_bytes:
        return text
    return encoded[:max_bytes].decode("utf-8", "ignore")


def record_fields(record: Mapping[str, Any], names: Iterable[str], max_bytes: int) -> dict[str, Any]:
    """The scalar ``names`` of an instance record, strings clipped (nested values are left out)."""
    kept: dict[str, Any] = {}
    for name in names:
        value = record.get(name)
        if isinstance(value, bool | int | float) or value is None:
            if name in record:
                kept[name] = value
        elif isinstance(value, str):
            kept[name] = clip(value, max_bytes)
    return kept


def tail(text: str, max_lines: int, max_bytes: int) -> tuple[list[str], bool]:
    """The last ``max_lines`` whole lines of ``text``, and whether anything was left out. Only the last
    ``LOG_WINDOW_FACTOR * max_bytes`` characters are looked at, and the window's first line, a partial one,
    is dropped. No line is cut here: a cut inside a secret would leave a piece no masker recognises, so
    the caller bounds the bytes (:func:`bounded_lines`) after it has redacted the whole lines."""
    window = LOG_WINDOW_FACTOR * max_bytes
    truncated = len(text) > window
    lines = text[-window:].splitlines()
    if truncated:
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines[-max_lines:], truncated or len(lines) > max_lines


def bounded_lines(
    lines: list[str], max_lines: int, max_bytes: int, truncated: bool = False
) -> tuple[list[str], bool]:
    """The last of ``lines`` that fit ``max_lines`` and ``max_bytes`` (newlines not counted)."""
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    kept: list[str] = []
    size = 0
    for line in reversed(lines):
        if len(kept) == max_lines:
            return kept[::-1], True
        encoded = line.encode("utf-8")
        if size + len(encoded) > max_bytes:
            room = max_bytes - size
            if room > 0 and not kept:
                kept.append(encoded[-room:].decode("utf-8", "ignore"))
            return kept[::-1], True
        kept.append(line)
        size += len(encoded)
    return kept[::-1], truncated
