"""Fixtures: one emulator server per test module (real loopback HTTP), reset before every test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from emulator_clients import DomoClient, EnosClient, FakeClock

from airflow_provider_wfcancel.emulator import EmulatorControl, EmulatorServer


@pytest.fixture(scope="module")
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="module")
def emulator() -> Iterator[EmulatorServer]:
    with EmulatorServer() as server:
        yield server


@pytest.fixture
def control(emulator: EmulatorServer) -> EmulatorControl:
    emulator.control.reset()
    return emulator.control


@pytest.fixture
def domo(emulator: EmulatorServer, control: EmulatorControl) -> DomoClient:
    return DomoClient(emulator.base_url)


@pytest.fixture
def enos(emulator: EmulatorServer, control: EmulatorControl) -> EnosClient:
    return EnosClient(emulator.base_url, emulator.app_state.clock)
