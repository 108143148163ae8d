"""Operator extra links that point at the remote instance the task acted on."""

from __future__ import annotations

from typing import TYPE_CHECKING

from airflow_provider_wfcancel.version_compat import BaseOperatorLink, XCom

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator
    from airflow.sdk.types import TaskInstanceKey


class _XComUrlLink(BaseOperatorLink):
    """Reads the ``url`` the operator pushed to XCom before it started waiting."""

    xcom_key = "url"

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        url = XCom.get_value(key=self.xcom_key, ti_key=ti_key)
        return url if isinstance(url, str) else ""


class DomoWorkflowInstanceLink(_XComUrlLink):
    name = "Domo Workflow Instance"


# No EnOS link: EnOS documents no console URL for a flow instance (its states carry ``url=None``).
