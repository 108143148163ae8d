"""The instances of one Domo model or EnOS flow that have ended lately: what an event trigger reads each poll.

One poll is one bounded listing (:mod:`._listing`: a page cap and a deadline shared by every page and flow
type, each request through the gateway's limiter), asked so that an instance that just ended is near the
top:

- Domo lists a model's instances newest created first, with no status filter: the poll reads back to
  ``window_start`` (an instance created before it is not seen ending) and keeps the terminal ones;
- EnOS filters by status and sorts by end time: the poll asks each flow type for the flow's terminal
  instances triggered since ``window_start``, latest ended first, and stops once a whole page in a row is
  ``known`` (everything further ended earlier, so is known too).

A listing cut short by a bound is returned with what it read and the reason (an event trigger still fires
for what it saw, and says so in its log).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from airflow_provider_wfcancel._protocol.enos.responses import STATUS_NAMES, TERMINAL_STATUSES
from airflow_provider_wfcancel.exceptions import ListingIncompleteError
from airflow_provider_wfcancel.hooks._listing import ListingBounds, OlderInARow, Page, awalk, start_budget

if TYPE_CHECKING:
    from airflow_provider_wfcancel._protocol.model import InstanceState
    from airflow_provider_wfcancel.hooks.domo import DomoHook
    from airflow_provider_wfcancel.hooks.enos import EnosHook

#: Instances asked per page (both services): a model or flow of a few runs a day fits one page (Domo then
#: reads an empty page too, which ends a listing without a count; EnOS one page per flow type).
PAGE_SIZE = 100
#: The EnOS status codes of an instance that has ended (FAIL, SUCCESS, INTERNAL_ERROR, TIMEOUT, CANCEL, SKIP).
ENOS_TERMINAL_CODES = tuple(sorted(code for code, name in STATUS_NAMES.items() if name in TERMINAL_STATUSES))


@dataclass(frozen=True)
class Finished:
    """What one poll read: the terminal instances (in the server's order), and why it stopped short, if it did."""

    states: list[InstanceState]
    stopped_short: str | None = None


async def _collect(
    instances: AsyncIterator[InstanceState], keep: Callable[[InstanceState], bool]
) -> Finished:
    """Each kept instance once (EnOS: one per flow type's listing), in the order first read."""
    found: dict[str, InstanceState] = {}
    try:
        async for state in instances:
            if keep(state):
                found.setdefault(state.instance_id, state)
    except ListingIncompleteError as error:
        return Finished(list(found.values()), str(error))
    return Finished(list(found.values()))


async def domo_finished(
    hook: DomoHook, model_id: str, version: str | None, window_start: datetime, bounds: ListingBounds
) -> Finished:
    """The terminal instances of ``model_id`` (of ``version``, if given) created since ``window_start``."""

    async def page(number: int, offset: int) -> Page:
        return Page(await hook.alist_instances(model_id, limit=PAGE_SIZE, offset=offset))

    window = OlderInARow(window_start, PAGE_SIZE)
    budget = start_budget(bounds)

    async def recent() -> AsyncIterator[InstanceState]:
        what = f"of Domo model {model_id}"
        async for state in awalk(page, page_size=PAGE_SIZE, what=what, service=hook.service, budget=budget):
            if window.passed(state):
                return  # a whole page created before the window, in order: everything further is older
            yield state

    def keep(state: InstanceState) -> bool:
        return state.is_terminal and (version is None or state.raw.get("modelVersion") == version)

    return await _collect(recent(), keep)


async def enos_finished(
    hook: EnosHook,
    flow_id: int,
    window_start: datetime,
    known: Callable[[str], bool],
    bounds: ListingBounds,
) -> Finished:
    """The terminal instances of ``flow_id`` triggered since ``window_start``, every flow type, latest ended
    first per type, down to a whole page of ``known`` ids."""
    flow = str(flow_id)
    low = int(window_start.timestamp() * 1000)
    high = int((datetime.now(UTC) + timedelta(days=1)).timestamp() * 1000)
    budget = start_budget(bounds)

    async def ended() -> AsyncIterator[InstanceState]:
        for flow_type in (0, 1, 2):

            async def page(number: int, offset: int, flow_type: int = flow_type) -> Page:
                answer = await hook.asearch_flow_instances(
                    flow_type=flow_type,
                    expression=flow,
                    from_trigger_time_ms=low,
                    to_trigger_time_ms=high,
                    statuses=ENOS_TERMINAL_CODES,
                    page_no=number + 1,
                    page_size=PAGE_SIZE,
                    sorters=(("endTime", "DESC"),),
                )
                return Page(answer.instances, answer.count)

            known_in_a_row = 0
            what = f"of ended EnOS flow instances (type {flow_type}, flow {flow})"
            async for state in awalk(
                page, page_size=PAGE_SIZE, what=what, service=hook.service, budget=budget
            ):
                if str(state.raw.get("flowId")) != flow:
                    continue  # the expression also matches other flows' names and ids
                known_in_a_row = known_in_a_row + 1 if known(state.instance_id) else 0
                yield state
                if known_in_a_row >= PAGE_SIZE:
                    break  # latest ended first: everything further ended earlier, and is known

    return await _collect(ended(), lambda state: state.is_terminal)
