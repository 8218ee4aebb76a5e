"""Fixtures composing the real system: emulator, orders stand-in, databases, servers."""

from __future__ import annotations

import secrets
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import psycopg
import pytest

from payments_alipay.emulator import ServerThread
from tests.reliability._system import (
    HIDDEN,
    PAYMENTS_BIN,
    FaultyGateway,
    Keys,
    Server,
    base_env,
    orders_app,
    scan_logs,
)

StartServer = Callable[..., Server]


@pytest.fixture
def keys(tmp_path: Path) -> Keys:
    return Keys(tmp_path)


@pytest.fixture
def gateway(keys: Keys) -> Iterator[FaultyGateway]:
    faulty = FaultyGateway(keys)
    faulty.start()
    yield faulty
    faulty.stop()


@pytest.fixture
def orders_url() -> Iterator[str]:
    with ServerThread(orders_app()) as server:
        yield server.url


@pytest.fixture
def sqlite_env(
    tmp_path: Path, gateway: FaultyGateway, orders_url: str, keys: Keys
) -> dict[str, str]:
    url = f"sqlite:///{tmp_path / 'payments.db'}"
    return base_env(tmp_path, url, gateway.url, orders_url, keys)


def _postgres(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


@pytest.fixture
def postgres_env(
    postgres_url: str, tmp_path: Path, gateway: FaultyGateway, orders_url: str, keys: Keys
) -> Iterator[dict[str, str]]:
    """A schema of its own in the test PostgreSQL, migrated with ``payments db upgrade``."""
    schema = f"reliability_{secrets.token_hex(4)}"
    with psycopg.connect(_postgres(postgres_url), autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    separator = "&" if "?" in postgres_url else "?"
    url = f"{postgres_url}{separator}options=-csearch_path%3D{schema}"
    env = base_env(tmp_path, url, gateway.url, orders_url, keys)
    subprocess.run(  # noqa: S603 - fixed arguments
        [PAYMENTS_BIN, "db", "upgrade"], env=env, check=True, capture_output=True, timeout=120
    )
    yield env
    with psycopg.connect(_postgres(postgres_url), autocommit=True) as conn:
        conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")


@pytest.fixture
def start_server(tmp_path: Path, keys: Keys) -> Iterator[StartServer]:
    """Starts ``payments serve`` processes; stops them and scans their logs afterwards."""
    servers: list[Server] = []

    def start(env: dict[str, str], name: str = "server") -> Server:
        server = Server(env, tmp_path / f"{name}-{len(servers)}.log").start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()
    leaks = scan_logs(sorted(tmp_path.glob("*.log")), [*HIDDEN, *keys.secrets_to_hide()])
    assert not leaks, f"secrets in the logs: {leaks[:5]}"
