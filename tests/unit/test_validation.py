from __future__ import annotations

import re
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from airflow_provider_wfcancel._validation import blank_as_none, is_missing_id, validate_id
from airflow_provider_wfcancel.exceptions import InvalidInputError


@pytest.mark.parametrize(
    ("value", "message"),
    [
        (None, "required but got None"),
        ("", "is empty"),
        ("   ", "is empty"),
        ("None", "what a template renders"),
        ("null", "what a template renders"),
        ("a/b", "not allowed"),
        ("..", "not allowed"),
        ("a?b=1", "not allowed"),
        ("a#frag", "not allowed"),
        ("a%2Fb", "not allowed"),
        ("a\nb", "control characters"),
        ("x" * 10_000, "too long: 10000 characters"),
        (42, "must be a string, got int"),
        (["a", "b"], "must be a string, got list"),
        ("héllo", "not a valid id"),
    ],
)
def test_bad_ids_are_rejected_with_the_reason(value: Any, message: str) -> None:
    with pytest.raises(InvalidInputError, match="instance_id") as caught:
        validate_id(value, field="instance_id", pattern=re.compile(r"[A-Za-z0-9-]+"))
    assert message in str(caught.value)


def test_ids_are_stripped() -> None:
    assert validate_id("  abc-1 ", field="id") == "abc-1"


def test_long_values_are_shortened_in_messages() -> None:
    with pytest.raises(InvalidInputError) as caught:
        validate_id(["y" * 5000], field="id")
    assert len(str(caught.value)) < 200


@given(st.text(max_size=300))
def test_any_accepted_id_is_safe_in_a_url_path(value: str) -> None:
    try:
        text = validate_id(value, field="id")
    except InvalidInputError:
        return
    assert text == text.strip()
    assert text
    assert not set(text) & set("/\\?#%")
    assert ".." not in text
    assert all(ord(c) >= 32 and ord(c) != 127 for c in text)
    assert len(text) <= 256


@pytest.mark.parametrize("value", [None, "", "  ", "None", "null", "NULL", " undefined ", "nan", "NaN"])
def test_missing_ids(value: Any) -> None:
    assert is_missing_id(value)
    with pytest.raises(InvalidInputError):
        validate_id(value, field="id")


@pytest.mark.parametrize("value", ["abc-1", "0", "none-1", "a/b", 42])
def test_present_ids_are_not_missing(value: Any) -> None:
    assert not is_missing_id(value)


@pytest.mark.parametrize(
    ("value", "expected"), [("", None), ("  \t", None), (None, None), ("u1", "u1"), (" u1 ", " u1 ")]
)
def test_blank_as_none(value: Any, expected: Any) -> None:
    assert blank_as_none(value) == expected
