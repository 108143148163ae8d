"""Every ``[wfcancel]`` option the provider reads is declared in its provider info, and Airflow shows it.

Airflow's ``config`` schema (``provider_info.schema.json``) is what ``airflow config list`` reads: an option
read in code but not declared has no description, no documented default and no place in that list.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import airflow_provider_wfcancel
from airflow_provider_wfcancel.get_provider_info import get_provider_info

SECTION = "wfcancel"
PACKAGE = Path(airflow_provider_wfcancel.__file__).parent


def options_read_in_code() -> dict[str, list[str]]:
    """``conf.get*("wfcancel", "<option>", ...)`` calls in the package: option -> where."""
    found: dict[str, list[str]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr.startswith("get")
                and len(node.args) >= 2
                and isinstance(node.args[0], ast.Constant)
                and node.args[0].value == SECTION
            ):
                continue
            option = node.args[1]
            where = f"{path.relative_to(PACKAGE.parent)}:{node.lineno}"
            literal = isinstance(option, ast.Constant) and isinstance(option.value, str)
            assert literal, f"{where}: name the [{SECTION}] option with a literal, so this test can check it"
            assert isinstance(option, ast.Constant)
            found.setdefault(option.value, []).append(where)
    return found


def declared() -> dict[str, dict[str, object]]:
    return get_provider_info()["config"][SECTION]["options"]


def test_the_scan_finds_the_options_the_code_reads() -> None:
    assert "remote_instances_page" in options_read_in_code()


def test_every_option_read_is_declared_and_every_declared_option_is_read() -> None:
    read = options_read_in_code()
    undeclared = {option: where for option, where in read.items() if option not in declared()}
    assert undeclared == {}, "declare these in get_provider_info()['config']"
    assert set(declared()) - set(read) == set(), "declared but never read"


@pytest.mark.parametrize("option", sorted(declared()))
def test_each_option_has_a_description_type_default_and_example(option: str) -> None:
    spec = declared()[option]
    assert isinstance(spec["description"], str)
    assert len(spec["description"]) > 20
    assert spec["type"] in {"string", "boolean", "integer", "float"}
    assert spec["default"] is not None
    assert spec["example"] is not None
    assert spec["version_added"]
    if spec["type"] == "boolean":
        assert {spec["default"], spec["example"]} <= {"True", "False"}


def test_airflow_config_list_shows_the_section_with_its_default(capsys: pytest.CaptureFixture[str]) -> None:
    """``airflow config list --defaults --show-values --section wfcancel`` through Airflow's own CLI parser."""
    from airflow.cli import cli_config, cli_parser

    # Airflow 3.0's --defaults shows values, descriptions and variables; later ones need --show-values.
    show = ["--show-values"] if hasattr(cli_config, "ARG_CONFIG_SHOW_VALUES") else []
    args = cli_parser.get_parser().parse_args(["config", "list", "--defaults", *show, "--section", SECTION])
    args.func(args)
    out = capsys.readouterr().out
    assert f"[{SECTION}]" in out
    assert "# remote_instances_page = True" in out
    assert "Mount the provider's Remote instances page" in out
    assert "AIRFLOW__WFCANCEL__REMOTE_INSTANCES_PAGE" in out


def test_airflow_conf_has_the_declared_default_and_the_environment_overrides_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from airflow.configuration import conf
    from airflow.utils.providers_configuration_loader import providers_configuration_loaded

    from airflow_provider_wfcancel.ui import enabled

    @providers_configuration_loaded
    def read() -> tuple[str, bool]:
        return conf.get(SECTION, "remote_instances_page"), enabled()

    assert read() == ("True", True)
    monkeypatch.setenv("AIRFLOW__WFCANCEL__REMOTE_INSTANCES_PAGE", "False")
    assert read() == ("False", False)
