"""Print the constraints of the lowest-dependency run (``make test-lowest``).

The oldest supported Airflow's lock, with every direct dependency of pyproject.toml pinned to its declared
minimum instead (``requests>=2.32`` -> ``requests==2.32``). A dependency without a minimum is an error:
each one the package imports must declare the lowest version CI proves.

Usage: python scripts/lowest-constraints.py constraints/airflow-3.0.txt > lowest.txt
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def main(lock: str) -> None:
    dependencies = tomllib.loads(Path("pyproject.toml").read_text())["project"]["dependencies"]
    minimums = {}
    for dependency in dependencies:
        match = re.fullmatch(r"([A-Za-z0-9_.-]+)\s*>=\s*([0-9][^,;\s]*)\s*(?:,.*)?", dependency)
        if match is None:
            sys.exit(f"{dependency!r} in pyproject.toml declares no minimum (name>=version)")
        minimums[normalized(match[1])] = f"{match[1]}=={match[2]}"
    for line in Path(lock).read_text().splitlines():
        name = line.split("==")[0]
        if line.startswith("#") or normalized(name) not in minimums:
            print(line)
    print("# the declared minimums of pyproject.toml")
    print("\n".join(minimums.values()))


if __name__ == "__main__":
    main(*sys.argv[1:])
