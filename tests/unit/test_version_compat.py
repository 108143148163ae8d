"""What version_compat gives each supported Airflow (2.11, 3.0 to 3.3): the same forms and rendering."""

from __future__ import annotations

import importlib
import sys
from importlib.metadata import PackageNotFoundError, version
from typing import Any
from unittest.mock import MagicMock

import pytest

from airflow_provider_wfcancel.get_provider_info import get_provider_info
from airflow_provider_wfcancel.version_compat import (
    AIRFLOW_V_3_0_PLUS,
    AIRFLOW_V_3_1_PLUS,
    AIRFLOW_V_3_2_PLUS,
    AIRFLOW_V_3_3_PLUS,
    AIRFLOW_VERSION,
    _base_version,
    legacy_connection_form_widgets,
    legacy_ui_field_behaviour,
)
from tests.airflow_compat import needs_airflow

CONNECTION_TYPES = get_provider_info()["connection-types"]
#: Airflow 3's API server builds connection forms (``HookMetaService``); Airflow 2.11's webserver, below.
HOOK_META = "the API server's connection forms (HookMetaService)"


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
    try:
        installed = _base_version(version("apache-airflow-core"))
    except PackageNotFoundError:  # Airflow 2 is one distribution
        installed = _base_version(version("apache-airflow"))
    assert installed == AIRFLOW_VERSION
    flags = (AIRFLOW_V_3_0_PLUS, AIRFLOW_V_3_1_PLUS, AIRFLOW_V_3_2_PLUS, AIRFLOW_V_3_3_PLUS)
    assert tuple(installed >= (3, minor, 0) for minor in range(4)) == flags


@pytest.mark.parametrize("conn_type", CONNECTION_TYPES, ids=lambda c: c["connection-type"])
def test_hooks_define_the_legacy_form_methods_only_where_airflow_reads_them(
    conn_type: dict[str, Any],
) -> None:
    """3.1 reads the hook classmethods (from the class itself, not a base); 3.2+ reads provider info and
    would warn that the methods are deprecated."""
    hook = hook_class(conn_type)
    assert ("get_connection_form_widgets" in hook.__dict__) is not AIRFLOW_V_3_2_PLUS
    assert ("get_ui_field_behaviour" in hook.__dict__) is not AIRFLOW_V_3_2_PLUS


@needs_airflow((3, 0), HOOK_META)
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


@needs_airflow((3, 0), HOOK_META, below=True)
def test_on_airflow_2_the_webserver_form_has_the_conn_fields() -> None:
    """Airflow 2.11's webserver builds the connection form from what ProvidersManager gathers from the
    legacy methods: Flask-AppBuilder-styled wtforms fields, named ``extra__<type>__<field>``."""
    from airflow.providers_manager import ProvidersManager
    from flask_appbuilder.fieldwidgets import BS3TextFieldWidget

    manager = ProvidersManager()
    for conn_type in CONNECTION_TYPES:
        name = conn_type["connection-type"]
        widgets = {
            info.field_name: info.field
            for key, info in manager.connection_form_widgets.items()
            if key.startswith(f"extra__{name}__")
        }
        assert set(widgets) == set(conn_type["conn-fields"])
        for field_name, spec in conn_type["conn-fields"].items():
            field = widgets[field_name]
            assert field.args[0] == spec["label"]
            assert field.kwargs["description"] == spec["description"]
            assert field.kwargs["default"] == spec["schema"].get("default")
            if spec["schema"]["type"] not in ("boolean", ["boolean", "null"]):
                assert isinstance(field.kwargs["widget"], BS3TextFieldWidget)
        behaviour = manager.field_behaviours[name]
        assert behaviour["hidden_fields"] == conn_type["ui-field-behaviour"]["hidden-fields"]
        assert behaviour["relabeling"] == conn_type["ui-field-behaviour"]["relabeling"]
