"""The README's list of emulator assumptions is the module docstring's list, word for word."""

from __future__ import annotations

import airflow_provider_wfcancel.emulator as emulator
from tests.conftest import REPO


def test_readme_lists_the_same_assumptions_as_the_module() -> None:
    doc = emulator.__doc__ or ""
    in_module = doc[doc.index("Assumptions\n-----------") :].split("\n", 2)[2].strip()
    readme = (REPO / "README.md").read_text()
    in_readme = readme[readme.index("### Emulator assumptions") :]
    assert in_module in in_readme
