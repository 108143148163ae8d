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

Besides the APIs, ``GET /workflows/instances/{modelId}/{version}/{id}``, where the Domo operators' ``url``
(their extra link) points, answers a small HTML page with the instance's status and timestamps.

Assumptions
-----------
Where the public documentation is silent, the emulator made choices (error bodies, lifecycle timings, defaults,
validation order, ...). They are listed, numbered, in one place: ``docs/emulator.md`` in the source repository
(https://github.com/wfcancel/airflow-provider-wfcancel/blob/main/docs/emulator.md#assumptions).
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
