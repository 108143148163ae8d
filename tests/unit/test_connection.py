"""Pure connection parsing: extras arrive typed (JSON) or as strings (URI), both must work."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from airflow.providers.common.compat.sdk import Connection

from airflow_provider_wfcancel._connection import (
    ExtraReader,
    base_url_from_host,
    environment_connection_problem,
)
from airflow_provider_wfcancel.exceptions import InvalidInputError
from tests.conftest import self_signed_certificate


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
        "https://:p@x.com",
        ":p@x.com",
        "https://@x.com",
        "https://x.com:99999",
        "https://x.com:0",
    ],
)
def test_bad_hosts_are_rejected_naming_the_connection(host: str | None) -> None:
    with pytest.raises(InvalidInputError, match="connection 'my_conn'"):
        base_url_from_host("my_conn", host)


@pytest.mark.parametrize(
    ("host", "port", "expected"),
    [
        ("127.0.0.1", 8089, "https://127.0.0.1:8089"),
        ("http://127.0.0.1", 8089, "http://127.0.0.1:8089"),
        ("http://127.0.0.1/", "8089", "http://127.0.0.1:8089"),
        ("acme", 8443, "https://acme.domo.com:8443"),
        ("https://gw.example.com/prefix/", 8443, "https://gw.example.com:8443/prefix"),
        ("http://[::1]", 8089, "http://[::1]:8089"),
        ("http://127.0.0.1:8089", 8089, "http://127.0.0.1:8089"),
        ("https://acme.domo.com", None, "https://acme.domo.com"),
        ("https://acme.domo.com", 0, "https://acme.domo.com"),  # the Airflow UI sends 0 for "no port"
        ("https://acme.domo.com", "", "https://acme.domo.com"),
    ],
)
def test_the_port_field_is_applied(host: str, port: Any, expected: str) -> None:
    assert base_url_from_host("c", host, port=port, default_domain="domo.com") == expected


@pytest.mark.parametrize(
    ("host", "port", "message"),
    [
        ("http://127.0.0.1:8080", 8089, "the host names port 8080 but the port field says 8089"),
        ("127.0.0.1", 70000, "port must be a number from 1 to 65535, got 70000"),
        ("127.0.0.1", -1, "port must be a number from 1 to 65535"),
        ("127.0.0.1", "http", "port must be a number from 1 to 65535"),
        ("127.0.0.1", "\u00b2", "port must be a number from 1 to 65535"),
        ("127.0.0.1", True, "port must be a number from 1 to 65535"),
    ],
)
def test_unusable_ports_are_rejected_naming_the_connection(host: str, port: Any, message: str) -> None:
    with pytest.raises(InvalidInputError, match="connection 'my_conn'") as caught:
        base_url_from_host("my_conn", host, port=port)
    assert message in str(caught.value)


def test_http_settings_from_json_extras() -> None:
    settings = ExtraReader("c", {"timeout": 5, "verify_ssl": False, "max_retries": 0}).http_settings()
    assert (settings.read_timeout, settings.connect_timeout, settings.verify) == (5.0, 5.0, False)
    assert settings.retry.max_attempts == 1


def test_http_settings_from_uri_string_extras(tmp_path: Path) -> None:
    bundle, _ = self_signed_certificate(tmp_path)
    settings = ExtraReader(
        "c", {"timeout": "45", "verify_ssl": "true", "max_retries": "2", "ca_bundle": str(bundle)}
    ).http_settings()
    assert (settings.read_timeout, settings.connect_timeout, settings.verify) == (45.0, 10.0, str(bundle))
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
        ({"max_requests_per_second": "fast"}, "'max_requests_per_second' must be a number"),
        ({"max_requests_per_second": 0}, "between 0.1 and 10000"),
        ({"max_requests_per_second": False}, "'max_requests_per_second' must be a number"),
        ({"verify_ssl": "maybe"}, "'verify_ssl' must be true or false"),
        ({"ca_bundle": "/ca.pem", "verify_ssl": False}, "either ca_bundle or verify_ssl"),
        ({"ca_bundle": ["a"]}, "'ca_bundle' must be a string"),
        (
            {"ca_bundle": "/nonexistent/ca.pem"},
            "ca_bundle '/nonexistent/ca.pem' is not a file on this machine",
        ),
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


@pytest.mark.parametrize("host", ["https://:hunter2-SENTINEL@x.com", ":hunter2-SENTINEL@x.com"])
def test_a_password_in_the_host_is_never_echoed(host: str) -> None:
    with pytest.raises(InvalidInputError) as caught:
        base_url_from_host("c", host)
    assert "hunter2-SENTINEL" not in str(caught.value)


def test_whole_floats_are_whole_numbers() -> None:
    assert ExtraReader("c", {"max_retries": 3.0}).http_settings().retry.max_attempts == 4


def test_request_rate_cap_is_optional_and_read_from_strings() -> None:
    assert ExtraReader("c", {}).http_settings().max_requests_per_second is None
    assert ExtraReader("c", {"max_requests_per_second": ""}).http_settings().max_requests_per_second is None
    assert (
        ExtraReader("c", {"max_requests_per_second": "12.5"}).http_settings().max_requests_per_second == 12.5
    )


def test_response_size_cap_is_configurable() -> None:
    assert ExtraReader("c", {}).http_settings().max_response_bytes == 10 * 1024 * 1024
    assert ExtraReader("c", {"max_response_bytes": "2048"}).http_settings().max_response_bytes == 2048


def test_a_ca_bundle_that_is_not_pem_is_refused(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\nnot base64\n")
    with pytest.raises(InvalidInputError, match="is not a PEM certificate file"):
        ExtraReader("c", {"ca_bundle": str(bundle)}).http_settings()


def test_extras_that_are_not_a_json_object_are_refused() -> None:
    conn = Connection(conn_id="c", conn_type="domo", extra="timeout=5")
    with pytest.raises(InvalidInputError, match="extra is not a JSON object"):
        ExtraReader.of(conn)
    assert ExtraReader.of(Connection(conn_id="c", conn_type="domo", extra='{"timeout": 5}')).extra == {
        "timeout": 5
    }


@pytest.mark.parametrize(
    ("port", "problem"),
    [
        (True, "got True"),
        (8089.5, "got 8089.5"),
        ("abc", "got 'abc'"),
        (8089, None),
        ("8089", None),
        (None, None),
    ],
)
def test_ports_airflow_would_coerce_are_reported(
    monkeypatch: pytest.MonkeyPatch, port: Any, problem: str | None
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_C", json.dumps({"conn_type": "domo", "host": "h", "port": port}))
    found = environment_connection_problem("c")
    assert (found is None) if problem is None else (problem in found and "AIRFLOW_CONN_C" in found)


def test_an_unreadable_environment_connection_is_not_called_undefined(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("AIRFLOW_CONN_C", "{not json")
    assert "AIRFLOW_CONN_C is not a valid JSON object" in str(
        environment_connection_problem("c", unreadable=True)
    )
    monkeypatch.delenv("AIRFLOW_CONN_C")
    assert environment_connection_problem("c", unreadable=True) is None
