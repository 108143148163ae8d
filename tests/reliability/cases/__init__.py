"""The reliability matrix as data, one module per surface: the tests in this package and ``generate_table``
both read it.

- ``faults``: faults injected into the emulator, through the cancel operators;
- ``bad_input`` and ``connections``: what tasks and notifiers refuse before any request;
- ``gateways``: rate-limited gateways and hostile servers.

Nothing here imports Airflow or the provider, so ``python -m tests.reliability.generate_table`` stays cheap.
Errors are named by class name (looked up in ``airflow_provider_wfcancel.exceptions`` by the tests); routes
are the emulator's route names (``airflow_provider_wfcancel.emulator.common.ROUTES``).
"""

from __future__ import annotations

from tests.reliability.cases import bad_input
from tests.reliability.cases.bad_input import DROP, EMULATOR, NOT_PEM_FILE, USERINFO_SECRET, BadInputCase
from tests.reliability.cases.common import SERVICES, Service
from tests.reliability.cases.connections import connection_cases
from tests.reliability.cases.faults import FAULT_CASES, Fault, FaultCase
from tests.reliability.cases.gateways import (
    HOSTILE_ATTEMPT_SECONDS,
    HOSTILE_CASES,
    HOSTILE_MAX_RESPONSE_BYTES,
    RATE_LIMIT_CASES,
    HostileCase,
    RateLimitCase,
)

BAD_INPUT_CASES: tuple[BadInputCase, ...] = tuple(
    case
    for service in SERVICES
    for case in (
        *bad_input.id_cases(service),
        *connection_cases(service),
        *bad_input.argument_cases(service),
        *bad_input.bulk_cases(service),
        *bad_input.sensor_cases(service),
        *bad_input.start_cases(service),
        *bad_input.watcher_cases(service),
    )
)


def _check_unique() -> None:
    for cases in (FAULT_CASES, BAD_INPUT_CASES, HOSTILE_CASES, RATE_LIMIT_CASES):
        ids = [c.id for c in cases]
        duplicates = {i for i in ids if ids.count(i) > 1}
        assert not duplicates, duplicates


_check_unique()

__all__ = [
    "BAD_INPUT_CASES",
    "DROP",
    "EMULATOR",
    "FAULT_CASES",
    "HOSTILE_ATTEMPT_SECONDS",
    "HOSTILE_CASES",
    "HOSTILE_MAX_RESPONSE_BYTES",
    "NOT_PEM_FILE",
    "RATE_LIMIT_CASES",
    "SERVICES",
    "USERINFO_SECRET",
    "BadInputCase",
    "Fault",
    "FaultCase",
    "HostileCase",
    "RateLimitCase",
    "Service",
]
