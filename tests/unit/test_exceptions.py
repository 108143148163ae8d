from __future__ import annotations

import pickle

import pytest
from pytest_mock import MockerFixture

from airflow_provider_wfcancel import exceptions
from airflow_provider_wfcancel.exceptions import (
    ApiError,
    AuthenticationError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitedError,
    TransientError,
    WfCancelError,
    error_for_response,
    redact_body,
)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (429, RateLimitedError),
        (500, TransientError),
        (503, TransientError),
        (400, ApiError),
        (409, ApiError),
        (None, ApiError),
    ],
)
def test_status_codes_map_to_one_class_each(status: int | None, cls: type[WfCancelError]) -> None:
    error = error_for_response(service="Domo", method="GET", url="https://x/api", status_code=status)
    assert type(error) is cls
    assert error.http_status == status


def test_message_names_request_status_code_and_request_id() -> None:
    error = error_for_response(
        service="EnOS",
        method="POST",
        url="https://gw/batch?action=cancel",
        status_code=200,
        request_id="r-1",
        service_code=62103,
        service_message="User has no privilege",
        error_class=PermissionDeniedError,
    )
    text = str(error)
    assert "POST https://gw/batch?action=cancel" in text
    assert "HTTP 200" in text
    assert "EnOS code 62103: User has no privilege" in text
    assert "request id r-1" in text


def test_body_excerpts_are_redacted_and_short() -> None:
    body = '{"accessToken": "tok-SENTINEL", "apim-signature": "sig-SENTINEL", "msg": "' + "x" * 1000 + '"}'
    error = error_for_response(service="EnOS", method="GET", url="u", status_code=500, body=body)
    assert "SENTINEL" not in str(error)
    assert "SENTINEL" not in repr(error)
    assert len(error.body_excerpt) <= 303
    assert redact_body("password=hunter2&user=a") == 'password="***"&user=a'


def test_errors_survive_pickling_with_their_fields() -> None:
    error = error_for_response(service="Domo", method="GET", url="u", status_code=404, request_id="r")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is NotFoundError
    assert (copy.http_status, copy.request_id, str(copy)) == (404, "r", str(error))


def test_message_can_be_refined_after_construction() -> None:
    error = ApiError("first")
    error.message = "second"
    assert str(error) == "second"


def test_a_registered_secret_echoed_in_the_service_message_is_masked() -> None:
    from airflow_provider_wfcancel.version_compat import mask_secret

    mask_secret("echoed-secret-SENTINEL")
    error = error_for_response(
        service="EnOS",
        method="POST",
        url="u",
        status_code=200,
        service_code=31401,
        service_message="signature echoed-secret-SENTINEL is invalid",
        error_class=AuthenticationError,
    )
    assert "echoed-secret-SENTINEL" not in str(error)
    assert "signature *** is invalid" in str(error)
    quoted = ApiError("id echoed-secret-SENTINEL refused")
    assert "echoed-secret-SENTINEL" not in str(quoted)
    assert "echoed-secret-SENTINEL" not in repr(quoted)


def test_redaction_looks_at_a_bounded_window_whatever_the_body_size(mocker: MockerFixture) -> None:
    """A 10 MB body built to make a backtracking pattern crawl (keys that never end, values that never
    close) is cut before anything scans it."""
    scanned = mocker.spy(exceptions, "_blank_secret_values")
    body = ("secret" * 2_000_000 + '"token": "' + "a" * 2_000_000).encode()
    error = error_for_response(service="Domo", method="GET", url="u", status_code=500, body=body)
    assert scanned.call_count == 1
    assert len(scanned.call_args.args[0]) <= exceptions.REDACTION_WINDOW_CHARS
    assert len(error.body_excerpt) <= 303


def test_secret_values_inside_the_window_are_blanked() -> None:
    body = '{"apim-accesstoken": "tok-1", "x_signature":"sig-1", "other": "kept"} password=pw-1&user=u'
    excerpt = redact_body(body)
    assert not {"tok-1", "sig-1", "pw-1"} & set(excerpt.replace('"', " ").replace("&", " ").split())
    assert '"other": "kept"' in excerpt
    assert "user=u" in excerpt


def test_derived_secrets_are_blanked_in_message_service_message_and_body() -> None:
    error = error_for_response(
        service="EnOS",
        method="POST",
        url="u",
        status_code=400,
        message="refused signature 0badc0de0badc0de",
        service_message="expected other than 0badc0de0badc0de",
        body='{"echo": "0badc0de0badc0de"}',
        secrets=["0badc0de0badc0de"],
    )
    copy = pickle.loads(pickle.dumps(error))
    for shown in (str(error), repr(error), str(copy), error.body_excerpt):
        assert "0badc0de0badc0de" not in shown


def test_pickling_keeps_whether_an_earlier_attempt_may_have_applied() -> None:
    error = TransientError("lost", earlier_attempt_may_have_applied=True)
    assert pickle.loads(pickle.dumps(error)).earlier_attempt_may_have_applied is True


def test_replace_gives_a_new_error_of_the_same_kind() -> None:
    error = error_for_response(service="Domo", method="GET", url="u", status_code=404, request_id="r")
    renamed = error.replace(message="no Domo API here")
    assert type(renamed) is NotFoundError
    assert (renamed.http_status, renamed.request_id) == (404, "r")
    assert str(renamed).startswith("no Domo API here;")
    assert str(error).startswith("Domo has no such resource")
