"""The HTML page the emulator serves where a Domo operator's ``url`` (its extra link) points."""

from __future__ import annotations

from html.parser import HTMLParser

import requests
from emulator_clients import DomoClient

from airflow_provider_wfcancel._http import HttpSettings
from airflow_provider_wfcancel.emulator import EmulatorControl, EmulatorServer
from airflow_provider_wfcancel.hooks.domo import DomoSettings


class _Fields(HTMLParser):
    """Collects the page title, each ``<dd data-field=...>`` text and the note."""

    def __init__(self) -> None:
        super().__init__()
        self.fields: dict[str, str] = {}
        self.title = ""
        self.note = ""
        self._into: tuple[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        named = dict(attrs)
        if tag == "dd" and named.get("data-field"):
            self._into = ("field", str(named["data-field"]))
        elif tag == "title":
            self._into = ("title", "")
        elif tag == "p" and named.get("class") == "note":
            self._into = ("note", "")

    def handle_endtag(self, tag: str) -> None:
        self._into = None

    def handle_data(self, data: str) -> None:
        if self._into is None:
            return
        kind, name = self._into
        if kind == "field":
            self.fields[name] = self.fields.get(name, "") + data
        elif kind == "title":
            self.title += data
        else:
            self.note += data


def parse(response: requests.Response) -> _Fields:
    page = _Fields()
    page.feed(response.text)
    return page


def link_of(emulator: EmulatorServer, instance: dict[str, object]) -> str:
    """The link exactly as the Domo hook builds it for the operator's XCom ``url``."""
    settings = DomoSettings(
        conn_id="domo_default", base_url=emulator.base_url, http=HttpSettings(), token="t"
    )
    url = settings.instance_url(instance)
    assert url is not None
    return url


def test_the_operators_link_opens_a_page_with_status_and_timestamps(
    emulator: EmulatorServer, control: EmulatorControl
) -> None:
    running = control.create_domo_instance(model_name="Nightly <Load>", status="IN_PROGRESS")

    response = requests.get(link_of(emulator, running), timeout=5)  # no token: a browser has none

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = parse(response)
    assert page.fields == {
        "status": "IN_PROGRESS",
        "workflow": "Nightly <Load>",  # escaped in the HTML, the same text once parsed
        "model-id": running["modelId"],
        "version": running["modelVersion"],
        "instance-id": running["id"],
        "started-by": running["createdBy"],
        "created-on": running["createdOn"],
        "last-status-change": running["updatedOn"],
    }
    assert page.title == "Domo workflow instance Nightly <Load>: IN_PROGRESS"
    assert "wfcancel emulator, not by Domo" in page.note
    assert "<Load>" not in response.text


def test_the_page_follows_a_cancel(
    emulator: EmulatorServer, control: EmulatorControl, domo: DomoClient
) -> None:
    control.configure(domo_cancel_delay=3600)
    running = control.create_domo_instance(status="IN_PROGRESS")
    url = link_of(emulator, running)
    domo.cancel(running["id"]).raise_for_status()

    scheduled = parse(requests.get(url, timeout=5)).fields
    assert scheduled["status"] == "IN_PROGRESS"
    assert scheduled["cancel-scheduled-for"] > scheduled["last-status-change"]

    control.configure(domo_cancel_delay=0)
    other = control.create_domo_instance(status="IN_PROGRESS")
    domo.cancel(other["id"]).raise_for_status()
    cancelled = parse(requests.get(link_of(emulator, other), timeout=5)).fields
    assert cancelled["status"] == "CANCELED"
    assert "cancel-scheduled-for" not in cancelled  # done, no longer scheduled
    assert cancelled["last-status-change"] == control.domo_instance(other["id"])["updatedOn"]


def test_a_pending_instance_shows_its_null_status(emulator: EmulatorServer, control: EmulatorControl) -> None:
    control.configure(domo_start_delay=3600)
    pending = control.create_domo_instance()
    assert control.domo_instance(pending["id"])["status"] is None
    assert (
        parse(requests.get(link_of(emulator, pending), timeout=5)).fields["status"]
        == "null (not started yet)"
    )


def test_unknown_instance_or_mismatched_model_is_a_404_page(
    emulator: EmulatorServer, control: EmulatorControl
) -> None:
    running = control.create_domo_instance(status="IN_PROGRESS")
    base = f"{emulator.base_url}/workflows/instances"
    for url in (
        f"{base}/{running['modelId']}/{running['modelVersion']}/no-such-id",
        f"{base}/other-model/{running['modelVersion']}/{running['id']}",
        f"{base}/{running['modelId']}/9.9.9/{running['id']}",
    ):
        response = requests.get(url, timeout=5)
        assert response.status_code == 404, url
        assert response.headers["content-type"].startswith("text/html")
        assert parse(response).title == "Workflow instance not found"


def test_pages_are_neither_logged_nor_faulted(emulator: EmulatorServer, control: EmulatorControl) -> None:
    running = control.create_domo_instance(status="IN_PROGRESS")
    control.inject_fault("*", status=503, count=5)
    assert requests.get(link_of(emulator, running), timeout=5).status_code == 200
    assert control.counts() == {}


def test_other_methods_and_paths_nearby_get_domo_error_bodies(
    emulator: EmulatorServer, control: EmulatorControl
) -> None:
    running = control.create_domo_instance(status="IN_PROGRESS")
    url = link_of(emulator, running)
    path = url.removeprefix(emulator.base_url)
    for response, status, at in (
        (requests.post(url, timeout=5), 405, path),
        (requests.get(f"{emulator.base_url}/workflows/instances/{running['id']}", timeout=5), 404, None),
    ):
        assert response.status_code == status
        body = response.json()
        assert set(body) == {"status", "statusReason", "message", "path", "toe"}
        assert body["status"] == status
        if at is not None:
            assert body["path"] == at
