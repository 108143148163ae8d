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

import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
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


class OlderInARow:
    """When a walk asked newest first may stop: once ``run`` instances in a row started before ``cutoff``,
    and only while the server's order held (every readable start time no later than the one before)."""

    def __init__(self, cutoff: datetime | None, run: int) -> None:
        self.cutoff, self.run = cutoff, run
        self.in_order, self.in_a_row = True, 0
        self.previous: datetime | None = None

    def passed(self, state: InstanceState) -> bool:
        """Count ``state``; ``True`` when everything further is older than ``cutoff``."""
        created = state.started_at
        if created is not None:
            self.in_order = self.in_order and (self.previous is None or created <= self.previous)
            self.previous = created
        older = self.cutoff is not None and created is not None and created < self.cutoff
        self.in_a_row = self.in_a_row + 1 if older else 0
        return self.in_order and self.in_a_row >= self.run


class _Walk:
    """One walk's bookkeeping, shared by :func:`walk` and :func:`awalk` (only their ``fetch`` differs)."""

    def __init__(self, page_size: int, what: str, service: str, budget: Budget | None) -> None:
        self.page_size, self.what, self.service = page_size, what, service
        self.budget = budget or start_budget()
        self.seen: set[str] = set()
        self.served = 0
        self.number = -1

    def incomplete(self, reason: str) -> ListingIncompleteError:
        return ListingIncompleteError(
            f"listing {self.what} stopped after {len(self.seen)} instance(s): {reason}; nothing was acted on "
            "from a partial list",
            service=self.service,
        )

    def next_page(self) -> tuple[int, int]:
        """Take the next page from the budget: its ``(number, offset)``."""
        if (exceeded := self.budget.take_page()) is not None:
            raise self.incomplete(exceeded)
        self.number += 1
        return self.number, self.served

    def accept(self, page: Page) -> tuple[list[InstanceState], bool]:
        """The page's new instances, and whether the listing ended with it."""
        if not page.states:
            return [], True
        new = list({s.instance_id: s for s in page.states if s.instance_id not in self.seen}.values())
        if not new:
            raise self.incomplete(
                f"page {self.number + 1} held no instance the earlier pages did not (the server ignores paging)"
            )
        self.served += len(page.states)
        self.seen.update(state.instance_id for state in new)
        short = len(page.states) < self.page_size
        return new, short and page.total is not None and len(self.seen) >= page.total


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
    state = _Walk(page_size, what, service, budget)
    while True:
        new, done = state.accept(fetch(*state.next_page()))
        yield from new
        if done:
            return


async def awalk(
    fetch: Callable[[int, int], Awaitable[Page]],
    *,
    page_size: int,
    what: str,
    service: str,
    budget: Budget | None = None,
) -> AsyncIterator[InstanceState]:
    """Async twin of :func:`walk` (triggers): ``fetch`` is awaited."""
    state = _Walk(page_size, what, service, budget)
    while True:
        new, done = state.accept(await fetch(*state.next_page()))
        for instance in new:
            yield instance
        if done:
            return
