"""``docs/reliability.md`` is generated from ``cases/``; fail when it is out of date."""

from __future__ import annotations

from tests.reliability import generate_table
from tests.reliability.cases import BAD_INPUT_CASES, FAULT_CASES


def test_docs_table_is_up_to_date() -> None:
    path = generate_table.OUTPUT
    current = path.read_text(encoding="utf-8") if path.exists() else ""
    assert current == generate_table.render(), (
        f"{path.relative_to(generate_table.REPO)} is out of date with tests/reliability/cases/; "
        "run: python -m tests.reliability.generate_table"
    )


def test_every_row_is_in_the_table() -> None:
    text = generate_table.render()
    for case in (*FAULT_CASES, *BAD_INPUT_CASES):
        assert f"(`{case.id}`)" in text
