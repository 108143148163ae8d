"""Sphinx configuration of the documentation site (``make docs``; see CONTRIBUTING.md, "Docs").

The pages are the Markdown files in docs/ (MyST), so they stay readable on GitHub; README.md, CHANGELOG.md
and bench/results.md are included, not copied. The API reference is autodoc from the docstrings. The build
runs with ``-W --keep-going -n``: any warning, an unresolved cross-reference or a broken internal link or
heading anchor fails it.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

DOCS = Path(__file__).resolve().parent
REPO = DOCS.parent
sys.path[:0] = [str(REPO), str(DOCS / "_ext")]

# autodoc imports the package and so Airflow, which writes an airflow.cfg into AIRFLOW_HOME: not ~/airflow.
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="wfcancel-docs-airflow-"))

from airflow_provider_wfcancel import __version__  # noqa: E402

project = "airflow-provider-wfcancel"
author = "The airflow-provider-wfcancel contributors"
copyright = f"2026, {author}"
release = version = __version__

extensions = [
    "myst_parser",
    "sphinx.ext.autodoc",
    "sphinx.ext.napoleon",
    "repo_links",
]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_ext", "**/.ipynb_checkpoints"]

# GitHub-style anchors for every heading, so `page.md#heading` links resolve (and are checked).
myst_heading_anchors = 4
myst_enable_extensions = ["colon_fence", "deflist"]
# README sections are included under a page's own title, so their "###" headings follow an "#".
suppress_warnings = ["myst.header"]

autodoc_member_order = "bysource"
autodoc_typehints = "description"
autodoc_typehints_format = "short"
autodoc_default_options = {"members": True}
autodoc_mock_imports: list[str] = []
napoleon_google_docstring = False
napoleon_numpy_docstring = False

# -n checks every cross-reference. Held to it: the provider's public names. Not: names from outside the
# package (Airflow, the standard library; the build is offline, with no inventories to resolve them), private
# names (a path component starting with "_", type variables among them) and the emulator's internals, which
# appear in signatures but are not documented API (docs/versioning.md).
nitpick_ignore_regex = [
    (r"py:.*", r"(?!airflow_provider_wfcancel\b).*"),
    (r"py:.*", r"airflow_provider_wfcancel(\.\w+)*\._\w*(\.\w+)*"),
    (r"py:.*", r"airflow_provider_wfcancel\.emulator\..*"),
]

html_theme = "furo"
html_title = f"airflow-provider-wfcancel {release}"
html_static_path: list[str] = []
