"""What the sync transport takes from the environment: proxies and a CA bundle, as requests reads them, but
once per host instead of on every request; never a ``~/.netrc`` credential."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests_mock as rm

from airflow_provider_wfcancel._http import ApiRequest, AsyncTransport, HttpSettings, SyncTransport
from tests.conftest import TlsServer

URL = "http://svc.example.com/api/thing"
PROXY = "http://proxy.example.com:3128"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in (
        "HTTP_PROXY",
        "HTTPS_PROXY",
        "ALL_PROXY",
        "NO_PROXY",
        "REQUESTS_CA_BUNDLE",
        "CURL_CA_BUNDLE",
    ):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.lower(), raising=False)


def send(url: str = URL, **settings: Any) -> None:
    SyncTransport("Svc", HttpSettings(**settings)).send(ApiRequest("GET", url))


def test_a_proxy_named_by_the_environment_is_used(
    requests_mock: rm.Mocker, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", PROXY)
    requests_mock.get(URL, json={})
    send()
    assert requests_mock.last_request.proxies.get("http") == PROXY


def test_no_proxy_is_honoured_per_host(requests_mock: rm.Mocker, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", PROXY)
    monkeypatch.setenv("NO_PROXY", "svc.example.com")
    other = "http://other.example.com/api/thing"
    requests_mock.get(URL, json={})
    requests_mock.get(other, json={})
    transport = SyncTransport("Svc", HttpSettings())
    transport.send(ApiRequest("GET", URL))
    assert "http" not in requests_mock.last_request.proxies
    transport.send(ApiRequest("GET", other))
    assert requests_mock.last_request.proxies.get("http") == PROXY


def test_the_environment_ca_bundle_applies_only_when_the_connection_names_none(
    requests_mock: rm.Mocker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", "/etc/ssl/company-ca.pem")
    requests_mock.get(URL, json={})
    send()
    assert requests_mock.last_request.verify == "/etc/ssl/company-ca.pem"
    own = tmp_path / "ca.pem"
    send(verify=str(own))
    assert requests_mock.last_request.verify == str(own)
    send(verify=False)
    assert requests_mock.last_request.verify is False


def test_a_netrc_credential_is_never_added(
    requests_mock: rm.Mocker, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    netrc = tmp_path / "netrc"
    netrc.write_text("machine svc.example.com login someone password hunter22\n")
    netrc.chmod(0o600)
    monkeypatch.setenv("NETRC", str(netrc))
    requests_mock.get(URL, json={})
    send()
    assert "Authorization" not in requests_mock.last_request.headers


class _Proxy(http.server.BaseHTTPRequestHandler):
    """A forward proxy that answers itself: records the absolute URL it was asked for."""

    asked: list[str] = []

    def do_GET(self) -> None:
        type(self).asked.append(self.path)
        body = b'{"via": "proxy"}'
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.fixture
def proxy() -> Iterator[str]:
    _Proxy.asked = []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Proxy)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_requests_really_go_through_the_proxy(proxy: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTP_PROXY", proxy)
    response = SyncTransport("Svc", HttpSettings()).send(ApiRequest("GET", URL))
    assert response.json() == {"via": "proxy"}
    assert _Proxy.asked == [URL]


async def test_both_transports_trust_the_environments_ca_bundle(
    tls_server: TlsServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A company CA named for requests (REQUESTS_CA_BUNDLE) is trusted by tasks and triggers alike (httpx
    itself reads only SSL_CERT_FILE)."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(tls_server.cert_path))
    request = ApiRequest("GET", tls_server.url)
    assert SyncTransport("Svc", HttpSettings()).send(request).json() == {"ok": True}
    assert (await AsyncTransport("Svc", HttpSettings()).send(request)).json() == {"ok": True}
