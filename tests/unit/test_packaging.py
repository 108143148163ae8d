"""Release metadata agrees with itself: one version everywhere, the licence files shipped, the classifiers
and project URLs a packager looks for. ``make release-check`` checks the same on the built archives."""

from __future__ import annotations

import re
import tomllib

from airflow_provider_wfcancel import __version__
from airflow_provider_wfcancel.get_provider_info import get_provider_info
from tests.conftest import REPO

PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
#: A released version's heading in Keep a Changelog form: ``## [1.2.3] - 2026-12-07``.
RELEASE = re.compile(r"^## \[(\d+\.\d+\.\d+(?:(?:a|b|rc)\d+)?)\] - (\d{4}-\d{2}-\d{2})$", re.MULTILINE)


def newest_changelog_release() -> str:
    match = RELEASE.search((REPO / "CHANGELOG.md").read_text())
    assert match, "CHANGELOG.md has no '## [X.Y.Z] - YYYY-MM-DD' heading"
    return match.group(1)


def test_package_provider_info_and_changelog_agree_on_the_version() -> None:
    assert PYPROJECT["dynamic"] == ["version"]  # flit reads __version__: no second copy in pyproject.toml
    assert get_provider_info()["versions"][0] == __version__
    assert newest_changelog_release() == __version__


def test_the_changelog_keeps_an_unreleased_section_above_the_releases() -> None:
    text = (REPO / "CHANGELOG.md").read_text()
    first = RELEASE.search(text)
    assert first is not None
    assert "## [Unreleased]" in text[: first.start()]


def test_licence_is_spdx_and_both_files_ship() -> None:
    assert PYPROJECT["license"] == "Apache-2.0"
    assert PYPROJECT["license-files"] == ["LICENSE", "NOTICE"]
    licence = (REPO / "LICENSE").read_text()
    assert licence.lstrip().startswith("Apache License")
    assert "Version 2.0, January 2004" in licence
    assert "END OF TERMS AND CONDITIONS" in licence
    assert "airflow-provider-wfcancel" in (REPO / "NOTICE").read_text()


def test_classifiers_name_a_status_and_exactly_the_pythons_ci_runs() -> None:
    classifiers = PYPROJECT["classifiers"]
    assert sum(c.startswith("Development Status :: ") for c in classifiers) == 1
    pythons = {c.rsplit(" :: ", 1)[1] for c in classifiers if re.fullmatch(r".*Python :: 3\.\d+", c)}
    # CI (.ci/run) runs the machine's Python 3.11 only; requires-python names the same floor.
    assert pythons == {"3.11"}
    assert PYPROJECT["requires-python"] == ">=3.11"


def test_project_urls_for_a_packager() -> None:
    assert {"Documentation", "Changelog", "Issues", "Source"} <= set(PYPROJECT["urls"])
    assert PYPROJECT["urls"]["Changelog"].endswith("/CHANGELOG.md")
