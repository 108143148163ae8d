"""The learned rates file: a gateway's rate outlives the process that found it (opt-in)."""

from __future__ import annotations

import json
import logging
import os
import stat
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_wfcancel._http import learned_rates, ratelimit
from airflow_provider_wfcancel._http.learned_rates import LearnedRates
from airflow_provider_wfcancel._http.ratelimit import GatewayLimiter, gateway_key
from airflow_provider_wfcancel.emulator import DEFAULT_DOMO_TOKEN
from airflow_provider_wfcancel.hooks.domo import DomoHook
from tests.conftest import connection_json

GATEWAY = gateway_key("Domo", "https://acme.domo.com", ("domo-token-secret",))


class Clock:
    def __init__(self) -> None:
        self.now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def rates_file(tmp_path: Path) -> Path:
    return tmp_path / "learned-rates.json"


def test_a_saved_rate_is_read_back_by_another_reader_of_the_file(rates_file: Path) -> None:
    LearnedRates(str(rates_file), GATEWAY).save(37.5)
    assert LearnedRates(str(rates_file), GATEWAY).load(minimum=0.2, maximum=None) == 37.5
    other = gateway_key("Domo", "https://acme.domo.com", ("another-token",))
    assert LearnedRates(str(rates_file), other).load(minimum=0.2, maximum=None) is None


def test_the_file_holds_no_secret_nor_the_credentials_digest_and_only_its_owner_reads_it(
    rates_file: Path,
) -> None:
    LearnedRates(str(rates_file), GATEWAY).save(12.0)
    text = rates_file.read_text()
    assert "domo-token-secret" not in text
    assert GATEWAY[2] not in text  # the limiter's own key is not written either
    assert "acme" not in text
    assert stat.S_IMODE(os.stat(rates_file).st_mode) == 0o600


@pytest.mark.parametrize(
    ("entry", "why"),
    [
        ({"rate": 20.0, "found_at": -learned_rates.MAX_AGE - 1}, "too old"),
        ({"rate": 20.0, "found_at": 3600.0}, "in the future"),
        ({"rate": 0.01, "found_at": 0.0}, "under the minimum"),
        ({"rate": 500.0, "found_at": 0.0}, "over the cap"),
        ({"rate": "fast", "found_at": 0.0}, "not a number"),
        ({"rate": float("nan"), "found_at": 0.0}, "not finite"),
        ({"rate": True, "found_at": 0.0}, "a boolean"),
        ("20", "not an object"),
    ],
)
def test_an_implausible_entry_is_not_used(rates_file: Path, entry: Any, why: str) -> None:
    clock = Clock()
    rates = LearnedRates(str(rates_file), GATEWAY, clock=clock)
    if isinstance(entry, dict) and isinstance(entry.get("found_at"), float):
        entry = {**entry, "found_at": clock.now + entry["found_at"]}
    rates_file.write_text(json.dumps({rates.entry: entry}, allow_nan=True))
    assert rates.load(minimum=0.2, maximum=100.0) is None, why


@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", b"{}" + b" " * learned_rates.MAX_BYTES])
def test_a_broken_or_oversized_file_reads_as_empty_and_the_next_save_rewrites_it(
    rates_file: Path, content: bytes
) -> None:
    rates_file.write_bytes(content)
    rates = LearnedRates(str(rates_file), GATEWAY)
    assert rates.load(minimum=0.2, maximum=None) is None
    rates.save(8.0)
    assert rates.load(minimum=0.2, maximum=None) == 8.0


def test_the_oldest_gateways_go_first_past_the_entry_limit(
    rates_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(learned_rates, "MAX_ENTRIES", 3)
    clock = Clock()
    for i in range(5):
        clock.now += 1
        LearnedRates(str(rates_file), ("Domo", f"https://{i}.example.com", "d"), clock=clock).save(
            float(i + 1)
        )
    kept = json.loads(rates_file.read_text())
    assert sorted(entry["rate"] for entry in kept.values()) == [3.0, 4.0, 5.0]


def test_a_file_that_cannot_be_written_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    missing_dir = tmp_path / "no-such-dir" / "rates.json"
    with caplog.at_level(logging.WARNING):
        LearnedRates(str(missing_dir), GATEWAY).save(5.0)
    assert "Could not write the learned rates file" in caplog.text


def test_a_limiter_seeded_with_a_learned_rate_paces_strictly_at_it_from_the_first_request() -> None:
    limiter = GatewayLimiter(clock=Clock())
    limiter.seed(40.0)
    assert limiter.rate == 40.0
    # no request goes early, as after a throttle: a burst-1 gateway refuses two closer than its interval
    assert [limiter.reserve() for _ in range(2)] == [(0.0, True), (pytest.approx(1 / 40, rel=1e-4), True)]
    capped = GatewayLimiter(cap=10.0)
    capped.seed(40.0)
    assert capped.rate == pytest.approx(10.0 * (1 - ratelimit.CAP_MARGIN))  # the cap still bounds it


def test_a_bulk_cancel_writes_what_it_found_and_a_new_process_starts_from_it(
    emu: Any, rates_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__WFCANCEL__LEARNED_RATES_FILE", str(rates_file))
    monkeypatch.setenv(
        "AIRFLOW_CONN_DOMO_LEARNING",
        connection_json("domo", host=emu.base_url, password=DEFAULT_DOMO_TOKEN),
    )
    ids = [emu.control.create_domo_instance(status="IN_PROGRESS")["id"] for _ in range(60)]
    emu.control.set_rate_limit("domo", rate=8, burst=2, retry_after=0.2)  # under the initial rate
    items = DomoHook("domo_learning").cancel_instances(ids, max_workers=8, deadline=120)
    assert all(item.ok for item in items)
    saved = json.loads(rates_file.read_text())
    assert len(saved) == 1
    (entry,) = saved.values()
    assert 4.0 <= entry["rate"] <= 8.0 * 1.1  # near the gateway's limit (found where it refused)

    ratelimit.reset()  # a new process: nothing in memory
    limiter = DomoHook("domo_learning").transport.limiter
    assert limiter is not None
    assert limiter.rate == entry["rate"]
    assert limiter.reserve()[0] == 0.0
    assert limiter.reserve()[0] == pytest.approx(1 / entry["rate"], abs=0.01)  # paced from the first


def test_without_the_option_nothing_is_written(
    emu: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("AIRFLOW__WFCANCEL__LEARNED_RATES_FILE", raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(
        "AIRFLOW_CONN_DOMO_PLAIN", connection_json("domo", host=emu.base_url, password=DEFAULT_DOMO_TOKEN)
    )
    assert DomoHook("domo_plain").settings.http.learned_rates_file is None
    ids = [emu.control.create_domo_instance(status="IN_PROGRESS")["id"] for _ in range(20)]
    emu.control.set_rate_limit("domo", rate=8, burst=2, retry_after=0.2)
    DomoHook("domo_plain").cancel_instances(ids, max_workers=8, deadline=120)
    assert list(tmp_path.iterdir()) == []


def test_a_file_others_may_write_is_not_read(rates_file: Path, caplog: pytest.LogCaptureFixture) -> None:
    rates = LearnedRates(str(rates_file), GATEWAY)
    rates.save(30.0)
    os.chmod(rates_file, 0o666)  # noqa: S103  # the very mistake this test is about
    with caplog.at_level(logging.WARNING):
        assert rates.load(minimum=0.2, maximum=None) is None
    assert "not this user's alone" in caplog.text
    os.chmod(rates_file, 0o600)
    assert rates.load(minimum=0.2, maximum=None) == 30.0
