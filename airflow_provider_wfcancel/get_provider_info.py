"""Provider metadata read by Airflow's ProvidersManager.

A literal dict with one import, the package's ``__version__`` (the one source of the version: pyproject.toml
reads it too): every Airflow component loads it. The React UI draws the ``domo`` and
``enos`` connection forms from ``ui-field-behaviour`` and ``conn-fields`` alone.
"""

from __future__ import annotations

from typing import Any

from airflow_provider_wfcancel import __version__

_TRANSPORT_FIELDS: dict[str, Any] = {
    "timeout": {
        "label": "Timeout (seconds)",
        "description": "Read timeout of each HTTP request; connecting waits at most 10 s.",
        "schema": {"type": ["number", "null"], "minimum": 0.1, "maximum": 600},
    },
    "max_retries": {
        "label": "Max retries",
        "description": "Retries after a connection error, timeout, 429 or 5xx (exponential backoff, "
        "Retry-After honoured). 0 disables retrying.",
        "schema": {"type": ["integer", "null"], "minimum": 0, "maximum": 20},
    },
    "max_requests_per_second": {
        "label": "Max requests per second",
        "description": "Optional cap on the request rate to this gateway, shared by every task and trigger of "
        "a worker or triggerer process. Without it the rate adapts to the gateway's 429 answers.",
        "schema": {"type": ["number", "null"], "minimum": 0.1, "maximum": 10000},
    },
    "verify_ssl": {
        "label": "Verify TLS certificates",
        "description": "Leave on in production. Off only for a local emulator or a lab gateway.",
        "schema": {"type": ["boolean", "null"], "default": True},
    },
    "ca_bundle": {
        "label": "CA bundle path",
        "description": "Path to a PEM file of trusted CAs, for gateways behind a private CA.",
        "schema": {"type": ["string", "null"]},
    },
}


def get_provider_info() -> dict[str, Any]:
    return {
        "package-name": "airflow-provider-wfcancel",
        "name": "Workflow cancel (Domo, EnOS)",
        "description": "Cancel Domo Workflow instances and EnOS Batch Processing flow instances from Airflow.",
        "versions": [__version__],
        # Every [wfcancel] option the provider reads (tests/unit/test_provider_config.py holds the code to it):
        # `airflow config list` shows them with their defaults, and AIRFLOW__WFCANCEL__<OPTION> sets them.
        "config": {
            "wfcancel": {
                "description": "Options of the airflow-provider-wfcancel provider.",
                "options": {
                    "remote_instances_page": {
                        "description": "Mount the provider's Remote instances page on the API server and "
                        "add it to the navigation (Browse > Remote instances), where users with access to a "
                        "domo or enos connection list its remote instances and cancel a selection "
                        "(docs/ui.md). Off: the plugin mounts no app and adds no page; its listeners still "
                        "run. Read by the API server when it loads plugins, so a change needs its restart.",
                        "version_added": "0.1.0",
                        "type": "boolean",
                        "example": "False",
                        "default": "True",
                    },
                    "learned_rates_file": {
                        "description": "A file where the rate each API gateway was found to take outlives the "
                        "process that learned it, so the next task or triggerer starts a bulk cancel at that "
                        "rate instead of learning it again (docs/production.md, Rate limits). Empty: off; "
                        "each process learns on its own. Holds digests of the gateways and their rates, no "
                        "secret; it must be writable by the Airflow user on each host that calls a gateway "
                        "(or a path every host shares).",
                        "version_added": "0.2.0",
                        "type": "string",
                        "example": "/opt/airflow/wfcancel-learned-rates.json",
                        "default": "",
                    },
                },
            },
        },
        "connection-types": [
            {
                "connection-type": "domo",
                "hook-class-name": "airflow_provider_wfcancel.hooks.domo.DomoHook",
                "hook-name": "Domo",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "login", "port"],
                    "relabeling": {"host": "Domo instance", "password": "Developer access token"},
                    "placeholders": {
                        "host": "acme, acme.domo.com or https://acme.domo.com",
                        "password": "token from Admin > Authentication > Access tokens",
                    },
                },
                "conn-fields": dict(_TRANSPORT_FIELDS),
            },
            {
                "connection-type": "enos",
                "hook-class-name": "airflow_provider_wfcancel.hooks.enos.EnosHook",
                "hook-name": "EnOS",
                "ui-field-behaviour": {
                    "hidden-fields": ["schema", "port"],
                    "relabeling": {
                        "host": "API gateway URL",
                        "login": "Access key (appKey)",
                        "password": "Secret key (appSecret)",
                    },
                    "placeholders": {
                        "host": "https://apim-ppe1.envisioniot.com",
                        "login": "service account access key",
                        "password": "service account secret key",
                    },
                },
                "conn-fields": {
                    "org_id": {
                        "label": "Organization ID",
                        "description": "EnOS organization (IAM > Organization Profile), e.g. o15724268424841.",
                        "schema": {"type": "string", "minLength": 1},
                    },
                    "user_id": {
                        "label": "User ID",
                        "description": "EnOS user that owns the flows (profile > User ID), e.g. u15426865866571. "
                        "Operators can override it.",
                        "schema": {"type": ["string", "null"]},
                    },
                    **_TRANSPORT_FIELDS,
                },
            },
        ],
        "hooks": [
            {
                "integration-name": "Domo",
                "python-modules": ["airflow_provider_wfcancel.hooks.domo"],
            },
            {
                "integration-name": "EnOS",
                "python-modules": ["airflow_provider_wfcancel.hooks.enos"],
            },
        ],
        "operators": [
            {
                "integration-name": "Domo",
                "python-modules": [
                    "airflow_provider_wfcancel.operators.domo",
                    "airflow_provider_wfcancel.operators.bulk",
                ],
            },
            {
                "integration-name": "EnOS",
                "python-modules": [
                    "airflow_provider_wfcancel.operators.enos",
                    "airflow_provider_wfcancel.operators.bulk",
                ],
            },
        ],
        "sensors": [
            {
                "integration-name": "Domo",
                "python-modules": ["airflow_provider_wfcancel.sensors.domo"],
            },
            {
                "integration-name": "EnOS",
                "python-modules": ["airflow_provider_wfcancel.sensors.enos"],
            },
        ],
        "triggers": [
            {
                "integration-name": "Domo",
                "python-modules": ["airflow_provider_wfcancel.triggers.domo"],
            },
            {
                "integration-name": "EnOS",
                "python-modules": ["airflow_provider_wfcancel.triggers.enos"],
            },
        ],
        "notifications": [
            "airflow_provider_wfcancel.notifications.domo.DomoCancelWorkflowNotifier",
            "airflow_provider_wfcancel.notifications.enos.EnosCancelFlowInstanceNotifier",
            "airflow_provider_wfcancel.notifications.bulk.DomoCancelAllRunningNotifier",
            "airflow_provider_wfcancel.notifications.bulk.EnosCancelAllRunningNotifier",
        ],
        "extra-links": [
            "airflow_provider_wfcancel.links.DomoWorkflowInstanceLink",
        ],
    }
