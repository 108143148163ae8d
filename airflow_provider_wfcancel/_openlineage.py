"""The OpenLineage facets of a start or cancel task (the ``[openlineage]`` extra).

Imported only from :class:`~airflow_provider_wfcancel.operators._lineage.OpenLineageMixin`'s methods, which
the OpenLineage provider's listener calls: importing an operator imports nothing of OpenLineage.

What a facet holds is what the task's XCom already shows (service, instance id, instance page URL,
status): never a credential. The URL passes through Airflow's secrets masker all the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.providers.openlineage.extractors import OperatorLineage
from airflow.providers.openlineage.extractors.manager import ExtractorManager
from attrs import define
from openlineage.client.facet_v2 import RunFacet

from airflow_provider_wfcancel.version_compat import redact

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator

#: The run facet's key in an OpenLineage event.
FACET_NAME = "wfcancel_remoteInstance"
#: The JSON schema of :class:`RemoteInstanceRunFacet` (docs/openlineage/RemoteInstanceRunFacet.json).
SCHEMA_URL = (
    "https://raw.githubusercontent.com/wfcancel/airflow-provider-wfcancel/main/docs/openlineage/"
    "RemoteInstanceRunFacet.json#/$defs/RemoteInstanceRunFacet"
)


@define
class RemoteInstanceRunFacet(RunFacet):
    """The remote run an Airflow task started or cancelled: ``service`` (``domo``/``enos``), ``instanceId``
    (``None`` before a start has one), ``url`` (the instance page; ``None`` for EnOS), ``finalStatus``
    (the status it ended with, ``None`` while unknown), ``action`` (``start`` or ``cancel``)."""

    service: str
    action: str
    instanceId: str | None = None
    url: str | None = None
    finalStatus: str | None = None

    @staticmethod
    def _get_schema() -> str:
        return SCHEMA_URL


def _datasets(objects: Any) -> list[Any]:
    """The user's inlets or outlets as OpenLineage datasets, by the provider's own conversion (Airflow
    assets through their URI scheme's converter; ``Table``, ``File``, OpenLineage datasets); an object it
    cannot convert is left out, as the provider does."""
    converted = (ExtractorManager.convert_to_ol_dataset(obj) for obj in objects or ())
    return [dataset for dataset in converted if dataset is not None]


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def lineage(
    task: BaseOperator, *, service: str, action: str, instance: dict[str, Any]
) -> OperatorLineage[Any, Any]:
    """The task's inlets and outlets, and the run facet for what it knows of the instance (``instance``:
    ``instance_id``, ``url``, ``final_status``, any of them missing)."""
    url = instance.get("url")
    facet = RemoteInstanceRunFacet(
        service=service,
        action=action,
        instanceId=_text(instance.get("instance_id")),
        url=_text(redact(url)) if url is not None else None,
        finalStatus=_text(instance.get("final_status")),
    )
    return OperatorLineage(
        inputs=_datasets(task.inlets),
        outputs=_datasets(task.outlets),
        run_facets={FACET_NAME: facet},
    )
