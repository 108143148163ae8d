"""Paging through a service's listing, bounded whatever the server answers.

A server that ignores ``offset`` or ``pageNo``, caps a page below what was asked, leaves out or misstates
its count, or claims a billion matches, must neither keep a worker, a callback or an API-server thread
paging forever nor end a listing early. :func:`walk` asks for pages until the server answers an empty one,
or a short one whose instances are as many as the server said matched (a count that agrees with what was
seen; a count alone never ends a listing), and stops with :class:`ListingIncompleteError`, naming the
bound, when:

- a page holds no instance that an earlier page did not (the server does not page);
- :attr:`ListingBounds.max_pages` pages were read and the list goes on;
- :attr:`ListingBounds.deadline` seconds passed since the first page.

The bounds hold for one listing, however many walks it takes (EnOS: one per flow type): a
:class:`Budget` is started once per listing and shared. A caller that has what it needs stops iterating;
the walk never reads a page nobody asked for. (The Remote instances page also stops a listing whose client
disconnected, between two requests: ``ui/service.py``.)
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from airflow_provider_wfcancel._protocol.model import InstanceState
from airflow_provider_wfcancel.exceptions import ListingIncompleteError

#: At most this many pages per listing (Domo: 500 instances a page; EnOS: 100).
MAX_PAGES = 200
#: At most this many seconds per listing, from its first page (each request has its own bounds too).
LISTING_DEADLINE = 300.0


@dataclass(frozen=True)
class ListingBounds:
    """How far one listing may go."""

    max_pages: int = MAX_PAGES
    deadline: float = LISTING_DEADLINE

    def budget(self) -> Budget:
        """The pages and time one listing may use, from now."""
        return Budget(self.max_pages, time.monotonic() + self.deadline, self)


class Budget:
    """What is left of one listing's bounds; each page a walk reads takes one."""

    def __init__(self, pages: int, ends: float, bounds: ListingBounds) -> None:
        self.pages_left = pages
        self.ends = ends
        self.bounds = bounds

    def take_page(self) -> str | None:
        """Take one page; else the bound it would pass (the listing's first page is never refused for
        time: its request has its own time bounds)."""
        if self.pages_left <= 0:
            return f"it reached its page cap ({self.bounds.max_pages} pages)"
        first = self.pages_left == self.bounds.max_pages
        if not first and time.monotonic() > self.ends:
            return f"it passed its deadline ({self.bounds.deadline:g} s)"
        self.pages_left -= 1
        return None


DEFAULT_BOUNDS = ListingBounds()


def start_budget(bounds: ListingBounds | None = None) -> Budget:
    """The budget of one listing that starts now: ``bounds``, or :data:`DEFAULT_BOUNDS` as it is now."""
    return (bounds or DEFAULT_BOUNDS).budget()


class Page(NamedTuple):
    """One page of a listing, and how many instances the server said matched (``None``: it does not say)."""

    states: list[InstanceState]
    total: int | None = None


def walk(
    fetch: Callable[[int, int], Page],
    *,
    page_size: int,
    what: str,
    service: str,
    budget: Budget | None = None,
) -> Iterator[InstanceState]:
    """Each distinct instance of pages ``fetch(number, offset)`` (``number`` from 0; ``offset``: how many
    instances the earlier pages held) of ``page_size`` asked, in the server's order, within ``budget``
    (default: a new one, :func:`start_budget`)."""
    budget = budget or start_budget()
    seen: set[str] = set()
    served = 0

    def incomplete(reason: str) -> ListingIncompleteError:
        return ListingIncompleteError(
            f"listing {what} stopped after {len(seen)} instance(s): {reason}; nothing was acted on from a "
            "partial list",
            service=service,
        )

    for number in itertools.count():
        if (exceeded := budget.take_page()) is not None:
            raise incomplete(exceeded)
        page = fetch(number, served)
        if not page.states:
            return
        new = list({s.instance_id: s for s in page.states if s.instance_id not in seen}.values())
        if not new:
            raise incomplete(
                f"page {number + 1} held no instance the earlier pages did not (the server ignores paging)"
            )
        served += len(page.states)
        seen.update(state.instance_id for state in new)
        yield from new
        if len(page.states) < page_size and page.total is not None and len(seen) >= page.total:
            return
