"""Property-based tests: id validation and encoding, and the EnOS request signature, against the emulator.

Examples are kept modest (each emulator example is one real HTTP exchange on loopback).
"""

from __future__ import annotations

import contextlib
import json
from typing import Any
from urllib.parse import quote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from airflow_provider_wfcancel._http import ApiRequest
from airflow_provider_wfcancel._protocol import domo as domo_protocol
from airflow_provider_wfcancel._protocol.enos import exchanges as enos_exchanges
from airflow_provider_wfcancel._protocol.enos.exchanges import BATCH_PATH
from airflow_provider_wfcancel._protocol.enos.responses import CODE_INVALID_PARAMETER
from airflow_provider_wfcancel._protocol.enos.signing import sign_request, token_encryption
from airflow_provider_wfcancel.emulator import enos_encryption, enos_signature
from airflow_provider_wfcancel.exceptions import ApiError, InvalidInputError, NotFoundError
from airflow_provider_wfcancel.hooks.domo import DomoHook
from airflow_provider_wfcancel.hooks.enos import EnosHook
from tests.reliability.support import CONN_IDS, connection, set_connection

# The fixtures are set up once per test, not per example: examples only read the emulator's request log.
EMULATOR_EXAMPLES = settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)

#: Anything a template could render, plus strings shaped like real ids (hypothesis' ``\d`` and ``\w``
#: include non-ASCII digits and letters, so "shaped like" is not "ASCII").
DOMO_IDS = st.one_of(
    st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_-]{0,60}", fullmatch=True),
    st.from_regex(r"\s?\w[\w-]{0,30}\s?", fullmatch=True),
    st.text(max_size=40),
)
ENOS_IDS = st.one_of(
    st.from_regex(r"[0-9]{1,18}-[0-9]{8,14}", fullmatch=True),
    st.from_regex(r"\d{1,18}-\d{8,14}", fullmatch=True),
    st.text(max_size=40),
)


@pytest.fixture
def domo_hook(sentinel_emu: Any, monkeypatch: pytest.MonkeyPatch) -> DomoHook:
    set_connection(monkeypatch, CONN_IDS["domo"], connection("domo", sentinel_emu.base_url))
    return DomoHook(CONN_IDS["domo"])


@pytest.fixture
def enos_hook(sentinel_emu: Any, monkeypatch: pytest.MonkeyPatch) -> EnosHook:
    set_connection(monkeypatch, CONN_IDS["enos"], connection("enos", sentinel_emu.base_url))
    return EnosHook(CONN_IDS["enos"])


def _count(control: Any, route: str) -> int:
    return int(control.counts().get(route, 0))


@EMULATOR_EXAMPLES
@given(value=DOMO_IDS)
def test_domo_id_is_rejected_locally_or_reaches_the_emulator_unchanged(
    sentinel_emu: Any, domo_hook: DomoHook, value: str
) -> None:
    control = sentinel_emu.control
    before = _count(control, "domo.get")
    try:
        canonical = DomoHook.validate_instance_id(value)
    except InvalidInputError:
        with pytest.raises(InvalidInputError):
            domo_hook.get_state(value)
        assert _count(control, "domo.get") == before
        return
    assert canonical.isascii(), f"accepted a non-ASCII id {canonical!r}"
    assert domo_protocol.instance_api_url(domo_hook.settings, canonical).endswith(
        "/instances/" + quote(canonical, safe="")
    )
    with pytest.raises(NotFoundError):
        domo_hook.get_state(value)
    assert _count(control, "domo.get") == before + 1
    assert control.requests("domo.get")[-1]["path"] == f"/api/workflow/v1/instances/{canonical}"


@EMULATOR_EXAMPLES
@given(value=ENOS_IDS)
def test_enos_id_is_rejected_locally_or_reaches_the_emulator_unchanged(
    sentinel_emu: Any, enos_hook: EnosHook, value: str
) -> None:
    control = sentinel_emu.control
    before = _count(control, "enos.flowinstance.get")
    try:
        canonical = EnosHook.validate_instance_id(value)
    except InvalidInputError:
        with pytest.raises(InvalidInputError):
            enos_hook.get_state(value)
        assert _count(control, "enos.flowinstance.get") == before
        return
    assert canonical.isascii(), f"accepted a non-ASCII flow instance id {canonical!r}"
    with pytest.raises(NotFoundError) as info:  # unknown ids are EnOS code 62102, "... not found"
        enos_hook.get_state(value)
    assert info.value.service_code == CODE_INVALID_PARAMETER
    assert _count(control, "enos.flowinstance.get") == before + 1
    assert control.requests("enos.flowinstance.get")[-1]["query"]["flowInstId"] == canonical


# -- EnOS signature ---------------------------------------------------------------------------------------

PARAM_NAMES = st.text(min_size=1, max_size=12)
PARAM_VALUES = st.text(max_size=24)
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(
    token=st.text(max_size=40),
    params=st.dictionaries(PARAM_NAMES, PARAM_VALUES, max_size=6),
    body=st.one_of(st.none(), st.binary(max_size=64)),
    timestamp=st.integers(min_value=0, max_value=2**45),
    secret=st.text(min_size=1, max_size=40),
)
def test_hook_signature_equals_the_emulators(
    token: str, params: dict[str, str], body: bytes | None, timestamp: int, secret: str
) -> None:
    """Pure: the hook's signer and the emulator's verifier compute the same digest."""
    assert sign_request(token, params, body, timestamp, secret) == enos_signature(
        token, params, body or b"", timestamp, secret
    )
    assert token_encryption(token, timestamp, secret) == enos_encryption(token, timestamp, secret)


@EMULATOR_EXAMPLES
@given(params=st.dictionaries(PARAM_NAMES, PARAM_VALUES, max_size=6), payload=JSON_VALUES)
def test_signed_call_with_any_query_and_json_body_passes_the_gateway(
    sentinel_emu: Any, enos_hook: EnosHook, params: dict[str, str], payload: Any
) -> None:
    """Over the wire: whatever the query and body, the emulator's gateway accepts the hook's signature.

    The emulator checks the signature before anything else, so any answer other than HTTP 401 proves it
    was accepted (the call itself is usually refused with a business code, which is fine here).
    """
    control = sentinel_emu.control
    before = control.counts()
    settings_ = enos_hook.settings
    request = ApiRequest.with_json(
        "POST", f"{settings_.base_url}{BATCH_PATH}/flowInstances", payload, params=params
    )
    with contextlib.suppress(ApiError):  # a business refusal: the gateway let the call through
        enos_hook.run(enos_exchanges.call(settings_, request))
    entries = control.requests()[sum(before.values()) :]
    calls = [e for e in entries if e["route"].startswith("enos.flowinstance")]
    assert [e["status"] for e in calls] == [200], json.dumps(calls, ensure_ascii=False)[:2000]
    assert calls[0]["query"] == params
    assert calls[0]["body"] == json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
