"""The README (and the docs it links) only name things that exist: make targets, files, links, anchors.

The ``.demo/`` paths it names are the ones ``scripts/demo.py`` writes, and the login it describes is the one
``make airflow`` prints.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import REPO
from tests.unit.test_demo_script import demo

README = REPO / "README.md"
DOCS = [README, *sorted((REPO / "docs").glob("*.md"))]
#: Hand-written pages (docs/reliability.md is generated, and its code spans are hostile test inputs).
PROSE = [README, REPO / "docs" / "emulator.md", REPO / "docs" / "production.md"]
LINK = re.compile(r"\]\(([^)\s]+)\)")
CODE = re.compile(r"`([^`\n]+)`")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    return {slug(m) for m in re.findall(r"^#+ (.+)$", path.read_text(), re.MULTILINE)}


def make_targets() -> set[str]:
    return set(re.findall(r"^([\w.-]+):(?!=)", (REPO / "Makefile").read_text(), re.MULTILINE))


def demo_paths() -> set[str]:
    files = [demo.DEMO, demo.LOGS, demo.READY_FILE, demo.STANDALONE_LOG, demo.EMULATOR_LOG, demo.AIRFLOW_LOG]
    files.append(demo.DEMO / "airflow-ui-home" / demo.LOGIN_FILE_NAME)
    named = {str(Path(p).relative_to(REPO)) for p in files}
    return named | {f"{p}/" for p in named}


def test_quickstart_comes_first_with_the_two_commands() -> None:
    text = README.read_text()
    first = re.search(r"^## (.+)$", text, re.MULTILINE)
    assert first is not None
    assert first.group(1) == "Quickstart"
    quickstart = text[first.end() : text.index("\n## ", first.end())]
    assert "make demo" in quickstart
    assert "make test" in quickstart


def test_readme_stays_short() -> None:
    assert len(README.read_text().splitlines()) <= 260, "move long references to docs/"


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_make_command_is_a_makefile_target(doc: Path) -> None:
    named = set(re.findall(r"\bmake ([a-z][\w-]*)", doc.read_text()))
    assert named <= make_targets(), named - make_targets()


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: p.name)
def test_every_relative_link_and_anchor_exists(doc: Path) -> None:
    broken = []
    for target in LINK.findall(doc.read_text()):
        if re.match(r"^[a-z]+:", target):
            continue  # http(s), mailto
        file_part, _, anchor = target.partition("#")
        path = (doc.parent / file_part).resolve() if file_part else doc
        if not path.exists() or (anchor and path.suffix == ".md" and anchor not in anchors(path)):
            broken.append(target)
    assert broken == []


@pytest.mark.parametrize("doc", PROSE, ids=lambda p: p.name)
def test_every_file_path_named_in_code_exists(doc: Path) -> None:
    missing = []
    for code in CODE.findall(doc.read_text()):
        if " " in code or code.startswith(("/", "http", "{", "$")) or "<" in code or "*" in code:
            continue  # commands, API paths, URLs, placeholders
        if code.startswith(".demo"):
            if code not in demo_paths():
                missing.append(code)
        elif "/" in code and re.fullmatch(r"[\w.-]+(/[\w.-]+)+/?", code):
            if not (REPO / code).exists():
                missing.append(code)
        elif re.fullmatch(r"[\w-]+\.(py|md|txt|toml)", code) and not any(
            (base / code).exists() for base in (REPO, REPO / "airflow_provider_wfcancel")
        ):
            missing.append(code)
    assert missing == []


def test_the_ui_section_matches_what_make_airflow_prints() -> None:
    text = README.read_text()
    section = text[text.index("## Manual triggers from the UI") :]
    section = section[: section.index("\n## ")]
    for fact in (demo.AIRFLOW_URL, f"`{demo.AIRFLOW_USER}`", "curl", "Details"):
        assert fact in section
    for path in (demo.READY_FILE, demo.STANDALONE_LOG, demo.DEMO / "airflow-ui-home" / demo.LOGIN_FILE_NAME):
        assert f"`{path.relative_to(REPO)}`" in section


def test_connections_section_gives_the_test_button_workaround() -> None:
    text = README.read_text()
    section = text[text.index("## Connections") : text.index("## Operators")]
    assert "apache/airflow#73298" in section
    assert "POST /api/v2/connections/test" in section


def test_long_references_live_in_docs_and_are_linked() -> None:
    text = README.read_text()
    for doc in ("docs/emulator.md", "docs/production.md", "docs/reliability.md"):
        assert f"]({doc}" in text
    assert "## Reliability" in text
    assert not re.search(r"^\d+\. ", text, re.MULTILINE), (
        "the emulator's numbered assumptions belong in docs/emulator.md"
    )
