"""Pure helpers that turn a connection's fields and extras into typed settings.

Extras arrive as strings when a connection is written as a URI (``AIRFLOW_CONN_X=domo://...?timeout=5``),
so every getter coerces and names the connection and the field when a value is unusable.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import os
import ssl
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from airflow_provider_wfcancel._http import DEFAULT_MAX_RESPONSE_BYTES, HttpSettings, retry
from airflow_provider_wfcancel.exceptions import InvalidInputError

EXTRA_NOT_AN_OBJECT = (
    'extra is not a JSON object (expected e.g. {"timeout": 30}; in a URI, each extra is a query parameter)'
)
_TRUE = {"true", "1", "yes", "on"}
_FALSE = {"false", "0", "no", "off"}


class ExtraReader:
    """Typed access to a connection's extras, with errors that name the connection and the field."""

    def __init__(self, conn_id: str, extra: Mapping[str, Any] | None) -> None:
        self.conn_id = conn_id
        self.extra = dict(extra or {})

    @classmethod
    def of(cls, conn: Any) -> ExtraReader:
        """The reader of a Connection's extras; extras that are not a JSON object are an error (Airflow
        would log them and carry on with none, silently dropping every setting in them)."""
        raw = conn.extra
        if isinstance(raw, str) and raw.strip() and not _is_json_object(raw):
            raise InvalidInputError(f"connection {conn.conn_id!r}: {EXTRA_NOT_AN_OBJECT}")
        return cls(conn.conn_id, conn.extra_dejson)

    def _invalid(self, name: str, value: Any, expected: str) -> InvalidInputError:
        return InvalidInputError(
            f"connection {self.conn_id!r}: extra field {name!r} must be {expected}, got {value!r}"
        )

    def _raw(self, name: str) -> Any:
        value = self.extra.get(name)
        return None if value == "" else value

    def string(self, name: str, default: str | None = None) -> str | None:
        value = self._raw(name)
        if value is None:
            return default
        if not isinstance(value, str | int) or isinstance(value, bool):
            raise self._invalid(name, value, "a string")
        return str(value).strip() or default

    def number(self, name: str, default: float, *, minimum: float = 0.0, maximum: float = 3600.0) -> float:
        value = self._raw(name)
        if value is None:
            return default
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise self._invalid(name, value, "a number") from None
        if isinstance(value, bool) or not math.isfinite(number) or not minimum <= number <= maximum:
            raise self._invalid(name, value, f"a number between {minimum:g} and {maximum:g}")
        return number

    def integer(self, name: str, default: int, *, minimum: int = 0, maximum: int = 100) -> int:
        value = self._raw(name)
        if value is None:
            return default
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise self._invalid(name, value, "a whole number")
        try:
            number = int(value) if isinstance(value, float) else int(str(value).strip())
        except ValueError:
            raise self._invalid(name, value, "a whole number") from None
        if not minimum <= number <= maximum:
            raise self._invalid(name, value, f"a whole number between {minimum} and {maximum}")
        return number

    def boolean(self, name: str, default: bool) -> bool:
        value = self._raw(name)
        if value is None:
            return default
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise self._invalid(name, value, "true or false")

    def http_settings(self) -> HttpSettings:
        """Transport extras common to both services: timeout, verify_ssl, ca_bundle, max_retries,
        max_response_bytes, max_requests_per_second."""
        timeout = self.number("timeout", 30.0, minimum=0.1, maximum=600.0)
        verify: bool | str = self.boolean("verify_ssl", True)
        ca_bundle = self.string("ca_bundle")
        if ca_bundle:
            if verify is False:
                raise InvalidInputError(
                    f"connection {self.conn_id!r}: set either ca_bundle or verify_ssl=false, not both"
                )
            if not os.path.isfile(ca_bundle):
                raise InvalidInputError(
                    f"connection {self.conn_id!r}: ca_bundle {ca_bundle!r} is not a file on this machine "
                    "(it must exist on every worker and triggerer)"
                )
            _check_ca_bundle(self.conn_id, ca_bundle)
            verify = ca_bundle
        max_retries = self.integer("max_retries", 4, minimum=0, maximum=20)
        max_response_bytes = self.integer(
            "max_response_bytes", DEFAULT_MAX_RESPONSE_BYTES, minimum=1024, maximum=1024**3
        )
        max_rate: float | None = None
        if self._raw("max_requests_per_second") is not None:
            max_rate = self.number("max_requests_per_second", 0.0, minimum=0.1, maximum=10000.0)
        return HttpSettings(
            max_requests_per_second=max_rate,
            connect_timeout=min(10.0, timeout),
            read_timeout=timeout,
            verify=verify,
            retry=dataclasses.replace(retry.DEFAULT_RETRY_POLICY, max_attempts=max_retries + 1),
            max_response_bytes=max_response_bytes,
            learned_rates_file=learned_rates_file(),
        )


def learned_rates_file() -> str | None:
    """``[wfcancel] learned_rates_file``: the file where gateways' learned rates outlive a process (off when
    unset; see :mod:`._http.learned_rates`)."""
    from airflow.configuration import conf

    return conf.get("wfcancel", "learned_rates_file", fallback="") or None


