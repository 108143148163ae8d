"""What version_compat gives each supported Airflow (3.1, 3.2, 3.3): the same forms and rendering."""

from __future__ import annotations

import importlib
import sys
from importlib.metadata import version
from typing import Any
from unittest.mock import MagicMock

import pytest

from airflow_provider_wfcancel.get_provider_info import get_provider_info
from airflow_provider_wfcancel.version_compat import (
    AIRFLOW_V_3_2_PLUS,
    AIRFLOW_V_3_3_PLUS,
    AIRFLOW_VERSION,
    _base_version,
    legacy_connection_form_widgets,
    legacy_ui_field_behaviour,
)

CONNECTION_TYPES = get_provider_info()["connection-types"]


def hook_class(conn_type: dict[str, Any]) -> Any:
    module, _, name = conn_type["hook-class-name"].rpartition(".")
    return getattr(importlib.import_module(module), name)


@pytest.mark.parametrize(
    ("version", "expected"),
    [("3.1.8", (3, 1, 8)), ("3.2.2", (3, 2, 2)), ("3.3.0rc1", (3, 3, 0)), ("3.4.0.dev0", (3, 4, 0))],
)
def test_base_version(version: str, expected: tuple[int, int, int]) -> None:
    assert _base_version(version) == expected


def test_the_flags_read_the_installed_airflow() -> None:
    installed = _base_version(version("apache-airflow-core"))
    assert installed == AIRFLOW_VERSION
    assert (installed >= (3, 2, 0), installed >= (3, 3, 0)) == (AIRFLOW_V_3_2_PLUS, AIRFLOW_V_3_3_PLUS)


@pytest.mark.parametrize("conn_type", CONNECTION_TYPES, ids=lambda c: c["connection-type"])
def test_hooks_define_the_legacy_form_methods_only_where_airflow_reads_them(
    conn_type: dict[str, Any],
) -> None:
    """3.1 reads the hook classmethods (from the class itself, not a base); 3.2+ reads provider info and
    would warn that the methods are deprecated."""
    hook = hook_class(conn_type)
    assert ("get_connection_form_widgets" in hook.__dict__) is not AIRFLOW_V_3_2_PLUS
    assert ("get_ui_field_behaviour" in hook.__dict__) is not AIRFLOW_V_3_2_PLUS


@pytest.mark.parametrize("conn_type", CONNECTION_TYPES, ids=lambda c: c["connection-type"])
def test_legacy_form_methods_describe_the_conn_fields(
    conn_type: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Converted with the field classes Airflow 3.1's HookMetaService substitutes for wtforms, the legacy
    methods give the same fields, labels, types and defaults as ``conn-fields``."""
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService as Meta

    fields = MagicMock(
        StringField=Meta.MockStringField,
        IntegerField=Meta.MockIntegerField,
        BooleanField=Meta.MockBooleanField,
        PasswordField=Meta.MockPasswordField,
    )
    monkeypatch.setitem(sys.modules, "wtforms", fields)
    monkeypatch.setitem(sys.modules, "wtforms.validators", MagicMock(Optional=Meta.MockOptional))
    hook = hook_class(conn_type)

    widgets = {name: field.param.dump() for name, field in legacy_connection_form_widgets(hook).items()}
    assert set(widgets) == set(conn_type["conn-fields"])
    for name, spec in conn_type["conn-fields"].items():
        schema = widgets[name]["schema"]
        assert schema["title"] == spec["label"]
        assert widgets[name]["description"] == spec["description"]
        assert widgets[name]["value"] == spec["schema"].get("default")
        declared = spec["schema"]["type"]
        main_type = next(t for t in ([declared] if isinstance(declared, str) else declared) if t != "null")
        assert schema["type"][0] == {"number": "string"}.get(main_type, main_type)  # 3.1 has no number field

    behaviour = conn_type["ui-field-behaviour"]
    assert legacy_ui_field_behaviour(hook) == {
        "hidden_fields": behaviour["hidden-fields"],
        "relabeling": behaviour["relabeling"],
        "placeholders": behaviour["placeholders"],
    }


def test_a_template_that_renders_empty_leaves_the_field_empty() -> None:
    """Airflow < 3.3 would keep '{{ params.user }}' itself; the operator would send it to EnOS."""
    from airflow_provider_wfcancel.operators.enos import EnosCancelFlowInstanceOperator

    operator = EnosCancelFlowInstanceOperator(
        task_id="cancel", flow_instance_id="{{ params.id }}", user_id="{{ params.user }}"
    )
    operator.render_template_fields({"params": {"id": "2438-201908081020", "user": ""}})  # type: ignore[arg-type]
    assert (operator.flow_instance_id, operator.user_id) == ("2438-201908081020", "")
