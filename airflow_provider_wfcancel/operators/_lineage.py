"""OpenLineage for the start and cancel operators: the methods the OpenLineage provider's listener calls.

With ``apache-airflow-providers-openlineage`` installed (``pip install
"airflow-provider-wfcancel[openlineage]"``) its ``DefaultExtractor`` finds these methods on every start and
cancel operator. Each returns an ``OperatorLineage``: the task's inlets and outlets as OpenLineage datasets
and a ``wfcancel_remoteInstance`` run facet naming the service, the instance id, its URL and its final
status (:mod:`.._openlineage`). OpenLineage is imported inside the methods, so without the extra nothing
of it is imported, and these methods are never called.

On start, a cancel names the instance it is given; a start has no instance yet. On completion (and on
failure, which the provider's extractor hands to the same method) the instance is what the task pushed:
its XCom result, or, when the task failed or pushes no result, the ``instance_id`` and ``url`` it pushed
first (and the status its ``failure_detail`` names).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage


class OpenLineageMixin:
    """``get_openlineage_facets_on_start`` / ``_on_complete`` for one start or cancel operator class."""

    #: ``"start"`` or ``"cancel"``: what the task does to the instance (the facet's ``action``).
    lineage_action: ClassVar[str]

    def _lineage(self, instance: dict[str, Any]) -> OperatorLineage[Any, Any]:
        from airflow_provider_wfcancel._openlineage import lineage

        task: Any = self  # a ServiceTask: its hook says which service
        return lineage(task, service=task.hook.conn_type, action=self.lineage_action, instance=instance)

    def get_openlineage_facets_on_start(self) -> OperatorLineage[Any, Any]:
        """Before the task runs: the inlets, outlets and, for a cancel, the (rendered) id it cancels."""
        instance_id = getattr(self, getattr(self, "instance_id_field", ""), None)
        known = isinstance(instance_id, str | int) and "{{" not in str(instance_id)
        return self._lineage({"instance_id": instance_id if known else None})

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage[Any, Any]:
        """After the task ran (succeeded or failed): what it pushed of the instance."""
        return self._lineage(_pushed_instance(task_instance))


def _pushed_instance(task_instance: Any) -> dict[str, Any]:
    """``instance_id``, ``url`` and ``final_status`` of the instance ``task_instance`` pushed to XCom."""

    def pulled(key: str) -> Any:
        return task_instance.xcom_pull(
            task_ids=task_instance.task_id, key=key, map_indexes=task_instance.map_index
        )

    result = pulled("return_value")
    if isinstance(result, dict) and "instance_id" in result:
        return result
    detail = pulled("failure_detail")
    return {
        "instance_id": pulled("instance_id"),
        "url": pulled("url"),
        "final_status": detail.get("status") if isinstance(detail, dict) else None,
    }