def _check_ca_bundle(conn_id: str, path: str) -> None:
    """A ``ca_bundle`` must be a PEM file Python's TLS can load (checked once per file version, not on
    every attempt nor by every trigger of a triggerer)."""
    problem = _ca_bundle_problem(path, os.stat(path).st_mtime_ns)
    if problem:
        raise InvalidInputError(
            f"connection {conn_id!r}: ca_bundle {path!r} is not a PEM certificate file Python can load ({problem})"
        )


@functools.lru_cache(maxsize=32)
def _ca_bundle_problem(path: str, mtime_ns: int) -> str | None:
    try:
        ssl.create_default_context(cafile=path)
    except (ssl.SSLError, OSError, ValueError) as error:
        return type(error).__name__
    return None


def required_field(conn_id: str, value: str | None, what: str) -> str:
    """A connection field that must not be blank, stripped; the error names the connection and ``what``."""
    text = (value or "").strip()
    if not text:
        raise InvalidInputError(f"connection {conn_id!r} has no {what}")
    return text


def base_url_from_host(
    conn_id: str,
    host: str | None,
    *,
    port: Any = None,
    field: str = "host",
    default_domain: str | None = None,
) -> str:
    """Normalise a host field (and the connection's port field) into ``scheme://netloc[/path]``
    without a trailing slash.

    ``https`` is assumed when no scheme is given. With ``default_domain``, a bare name without dots
    (``acme``) becomes ``acme.<default_domain>``. ``port`` is the connection's port field: a URI-style
    connection (``AIRFLOW_CONN_X=domo://:token@127.0.0.1:8089``) puts the port there, not in ``host``.
    A port in both places must agree.
    """
    text = (host or "").strip()
    if not text:
        raise InvalidInputError(f"connection {conn_id!r} has no {field}")
    if "://" not in text:
        if default_domain and "." not in text and ":" not in text and "/" not in text:
            text = f"{text}.{default_domain}"
        text = f"https://{text}"
    parts = urlsplit(text)
    bad = (
        parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.query
        or parts.fragment
        or any(c.isspace() for c in text)
        or "@" in parts.netloc  # userinfo in any form, ``:password@`` included
        or "%" in parts.netloc  # a percent-encoded host (``acme%2edomo.com``) is not the host it shows
        or not parts.netloc.isascii()
    )
    try:
        bad = bad or parts.port == 0
    except ValueError:
        bad = True
    if bad:
        shown = _without_userinfo(text, parts.netloc)
        raise InvalidInputError(
            f"connection {conn_id!r}: {field} {shown!r} is not a valid base URL "
            "(expected e.g. 'https://name.example.com')"
        )
    base_url = f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}"
    return _with_port(conn_id, base_url, port)


def _with_port(conn_id: str, base_url: str, port: Any) -> str:
    """``base_url`` with the connection's port field applied (a valid, normalised base URL in)."""
    if port is None or port == "" or (port == 0 and not isinstance(port, bool)):
        return base_url  # Airflow stores "no port" as None (some UIs as 0)
    text = str(port).strip()
    number = int(text) if not isinstance(port, bool) and text.isascii() and text.isdigit() else 0
    if not 1 <= number <= 65535:
        raise InvalidInputError(
            f"connection {conn_id!r}: port must be a number from 1 to 65535, got {port!r}"
        )
    parts = urlsplit(base_url)
    if parts.port is not None:
        if parts.port != number:
            raise InvalidInputError(
                f"connection {conn_id!r}: the host names port {parts.port} but the port field says {number}; "
                "set only one"
            )
        return base_url
    return urlunsplit(parts._replace(netloc=f"{parts.netloc}:{number}"))


def _without_userinfo(host: str, netloc: str) -> str:
    """The host as typed, but with any ``user:password@`` blanked: it must not reach logs."""
    if "@" not in netloc:
        return host
    return host.replace(netloc, "***@" + netloc.rpartition("@")[2], 1)


def environment_connection_problem(conn_id: str, *, unreadable: bool = False) -> str | None:
    """What is wrong with ``AIRFLOW_CONN_<ID>`` that Airflow does not say, or ``None``.

    Airflow turns a JSON ``port`` of ``true`` into 1 and ``8089.5`` into 8089, and reports a connection
    whose port is ``"abc"`` as not defined. With ``unreadable`` (Airflow could not read the connection),
    an existing variable is itself the problem: it is defined, but malformed.
    """
    name = "AIRFLOW_CONN_" + conn_id.upper()
    raw = os.environ.get(name)
    if raw is None:
        return None
    text = raw.strip()
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if not isinstance(value, dict):
            return f"connection {conn_id!r}: {name} is not a valid JSON object" if unreadable else None
        extra = value.get("extra")
        if isinstance(extra, str) and extra.strip() and not _is_json_object(extra):
            return f"connection {conn_id!r}: {EXTRA_NOT_AN_OBJECT} (in {name})"
        port = value.get("port")
        whole = isinstance(port, int) and not isinstance(port, bool)
        if port is not None and not whole and not (isinstance(port, str) and port.strip().isdigit()):
            return f"connection {conn_id!r}: port must be a whole number from 1 to 65535, got {port!r} (in {name})"
    if unreadable:
        return (
            f"connection {conn_id!r} is set in {name}, but Airflow could not read it (check its JSON or URI)"
        )
    return None


def _is_json_object(text: str) -> bool:
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False
