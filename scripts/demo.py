"""``make demo`` and ``make airflow``: the example DAGs against the emulator, with no accounts.

``demo`` runs each example DAG with ``dag.test()`` in an Airflow home under ``.demo/``, prints one row
per DAG and exits non-zero if anything did not go as expected. Airflow's own output goes to log files;
stdout carries only the demo's lines. ``ui`` starts ``airflow standalone`` on the same setup, waits until
it is up and has parsed the example DAGs, then prints (and writes to ``.demo/ready.txt``) how to log in,
which instance ids to cancel and how to make more.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from types import FrameType
from typing import IO, Any

REPO = Path(__file__).resolve().parent.parent
DEMO = REPO / ".demo"
LOGS = DEMO / "logs"
EMULATOR_LOG = DEMO / "emulator.log"
#: Airflow's own output in ``make demo`` (DagBag, migrations, warnings); each DAG run has its own file.
AIRFLOW_LOG = LOGS / "airflow.log"
#: ``airflow standalone``'s output in ``make airflow``.
STANDALONE_LOG = LOGS / "airflow-standalone.log"
#: The block ``make airflow`` prints once Airflow is up, kept while it runs.
READY_FILE = DEMO / "ready.txt"
AIRFLOW_PORT = 8080
AIRFLOW_URL = f"http://localhost:{AIRFLOW_PORT}"
AIRFLOW_USER = "admin"
LOGIN_FILE_NAME = "simple_auth_manager_passwords.json.generated"
UI_DAGS = ("domo_cancel_manual", "enos_cancel_manual")
#: What a cancelled instance reports in the end (Domo, EnOS).
CANCELLED = frozenset({"CANCELED", "CANCEL"})


def shown(path: Path) -> str:
    """A path as the user would type it from the repository root."""
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


@contextmanager
def emulator(*args: str) -> Iterator[str]:
    """Run ``wfcancel-emulator`` as its own process (as a real service would be) and yield its URL.

    Its start-up lines and one line per request go to ``.demo/emulator.log``.
    """
    DEMO.mkdir(parents=True, exist_ok=True)
    log = EMULATOR_LOG.open("w")
    proc = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_wfcancel.emulator", "--port", "0", "--access-log", *args],
        stdout=subprocess.PIPE,
        stderr=log,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.search(r"(http://\S+)", line)
        if not match:
            raise SystemExit(f"the emulator did not start: {line!r} (see {shown(EMULATOR_LOG)})")
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
    #: The ids of the instances the run cancelled (or started and had cancelled), from its XComs.
    instances: Callable[[dict[tuple[str, str, int], Any]], list[str]]
    #: The instance's status as the emulator reports it after the run.
    remote: Callable[[Any, str], str]


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
        lambda x: [x[("cancel", "return_value", -1)]["instance_id"]],
        _remote_domo,
    ),
    Scenario(
        "enos_cancel_manual",
        lambda c: {"flow_instance_id": c.create_enos_instance(status=2)["instanceId"]},
        "success",
        lambda x: [x[("cancel", "return_value", -1)]["instance_id"]],
        _remote_enos,
    ),
    Scenario(
        "domo_cancel_many",
        lambda c: {"instance_ids": [c.create_domo_instance(status="IN_PROGRESS")["id"] for _ in range(3)]},
        "success",
        lambda x: list(x[("summarize", "return_value", -1)]),
        _remote_domo,
    ),
    Scenario(
        "domo_failure_cleanup",
        lambda c: {},
        "failed",  # the DAG fails on purpose; its callback must cancel the started instance
        lambda x: [x[("start", "instance_id", -1)]],
        _remote_domo,
    ),
    Scenario(
        "enos_failure_cleanup",
        lambda c: {},
        "failed",
        lambda x: [x[("trigger", "instance_id", -1)]],
        _remote_enos,
    ),
]


def summarize(values: list[str]) -> str:
    """``["a"]`` -> ``a``; ``["a", "a", "a"]`` -> ``3x a``; mixed values are listed."""
    if len(set(values)) == 1:
        return values[0] if len(values) == 1 else f"{len(values)}x {values[0]}"
    return ", ".join(values)


def instances_cell(ids: list[str]) -> str:
    return ids[0] if len(ids) == 1 else f"{ids[0]} (+{len(ids) - 1} more)"


@contextmanager
def output_to(path: Path) -> Iterator[None]:
    """Send everything written to file descriptors 1 and 2 (Airflow's logging, warnings, child processes)
    to ``path`` until the block ends."""
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


@contextmanager
def console() -> Iterator[IO[str]]:
    """A stream on the terminal's stdout that stays there while ``output_to`` moves descriptor 1 away."""
    stream = os.fdopen(os.dup(1), "w", buffering=1)
    try:
        yield stream
    finally:
        stream.close()


def run_demo() -> int:
    home = DEMO / "airflow-home"
    shutil.rmtree(home, ignore_errors=True)
    LOGS.mkdir(parents=True, exist_ok=True)
    home.mkdir(parents=True)
    with (
        console() as out,
        emulator("--domo-cancel-delay", "1", "--enos-cancel-delay", "1") as base_url,
        output_to(AIRFLOW_LOG),
    ):
        os.environ.update(airflow_env(home, base_url))
        print(f"Emulator at {base_url}; Airflow home {shown(home)}", file=out)
        print(f"Running {len(SCENARIOS)} example DAGs with dag.test() (about 30 s):", end="", file=out)
        subprocess.run([sys.executable, "-m", "airflow", "db", "migrate"], check=True)

        from airflow.dag_processing.dagbag import DagBag
        from airflow.models.xcom import XComModel
        from airflow.utils.session import create_session

        from airflow_provider_wfcancel.emulator import EmulatorControl

        control = EmulatorControl(base_url)
        bag = DagBag(dag_folder=str(REPO / "example_dags"))
        if bag.import_errors:
            print(f"\nDAG import errors: {bag.import_errors}", file=out)
            return 1
        rows: list[tuple[str, ...]] = []
        ok = True
        for scenario in SCENARIOS:
            print(f" {scenario.dag_id}", end="", file=out, flush=True)
            dag = bag.get_dag(scenario.dag_id)
            assert dag is not None
            started = time.monotonic()
            with output_to(LOGS / f"{scenario.dag_id}.log"):
                run = dag.test(run_conf=scenario.conf(control))
            seconds = time.monotonic() - started
            with create_session() as session:
                xcoms = {
                    (x.task_id, x.key, x.map_index): XComModel.deserialize_value(x)
                    for x in session.query(XComModel).filter_by(dag_id=dag.dag_id, run_id=run.run_id)
                }
            try:
                ids = [str(i) for i in scenario.instances(xcoms)]
                statuses = [scenario.remote(control, i) for i in ids]
                instance, remote = instances_cell(ids), summarize(statuses)
            except Exception as error:  # a missing XCom means the run went wrong
                instance, remote, statuses = f"? ({error!r})", "?", []
            passed = str(run.state) == scenario.expect_state and bool(statuses) and set(statuses) <= CANCELLED
            ok &= passed
            rows.append(
                (
                    scenario.dag_id,
                    str(run.state),
                    instance,
                    remote,
                    f"{seconds:.1f}",
                    "ok" if passed else "UNEXPECTED",
                )
            )
        print(file=out)
        print_table(("DAG", "run state", "instance", "remote status", "seconds", "check"), rows, out)
        print(
            f"\nLogs: {shown(LOGS)}/<dag_id>.log (each run), {shown(AIRFLOW_LOG)} (Airflow), "
            f"{shown(EMULATOR_LOG)} (one line per request)",
            file=out,
        )
        print(
            "(The *_failure_cleanup runs fail on purpose: their callbacks cancel what they started.)",
            file=out,
        )
    return 0 if ok else 1


def print_table(header: tuple[str, ...], rows: list[tuple[str, ...]], out: IO[str]) -> None:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    line = " | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    print(f"\n{line.rstrip()}\n{'-+-'.join('-' * w for w in widths)}", file=out)
    for row in rows:
        print(" | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip(), file=out)


def create_instance_command(base_url: str) -> str:
    """One ``curl`` line that makes another running Domo instance through the emulator's control API."""
    body = json.dumps({"model_name": "Nightly Load", "status": "IN_PROGRESS"})
    return (
        f"curl -s -X POST {base_url}/_emulator/domo/instances "
        f"-H 'Content-Type: application/json' -d {shlex.quote(body)}"
    )


def ready_block(base_url: str, password_file: Path, domo: list[str], enos: list[str]) -> str:
    """What ``make airflow`` prints once Airflow is up (and writes to ``READY_FILE``)."""
    lines = [
        "=" * 72,
        f"Airflow is ready: {AIRFLOW_URL}",
        f"  user {AIRFLOW_USER}, password in {shown(password_file)}",
        f"  connections domo_default and enos_default point at the emulator, {base_url}",
        "Running instances to cancel (DAG > Trigger, then paste an id into the form):",
        "  domo_cancel_manual:",
        *(f"    {i}" for i in domo),
        "  enos_cancel_manual:",
        *(f"    {i}" for i in enos),
        'Another Domo instance (its "id" is in the answer):',
        f"  {create_instance_command(base_url)}",
        'After a run: the cancel task\'s Details tab has the "Domo Workflow Instance" link.',
        f"Logs: {shown(STANDALONE_LOG)}, {shown(EMULATOR_LOG)}. Ctrl-C stops Airflow and the emulator.",
        f"(This block is also in {shown(READY_FILE)}.)",
        "=" * 72,
    ]
    return "\n".join(lines) + "\n"


def port_in_use(port: int) -> bool:
    with socket.socket() as probe:
        probe.settimeout(1)
        return probe.connect_ex(("127.0.0.1", port)) == 0


def wait_until_ready(proc: subprocess.Popen[bytes], password_file: Path, timeout: float = 600) -> str | None:
    """Wait until the components are healthy and the UI DAGs are parsed; the reason if that never happens."""
    import requests

    deadline = time.monotonic() + timeout
    session: Any = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return f"airflow standalone exited with code {proc.returncode}"
        try:
            health = requests.get(f"{AIRFLOW_URL}/api/v2/monitor/health", timeout=5).json()
            parts = ("metadatabase", "scheduler", "triggerer", "dag_processor")
            if all(health.get(p, {}).get("status") == "healthy" for p in parts) and password_file.exists():
                if session is None:
                    password = json.loads(password_file.read_text())[AIRFLOW_USER]
                    answer = requests.post(
                        f"{AIRFLOW_URL}/auth/token",
                        json={"username": AIRFLOW_USER, "password": password},
                        timeout=10,
                    )
                    answer.raise_for_status()
                    session = requests.Session()
                    session.headers["Authorization"] = f"Bearer {answer.json()['access_token']}"
                if all(
                    session.get(f"{AIRFLOW_URL}/api/v2/dags/{dag_id}", timeout=10).ok for dag_id in UI_DAGS
                ):
                    return None
        except (requests.RequestException, ValueError, KeyError):
            pass
        time.sleep(2)
    return f"Airflow was not ready after {timeout:.0f} s"


def stop_process_group(proc: subprocess.Popen[bytes]) -> None:
    """Stop ``airflow standalone`` and every component it started: they share its process group.

    SIGTERM to all of them, then SIGKILL for whatever is left (standalone can hang in its own shutdown, and a
    component must not outlive ``make airflow`` and keep the port and the database).
    """
    if proc.poll() is None:
        with suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        with suppress(subprocess.TimeoutExpired):
            proc.wait(timeout=20)
    time.sleep(1)  # components that were already stopping finish on their own
    with suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def run_ui() -> int:
    home = DEMO / "airflow-ui-home"
    home.mkdir(parents=True, exist_ok=True)
    LOGS.mkdir(parents=True, exist_ok=True)
    READY_FILE.unlink(missing_ok=True)
    if port_in_use(AIRFLOW_PORT):
        print(f"Port {AIRFLOW_PORT} is in use (another Airflow?); stop that first.")
        return 1
    with emulator("--domo-cancel-delay", "3", "--enos-cancel-delay", "3") as base_url:
        from airflow_provider_wfcancel.emulator import EmulatorControl

        control = EmulatorControl(base_url)
        domo = [
            control.create_domo_instance(model_name="Nightly Load", status="IN_PROGRESS")["id"]
            for _ in range(3)
        ]
        enos = [control.create_enos_instance(status=2)["instanceId"] for _ in range(3)]
        env = {**os.environ, **airflow_env(home, base_url)}
        # `airflow standalone` starts its components as `airflow ...` from PATH: use this virtualenv's.
        env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
        print(
            f"Emulator at {base_url}. Starting airflow standalone (a minute or two; "
            f"its output goes to {shown(STANDALONE_LOG)})...",
            flush=True,
        )
        with STANDALONE_LOG.open("w") as log:
            # Its own session, so it and every component it starts can be stopped as one process group.
            proc = subprocess.Popen(
                [sys.executable, "-m", "airflow", "standalone"],
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        signal.signal(signal.SIGTERM, _interrupt)  # `kill` stops Airflow too, like Ctrl-C
        try:
            problem = wait_until_ready(proc, home / LOGIN_FILE_NAME)
            if problem:
                print(f"{problem}; see {shown(STANDALONE_LOG)}")
                return 1
            block = ready_block(base_url, home / LOGIN_FILE_NAME, domo, enos)
            READY_FILE.write_text(block)
            print(block, end="", flush=True)
            return proc.wait()
        except KeyboardInterrupt:
            print("Stopping Airflow...", flush=True)
            return 0
        finally:
            READY_FILE.unlink(missing_ok=True)
            stop_process_group(proc)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("command", choices=["demo", "ui"])
    return run_demo() if parser.parse_args().command == "demo" else run_ui()


if __name__ == "__main__":
    sys.exit(main())
