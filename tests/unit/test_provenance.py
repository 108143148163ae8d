"""What a start task's instance must be (:mod:`airflow_provider_wfcancel._provenance`), from the task's fields,
and why a record or a remote instance does not belong to it."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_wfcancel._protocol.model import InstanceState
from airflow_provider_wfcancel._provenance import (
    Refused,
    expected,
    instance_id_problem,
    instance_problem,
    record_problem,
)
from airflow_provider_wfcancel.hooks.domo import DomoHook
from airflow_provider_wfcancel.hooks.enos import EnosHook

MODEL = "f5d7bbff-0000-4000-8000-000000000001"
DOMO = expected("domo", {"domo_conn_id": "domo_default", "model_id": MODEL, "version": "1.0.0"})
ENOS = expected("enos", {"enos_conn_id": "enos_default", "flow_id": 777, "user_id": " ", "org_id": "o1"})


def state(service: str, **raw: Any) -> InstanceState:
    return InstanceState(service, "id-1", "RUNNING", is_terminal=False, is_cancelled=False, raw=raw)


def test_the_expectation_comes_from_the_fields_with_blank_options_as_the_connections() -> None:
    assert DOMO.target == {"model_id": MODEL, "version": "1.0.0"}
    assert ENOS.target == {"flow_id": "777"}
    assert ENOS.options == {"user_id": None, "org_id": "o1"}


@pytest.mark.parametrize(
    ("service", "values", "message"),
    [
        ("domo", {"model_id": MODEL}, "the task has no domo_conn_id"),
        ("domo", {"domo_conn_id": "c", "model_id": ""}, "the task has no model_id"),
        ("domo", {"domo_conn_id": "c", "model_id": ["x"]}, "model_id is not a string"),
        ("enos", {"enos_conn_id": "c", "flow_id": "seven"}, "flow_id is not a number"),
        ("os.system", {}, "unknown service"),
    ],
)
def test_a_task_without_what_it_starts_is_refused(service: str, values: dict[str, Any], message: str) -> None:
    with pytest.raises(Refused, match=message):
        expected(service, values)


@pytest.mark.parametrize(
    ("record", "problem"),
    [
        ({"service": "domo", "conn_id": "domo_default", "options": {}, "instance_id": "x"}, None),
        ("../x", "the record is not an object: str"),
        ({"service": "enos", "conn_id": "domo_default"}, "names service 'enos'"),
        ({"service": "domo", "conn_id": "other"}, "names connection 'other'"),
        ({"service": "domo", "conn_id": "domo_default", "options": []}, "options are not an object"),
        (
            {"service": "domo", "conn_id": "domo_default", "options": {"org_id": "o2"}},
            "options the task does not",
        ),
    ],
)
def test_a_domo_record_must_agree_with_its_task(record: Any, problem: str | None) -> None:
    found = record_problem(record, DOMO)
    assert found is None if problem is None else problem in str(found)


def test_an_enos_record_must_act_as_the_tasks_user_and_org() -> None:
    genuine = {"service": "enos", "conn_id": "enos_default", "options": {"user_id": "", "org_id": "o1"}}
    assert record_problem(genuine, ENOS) is None
    other = {**genuine, "options": {"user_id": None, "org_id": "o2"}}
    assert record_problem(other, ENOS) == "the record names org_id 'o2', the task 'o1'"


def test_an_instance_id_the_hook_refuses_is_a_problem() -> None:
    assert instance_id_problem(DomoHook, "2052e10a-9b8c-4a6f-8d3e-000000000001") is None
    assert "malformed instance id '../x'" in str(instance_id_problem(DomoHook, "../x"))
    assert "malformed instance id None" in str(instance_id_problem(EnosHook, None))


def test_the_remote_instance_must_be_of_the_tasks_model_version_or_flow() -> None:
    assert instance_problem(state("domo", modelId=MODEL, modelVersion="1.0.0"), DOMO) is None
    assert "is of model 'other'" in str(instance_problem(state("domo", modelId="other"), DOMO))
    assert "model version '2.0.0'" in str(
        instance_problem(state("domo", modelId=MODEL, modelVersion="2.0.0"), DOMO)
    )
    unversioned = expected("domo", {"domo_conn_id": "c", "model_id": MODEL})
    assert instance_problem(state("domo", modelId=MODEL, modelVersion="2.0.0"), unversioned) is None
    assert instance_problem(state("enos", flowId=777), ENOS) is None
    assert "is of flow 2438" in str(instance_problem(state("enos", flowId=2438), ENOS))
    assert "is of flow None" in str(instance_problem(state("enos"), ENOS))
