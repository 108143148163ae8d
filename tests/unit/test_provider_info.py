"""The provider is discoverable, and the UI can draw its connection forms from metadata alone."""

from __future__ import annotations

import importlib
import importlib.util
import json
from importlib.metadata import entry_points
from pathlib import Path

import airflow
import jsonschema
import pytest

from airflow_provider_wfcancel import __version__
from airflow_provider_wfcancel.get_provider_info import get_provider_info
from tests.airflow_compat import needs_airflow

#: Airflow 3.0 builds a connection form's extra fields only where wtforms is installed (the fab provider).
EXTRA_FIELDS_WITHOUT_WTFORMS = "connection-form extra fields without wtforms installed"


def test_entry_point_points_at_get_provider_info() -> None:
    (entry,) = [
        e
        for e in entry_points(group="apache_airflow_provider")
        if e.value.startswith("airflow_provider_wfcancel")
    ]
    assert entry.load() is get_provider_info


def test_provider_info_validates_against_airflow_schemas() -> None:
    info = get_provider_info()
    runtime_schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    jsonschema.validate(info, runtime_schema)
    yaml_schema = json.loads((Path(airflow.__file__).parent / "provider.yaml.schema.json").read_text())
    jsonschema.validate(info["connection-types"], yaml_schema["properties"]["connection-types"])
    assert info["package-name"] == "airflow-provider-wfcancel"


def test_every_registered_class_and_module_imports() -> None:
    info = get_provider_info()
    modules = [
        m
        for key in ("hooks", "operators", "sensors", "triggers")
        for item in info[key]
        for m in item["python-modules"]
    ]
    for name in modules:
        importlib.import_module(name)
    class_paths = (
        [c["hook-class-name"] for c in info["connection-types"]] + info["extra-links"] + info["notifications"]
    )
    for path in class_paths:
        module, _, cls = path.rpartition(".")
        assert hasattr(importlib.import_module(module), cls), path


@pytest.mark.parametrize("kind", ["operators", "sensors", "triggers"])
def test_every_public_module_is_registered(kind: str) -> None:
    """A new module under operators/, sensors/ or triggers/ is listed in the provider info, or Airflow never
    lists it."""
    import airflow_provider_wfcancel

    folder = Path(airflow_provider_wfcancel.__file__).parent / kind
    registered = {m for item in get_provider_info()[kind] for m in item["python-modules"]}
    on_disk = {f"airflow_provider_wfcancel.{kind}.{p.stem}" for p in folder.glob("[!_]*.py")}
    assert registered == on_disk


def test_every_public_notifier_is_registered() -> None:
    import airflow_provider_wfcancel.notifications as package

    folder = Path(package.__file__).parent
    public = {
        f"{module.__name__}.{name}"
        for module in (
            importlib.import_module(f"{package.__name__}.{p.stem}") for p in folder.glob("[!_]*.py")
        )
        for name, value in vars(module).items()
        if name.endswith("Notifier") and not name.startswith("_") and value.__module__ == module.__name__
    }
    assert set(get_provider_info()["notifications"]) == public


def test_hook_class_attributes_match_connection_types() -> None:
    for conn_type in get_provider_info()["connection-types"]:
        module, _, cls_name = conn_type["hook-class-name"].rpartition(".")
        hook = getattr(importlib.import_module(module), cls_name)
        assert hook.conn_type == conn_type["connection-type"]
        assert hook.hook_name == conn_type["hook-name"]
        assert hook.conn_name_attr == f"{hook.conn_type}_conn_id"


def test_providers_manager_discovers_the_provider() -> None:
    from airflow.providers_manager import ProvidersManager

    provider = ProvidersManager().providers["airflow-provider-wfcancel"]
    assert provider.version == __version__


@needs_airflow((3, 1), EXTRA_FIELDS_WITHOUT_WTFORMS)
@pytest.mark.parametrize(
    ("conn_type", "extra_fields", "secret_label"),
    [
        (
            "domo",
            {"timeout", "max_retries", "max_requests_per_second", "verify_ssl", "ca_bundle"},
            "Developer access token",
        ),
        (
            "enos",
            {
                "org_id",
                "user_id",
                "timeout",
                "max_retries",
                "max_requests_per_second",
                "verify_ssl",
                "ca_bundle",
            },
            "Secret key (appSecret)",
        ),
    ],
)
def test_ui_hook_metadata_lists_connection_forms(
    conn_type: str, extra_fields: set[str], secret_label: str
) -> None:
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

    (meta,) = [m for m in HookMetaService.hook_meta_data() if m.connection_type == conn_type]
    assert set(meta.extra_fields or {}) == extra_fields
    standard = meta.standard_fields.model_dump() if meta.standard_fields else {}
    assert standard["password"]["title"] == secret_label
    assert standard["port"]["hidden"] is True
    assert standard["url_schema"]["hidden"] is True
    assert meta.extra_fields["timeout"]["schema"]["title"] == "Timeout (seconds)"


@needs_airflow((3, 1), EXTRA_FIELDS_WITHOUT_WTFORMS, below=True)
@needs_airflow((3, 0), "the API server's connection forms (HookMetaService)")
def test_on_airflow_3_0_without_wtforms_the_forms_are_the_generic_one() -> None:
    """Airflow 3.0 reads a hook's form (extra fields, labels, hidden fields) only with wtforms installed:
    without it, Domo and EnOS connections get the generic form, and their Extra JSON takes the fields."""
    from airflow.api_fastapi.core_api.services.ui.connections import HookMetaService

    assert importlib.util.find_spec("wtforms") is None  # as in constraints/airflow-3.0.txt
    metas = {m.connection_type: m for m in HookMetaService.hook_meta_data()}
    for conn_type in ("domo", "enos"):
        assert (metas[conn_type].extra_fields, metas[conn_type].standard_fields) == (None, None)
