"""``make demo`` and ``make airflow``: the example DAGs against the emulator, with no accounts.

``demo`` runs each example DAG with ``dag.test()`` in an Airflow home under ``.demo/``, prints one row
per DAG and exits non-zero if anything did not go as expected. ``ui`` starts ``airflow standalone`` on
the same setup, so a person can trigger the manual DAGs from the browser.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / ".demo"


@contextmanager
def emulator(*args: str) -> Iterator[str]:
    """Run ``wfcancel-emulator`` as its own process (as a real service would be) and yield its URL."""
    log = (DEMO / "emulator.log").open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_wfcancel.emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"(http://\S+)", line)
        if not match:
            raise SystemExit(f"the emulator did not start: {line!r} (see {log.name})")
        yield match.group(1)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        log.close()


def airflow_env(home: Path, base_url: str) -> dict[str, str]:
    from airflow_provider_wfcancel.emulator import airflow_connections

    return {
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(REPO / "example_dags"),
        "AIRFLOW__CORE__TEST_CONNECTION": "Enabled",
        "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",  # so a Trigger in the UI runs at once
        **{
            f"AIRFLOW_CONN_{conn_id.upper()}": json.dumps(c)
            for conn_id, c in airflow_connections(base_url).items()
        },
    }


@dataclass
class Scenario:
    dag_id: str
    conf: Callable[[Any], dict[str, Any]]
    expect_state: str
    instance: Callable[[dict[str, Any]], Any]
    check: Callable[[Any, Any], str]


def _remote_domo(control: Any, instance_id: str) -> str:
    return str(control.domo_instance(instance_id)["status"])


def _remote_enos(control: Any, instance_id: str) -> str:
    return str(control.enos_instance(instance_id)["statusDesc"])


SCENARIOS = [
    Scenario(
        "domo_cancel_manual",
        lambda c: {
            "instance_id": c.create_domo_instance(model_name="Nightly Load", status="IN_PROGRESS")["id"]
        },
        "success",
        lambda x: x[("cancel", "return_value", -1)]["instance_id"],
        _remote_domo,
    ),
    Scenario(
        "enos_cancel_manual",
        lambda c: {"flow_instance_id": c.create_enos_instance(status=2)["instanceId"]},
        "success",
        lambda x: x[("cancel", "return_value", -1)]["instance_id"],
        _remote_enos,
    ),
    Scenario(
        "domo_cancel_many",
        lambda c: {"instance_ids": [c.create_domo_instance(status="IN_PROGRESS")["id"] for _ in range(3)]},
        "success",
        lambda x: ", ".join(f"{k[:8]}..={v}" for k, v in x[("summarize", "return_value", -1)].items()),
        lambda c, i: "see summary",
    ),
    Scenario(
        "domo_failure_cleanup",
        lambda c: {},
        "failed",  # the DAG fails on purpose; its callback must cancel the started instance
        lambda x: x[("start", "instance_id", -1)],
        _remote_domo,
    ),
    Scenario(
        "enos_failure_cleanup",
        lambda c: {},
        "failed",
        lambda x: x[("trigger", "instance_id", -1)],
        _remote_enos,
    ),
]
EXPECTED_REMOTE = {"CANCELED", "CANCEL", "see summary"}


@contextmanager
def output_to(path: Path) -> Iterator[None]:
    """Send everything the DAG run prints (task logs included) to a file, at the descriptor level."""
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    with path.open("w") as sink:
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved[0], 1)
            os.dup2(saved[1], 2)
            os.close(saved[0])
            os.close(saved[1])


def run_demo() -> int:
    home = DEMO / "airflow-home"
    shutil.rmtree(home, ignore_errors=True)
    (DEMO / "logs").mkdir(parents=True, exist_ok=True)
    home.mkdir(parents=True)
    with emulator("--domo-cancel-delay", "1", "--enos-cancel-delay", "1") as base_url:
        os.environ.update(airflow_env(home, base_url))
        print(f"Emulator at {base_url}; Airflow home {home}")
        subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True, capture_output=True)

        from airflow.dag_processing.dagbag import DagBag
        from airflow.models.xcom import XComModel
        from airflow.utils.session import create_session

        from airflow_provider_wfcancel.emulator import EmulatorControl

        control = EmulatorControl(base_url)
        bag = DagBag(dag_folder=str(REPO / "example_dags"))
        if bag.import_errors:
            print(f"DAG import errors: {bag.import_errors}")
            return 1
        rows, ok = [], True
        for scenario in SCENARIOS:
            dag = bag.get_dag(scenario.dag_id)
            assert dag is not None
            log_file = DEMO / "logs" / f"{scenario.dag_id}.log"
            started = time.monotonic()
            with output_to(log_file):
                run = dag.test(run_conf=scenario.conf(control))
            seconds = time.monotonic() - started
            with create_session() as session:
                xcoms = {
                    (x.task_id, x.key, x.map_index): XComModel.deserialize_value(x)
                    for x in session.query(XComModel).filter_by(dag_id=dag.dag_id, run_id=run.run_id)
                }
            try:
                instance = scenario.instance(xcoms)
                remote = scenario.check(control, instance)
            except Exception as error:  # a missing XCom means the run went wrong
                instance, remote = f"? ({error!r})", "?"
            passed = str(run.state) == scenario.expect_state and remote in EXPECTED_REMOTE
            ok &= passed
            rows.append(
                (
                    scenario.dag_id,
                    str(run.state),
                    str(instance),
                    remote,
                    f"{seconds:.1f}",
                    "ok" if passed else "UNEXPECTED",
                )
            )
        print_table(("DAG", "run state", "instance", "remote status", "seconds", "check"), rows)
        print(f"\nTask logs: {DEMO / 'logs'}/<dag_id>.log; emulator log: {DEMO / 'emulator.log'}")
        print("(The *_failure_cleanup runs fail on purpose: their callbacks cancel what they started.)")
    return 0 if ok else 1


def print_table(header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    line = " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    print(f"\n{line}\n{'-+-'.join('-' * w for w in widths)}")
    for row in rows:
        print(" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)))


def run_ui() -> int:
    home = DEMO / "airflow-ui-home"
    home.mkdir(parents=True, exist_ok=True)
    with emulator("--domo-cancel-delay", "3", "--enos-cancel-delay", "3") as base_url:
        from airflow_provider_wfcancel.emulator import EmulatorControl

        control = EmulatorControl(base_url)
        domo = [
            control.create_domo_instance(model_name="Nightly Load", status="IN_PROGRESS")["id"]
            for _ in range(3)
        ]
        enos = [control.create_enos_instance(status=2)["instanceId"] for _ in range(3)]
        print(f"Emulator at {base_url}. Running instances to cancel from the Trigger form:")
        print("  Domo (domo_cancel_manual):", *domo, sep="\n    ")
        print("  EnOS (enos_cancel_manual):", *enos, sep="\n    ")
        print(
            f"Log in at http://localhost:8080 as 'admin'; the password is in {home}/simple_auth_manager_passwords.json.generated"
        )
        env = {**os.environ, **airflow_env(home, base_url)}
        # `airflow standalone` starts its components as `airflow ...` from PATH: use this virtualenv's.
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        try:
            return subprocess.call([sys.executable, "-m", "airflow", "standalone"], env=env)
        except KeyboardInterrupt:
            return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["demo", "ui"])
    return run_demo() if parser.parse_args().command == "demo" else run_ui()


if __name__ == "__main__":
    sys.exit(main())
