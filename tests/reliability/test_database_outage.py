"""Database faults: PostgreSQL goes away under load (every connection cut, new ones
refused) and comes back. The server answers 503 while it is down, recovers without a
restart, and loses nothing it answered 201 for.

The outage is made twice: by a TCP relay between the server and PostgreSQL (every
connection cut, new ones refused), which is safe on any machine, and by really stopping
and starting the local cluster, which runs only in CI or when asked for, since a
developer's cluster may be serving other work.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections import Counter
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import TYPE_CHECKING

import attrs
import pytest
import requests
from sqlalchemy import make_url

from tests.reliability._system import (
    Created,
    Server,
    auth,
    create,
    free_port,
    status_of,
    wait_until,
)

if TYPE_CHECKING:
    from tests.reliability.conftest import StartServer

pytestmark = [pytest.mark.reliability, pytest.mark.integration, pytest.mark.postgres]
PG_CTLCLUSTER = "pg_ctlcluster"


class Relay:
    """Forwards 127.0.0.1:<port> to PostgreSQL; ``cut()`` drops everything until ``resume()``."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None

    def resume(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def cut(self) -> None:
        if self._listener is not None:
            with suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread
            self._listener.close()
            self._listener = None
        with self._lock:
            for sock in self._sockets:
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source: socket.socket, sink: socket.socket) -> None:
        with suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
        with suppress(OSError):
            sink.shutdown(socket.SHUT_WR)


def _load(server: Server, stop: threading.Event, made: list[Created], codes: Counter[int]) -> None:
    while not stop.is_set():
        try:
            made.append(create(server, "outage"))
            codes[201] += 1
        except AssertionError as exc:
            codes[_status(exc)] += 1
        except requests.RequestException:
            codes[0] += 1
        time.sleep(0.01)


def _status(exc: AssertionError) -> int:
    text = str(exc)
    return 503 if "store_unavailable" in text or "unavailable" in text else 500


@attrs.frozen
class Outage:
    """What a server under create load showed before, during and after a database outage."""

    before: int
    during: list[requests.Response]
    recovered: bool
    made_after_recovery: int
    codes: Counter[int]
    statuses: set[str]


def _outage_under_load(
    server: Server, user: str, down: Callable[[], None], up: Callable[[], None]
) -> Outage:
    """Three threads create payments while ``down`` takes the database away and ``up`` brings it back."""
    made: list[Created] = []
    codes: Counter[int] = Counter()
    stop = threading.Event()
    loaders = [threading.Thread(target=_load, args=(server, stop, made, codes)) for _ in range(3)]
    for loader in loaders:
        loader.start()
    time.sleep(2)
    before = len(made)
    try:
        down()
        time.sleep(1)
        during = [
            server.request("GET", "/health"),
            server.request("GET", "/api/v1/payments/1", headers=auth(user)),
        ]
        time.sleep(3)
    finally:
        up()
    recovered = wait_until(lambda: server.request("GET", "/health").status_code == 200, 60)
    count_at_recovery = len(made)
    wait_until(lambda: len(made) > count_at_recovery + 20, 30)
    stop.set()
    for loader in loaders:
        loader.join(60)
    statuses = {status_of(server, c) for c in made}
    return Outage(before, during, recovered, len(made) - count_at_recovery, codes, statuses)


def _assert_no_loss(outage: Outage) -> None:
    assert outage.before > 0
    assert [r.status_code for r in outage.during] == [503, 503]
    assert outage.during[1].json()["error"]["code"] == "store_unavailable"
    assert "Retry-After" in outage.during[1].headers
    assert outage.recovered
    assert outage.made_after_recovery > 20
    assert outage.codes[500] == 0, outage.codes
    assert outage.statuses == {"PENDING"}


@pytest.mark.timeout(240)
def test_database_outage_answers_503_and_recovers_without_restart(
    postgres_env: dict[str, str], start_server: StartServer
) -> None:
    url = make_url(postgres_env["PAYMENTS_DATABASE_URL"])
    relay = Relay((url.host or "127.0.0.1", url.port or 5432))
    relay.resume()
    proxied = url.set(host="127.0.0.1", port=relay.port).render_as_string(hide_password=False)
    server = start_server(postgres_env | {"PAYMENTS_DATABASE_URL": proxied}, "outage")

    outage = _outage_under_load(server, "outage", relay.cut, relay.resume)
    relay.cut()

    _assert_no_loss(outage)


def _cluster(action: str) -> None:
    """Stop or start this machine's PostgreSQL cluster (Debian's pg_ctlcluster)."""
    version = sorted(p.name for p in Path("/etc/postgresql").iterdir())[-1]
    subprocess.run(  # noqa: S603 - fixed arguments on the local cluster
        [
            PG_CTLCLUSTER,
            "--skip-systemctl-redirect",
            version,
            "main",
            action,
            *(["-m", "fast"] if action == "stop" else []),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )


@pytest.fixture
def restartable_cluster(postgres_url: str) -> None:
    """A real restart is only done where the cluster is ours: CI, or when asked for."""
    if not (os.environ.get("CI") == "true" or os.environ.get("PAYMENTS_TEST_PG_RESTART") == "1"):
        pytest.skip("restarts the local PostgreSQL: runs in CI or with PAYMENTS_TEST_PG_RESTART=1")
    host = make_url(postgres_url).host or "127.0.0.1"
    if host not in {"127.0.0.1", "localhost"} or shutil.which(PG_CTLCLUSTER) is None:
        pytest.fail(
            f"cannot restart PostgreSQL at {host} here (needs {PG_CTLCLUSTER} on this machine)"
        )


@pytest.mark.timeout(300)
@pytest.mark.usefixtures("restartable_cluster")
def test_a_real_postgresql_restart_answers_503_and_loses_nothing(
    postgres_env: dict[str, str], start_server: StartServer
) -> None:
    server = start_server(postgres_env, "restart")

    outage = _outage_under_load(
        server, "restart", lambda: _cluster("stop"), lambda: _cluster("start")
    )

    _assert_no_loss(outage)
