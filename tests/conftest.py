"""Test harness: an isolated Airflow home, the emulator on loopback, and a ``dag.test()`` runner.

Airflow reads its configuration when first imported, so the environment is set here, at import time of
the root conftest, before any test module imports airflow.
"""

from __future__ import annotations

import datetime
import http.server
import ipaddress
import json
import os
import ssl
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
#: ``airflow_api``, ``client``, ``as_user``: the API server's app with the provider's plugin mounted.
pytest_plugins = ["tests.airflow_api"]
_AIRFLOW_HOME = Path(tempfile.mkdtemp(prefix="wfcancel-airflow-home-"))
_DAGS_FOLDER = _AIRFLOW_HOME / "dags"
_DAGS_FOLDER.mkdir()
os.environ.update(
    {
        "AIRFLOW_HOME": str(_AIRFLOW_HOME),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{_AIRFLOW_HOME}/airflow.db",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__DAGS_FOLDER": str(_DAGS_FOLDER),
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "INFO",
        # Airflow 3.0 signs its tokens with ``"iss": None`` when no issuer is set, which PyJWT 2.10+ refuses
        # ("Issuer (iss) must be a string"): every dag.test() task would fail. 3.1+ drops an unset issuer;
        # set, every version signs and checks it alike (docs/compatibility.md).
        "AIRFLOW__API_AUTH__JWT_ISSUER": "airflow",
    }
)
for name in [n for n in os.environ if n.startswith("AIRFLOW_CONN_")]:
    del os.environ[name]


def pytest_ignore_collect(collection_path: Path, config: pytest.Config) -> bool | None:
    """Leave tests/e2e (a whole Airflow deployment) out unless asked for by path: ``make e2e``."""
    return True if collection_path == REPO / "tests" / "e2e" else None


def connection_json(conn_type: str, **fields: Any) -> str:
    """A JSON connection for an ``AIRFLOW_CONN_*`` variable (extras keep their types)."""
    return json.dumps({"conn_type": conn_type, **fields})


@pytest.fixture(scope="session")
def emulator() -> Iterator[Any]:
    """One emulator for the whole run, on a free loopback port."""
    from airflow_provider_wfcancel.emulator import EmulatorServer

    with EmulatorServer() as server:
        yield server


@pytest.fixture
def emu(emulator: Any) -> Any:
    """The emulator, reset to its seeded defaults for this test (and no EnOS token cached for it)."""
    from airflow_provider_wfcancel.hooks.enos import clear_token_cache

    emulator.control.reset()
    clear_token_cache()
    return emulator


