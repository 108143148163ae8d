"""Paging through a service's listing, bounded whatever the server answers.

A server that ignores ``offset`` or ``pageNo``, or claims a billion matches, must not keep a worker, a
callback or an API-server thread paging forever. :func:`walk` reads pages until the server's list ends
(a short page, or as many instances as it said matched) and stops with :class:`ListingIncompleteError`,
naming the bound, when:

- a page holds no instance that an earlier page did not (the server does not page: ``offset``/``pageNo``
  ignored);
- :attr:`ListingBounds.max_pages` pages were read and the list goes on;
- :attr:`ListingBounds.deadline` seconds passed since the first page;
- :attr:`ListingBounds.should_stop` says the caller went away (the page's client disconnected).

A caller that has what it needs stops iterating; the walk never reads a page nobody asked for.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import NamedTuple

from airflow_provider_wfcancel._protocol.model import InstanceState
from airflow_provider_wfcancel.exceptions import ListingIncompleteError

#: At most this many pages per listing (Domo: 500 instances a page; EnOS: 100 per flow type).
MAX_PAGES = 200
#: At most this many seconds per listing, from its first page (each request has its own bounds too).
LISTING_DEADLINE = 300.0


@dataclass(frozen=True)
class ListingBounds:
    """How far one listing may go."""

    max_pages: int = MAX_PAGES
    deadline: float = LISTING_DEADLINE
    #: Polled before each page; ``True`` stops the listing (its caller no longer wants the answer).
    should_stop: Callable[[], bool] | None = None


DEFAULT_BOUNDS = ListingBounds()


class Page(NamedTuple):
    """One page of a listing, and how many instances the server said matched (``None``: it does not say)."""

    states: list[InstanceState]
    total: int | None = None


def walk(
    fetch: Callable[[int], Page],
    *,
    page_size: int,
    what: str,
    service: str,
    bounds: ListingBounds | None = None,
) -> Iterator[InstanceState]:
    """Each distinct instance of pages ``fetch(0)``, ``fetch(1)``, ... in the server's order, within
    ``bounds`` (default: :data:`DEFAULT_BOUNDS`)."""
    bounds = bounds or DEFAULT_BOUNDS
    seen: set[str] = set()
    served = 0
    started = time.monotonic()

    def incomplete(reason: str) -> ListingIncompleteError:
        return ListingIncompleteError(
            f"listing {what} stopped after {len(seen)} instance(s): {reason}; nothing was acted on from a "
            "partial list",
            service=service,
        )

    for number in itertools.count():
        if bounds.should_stop is not None and bounds.should_stop():
            raise incomplete("its caller went away")
        if number >= bounds.max_pages:
            raise incomplete(f"it reached its page cap ({bounds.max_pages} pages of {page_size})")
        if number and time.monotonic() - started > bounds.deadline:
            raise incomplete(f"it passed its deadline ({bounds.deadline:g} s)")
        page = fetch(number)
        new = list({s.instance_id: s for s in page.states if s.instance_id not in seen}.values())
        if page.states and not new:
            raise incomplete(
                f"page {number + 1} held no instance the earlier pages did not (the server ignores paging)"
            )
        served += len(page.states)
        seen.update(state.instance_id for state in new)
        yield from new
        if len(page.states) < page_size or (page.total is not None and served >= page.total):
            return
