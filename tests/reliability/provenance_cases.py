"""Rows of the forged-records and listener-cancel tables in docs/reliability.md (issue 26).

Forged records are written as a user with the ``user`` role (DAG write, no connection use) can: the
listener's XCom over REST (``POST``/``PATCH .../xcomEntries``), a resumable start's task state store entry
over REST (``PUT .../state-store/{key}``), through the API server's own app. ``{domo}``/``{enos}`` in a
record stand for an instance of another model (Domo) or flow (EnOS) the emulator runs. The tests
(``tests/integration/test_run_failed_listener.py``, ``test_resumable_starts.py``) parametrize over these
rows; ``generate_table`` writes them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

OTHER_MODEL = "0a0a0a0a-0000-4000-8000-000000000001"
OTHER_FLOW = 2438


def _domo(instance_id: str = "{domo}", conn_id: str = "domo_default", **more: Any) -> dict[str, Any]:
    return {"service": "domo", "conn_id": conn_id, "options": {}, "instance_id": instance_id, **more}


def _enos(instance_id: str = "{enos}", **options: Any) -> dict[str, Any]:
    opts = {"user_id": None, "org_id": None, **options}
    return {"service": "enos", "conn_id": "enos_default", "options": opts, "instance_id": instance_id}


@dataclass(frozen=True)
class ForgedRecord:
    """A forged record: where it is written, what it says, and the reason the provider logs."""

    id: str
    label: str
    #: The task whose record (listener) or store entry (resumable start) is written.
    task_id: str
    record: Any
    message: str

    def value(self, domo: str, enos: str) -> Any:
        """The record with the victim instances filled in."""
        if isinstance(self.record, Mapping):
            return {
                k: v.replace("{domo}", domo).replace("{enos}", enos) if isinstance(v, str) else v
                for k, v in self.record.items()
            }
        return self.record


#: The run-failed listener: each is refused (no cancel), logged, counted, audited and deleted; the
#: genuine records on the run's other start tasks are still cancelled.
LISTENER_FORGERIES: tuple[ForgedRecord, ...] = (
    ForgedRecord(
        "listener-other-task",
        "on a start task without cancel_on_run_failed, naming its real instance",
        "start_domo_unrecorded",
        _domo("{unrecorded}"),
        "no start operator with cancel_on_run_failed=True",
    ),
    ForgedRecord(
        "listener-other-connection",
        "naming another connection",
        "start_domo",
        _domo(conn_id="domo_other"),
        "the record names connection 'domo_other', the task uses 'domo_default'",
    ),
    ForgedRecord(
        "listener-other-model",
        "naming an instance of another Domo model",
        "start_domo",
        _domo(),
        f"is of model '{OTHER_MODEL}'",
    ),
    ForgedRecord(
        "listener-other-flow",
        "naming an instance of another EnOS flow",
        "start_enos",
        _enos(),
        f"is of flow {OTHER_FLOW}, the task triggers '777'",
    ),
    ForgedRecord(
        "listener-other-org",
        "acting as another EnOS organization",
        "start_enos",
        _enos(org_id="o99999999999999"),
        "the record names org_id 'o99999999999999', the task None",
    ),
    ForgedRecord(
        "listener-code-to-import",
        "naming a service that is code to import",
        "start_domo",
        {**_domo(), "service": "os.system"},
        "the record names service 'os.system', the task is 'domo'",
    ),
    ForgedRecord(
        "listener-malformed-id",
        "with a malformed instance id",
        "start_domo",
        _domo("../x"),
        "malformed instance id '../x'",
    ),
)

#: Resumable starts: each is not adopted but cleared; the task starts one new instance and succeeds.
RESUMABLE_FORGERIES: tuple[ForgedRecord, ...] = (
    ForgedRecord(
        "resumable-other-model",
        "naming a running instance of another Domo model",
        "start_domo",
        {"instance_id": "{domo}", "url": None, "status_at_start": "IN_PROGRESS"},
        f"is of model '{OTHER_MODEL}'",
    ),
    ForgedRecord(
        "resumable-other-flow",
        "naming a running instance of another EnOS flow",
        "start_enos",
        {"instance_id": "{enos}", "url": None, "status_at_start": None},
        f"is of flow {OTHER_FLOW}, the task triggers '777'",
    ),
    ForgedRecord(
        "resumable-malformed-id",
        "with a malformed instance id",
        "start_domo",
        {"instance_id": "../x"},
        "malformed instance id '../x'",
    ),
    ForgedRecord(
        "resumable-malformed-record",
        "that is no record at all",
        "start_enos",
        "../x",
        "unreadable record '../x'",
    ),
)


@dataclass(frozen=True)
class ListenerFault:
    """A listener cancel that fails: Domo answers 500 to ``failures`` cancel requests, then recovers."""

    id: str
    label: str
    failures: int
    #: The audit-log outcomes of the Domo start task, per marking of the run failed (one per attempt).
    markings: tuple[tuple[str, ...], ...]
    expected: str


#: One marking's request makes at most 4 HTTP attempts (``max_retries=3``); the listener makes at most
#: ``run_failed.ATTEMPTS`` (3) such requests per marking, with the retry policy's backoff in between.
LISTENER_FAULTS: tuple[ListenerFault, ...] = (
    ListenerFault(
        "listener-cancel-recovers",
        "cancel answers 500 for one request's attempts, then recovers",
        4,
        (("retrying", "cancel_requested"),),
        "retried with backoff in the same marking; cancelled once",
    ),
    ListenerFault(
        "listener-cancel-still-failing",
        "cancel answers 500 through every attempt of the first marking",
        1000,
        (("retrying", "retrying", "failed"), ("cancel_requested",), ()),
        "given up with a log line and an audit row; the next marking cancels; the one after finds it settled",
    ),
)
