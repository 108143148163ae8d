"""``scripts/demo.py``: the block ``make airflow`` prints once Airflow is up, and the demo table's cells."""

from __future__ import annotations

import importlib.util
import json
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from airflow_provider_wfcancel.emulator import EmulatorServer
from tests.conftest import REPO


def load_demo() -> ModuleType:
    spec = importlib.util.spec_from_file_location("wfcancel_demo", REPO / "scripts" / "demo.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


demo = load_demo()


def test_ready_block_says_where_to_log_in_what_to_cancel_and_where_things_are() -> None:
    password_file = demo.DEMO / "airflow-ui-home" / demo.LOGIN_FILE_NAME
    block = demo.ready_block("http://127.0.0.1:41234", password_file, ["d-1", "d-2"], ["2438-20240301080000"])
    lines = block.splitlines()
    assert "http://localhost:8080" in lines[1]
    assert (
        "user admin, password in .demo/airflow-ui-home/simple_auth_manager_passwords.json.generated" in block
    )
    assert (
        lines.index("  domo_cancel_manual:") < lines.index("    d-1") < lines.index("  enos_cancel_manual:")
    )
    assert "    2438-20240301080000" in lines
    assert "curl -s -X POST http://127.0.0.1:41234/_emulator/domo/instances" in block
    for path in (demo.READY_FILE, demo.STANDALONE_LOG, demo.EMULATOR_LOG):
        assert str(path.relative_to(REPO)) in block
    assert len(lines) <= 20  # short enough to read at a glance


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
def test_the_printed_curl_line_creates_a_running_domo_instance() -> None:
    with EmulatorServer() as emu:
        command = demo.create_instance_command(emu.base_url)
        argv = shlex.split(command)  # the line as a shell would split it
        answer = subprocess.run(argv, capture_output=True, text=True, check=True, timeout=30)  # noqa: S603
        created = json.loads(answer.stdout)
        assert emu.control.domo_instance(created["id"])["status"] == "IN_PROGRESS"


def test_table_cells_for_one_and_many_instances() -> None:
    assert demo.instances_cell(["a"]) == "a"
    assert demo.instances_cell(["a", "b", "c"]) == "a (+2 more)"
    assert demo.summarize(["CANCELED"]) == "CANCELED"
    assert demo.summarize(["CANCELED"] * 3) == "3x CANCELED"
    assert demo.summarize(["CANCELED", "IN_PROGRESS"]) == "CANCELED, IN_PROGRESS"


def test_logs_and_ready_file_live_under_the_ignored_demo_directory() -> None:
    ignored = (REPO / ".gitignore").read_text().split()
    assert ".demo/" in ignored
    for path in (demo.READY_FILE, demo.STANDALONE_LOG, demo.EMULATOR_LOG, demo.AIRFLOW_LOG):
        assert Path(path).is_relative_to(demo.DEMO)
