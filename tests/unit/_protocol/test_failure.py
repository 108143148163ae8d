"""The failure detail's pure parts: the last lines of a log within both bounds, the EnOS graph's task
nodes and which of them failed, clipped record fields."""

from __future__ import annotations

import json

import pytest

from airflow_provider_wfcancel._protocol.enos.flows import graph_tasks, is_failed
from airflow_provider_wfcancel._protocol.failure import bounded_lines, clip, record_fields, tail


def shown(text: str, max_lines: int, max_bytes: int) -> tuple[list[str], bool]:
    """What a detail holds of a log: its last whole lines, then (after redaction) the byte bound."""
    lines, cut = tail(text, max_lines, max_bytes)
    return bounded_lines(lines, max_lines, max_bytes, cut)


def test_a_short_log_is_kept_whole_without_its_trailing_blank_lines() -> None:
    assert shown("a\nb\r\nc\n\n\n", 20, 4096) == (["a", "b", "c"], False)


def test_the_last_lines_within_the_line_bound() -> None:
    lines, cut = shown("\n".join(f"line {n}" for n in range(1000)), 20, 4096)
    assert lines == [f"line {n}" for n in range(980, 1000)]
    assert cut


def test_the_last_lines_within_the_byte_bound() -> None:
    lines, cut = shown("\n".join(f"{n:04d}" + "x" * 295 for n in range(100)), 20, 4096)
    assert sum(len(line.encode()) for line in lines) <= 4096
    assert len(lines) == 4096 // 300  # whole lines only
    assert lines[-1].startswith("0099")
    assert cut


def test_one_long_line_keeps_its_end_once_redacted() -> None:
    lines, cut = tail("start " + "y" * 10_000 + " the end", 20, 4096)
    assert (lines, cut) == (["start " + "y" * 10_000 + " the end"], False)  # whole, for the redaction
    lines, cut = bounded_lines(lines, 20, 4096)
    assert len(lines) == 1
    assert lines[0].endswith("y the end")
    assert len(lines[0].encode()) == 4096
    assert cut


def test_a_line_longer_than_the_window_is_left_out_not_cut() -> None:
    assert tail("start " + "y" * 100_000 + " the end", 20, 4096) == ([], True)


def test_a_huge_log_costs_a_window_not_its_size() -> None:
    text = ("z" * 99 + "\n") * 1_000_000  # 100 MB
    lines, cut = shown(text, 20, 4096)
    assert lines == ["z" * 99] * 20
    assert cut


def test_multibyte_text_is_cut_on_a_character_boundary() -> None:
    lines, _ = shown("é" * 4_000, 20, 4095)
    assert lines[0] == "é" * 2047
    assert clip("€" * 10, 7) == "€€"


def test_record_fields_keep_named_scalars_clipped() -> None:
    record = {"a": "x" * 10, "b": 3, "c": None, "d": {"nested": 1}, "e": True}
    assert record_fields(record, ["a", "b", "c", "d", "e", "missing"], 4) == {
        "a": "xxxx",
        "b": 3,
        "c": None,
        "e": True,
    }


GRAPH = {
    "creator": "u1",
    "instId": "2809-20190808093200",
    "id": 2809,
    "flows": [],
    "relations": [],
    "tasks": [
        {"taskName": "a", "taskInstId": "104890-20190808093200", "taskId": 104890, "status": "SUCCESS"},
        {"taskName": "b", "taskInstId": "104891-20190808093200", "taskId": 104891, "status": "FAIL"},
        {"taskName": "c", "taskInstId": "104892-20190808093200", "taskId": 104892, "status": "INIT"},
        "not a node",
    ],
}


@pytest.mark.parametrize("encoded", [True, False], ids=["string", "object"])
def test_graph_tasks_from_the_documented_string_or_an_object(encoded: bool) -> None:
    nodes = graph_tasks({"instanceId": GRAPH["instId"], "graph": json.dumps(GRAPH) if encoded else GRAPH})
    assert [(n.name, n.task_id, n.task_instance_id, n.status) for n in nodes] == [
        ("a", 104890, "104890-20190808093200", "SUCCESS"),
        ("b", 104891, "104891-20190808093200", "FAIL"),
        ("c", 104892, "104892-20190808093200", "INIT"),
    ]
    assert [n.name for n in nodes if is_failed(n.status)] == ["b"]


@pytest.mark.parametrize("graph", ["{", "[" * 100_000, "[]", json.dumps({"tasks": "x"}), None, 3])
def test_a_graph_that_is_not_one_is_a_value_error(graph: object) -> None:
    with pytest.raises(ValueError, match="graph is not"):
        graph_tasks({"graph": graph})


@pytest.mark.parametrize(
    ("status", "failed"),
    [
        ("FAIL", True),
        ("INTERNAL_ERROR", True),
        ("TIMEOUT", True),
        ("FAILED", True),  # an undocumented spelling counts
        ("SUCCESS", False),
        ("CANCEL", False),
        ("INIT", False),
        ("NONE", False),
        (None, False),
    ],
)
def test_which_task_statuses_are_failures(status: str | None, failed: bool) -> None:
    assert is_failed(status) is failed