@pytest.fixture
def domo_conn(emu: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """``domo_default`` pointing at the emulator, with a fast retry budget."""
    from airflow_provider_wfcancel.emulator import DEFAULT_DOMO_TOKEN

    monkeypatch.setenv(
        "AIRFLOW_CONN_DOMO_DEFAULT",
        connection_json("domo", host=emu.base_url, password=DEFAULT_DOMO_TOKEN, extra={"max_retries": 3}),
    )
    return "domo_default"


@pytest.fixture
def enos_conn(emu: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    """``enos_default`` pointing at the emulator."""
    from airflow_provider_wfcancel.emulator import (
        DEFAULT_ENOS_APP_KEY,
        DEFAULT_ENOS_APP_SECRET,
        DEFAULT_ENOS_ORG_ID,
        DEFAULT_ENOS_USER_ID,
    )

    monkeypatch.setenv(
        "AIRFLOW_CONN_ENOS_DEFAULT",
        connection_json(
            "enos",
            host=emu.base_url,
            login=DEFAULT_ENOS_APP_KEY,
            password=DEFAULT_ENOS_APP_SECRET,
            extra={"org_id": DEFAULT_ENOS_ORG_ID, "user_id": DEFAULT_ENOS_USER_ID, "max_retries": 3},
        ),
    )
    return "enos_default"


@pytest.fixture(autouse=True)
def _fresh_token_cache() -> Iterator[None]:
    """Every test starts and ends without cached EnOS access tokens (they are process-wide)."""
    from airflow_provider_wfcancel.hooks.enos import clear_token_cache

    clear_token_cache()
    yield
    clear_token_cache()


@pytest.fixture(autouse=True)
def _fast_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    """Keep retry backoff in the tens of milliseconds; the policy's logic is unchanged."""
    from airflow_provider_wfcancel._http import retry

    monkeypatch.setattr(
        retry, "DEFAULT_RETRY_POLICY", retry.RetryPolicy(backoff_initial=0.01, backoff_max=0.05)
    )


@pytest.fixture(autouse=True)
def _fresh_rate_limiters() -> Iterator[None]:
    """Every test starts with no gateway paused or paced: limiters are per process, tests share hosts."""
    from airflow_provider_wfcancel._http import ratelimit

    ratelimit.reset()
    yield
    ratelimit.reset()


class FakeTaskInstance:
    """Records ``xcom_push`` calls, for operators executed outside a DAG run."""

    def __init__(self) -> None:
        self.xcoms: dict[str, Any] = {}

    def xcom_push(self, key: str, value: Any) -> None:
        from airflow_provider_wfcancel.version_compat import XCOM_REFUSES_NONE

        json.dumps(value)  # Airflow requires JSON-serialisable XCom values
        if value is None and XCOM_REFUSES_NONE:
            raise ValueError(f"Airflow 3.0's execution API refuses an XCom of None (key {key!r})")
        self.xcoms[key] = value


@pytest.fixture
def context() -> dict[str, Any]:
    return {"ti": FakeTaskInstance(), "params": {}}


# -- dag.test() ---------------------------------------------------------------------------------------


@dataclass
class DagRunReport:
    state: str
    task_states: dict[str, str | None]
    xcoms: dict[tuple[str, str, int], Any] = field(default_factory=dict)
    run_id: str = ""

    def xcom(self, task_id: str, key: str = "return_value", map_index: int = -1) -> Any:
        return self.xcoms[(task_id, key, map_index)]

    def pulled(self, task_id: str, key: str) -> Any:
        """What ``xcom_pull`` reads: ``None`` for a key never pushed (Airflow 3.0 pushes no ``None`` value)."""
        from airflow_provider_wfcancel.version_compat import XCOM_REFUSES_NONE

        if not XCOM_REFUSES_NONE:
            return self.xcom(task_id, key)
        return self.xcoms.get((task_id, key, -1))


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """Migrate the SQLite metadata DB once per run and expose the example and test DAGs."""
    for folder in (REPO / "example_dags", REPO / "tests" / "dags"):
        for path in folder.glob("*.py"):
            (_DAGS_FOLDER / path.name).symlink_to(path)
    subprocess.run(
        [sys.executable, "-m", "airflow", "db", "migrate"],
        check=True,
        capture_output=True,
        env=os.environ.copy(),
    )
    return _DAGS_FOLDER


@pytest.fixture
def run_dag(airflow_db: Path) -> Any:
    """``run_dag(dag_id, conf=None)`` runs a DAG from the DAGs folder with ``dag.test()``."""
    from airflow.models.taskinstance import TaskInstance
    from airflow.utils.session import create_session

    from tests.airflow_compat import (
        DagBag,
        XComRow,
        assert_only_unsupported_import_errors,
        store_serialized_dag,
    )

    bag = DagBag(dag_folder=str(airflow_db))
    assert_only_unsupported_import_errors(bag.import_errors, airflow_db)

    def run(dag_id: str, conf: dict[str, Any] | None = None) -> DagRunReport:
        dag = bag.get_dag(dag_id)
        assert dag is not None, f"no DAG {dag_id!r} in {airflow_db}"
        if any(t.outlets for t in dag.tasks):  # their assets must be known, as the DAG processor makes them
            store_serialized_dag(dag)
        dag_run = dag.test(run_conf=conf)
        with create_session() as session:
            tis = session.query(TaskInstance).filter_by(dag_id=dag_id, run_id=dag_run.run_id).all()
            rows = session.query(XComRow).filter_by(dag_id=dag_id, run_id=dag_run.run_id).all()
            return DagRunReport(
                run_id=dag_run.run_id,
                state=str(dag_run.state),
                task_states={
                    (ti.task_id if ti.map_index < 0 else f"{ti.task_id}[{ti.map_index}]"): (
                        str(ti.state) if ti.state else None
                    )
                    for ti in tis
                },
                xcoms={(x.task_id, x.key, x.map_index): _xcom_value(x.value) for x in rows},
            )

    return run


def _xcom_value(value: Any) -> Any:
    if isinstance(value, str | bytes):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def self_signed_certificate(folder: Path) -> tuple[Path, Path]:
    """A self-signed CA certificate for 127.0.0.1 and its key, as PEM files in ``folder``."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "wfcancel-test-ca")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


# -- a TLS server with a self-signed certificate ---------------------------------------------------------


class _CountingHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"ok": true}')

    def log_message(self, format: str, *args: Any) -> None:
        pass


class TlsServer:
    """HTTPS on loopback with a self-signed certificate; counts TLS handshakes attempted."""

    def __init__(self, folder: Path) -> None:
        self.cert_path, key_path = self_signed_certificate(folder)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert_path, key_path)
        self.handshakes = 0
        server = self

        class Server(http.server.ThreadingHTTPServer):
            def get_request(self) -> tuple[Any, Any]:
                sock, address = self.socket.accept()
                server.handshakes += 1
                return context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False), address

            def handle_error(self, request: Any, client_address: Any) -> None:
                pass  # the client refusing our certificate is the point

        self.httpd = Server(("127.0.0.1", 0), _CountingHandler)
        self.url = f"https://127.0.0.1:{self.httpd.server_address[1]}/api/thing"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def tls_server(tmp_path: Path) -> Iterator[TlsServer]:
    server = TlsServer(tmp_path)
    yield server
    server.close()
