"""``docs/emulator.md`` is the one written list of the emulator's assumptions, and it matches the code.

The package docstring points there instead of repeating the list; the defaults the list quotes are the
configuration's defaults; the control API it lists over HTTP is the one the emulator serves.
"""

from __future__ import annotations

import re

import airflow_provider_wfcancel.emulator as emulator
from airflow_provider_wfcancel.emulator import EmulatorConfig
from airflow_provider_wfcancel.emulator.common import ROUTES
from airflow_provider_wfcancel.emulator.control import router as control_router
from airflow_provider_wfcancel.emulator.enos_flows import router as flows_router
from tests.conftest import REPO

DOC = REPO / "docs" / "emulator.md"
NUMBERED = re.compile(r"^(\d+)\. ", re.MULTILINE)


def assumptions() -> str:
    text = DOC.read_text()
    return text[text.index("\n## Assumptions\n") :]


def test_the_package_docstring_points_to_the_doc_instead_of_repeating_the_list() -> None:
    doc = emulator.__doc__ or ""
    assert "docs/emulator.md" in doc
    assert NUMBERED.findall(doc) == []


def test_assumptions_are_numbered_one_to_n() -> None:
    numbers = [int(n) for n in NUMBERED.findall(assumptions())]
    assert len(numbers) >= 30
    assert numbers == list(range(1, len(numbers) + 1))


def test_every_setting_is_explained_and_its_quoted_default_is_the_real_one() -> None:
    text = assumptions()
    defaults = {name: field.default for name, field in EmulatorConfig.model_fields.items()}
    assert [name for name in defaults if f"`{name}" not in text] == []
    # "`domo_cancel_delay` (0.5 s)", "`enos_token_lifetime` (7200)", "`domo_final_status` (`COMPLETED`; ..."
    quoted = re.findall(r"`(\w+)`\s*\(`?(-?[\w.]+)", text)
    checked = {name: value for name, value in quoted if name in defaults}
    assert len(checked) >= 12, checked
    for name, value in checked.items():
        default = defaults[name]
        assert type(default)(value) == default, (
            f"docs/emulator.md quotes {name} = {value}, the default is {default!r}"
        )


def test_fault_routes_named_in_the_doc_exist() -> None:
    named = set(re.findall(r"`((?:domo|enos)\.[a-z.]+)`", DOC.read_text()))
    assert named
    assert named <= set(ROUTES)


def test_the_control_api_listed_over_http_is_the_one_served() -> None:
    text = DOC.read_text()
    routes = [*control_router.routes, *flows_router.routes]
    served = {route.path.replace("{instance_id}", "{id}").replace("{flow_id}", "{id}") for route in routes}
    listed = set(re.findall(r"(/_emulator/[a-z/{}]+[a-z}])", text))
    assert served == listed
