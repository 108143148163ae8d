"""The EnOS signing functions reproduce the published test vectors."""

from __future__ import annotations

import hashlib

from airflow_provider_wfcancel.emulator import enos_encryption, enos_signature

ZH_BODY = '{\n  "count": 20,\n  "page": 1,\n  "desc": "描述"\n}'.encode()


def test_published_vector_with_unsorted_query() -> None:
    signature = enos_signature(
        "xxxxaaaxxxx", [("k3", "v3"), ("k1", "v1"), ("k2", "v2")], ZH_BODY, 1572574909697, "xxxappSecretxxx"
    )
    assert signature == "59828328f6c1f9771015dc74e4929ae30f518a35a3d2353972c2ea46556fc981"


def test_published_vector_with_mapping_and_string_timestamp() -> None:
    query = {"k3": "v3", "k1": "v1", "k2": "v2"}
    signature = enos_signature("xxxxaaaxxxx", query, ZH_BODY, "1572574909697", "xxxappSecretxxx")
    assert signature == "59828328f6c1f9771015dc74e4929ae30f518a35a3d2353972c2ea46556fc981"


def test_cancel_example() -> None:
    query = {"action": "cancel", "userId": "u15426865866571", "orgId": "o1578468179"}
    body = b'{"flowInstId":"2438-201908081020"}'
    signature = enos_signature("test-token", query, body, 1572574909697, "test-secret")
    assert signature == "e75bd2e9d1dcaf197c0e3fed20666e81ab5cdbab497d6263c77cd6bd7694b1dc"


def test_signature_without_body_or_query() -> None:
    expected = hashlib.sha256(b"tok" + b"1" + b"sec").hexdigest()
    assert enos_signature("tok", {}, b"", 1, "sec") == expected


def test_encryption() -> None:
    expected = hashlib.sha256(b"key1572574909697secret").hexdigest()
    assert enos_encryption("key", 1572574909697, "secret") == expected
