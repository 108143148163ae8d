"""The installed wheel works: run by ``make release-check`` (scripts/release_check.py) with the fresh
``.venv-wheel``'s Python, as ``python -I``, from a temporary directory outside the checkout, so only the
installed package can be imported. Needs no access to the checkout: the example DAG is copied next to it.

1. the package comes from the venv, and every module of it imports;
2. the distribution's, the package's and the provider info's versions are the expected one;
3. ``airflow providers list`` shows the provider at that version; ``airflow config list`` its
   ``[wfcancel]`` section with the declared default;
4. the copied example DAG ``domo_cancel_manual`` runs with ``dag.test()`` against the emulator (started
   from the installed package) and cancels the instance.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import pkgutil
import re
import subprocess
import sys
import tempfile
from importlib.metadata import version as distribution_version
from pathlib import Path

HERE = Path.cwd()
DAG_ID = "domo_cancel_manual"


def airflow(*args: str) -> str:
    """An ``airflow`` CLI command of this venv; its stdout."""
    command = [str(Path(sys.executable).parent / "airflow"), *args]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        sys.exit(f"{' '.join(command[1:])} exited {result.returncode}:\n{result.stderr[-3000:]}")
    return result.stdout


#: Modules only an extra makes importable: the extra, then the packages it brings.
EXTRA_ONLY = {"airflow_provider_wfcancel._openlineage": ("openlineage", "openlineage")}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--version", required=True)
    parser.add_argument(
        "--checkout", type=Path, required=True, help="must not be where the package comes from"
    )
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="airflow-home-", dir=HERE))
    for name in [n for n in os.environ if n.startswith(("AIRFLOW_CONN_", "AIRFLOW__"))]:
        del os.environ[name]
    os.environ.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__DAGS_FOLDER": str(HERE / "dags"),
        }
    )

    import airflow_provider_wfcancel as package

    origin = Path(package.__file__).resolve()
    assert not origin.is_relative_to(args.checkout.resolve() / package.__name__), origin
    assert "site-packages" in origin.parts, f"the package was imported from {origin}, not the installed wheel"
    modules = [m.name for m in pkgutil.walk_packages(package.__path__, f"{package.__name__}.")]
    for name in modules:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as error:
            # installed without its extra: only the extra's own packages may be what is missing
            missing = (error.name or "").split(".")
            if name not in EXTRA_ONLY or not any(part in EXTRA_ONLY[name] for part in missing):
                raise
            print(f"    {name} needs the [{EXTRA_ONLY[name][0]}] extra (not installed): not imported")
    print(f"    imported {len(modules) + 1} modules from {origin.parent}")

    from airflow_provider_wfcancel.get_provider_info import get_provider_info

    versions = {
        "distribution": distribution_version("airflow-provider-wfcancel"),
        "__version__": package.__version__,
        "provider info": get_provider_info()["versions"][0],
    }
    assert set(versions.values()) == {args.version}, versions
    print(f"    version {args.version}: distribution, __version__, provider info")

    providers = json.loads(airflow("providers", "list", "--output", "json"))
    listed = {p["package_name"]: p["version"] for p in providers}
    assert listed.get("airflow-provider-wfcancel") == args.version, listed
    config = airflow("config", "list", "--section", "wfcancel", "--show-values")
    assert "[wfcancel]" in config, config
    assert re.search(r"^remote_instances_page = True$", config, re.MULTILINE), config
    print("    airflow providers list: the provider at that version; airflow config list: [wfcancel]")

    airflow("db", "migrate")
    emulator = subprocess.Popen(
        [sys.executable, "-m", "airflow_provider_wfcancel.emulator", "--port", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert emulator.stdout is not None
        match = re.search(r"(http://\S+)", emulator.stdout.readline())
        assert match, "the emulator did not start"
        base_url = match.group(1)

        from airflow_provider_wfcancel.emulator import EmulatorControl, airflow_connections

        for conn_id, conn in airflow_connections(base_url).items():
            os.environ[f"AIRFLOW_CONN_{conn_id.upper()}"] = json.dumps(conn)
        control = EmulatorControl(base_url)
        control.configure(domo_cancel_delay=0.1)
        running = control.create_domo_instance(status="IN_PROGRESS")

        from airflow.dag_processing.dagbag import DagBag

        bag = DagBag(dag_folder=str(HERE / "dags"))
        assert bag.import_errors == {}, bag.import_errors
        dag = bag.get_dag(DAG_ID)
        assert dag is not None
        run = dag.test(run_conf={"instance_id": running["id"], "wait": True})
        assert str(run.state) == "success", run.state
        final = control.domo_instance(running["id"])["status"]
        assert final == "CANCELED", final
        print(f"    dag.test() of {DAG_ID} against the emulator: run success, instance {final}")
    finally:
        emulator.terminate()
        emulator.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
