"""``make release-check``: what a packager and a user get from the release archives, checked before a tag.

Run with the release tools venv (build, twine, flit_core from constraints.txt):

1. build the sdist, and the wheel from it, into ``dist/`` (the locked flit_core, no isolation);
2. ``twine check --strict``;
3. both archives carry LICENSE and NOTICE; the metadata's SPDX ``License-Expression`` and version; the
   wheel carries every static asset of the Remote instances page; the sdist the changelog; the version
   in the archives, the package, the provider info and the changelog's newest release agree;
4. install the wheel (not the checkout) into a fresh venv, ``.venv-wheel``, pinned by constraints.txt;
5. from a directory outside the checkout, ``scripts/release_smoke.py`` in that venv: every module
   imports, ``airflow providers list`` and ``airflow config list`` show the provider, and one example DAG
   runs with ``dag.test()`` against the emulator from the installed package.

Prints the seconds each step took; exits non-zero at the first failure.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from email.parser import Parser
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DIST = REPO / "dist"
WHEEL_VENV = REPO / ".venv-wheel"
PACKAGE = "airflow_provider_wfcancel"
LICENSE_FILES = ("LICENSE", "NOTICE")
#: Keep a Changelog's release heading, as tests/unit/test_packaging.py reads it.
RELEASE = re.compile(r"^## \[([^\]]+)\] - \d{4}-\d{2}-\d{2}$", re.MULTILINE)
#: The example DAG the installed package runs (it needs only the emulator and the Domo connection).
EXAMPLE_DAG = REPO / "example_dags" / "domo_cancel_manual.py"


class CheckFailed(Exception):
    pass


def check(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


@contextmanager
def step(name: str, timings: list[tuple[str, float]]) -> Iterator[None]:
    print(f"==> {name}", flush=True)
    started = time.monotonic()
    yield
    timings.append((name, time.monotonic() - started))


def run(*command: str | Path, cwd: Path = REPO) -> None:
    result = subprocess.run([str(c) for c in command], cwd=cwd, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        output = "\n".join(
            line for line in (result.stdout + result.stderr).splitlines() if "Location" not in line
        )
        raise CheckFailed(f"{' '.join(map(str, command))} exited {result.returncode}:\n{output[-4000:]}")


def source_version() -> str:
    match = re.search(
        r'^__version__ = "([^"]+)"$', (REPO / PACKAGE / "__init__.py").read_text(), re.MULTILINE
    )
    check(match is not None, f"no __version__ in {PACKAGE}/__init__.py")
    assert match is not None
    return match.group(1)


def newest_release(changelog: str) -> str:
    match = RELEASE.search(changelog)
    check(match is not None, "the changelog has no '## [X.Y.Z] - YYYY-MM-DD' release heading")
    assert match is not None
    return match.group(1)


def check_wheel(wheel: Path, version: str) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        dist_info = f"{PACKAGE}-{version}.dist-info"
        for name in LICENSE_FILES:
            check(f"{dist_info}/licenses/{name}" in names, f"the wheel lacks {name}")
        metadata = Parser().parsestr(archive.read(f"{dist_info}/METADATA").decode())
        info = archive.read(f"{PACKAGE}/get_provider_info.py").decode()
    check(metadata["Version"] == version, f"wheel Version {metadata['Version']} != {version}")
    check(metadata["License-Expression"] == "Apache-2.0", "the wheel has no License-Expression: Apache-2.0")
    check(set(metadata.get_all("License-File") or []) == set(LICENSE_FILES), "License-File entries")
    check('"versions": [__version__]' in info, "the provider info does not take versions from __version__")
    assets = sorted(p.relative_to(REPO).as_posix() for p in (REPO / PACKAGE / "ui" / "static").iterdir())
    missing = [a for a in assets if a not in names]
    check(assets != [] and missing == [], f"static assets missing from the wheel: {missing}")
    print(f"    wheel: LICENSE, NOTICE, License-Expression, version {version}, {len(assets)} static assets")


def check_sdist(sdist: Path, version: str) -> None:
    root = f"{PACKAGE}-{version}"
    with tarfile.open(sdist) as archive:
        names = set(archive.getnames())
        for name in LICENSE_FILES:
            check(f"{root}/{name}" in names, f"the sdist lacks {name}")
        pkg_info = Parser().parsestr(archive.extractfile(f"{root}/PKG-INFO").read().decode())  # type: ignore[union-attr]
        changelog = archive.extractfile(f"{root}/CHANGELOG.md").read().decode()  # type: ignore[union-attr]
    check(pkg_info["Version"] == version, f"sdist Version {pkg_info['Version']} != {version}")
    check(pkg_info["License-Expression"] == "Apache-2.0", "the sdist has no License-Expression: Apache-2.0")
    check(newest_release(changelog) == version, f"the changelog's newest release is not {version}")
    print(f"    sdist: LICENSE, NOTICE, License-Expression, changelog's newest release {version}")


def main() -> int:
    timings: list[tuple[str, float]] = []
    python = Path(sys.executable)
    try:
        version = source_version()
        with step("build the sdist and the wheel from it", timings):
            shutil.rmtree(DIST, ignore_errors=True)
            run(python, "-m", "build", "--no-isolation", "--outdir", DIST, ".")
            (sdist,) = DIST.glob("*.tar.gz")
            (wheel,) = DIST.glob("*.whl")
        with step("twine check --strict", timings):
            run(python, "-m", "twine", "check", "--strict", sdist, wheel)
        with step("archive contents and versions", timings):
            check_wheel(wheel, version)
            check_sdist(sdist, version)
        with step(f"install {wheel.name} into a fresh {WHEEL_VENV.name} (constraints.txt)", timings):
            shutil.rmtree(WHEEL_VENV, ignore_errors=True)
            run(python, "-m", "venv", WHEEL_VENV)
            pip = WHEEL_VENV / "bin" / "pip"
            run(pip, "install", "--quiet", "--upgrade", "pip>=24")
            run(pip, "install", "--quiet", "-c", REPO / "constraints.txt", wheel)
        with (
            step("the installed wheel, from outside the checkout", timings),
            tempfile.TemporaryDirectory() as tmp,
        ):
            outside = Path(tmp)
            shutil.copy(REPO / "scripts" / "release_smoke.py", outside)
            (outside / "dags").mkdir()
            shutil.copy(EXAMPLE_DAG, outside / "dags")
            result = subprocess.run(
                [
                    WHEEL_VENV / "bin" / "python",
                    "-I",
                    "release_smoke.py",
                    "--version",
                    version,
                    "--checkout",
                    REPO,
                ],
                cwd=outside,
                capture_output=True,
                text=True,
                check=False,
            )
            # The smoke run's own lines are indented; Airflow's log lines are shown only when it fails.
            output = result.stdout + result.stderr
            print("\n".join(line for line in result.stdout.splitlines() if line.startswith("    ")))
            if result.returncode != 0:
                print("\n".join(output.splitlines()[-80:]), file=sys.stderr)
            check(result.returncode == 0, "the installed wheel failed its smoke run (above)")
    except CheckFailed as failure:
        print(f"FAILED: {failure}", file=sys.stderr)
        return 1
    total = sum(seconds for _, seconds in timings)
    print("release check passed:")
    for name, seconds in timings:
        print(f"  {seconds:6.1f} s  {name}")
    print(f"  {total:6.1f} s  in all")
    return 0


if __name__ == "__main__":
    sys.exit(main())
