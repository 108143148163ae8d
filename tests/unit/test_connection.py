"""Pure connection parsing: extras arrive typed (JSON) or as strings (URI), both must work."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_wfcancel._connection import ExtraReader, base_url_from_host
from airflow_provider_wfcancel.exceptions import InvalidInputError


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("acme", "https://acme.domo.com"),
        ("acme.domo.com", "https://acme.domo.com"),
        ("https://acme.domo.com/", "https://acme.domo.com"),
        ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
        (" https://gw.example.com/prefix/ ", "https://gw.example.com/prefix"),
    ],
)
def test_base_url_normalisation(host: str, expected: str) -> None:
    assert base_url_from_host("c", host, default_domain="domo.com") == expected


@pytest.mark.parametrize(
    "host",
    [
        None,
        "",
        "   ",
        "ftp://acme.domo.com",
        "https://",
        "https://a b.com",
        "https://x.com?q=1",
        "https://u:p@x.com",
        "https://x.com:99999",
    ],
)
def test_bad_hosts_are_rejected_naming_the_connection(host: str | None) -> None:
    with pytest.raises(InvalidInputError, match="connection 'my_conn'"):
        base_url_from_host("my_conn", host)


def test_http_settings_from_json_extras() -> None:
    settings = ExtraReader("c", {"timeout": 5, "verify_ssl": False, "max_retries": 0}).http_settings()
    assert (settings.read_timeout, settings.connect_timeout, settings.verify) == (5.0, 5.0, False)
    assert settings.retry.max_attempts == 1


def test_http_settings_from_uri_string_extras() -> None:
    settings = ExtraReader(
        "c", {"timeout": "45", "verify_ssl": "true", "max_retries": "2", "ca_bundle": "/etc/ca.pem"}
    ).http_settings()
    assert (settings.read_timeout, settings.connect_timeout, settings.verify) == (45.0, 10.0, "/etc/ca.pem")
    assert settings.retry.max_attempts == 3


def test_defaults_keep_tls_on() -> None:
    settings = ExtraReader("c", {}).http_settings()
    assert settings.verify is True
    assert settings.retry.max_attempts == 5


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"timeout": "soon"}, "'timeout' must be a number"),
        ({"timeout": 0}, "between 0.1 and 600"),
        ({"timeout": True}, "'timeout' must be a number"),
        ({"max_retries": "2.5"}, "'max_retries' must be a whole number"),
        ({"max_retries": 99}, "between 0 and 20"),
        ({"verify_ssl": "maybe"}, "'verify_ssl' must be true or false"),
        ({"ca_bundle": "/ca.pem", "verify_ssl": False}, "either ca_bundle or verify_ssl"),
        ({"ca_bundle": ["a"]}, "'ca_bundle' must be a string"),
    ],
)
def test_wrong_extras_name_connection_and_field(extra: dict[str, Any], message: str) -> None:
    with pytest.raises(InvalidInputError, match="connection 'c'") as caught:
        ExtraReader("c", extra).http_settings()
    assert message in str(caught.value)


def test_empty_string_extras_mean_default() -> None:
    reader = ExtraReader("c", {"timeout": "", "org_id": ""})
    assert reader.number("timeout", 7.0) == 7.0
    assert reader.string("org_id") is None
