"""Local, stateful emulator of the Domo Workflows product API and the EnOS Batch Processing Service v2.1 API.

Run it with ``wfcancel-emulator --port 8089`` (or ``python -m airflow_provider_wfcancel.emulator``), or in-process
with :class:`EmulatorServer`; drive it with :class:`EmulatorControl` (control API under ``/_emulator``, no auth).

Emulated endpoints:

- Domo (header ``X-DOMO-Developer-Token``): ``POST /api/workflow/v1/instances/message`` (start),
  ``GET /api/workflow/v1/instances/{id}``, ``POST /api/workflow/v1/instances/{id}/cancel``,
  ``GET /api/workflow/v1/instances?modelId=&limit=&offset=``, ``GET /api/content/v2/users/me``.
- EnOS APIM token service: ``POST /apim-token-service/v2.0/token/get`` and ``.../token/refresh``.
- EnOS Batch Processing (headers ``apim-accesstoken``, ``apim-timestamp``, ``apim-signature``):
  ``/batch-processing-service/v2.1/flowInstances?action=cancel|get|search`` and ``.../flows?action=trigger``.

Statuses advance lazily from timestamps (no background work) with an injectable clock. Faults (HTTP errors with
``Retry-After``, latency, dropped connections, truncated JSON, an HTML block page, EnOS business codes) can be
injected per route, and every request is logged (secrets redacted) so tests can count calls.

Seeded after start and after every reset: Domo token ``emulator-domo-token`` (user ``8811501``, Workflow API
grant); EnOS app ``emulator-app-key`` / ``emulator-app-secret``; EnOS user ``u15000000000001`` in org
``o15000000000001``.

Assumptions
-----------
Documented facts are followed exactly; everything below is not (or not fully) documented and was chosen here.

General

1. State lives in memory only; ``reset`` restores the start-up config (the one given to ``EmulatorServer`` or the
   CLI), the seeded credentials, and forgets instances, faults and the request log.
2. Lifecycle timings are captured when an instance is created; later ``configure`` calls affect new instances only.
   Cancel delays and the cancel-of-finished behaviour are read when the cancel arrives.
3. A cancel takes effect after its delay unless the run finishes first (then the final status stands); a repeated
   cancel keeps the first schedule.
4. No rate limiting and no size limits unless a fault is injected.

Domo

5. Every Domo error (401, 403, 404, 400, 405, 409, injected 4xx/5xx) has the api.domo.com body
   ``{"status", "statusReason", "message", "path", "toe"}``; ``toe`` is a random upper-case hex id.
6. Status timeline: ``null`` for ``domo_start_delay`` (0.2 s), then ``IN_PROGRESS`` for ``domo_run_seconds``
   (3600 s), then ``domo_final_status`` (``COMPLETED``; ``FAILED`` is the assumed spelling of a failure). ``status``
   is JSON ``null``, never the string ``"null"``. Control-created instances may force any status; values other than
   ``IN_PROGRESS`` are treated as terminal (e.g. ``TIMEOUT`` to test unknown values).
7. Cancel answers 200 with the object as it was when the request arrived and becomes ``CANCELED`` after
   ``domo_cancel_delay`` (0.5 s), also when the status is still ``null``. Cancel of a finished instance:
   ``domo_cancel_terminal="noop"`` (default: 200, unchanged object) or ``"conflict"`` (409).
8. Start, get, list and cancel all return the full object of the cancel example (``deploymentId``,
   ``bpmnProcessId``, ``bpmnProcessName``, ``isTestRun`` included). ``deploymentId`` is a UUID derived from
   modelId + version, ``bpmnProcessId`` = ``Process_{modelId}_{version}_1``, ``bpmnProcessName`` =
   ``domo {modelName} {version} 1``, ``isTestRun`` = false, ``updatedBy`` = ``createdBy``, ``updatedOn`` = time of
   the last status change.
9. Start accepts any modelId/version (no "No trigger found" case; modelId need not be a UUID); ``modelName`` is
   ``messageName`` without a leading ``"Start "``; ``data`` must be an object but is not checked against inputs.
   A missing field, wrong type or non-JSON body gives 400.
10. Unknown or malformed instance ids give 404. Every valid token sees every instance (no foreign-instance 404).
11. A missing or unknown token gives 401; a token whose user lacks the Workflow API grant gives 403 on every
    workflow endpoint. Developer tokens never expire. Each added token acts as its own numeric user id.
12. List: ``modelId`` optional filter, ``limit`` (default 50) and ``offset`` (default 0) must be non-negative
    integers (else 400); newest first; ``sort=createdOn:asc`` gives oldest first, other ``sort`` values are ignored.
13. ``GET /api/content/v2/users/me`` needs only a valid token (no grant) and returns
    ``{"id": <number>, "displayName": ..., "role": ...}``.
14. Unknown paths give 404 and wrong methods 405, both with the Domo error body.

EnOS token service

15. Errors are HTTP 200 with ``{"status": <code>, "msg", "business": "apim-token-service", "data": null}``.
16. Checks, in order: body not a JSON object -> 1004; missing ``appKey``/``encryption``/``timestamp`` -> 1202;
    ``appKey``/``encryption`` not strings -> 1004; unknown appKey -> 1002; wrong encryption -> 1003; timestamp not
    epoch ms or further than ``enos_timestamp_window`` (300 s) from now -> 1004; an encryption already used within
    the window -> 1001. ``timestamp`` may be a JSON number or a digit string; the encryption hashes its text.
17. ``get`` returns the app's current token with the remaining lifetime (seconds, rounded up) until it expires,
    then a new random token with ``expire`` = ``enos_token_lifetime`` (7200). One current token per app.
18. ``refresh`` = the ``get`` checks plus ``accessToken``: missing -> 1202; unknown, revoked or another app's
    token -> 1204; expired -> 1203; otherwise a new token with a full lifetime. The old token is revoked at once
    (``enos_refresh_revokes_old=True``); with ``False`` it stays valid until its own expiry.

EnOS gateway (every batch-processing call)

19. Failures are HTTP 401 with ``{"code", "msg", "requestId", "data": null}``: a missing ``apim-*`` header ->
    1202 "Parameter empty: <names>"; an unknown or revoked token -> 1203 "Invalid access token"; an expired token
    -> 1203 "Access token expired"; ``apim-timestamp`` not epoch ms or outside the window -> 1004; a wrong
    signature -> 1003 "Invalid signature". Clients should get a new token and retry once on 401 + code 1203.
20. The signature covers URL-decoded query values (form decoding, ``+`` is a space), sorted by name (repeated
    names keep their order), then the raw body bytes (nothing for an empty body); it must be lowercase hex.
    Signatures are not checked for replay.

EnOS Batch Processing

21. Business errors are HTTP 200 with ``{"code", "msg", "requestId", "data": null}``; successes carry a
    ``requestId`` too. Missing/unknown ``action``, the wrong HTTP method for an action, missing ``userId``/
    ``orgId``, a non-object body, missing or unknown ``flowInstId`` and wrongly typed fields give 62102 (Get of
    an unknown id is 62102, not ``data: null``). ``userId`` unknown or not in ``orgId`` -> 62101. Cancel by a
    user other than the owner -> 62103; Get of an instance of another org -> 62103 (same-org users may read it,
    with ``hasEditPri`` false).
22. Lifecycle: INIT(0) for ``enos_start_delay`` (0.2 s), RUNNING(2) for ``enos_run_seconds`` (3600 s), then
    ``enos_final_status`` (1 SUCCESS) for triggered instances (control-created ones choose). Cancel keeps the
    current status for ``enos_cancel_delay`` (0.5 s), then CANCEL(8). Cancel of a finished instance ->
    ``enos_cancel_terminal_code`` (62102 "Flow instance is already finished"); 0 makes it a successful no-op.
    Forced non-terminal statuses other than 0 and 2 (3, 5, 6, 9) hold until cancelled.
23. ``statusDesc`` is the FlowInstanceStatus name ("UNKNOWN" for other codes). ``graph`` holds one task whose
    status is that name. Times are UTC ``yyyy-MM-dd HH:mm:ss``; ``startTime``/``endTime`` are null until they
    happen; ``timestamp`` is the last status change in ``java.sql.Timestamp`` format; ``calDt`` is the trigger date
    minus one day; ``freq`` "", ``cycle`` "D", ``parameters`` "[]", ``doAs``/``owner`` = owner userId,
    ``alertMode`` 0, ``virtual`` false, ``hasReadPri`` true.
24. Trigger accepts any integer ``flowId`` (no 62104) and an optional ``triggerTime`` (epoch ms, default now);
    the caller owns the instance; the id is ``{flowId}-{yyyyMMddHHmmss}`` of the trigger time (UTC), with the
    seconds bumped until unique. Overlapping instances of a flow run side by side (no queueing).
25. Search: every body field is optional; ``type`` is validated but does not filter; ``expression`` matches a
    substring of instanceId or flowName; ``owner`` an exact userId ("" = any); ``status`` is comma-separated codes
    (a number works too); ``fromTriggerTime``/``toTriggerTime`` are inclusive epoch ms; only the caller's org is
    searched. ``pageNo`` is 1-based (values below 1 mean 1); without ``pageSize`` all matches are returned.
    Sorter fields createTime, updateTime, startTime, triggerTime, endTime (snake_case accepted), default
    triggerTime DESC, anything else -> 62102. ``count`` is the number of matches; items add ``isCancelled``.
26. Unknown EnOS paths give 404 and wrong methods 405, with the envelope (``code`` = HTTP status).

Faults and request log

27. Injected HTTP errors use the owning service's error body (EnOS: ``code`` = HTTP status) with gateway-style
    messages ("API rate limit exceeded", ...), unless ``body`` replaces it; ``Retry-After`` is sent verbatim.
    ``html`` answers 200 (or ``status``) with a page titled "Domo - Blocked"; ``truncate`` runs the request and
    sends the first half of the real body with a matching ``Content-Length``; ``enos_code`` answers without
    running the request.
28. ``drop`` and ``apply_then_drop`` close the TCP connection without a response; this relies on uvicorn internals
    (under another ASGI server the request fails with ``ConnectionAbortedError`` instead).
29. The log keeps header names and values but redacts ``X-DOMO-Developer-Token``, ``apim-accesstoken``,
    ``apim-signature`` and ``Authorization``, and the JSON body keys ``accessToken``, ``encryption``, ``appSecret``.
    Control-API calls are not logged; ``request_log_limit`` (10000) caps kept entries, counts are not capped.
"""

from __future__ import annotations

from .app import create_app
from .connections import airflow_connections
from .control import EmulatorControl, EmulatorControlError
from .server import EmulatorServer
from .signing import enos_encryption, enos_signature
from .state import (
    DEFAULT_DOMO_TOKEN,
    DEFAULT_DOMO_USER_ID,
    DEFAULT_ENOS_APP_KEY,
    DEFAULT_ENOS_APP_SECRET,
    DEFAULT_ENOS_ORG_ID,
    DEFAULT_ENOS_USER_ID,
    EmulatorConfig,
)

__all__ = [
    "DEFAULT_DOMO_TOKEN",
    "DEFAULT_DOMO_USER_ID",
    "DEFAULT_ENOS_APP_KEY",
    "DEFAULT_ENOS_APP_SECRET",
    "DEFAULT_ENOS_ORG_ID",
    "DEFAULT_ENOS_USER_ID",
    "EmulatorConfig",
    "EmulatorControl",
    "EmulatorControlError",
    "EmulatorServer",
    "airflow_connections",
    "create_app",
    "enos_encryption",
    "enos_signature",
]
