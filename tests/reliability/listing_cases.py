"""Rows of the listing and time-window fault matrix: a scripted server (transport mocks) behind the
cancel-all operators, hooks and notifiers. Each row is one test in ``test_listings.py``; the generated table
in docs/reliability.md comes from here."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class ListingCase:
    id: str
    service: Literal["domo", "enos"]
    #: What the scripted server does.
    server: str
    #: What the provider does (asserted by the test of the same id).
    expected: str


LISTING_CASES: tuple[ListingCase, ...] = (
    ListingCase(
        "domo-list-ignores-offset",
        "domo",
        "answers every page of `GET /instances` with the same 500 running instances",
        "cancel-all fails with `ListingIncompleteError` (“the server ignores paging”) after 2 list requests; "
        "0 cancels",
    ),
    ListingCase(
        "domo-list-endless-history",
        "domo",
        "answers every offset with 500 new finished instances, forever",
        "cancel-all fails at the page cap (`ListingBounds.max_pages`, 200 by default; 5 in the test) after "
        "exactly that many requests; 0 cancels",
    ),
    ListingCase(
        "domo-list-short-pages",
        "domo",
        "caps every page at 100 instances although 500 were asked for; 250 running in all",
        "the next offset is what was served, and only an empty page ends the list: all 250 listed, 4 requests",
    ),
    ListingCase(
        "domo-list-past-deadline",
        "domo",
        "keeps answering with new pages after the listing's deadline passed",
        "fails naming the deadline (`ListingBounds.deadline`, 300 s by default) before the next page",
    ),
    ListingCase(
        "domo-list-repeats-ids",
        "domo",
        "lists one running instance 3 times on a page",
        "counted once against `max_instances=1`; 1 cancel",
    ),
    ListingCase(
        "domo-window-unsorted",
        "domo",
        "ignores `sort=createdOn:desc`: an old finished instance first, then two running ones inside "
        "`started_after`",
        "the walk ends early only after a whole page older than the window, in order: both running "
        "instances are cancelled",
    ),
    ListingCase(
        "enos-search-ignores-pageno",
        "enos",
        "answers every `pageNo` with the same 100 running instances and `count` 1e9",
        "cancel-all fails with `ListingIncompleteError` after 2 search requests; 0 cancels",
    ),
    ListingCase(
        "enos-search-endless",
        "enos",
        "answers every `pageNo` with 100 new running instances and `count` 1e9",
        "cancel-all (`max_instances` 10,000) fails at the page cap (4 in the test, shared by the three flow "
        "types) after 4 searches; 0 cancels",
    ),
    ListingCase(
        "enos-search-without-count",
        "enos",
        "answers pages of 100, 100 and 50 running instances with no `count`",
        "a missing count ends nothing: pages are read until an empty one, all 250 listed",
    ),
    ListingCase(
        "domo-notifier-endless-listing",
        "domo",
        "ignores `offset` behind a cancel-all notifier",
        "a failure callback logs the bound and returns; a Deadline Alert (or a runner without context) "
        "raises it; 2 list requests each; 0 cancels",
    ),
    ListingCase(
        "domo-window-unreadable-times",
        "domo",
        "lists running instances whose `createdOn` is ISO UTC, epoch ms, naive text, missing, garbage, 0 or "
        "9999-12-31",
        "the window keeps the readable ones inside it (naive read as UTC); missing, garbage and implausible "
        "times (before 2000, more than a day ahead) are excluded, logged and listed in the result's "
        "`excluded`, never cancelled",
    ),
    ListingCase(
        "enos-window-unreadable-times",
        "enos",
        "ignores the trigger-time range and lists `triggerTime` as EnOS text, epoch ms, missing or garbage",
        "the window re-checks each instance: outside ones skipped, unreadable ones excluded and reported",
    ),
)
