"""Backing services for the ``celery`` profile: PostgreSQL and Redis from Debian's packages, on loopback.

Both run in the foreground under :class:`ManagedProcess`, with data in the run's work folder, so they go
away with the suite. PostgreSQL refuses to run as root; as root it runs as the ``postgres`` user that
Debian's package creates.
"""

from __future__ import annotations

import glob
import os
import pwd
from dataclasses import dataclass
from pathlib import Path

from .processes import ManagedProcess, as_user, find_executable, free_port, run_checked, wait_until

_POSTGRES_BIN_DIRS = sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True)


@dataclass
class Postgres:
    process: ManagedProcess
    port: int
    database: str = "airflow"
    user: str = "airflow"

    @property
    def sqlalchemy_url(self) -> str:
        return f"postgresql+psycopg2://{self.user}@127.0.0.1:{self.port}/{self.database}"


@dataclass
class Redis:
    process: ManagedProcess
    port: int

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"


def _postgres_os_user() -> str | None:
    if os.geteuid() != 0:
        return None
    try:
        pwd.getpwnam("postgres")
    except KeyError:
        raise RuntimeError("running as root needs the 'postgres' user; run `make e2e-system`") from None
    return "postgres"


def start_postgres(workdir: Path, env: dict[str, str]) -> Postgres:
    initdb = find_executable("initdb", *_POSTGRES_BIN_DIRS)
    postgres_bin = find_executable("postgres", *_POSTGRES_BIN_DIRS)
    run_as = _postgres_os_user()
    data, sockets = workdir / "pgdata", workdir / "pgsockets"
    for folder in (data, sockets):
        folder.mkdir(parents=True)
        if run_as:
            user = pwd.getpwnam(run_as)
            os.chown(folder, user.pw_uid, user.pw_gid)
    if run_as:
        workdir.chmod(0o711)  # mkdtemp's 0700 would keep the postgres user out of its own folders
    log = workdir / "logs" / "postgres.log"
    argv = as_user(
        [initdb, "-D", str(data), "-U", "airflow", "-A", "trust", "-E", "UTF8", "--no-sync"], run_as
    )
    run_checked(argv, env=env, log_path=log, timeout=120)

    port = free_port()
    process = ManagedProcess(
        "postgres",
        [
            postgres_bin,
            "-D",
            str(data),
            "-p",
            str(port),
            "-h",
            "127.0.0.1",
            "-k",
            str(sockets),
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=200",
        ],
        env=env,
        log_path=log,
        run_as=run_as,
    ).start()
    server = Postgres(process, port)

    def create_database() -> bool:
        import psycopg2

        process.check_running()
        connection = psycopg2.connect(host="127.0.0.1", port=port, user=server.user, dbname="postgres")
        connection.autocommit = True
        try:
            connection.cursor().execute(f"CREATE DATABASE {server.database}")
        finally:
            connection.close()
        return True

    wait_until(create_database, timeout=60, what="PostgreSQL to accept connections")
    return server


def start_redis(workdir: Path, env: dict[str, str]) -> Redis:
    port = free_port()
    process = ManagedProcess(
        "redis",
        [
            find_executable("redis-server"),
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(workdir),
        ],
        env=env,
        log_path=workdir / "logs" / "redis.log",
    ).start()

    def ping() -> bool:
        import redis

        process.check_running()
        return bool(redis.Redis(host="127.0.0.1", port=port, socket_timeout=2).ping())

    wait_until(ping, timeout=30, what="Redis to answer PING")
    return Redis(process, port)
