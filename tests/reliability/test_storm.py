"""Notification storm on two server processes sharing one PostgreSQL.

2,000 genuinely paid payments (CI; fewer on a laptop), each notification sent three
times, shuffled, concurrently with forged (10%) and wrong-amount (5%) notifications,
verify calls and sweeps (`payments reconcile`, twice, in parallel).
"""

from __future__ import annotations

import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING

import psycopg
import pytest

from tests.reliability._system import (
    Created,
    FaultyGateway,
    Keys,
    Server,
    auth,
    create,
    forged_notification,
    hook_calls,
    probe_plugin,
    reconcile,
    scaled,
    status_of,
    wait_until,
)

if TYPE_CHECKING:
    from tests.reliability.conftest import StartServer

pytestmark = [pytest.mark.reliability, pytest.mark.integration, pytest.mark.postgres]
FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}


def _notify(server: Server, body: str) -> tuple[int, str]:
    response = server.request("POST", "/api/v1/payments/notify/alipay", data=body, headers=FORM)
    return response.status_code, response.text


def _verifier(servers: list[Server], targets: list[Created], stop: threading.Event) -> list[int]:
    statuses = []
    rng = random.Random(7)
    while not stop.is_set():
        created = rng.choice(targets)
        server = rng.choice(servers)
        path = f"/api/v1/payments/verify/{created.id}"
        statuses.append(server.request("GET", path, headers=auth(created.payer)).status_code)
    return statuses


def _outbox(postgres_env: dict[str, str]) -> list[tuple[int, str | None, str, bool]]:
    url, _, options = postgres_env["PAYMENTS_DATABASE_URL"].partition("?options=")
    schema = options.rpartition("%3D")[2]
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        rows = conn.execute(
            f"SELECT payment_id, previous_status, current_status, done FROM {schema}.status_changes"  # noqa: S608 - our own schema name
        ).fetchall()
    return [(r[0], r[1], r[2], r[3]) for r in rows]


@pytest.mark.timeout(600)
def test_storm_confirms_each_genuine_payment_once_and_refuses_every_forgery(
    postgres_env: dict[str, str],
    gateway: FaultyGateway,
    keys: Keys,
    start_server: StartServer,
    tmp_path: Path,
) -> None:
    genuine_count = scaled(2000, 200)
    site, calls_file = probe_plugin(tmp_path)
    env = postgres_env | {"PYTHONPATH": site, "PAYMENTS_PROBE_FILE": str(calls_file)}
    env["PAYMENTS_RECONCILE_INTERVAL"] = "2"  # both servers sweep in-process as well
    servers = [start_server(env, "storm-a"), start_server(env, "storm-b")]
    plan = [("genuine", n) for n in range(genuine_count)]
    plan += [("forged", n) for n in range(genuine_count // 10)]
    plan += [("wrong", n) for n in range(genuine_count // 20)]
    with ThreadPoolExecutor(8) as pool:
        made = list(
            pool.map(lambda p: (p[0], create(servers[p[1] % 2], f"{p[0]}-{p[1] % 25}")), plan)
        )
    groups: dict[str, list[Created]] = {"genuine": [], "forged": [], "wrong": []}
    for kind, created in made:
        groups[kind].append(created)
        gateway.open(created.order_string)
    for created in groups["genuine"]:
        gateway.pay(created.reference)
    for created in groups["wrong"]:
        gateway.pay(created.reference, amount="0.01")
    notifications = [
        (kind, gateway.notification(c.reference))
        for kind in ("genuine", "wrong")
        for c in groups[kind]
        for _ in range(3)
    ]
    notifications += [
        ("forged", forged_notification(c.reference, keys.attacker, tamper=n % 2 == 1))
        for n, c in enumerate(groups["forged"])
    ]
    random.Random(11).shuffle(notifications)

    stop = threading.Event()
    with ThreadPoolExecutor(12) as pool:
        verifying = pool.submit(
            _verifier, servers, groups["genuine"][:50] + groups["forged"][:20], stop
        )
        sweeps = [reconcile(env, tmp_path / f"sweep-{n}.log") for n in range(2)]
        replies = list(
            pool.map(lambda d: (d[0], _notify(servers[hash(d[1]) % 2], d[1])), notifications)
        )
        stop.set()
        verify_statuses = verifying.result(timeout=60)
        for sweep in sweeps:
            sweep.wait(120)

    drained = wait_until(lambda: all(row[3] for row in _outbox(postgres_env)), timeout=60)
    final = {
        kind: Counter(status_of(servers[0], c) for c in created) for kind, created in groups.items()
    }
    outbox = _outbox(postgres_env)
    calls = Counter(hook_calls(calls_file))
    expected = Counter((pid, prev or "-", cur) for pid, prev, cur, _ in outbox)

    assert final == {
        "genuine": Counter({"CONFIRMED": genuine_count}),
        "forged": Counter({"PENDING": len(groups["forged"])}),
        "wrong": Counter({"INVALID": len(groups["wrong"])}),
    }
    assert Counter(r for k, r in replies if k != "forged") == Counter(
        {(200, "success"): 3 * (genuine_count + len(groups["wrong"]))}
    )
    assert Counter(r for k, r in replies if k == "forged") == Counter(
        {(400, "failure"): len(groups["forged"])}
    )
    assert set(verify_statuses) <= {200}, Counter(verify_statuses)
    assert (
        Counter(cur for _, _, cur, _ in outbox if cur == "CONFIRMED")["CONFIRMED"] == genuine_count
    )
    assert max(Counter((pid, cur) for pid, _, cur, _ in outbox).values()) == 1
    assert drained
    twice = [c for c, n in calls.items() if n > 1]
    assert not twice, f"status hook fired more than once for {len(twice)} changes, e.g. {twice[:3]}"
    # Compared as differences: pytest's diff of two 4,000-entry Counters takes minutes.
    missing, extra = expected - calls, calls - expected
    assert not missing, f"{len(missing)} changes never announced, e.g. {list(missing)[:3]}"
    assert not extra, f"{len(extra)} announcements of no stored change, e.g. {list(extra)[:3]}"
