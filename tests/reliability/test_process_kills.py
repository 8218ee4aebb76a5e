"""Process kills: kill -9 the server and a running `payments reconcile` at random moments
under create/notify load; restart; let the sweep run. Every payment answered 201 exists,
every genuinely paid one ends CONFIRMED, none twice.
"""

from __future__ import annotations

import os
import random
import signal
import sqlite3
import threading
import time
from contextlib import closing, suppress
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import requests

from tests.reliability._system import (
    Created,
    FaultyGateway,
    Server,
    create,
    reconcile,
    scaled,
    status_of,
)

if TYPE_CHECKING:
    from tests.reliability.conftest import StartServer

pytestmark = [pytest.mark.reliability, pytest.mark.integration]
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


class Load:
    """Creates payments and pays every other one (notifying once) until told to stop."""

    def __init__(self, server: Server, gateway: FaultyGateway) -> None:
        self.server = server
        self.gateway = gateway
        self.acknowledged: list[Created] = []
        self.paid: set[int] = set()
        self.stop = threading.Event()
        self._lock = threading.Lock()

    def run(self, worker: int) -> None:
        while not self.stop.is_set():
            try:
                created = create(self.server, f"kill-{worker}")
            except (requests.RequestException, AssertionError):
                time.sleep(0.05)  # the server is down or restarting
                continue
            with self._lock:
                self.acknowledged.append(created)
                pay = len(self.acknowledged) % 2 == 0
            self.gateway.open(created.order_string)
            if pay:
                self.gateway.pay(created.reference)
                self.paid.add(created.id)
                body = self.gateway.notification(created.reference)
                with suppress(requests.RequestException):  # Alipay resends; the sweep finds it
                    self.server.request(
                        "POST", "/api/v1/payments/notify/alipay", data=body, headers=FORM
                    )


def _changes(db: Path) -> list[tuple[int, str]]:
    with closing(sqlite3.connect(db)) as conn:
        return list(conn.execute("SELECT payment_id, current_status FROM status_changes"))


@pytest.mark.timeout(300)
def test_kill_9_of_server_and_sweeper_loses_no_acknowledged_payment(
    sqlite_env: dict[str, str], gateway: FaultyGateway, start_server: StartServer, tmp_path: Path
) -> None:
    target = scaled(300, 120)
    server = start_server(sqlite_env, "kills")
    load = Load(server, gateway)
    workers = [threading.Thread(target=load.run, args=(n,)) for n in range(4)]
    for worker in workers:
        worker.start()
    rng = random.Random(5)
    kills = 0
    deadline = time.monotonic() + 150
    while (len(load.acknowledged) < target or kills < 3) and time.monotonic() < deadline:
        time.sleep(rng.uniform(0.5, 2.0))
        sweep = reconcile(sqlite_env, tmp_path / f"sweep-{kills}.log")
        time.sleep(rng.uniform(0.1, 0.8))
        os.killpg(sweep.pid, signal.SIGKILL)
        sweep.wait(10)
        server.kill()
        kills += 1
        server.start()
    load.stop.set()
    for worker in workers:
        worker.join(60)
    db = Path(sqlite_env["PAYMENTS_DATABASE_URL"].removeprefix("sqlite:///"))
    with closing(sqlite3.connect(db)) as conn, conn:
        conn.execute("UPDATE attempts SET claimed_until = NULL")  # the killed sweeps' leases lapse
    final_sweep = reconcile(sqlite_env, tmp_path / "sweep-final.log")
    final_sweep.wait(120)

    statuses = {c.id: status_of(server, c) for c in load.acknowledged}
    confirmations = [pid for pid, status in _changes(db) if status == "CONFIRMED"]

    assert kills >= 3
    assert len(load.acknowledged) >= target // 2, len(load.acknowledged)
    assert final_sweep.returncode == 0, (tmp_path / "sweep-final.log").read_text()
    assert {pid for pid, s in statuses.items() if s == "CONFIRMED"} == load.paid
    assert {s for pid, s in statuses.items() if pid not in load.paid} == {"PENDING"}
    assert sorted(confirmations) == sorted(set(confirmations))
