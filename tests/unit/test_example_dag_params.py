"""The example DAGs' Trigger forms accept exactly the ids the hooks accept, and say which those are."""

from __future__ import annotations

import importlib.util
from typing import Any

import pytest

from airflow_provider_wfcancel.exceptions import InvalidInputError
from airflow_provider_wfcancel.hooks.domo import DomoHook
from airflow_provider_wfcancel.hooks.enos import EnosHook
from tests.airflow_compat import ParamsDict
from tests.conftest import REPO

DOMO_SAMPLES = [
    "2052e10a-1b2c-4d5e-8f90-1234567890ab",
    "A_1",
    "x" * 256,
    "x" * 257,
    "-leading-dash",
    "_leading",
    "has space",
    "a/b",
    "a.b",
    "a?b",
    "ünïcode",
]
ENOS_SAMPLES = [
    "2438-20240301080000",
    "2438-201908081020",
    "1-12345678",
    "1-1234567",
    "2438-123456789012345",
    "2438_20240301080000",
    "x2438-20240301080000",
    "2438",
]


def params_of(dag_file: str) -> ParamsDict:
    spec = importlib.util.spec_from_file_location(
        f"example_{dag_file}", REPO / "example_dags" / f"{dag_file}.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    params: ParamsDict = module.dag.params
    return params


def form_accepts(params: ParamsDict, name: str, value: Any) -> bool:
    try:
        params.get_param(name).resolve(value)
    except Exception:  # ParamValidationError: the form's "Trigger" would be refused
        return False
    return True


def hook_accepts(validate: Any, value: Any) -> bool:
    try:
        validate(value)
    except InvalidInputError:
        return False
    return True


@pytest.mark.parametrize(
    ("dag_file", "name", "validate", "samples"),
    [
        ("domo_cancel_manual", "instance_id", DomoHook.validate_instance_id, DOMO_SAMPLES),
        ("enos_cancel_manual", "flow_instance_id", EnosHook.validate_instance_id, ENOS_SAMPLES),
    ],
)
def test_the_trigger_form_accepts_what_the_hook_accepts(
    dag_file: str, name: str, validate: Any, samples: list[str]
) -> None:
    params = params_of(dag_file)
    verdicts = {s: (form_accepts(params, name, s), hook_accepts(validate, s)) for s in samples}
    assert {s: v for s, v in verdicts.items() if v[0] != v[1]} == {}
    assert {form for form, _ in verdicts.values()} == {True, False}  # the samples cover both answers


def test_the_bulk_form_checks_each_id_like_the_hook() -> None:
    params = params_of("domo_cancel_many")
    for sample in DOMO_SAMPLES:
        assert form_accepts(params, "instance_ids", [sample]) == hook_accepts(
            DomoHook.validate_instance_id, sample
        )


@pytest.mark.parametrize(
    ("dag_file", "name", "shape"),
    [
        (
            "domo_cancel_manual",
            "instance_id",
            ["Letters, digits, '-' and '_'", "starting with a letter or digit", "256"],
        ),
        (
            "domo_cancel_many",
            "instance_ids",
            ["Letters, digits, '-' and '_'", "starting with a letter or digit", "256"],
        ),
        (
            "domo_failure_cleanup",
            "model_id",
            ["Letters, digits, '-' and '_'", "starting with a letter or digit", "256"],
        ),
        (
            "domo_start_then_wait",
            "model_id",
            ["Letters, digits, '-' and '_'", "starting with a letter or digit", "256"],
        ),
        ("enos_cancel_manual", "flow_instance_id", ["1-18 digits", "a dash", "8-14 digits"]),
    ],
)
def test_the_id_fields_describe_the_allowed_shape(dag_file: str, name: str, shape: list[str]) -> None:
    description = params_of(dag_file).get_param(name).description or ""
    assert [part for part in shape if part not in description] == []
