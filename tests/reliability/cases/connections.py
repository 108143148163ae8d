"""Bad-input rows for connections: missing, wrong type, bad host, bad extras, bad TLS settings."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tests.reliability.cases.bad_input import (
    CONN_FIELD,
    DROP,
    EMULATOR,
    NOT_PEM_FILE,
    USERINFO_SECRET,
    BadInputCase,
    fullwidth,
)
from tests.reliability.cases.common import Service


def connection_cases(service: Service) -> list[BadInputCase]:
    conn_field = CONN_FIELD[service]
    conn_id = f"{service}_default"
    rows: list[tuple[str, str, Mapping[str, Any], Mapping[str, Any], str]] = [
        (
            "missing-connection",
            "connection not defined",
            {conn_field: "no_such_conn"},
            {},
            "connection 'no_such_conn' is not defined",
        ),
        (
            "conn-id-empty",
            "empty connection id",
            {conn_field: ""},
            {},
            f"{conn_field} must be a non-empty string",
        ),
        (
            "conn-id-none",
            "connection id None",
            {conn_field: None},
            {},
            f"{conn_field} must be a non-empty string",
        ),
        ("no-host", "connection without host", {}, {"host": DROP}, f"connection '{conn_id}' has no host"),
        (
            "host-not-http",
            "malformed host `ftp://...`",
            {},
            {"host": "ftp://example.com"},
            "is not a valid base URL",
        ),
        (
            "host-bad-port",
            "malformed host (port 99999)",
            {},
            {"host": "http://127.0.0.1:99999"},
            "is not a valid base URL",
        ),
        ("host-space", "malformed host (space)", {}, {"host": "acme domo.com"}, "is not a valid base URL"),
        (
            "host-percent-encoded",
            "percent-encoded host (`https://acme%2edomo.com`: not the host it shows)",
            {},
            {"host": "https://acme%2edomo.com"},
            "is not a valid base URL",
        ),
        (
            "host-query",
            "malformed host (query string)",
            {},
            {"host": f"{EMULATOR}?x=1"},
            "is not a valid base URL",
        ),
        (
            "host-userinfo",
            "host with credentials in it (`https://user:secret@host`); the error must not echo them",
            {},
            {"host": f"https://user:{USERINFO_SECRET}@example.com"},
            "is not a valid base URL",
        ),
        (
            "host-userinfo-no-user",
            "host with only a password in it (`https://:secret@host`)",
            {},
            {"host": f"https://:{USERINFO_SECRET}@example.com"},
            "is not a valid base URL",
        ),
        (
            "host-userinfo-no-scheme",
            "host with only a password and no scheme (`:secret@host`)",
            {},
            {"host": f":{USERINFO_SECRET}@example.com"},
            "is not a valid base URL",
        ),
        ("host-port-zero", "host with port 0", {}, {"host": "http://127.0.0.1:0"}, "is not a valid base URL"),
        (
            "port-bool",
            "JSON `port` true (Airflow would turn it into 1)",
            {},
            {"port": True},
            "port must be a whole number from 1 to 65535, got True",
        ),
        (
            "port-fraction",
            "JSON `port` 8089.5 (Airflow would turn it into 8089)",
            {},
            {"port": 8089.5},
            "port must be a whole number from 1 to 65535, got 8089.5",
        ),
        (
            "port-text",
            'JSON `port` "abc" (Airflow reports the connection as undefined)',
            {},
            {"port": "abc"},
            "port must be a whole number from 1 to 65535, got 'abc'",
        ),
        (
            "extra-not-json",
            "`extra` that is not a JSON object (Airflow would ignore every setting in it)",
            {},
            {"extra": "timeout=5"},
            "extra is not a JSON object",
        ),
        (
            "timeout-nan",
            "extra `timeout` NaN",
            {},
            {"extra": {"timeout": "nan"}},
            "extra field 'timeout' must be a number between",
        ),
        (
            "timeout-inf",
            "extra `timeout` infinite",
            {},
            {"extra": {"timeout": "inf"}},
            "extra field 'timeout' must be a number between",
        ),
        (
            "max-response-bytes-tiny",
            "extra `max_response_bytes` below 1024",
            {},
            {"extra": {"max_response_bytes": 10}},
            "extra field 'max_response_bytes' must be a whole number between 1024",
        ),
        (
            "ca-bundle-not-pem",
            "extra `ca_bundle` a file that is not a PEM certificate",
            {},
            {"extra": {"ca_bundle": NOT_PEM_FILE}},
            "is not a PEM certificate file Python can load",
        ),
        (
            "timeout-text",
            "extra `timeout` of the wrong type (text)",
            {},
            {"extra": {"timeout": "fast"}},
            "extra field 'timeout' must be a number",
        ),
        (
            "timeout-list",
            "extra `timeout` of the wrong type (list)",
            {},
            {"extra": {"timeout": [5]}},
            "extra field 'timeout' must be a number",
        ),
        (
            "max-retries-float",
            "extra `max_retries` not a whole number",
            {},
            {"extra": {"max_retries": 2.5}},
            "extra field 'max_retries' must be a whole number",
        ),
        (
            "max-retries-bool",
            "extra `max_retries` a bool",
            {},
            {"extra": {"max_retries": True}},
            "extra field 'max_retries' must be a whole number",
        ),
        (
            "verify-ssl-text",
            "extra `verify_ssl` not a boolean",
            {},
            {"extra": {"verify_ssl": "maybe"}},
            "extra field 'verify_ssl' must be true or false",
        ),
    ]
    if service == "domo":
        rows += [
            (
                "no-token",
                "connection without token (password)",
                {},
                {"password": DROP},
                "has no developer access token (password)",
            ),
            (
                "blank-token",
                "connection whose token is whitespace",
                {},
                {"password": "   "},
                "has no developer access token (password)",
            ),
            (
                "token-line-break",
                "token with a line break in it (header injection)",
                {},
                {"password": "abc\r\nX-Injected: 1"},
                "password (the Domo developer token) contains characters an HTTP header cannot carry",
            ),
            (
                "token-non-latin",
                "token with non-ASCII characters",
                {},
                {"password": "tökén-ʃ-1234"},
                "password (the Domo developer token) contains characters an HTTP header cannot carry",
            ),
        ]
    else:
        rows += [
            ("no-login", "connection without Access Key (login)", {}, {"login": DROP}, "has no login"),
            (
                "no-password",
                "connection without Secret Key (password)",
                {},
                {"password": DROP},
                "has no password",
            ),
            (
                "no-org-id",
                "connection without extra `org_id`",
                {},
                {"extra": {"org_id": DROP}},
                "has no extra 'org_id'",
            ),
            (
                "org-id-list",
                "extra `org_id` of the wrong type (list)",
                {},
                {"extra": {"org_id": ["o1"]}},
                "extra field 'org_id' must be a string",
            ),
            (
                "login-space",
                "Access Key (login) with a space",
                {},
                {"login": "sentinel app key"},
                "login (the Access Key, appKey) 'sentinel app key' is not a valid id",
            ),
            (
                "login-cyrillic",
                "Access Key (login) with a Cyrillic look-alike letter",
                {},
                {"login": "sentinel-\u0430pp-key"},  # a Cyrillic a
                "is not a valid id (expected something like '5acb82e7-",
            ),
            (
                "secret-line-break",
                "Secret Key (password) with a line break",
                {},
                {"password": "abc\ndef"},
                "password (the Secret Key) contains control characters",
            ),
            (
                "org-id-fullwidth",
                "extra `org_id` in fullwidth digits",
                {},
                {"extra": {"org_id": "o" + fullwidth("15000000000001")}},
                "is not a valid id (expected something like 'o15724268424841')",
            ),
            (
                "org-id-zero-width",
                "extra `org_id` with a zero-width space",
                {},
                {"extra": {"org_id": "o150000\u200b00000001"}},
                "is not a valid id (expected something like 'o15724268424841')",
            ),
            (
                "org-id-traversal",
                "extra `org_id` with a path separator",
                {},
                {"extra": {"org_id": "o1/../o2"}},
                "contains characters not allowed in an id",
            ),
            (
                "user-id-dict",
                "extra `user_id` of the wrong type (dict)",
                {},
                {"extra": {"user_id": {"id": "u1"}}},
                "extra field 'user_id' must be a string",
            ),
            (
                "no-user-id",
                "no `user_id` anywhere (connection or argument)",
                {},
                {"extra": {"user_id": DROP}},
                "no EnOS user id",
            ),
            (
                "arg-user-id-none-string",
                '`user_id` argument "None" (a template whose value is missing)',
                {"user_id": "None"},
                {},
                "what a template renders when its value is missing",
            ),
            (
                "arg-user-id-query",
                "`user_id` argument with `?`",
                {"user_id": "u1?x=1"},
                {},
                "contains characters not allowed in an id",
            ),
            (
                "arg-user-id-ampersand",
                "`user_id` argument with `&`",
                {"user_id": "u1&orgId=o2"},
                {},
                "user_id 'u1&orgId=o2' is not a valid id (expected something like 'u15426865866571')",
            ),
            (
                "arg-user-id-plus",
                "`user_id` argument with `+`",
                {"user_id": "u1+2"},
                {},
                "user_id 'u1+2' is not a valid id",
            ),
            (
                "arg-user-id-space",
                "`user_id` argument with a space inside",
                {"user_id": "u150 00"},
                {},
                "user_id 'u150 00' is not a valid id",
            ),
            (
                "arg-user-id-cyrillic",
                "`user_id` argument starting with a Cyrillic `и`",
                {"user_id": "и15000000000001"},
                {},
                "is not a valid id (expected something like 'u15426865866571')",
            ),
            (
                "arg-user-id-placeholder",
                "`user_id` argument a placeholder nobody filled in (`{user_id}`)",
                {"user_id": "{user_id}"},
                {},
                "user_id '{user_id}' is not a valid id",
            ),
            (
                "arg-org-id-int",
                "`org_id` argument an int",
                {"org_id": 15},
                {},
                "org_id must be a string, got int",
            ),
        ]
    return [
        BadInputCase(
            id=f"{service}-{slug}",
            service=service,
            label=label,
            kwargs=kwargs,
            connection=connection,
            message=message,
        )
        for slug, label, kwargs, connection, message in rows
    ]
