"""Notification storm on two server processes sharing one PostgreSQL.

2,000 genuinely paid payments (CI; fewer on a laptop), each notification sent three
times, shuffled, concurrently with forged (10%) and wrong-amount (5%) notifications,
charges taken twice (5%: a retry issued a second checkout and the buyer paid both),
verify calls and sweeps (`payments reconcile`, twice, in parallel). Then refunds: an
operator refunds 10% of the genuine payments in two parts, each request sent to both
servers at once with one Idempotency-Key, while the gateway fails a third of them;
once it recovers, the sweeps finish every refund. Nothing is lost, nothing is paid out
twice, and every duplicate or wrong charge is given back by itself.
"""

from __future__ import annotations

import json
import random
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

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
    refund_hook_calls,
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


def _select(postgres_env: dict[str, str], query: str) -> list[tuple[Any, ...]]:
    """Rows of ``query``, whose ``{schema}`` is the test's own schema."""
    url, _, options = postgres_env["PAYMENTS_DATABASE_URL"].partition("?options=")
    schema = options.rpartition("%3D")[2]
    with psycopg.connect(url.replace("+psycopg", ""), autocommit=True) as conn:
        return [tuple(r) for r in conn.execute(query.format(schema=schema)).fetchall()]


def _outbox(postgres_env: dict[str, str]) -> list[tuple[int, str | None, str, bool]]:
    """The payments' status changes (refunds' changes share the table)."""
    rows = _select(
        postgres_env,
        "SELECT payment_id, previous_status, current_status, done FROM {schema}.status_changes"
        " WHERE refund_id IS NULL",
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def _refund_outbox(postgres_env: dict[str, str]) -> list[tuple[int, str | None, str, bool]]:
    rows = _select(
        postgres_env,
        "SELECT refund_id, previous_status, current_status, done FROM {schema}.status_changes"
        " WHERE refund_id IS NOT NULL",
    )
    return [(r[0], r[1], r[2], r[3]) for r in rows]


def _refunds(postgres_env: dict[str, str]) -> list[tuple[int, str, str, int, str, str]]:
    """(payment id, attempt, reference, amount in fen, kind, status) of every refund."""
    rows = _select(
        postgres_env,
        "SELECT payment_id, attempt_reference, reference, amount_minor, kind, status"
        " FROM {schema}.refunds",
    )
    return [(r[0], r[1], r[2], r[3], r[4], r[5]) for r in rows]


def _charge_twice(server: Server, created: Created) -> Created:
    """Retry before the buyer opened the first checkout (so it cannot be closed at Alipay
    and stays payable); the second checkout, which the buyer pays as well."""
    path = f"/api/v1/payments/retry/{created.id}"
    response = server.request("POST", path, headers=auth(created.payer))
    assert response.status_code == 200, response.text
    order_string = response.json()["data"]["orderString"]
    reference = json.loads(dict(parse_qsl(order_string.partition("?")[2]))["biz_content"])
    return Created(created.id, created.payer, reference["out_trade_no"], order_string)


def _request_refund(
    servers: list[Server], created: Created, key: str, amount: str | None
) -> list[tuple[int, int | None, str | None]]:
    """One refund request sent to both servers at once with one key: (status, id, amount)."""
    body = {"reason": "storm"} | ({"amount": float(amount)} if amount else {})
    headers = auth("operator", ("ADMIN",)) | {"Idempotency-Key": key}
    path = f"/api/v1/payments/{created.id}/refunds"
    with ThreadPoolExecutor(2) as pool:
        answers = list(
            pool.map(lambda s: s.request("POST", path, json=body, headers=headers), servers)
        )
    results = []
    for answer in answers:
        data = answer.json().get("data") or {}
        results.append((answer.status_code, data.get("id"), data.get("amount")))
    return results


def _refund_in_two_parts(
    servers: list[Server], created: Created
) -> list[tuple[int, int | None, str | None]]:
    first = _request_refund(servers, created, f"{created.id}-part", "3.00")
    rest = _request_refund(servers, created, f"{created.id}-rest", None)
    return first + rest


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
    plan += [("twice", n) for n in range(genuine_count // 20)]
    with ThreadPoolExecutor(8) as pool:
        made = list(
            pool.map(lambda p: (p[0], create(servers[p[1] % 2], f"{p[0]}-{p[1] % 25}")), plan)
        )
        groups: dict[str, list[Created]] = {"genuine": [], "forged": [], "wrong": [], "twice": []}
        for kind, created in made:
            groups[kind].append(created)
        seconds = list(pool.map(lambda c: _charge_twice(servers[c.id % 2], c), groups["twice"]))
    for created in [c for _, c in made] + seconds:
        gateway.open(created.order_string)
    for created in groups["genuine"] + groups["twice"] + seconds:
        gateway.pay(created.reference)
    for created in groups["wrong"]:
        gateway.pay(created.reference, amount="0.01")
    for created in seconds[::2]:  # their refunds fail at first: the sweep sends them later
        gateway.faults[created.reference] = "500"
    notifications = [
        (kind, gateway.notification(c.reference))
        for kind, charged in (
            ("genuine", groups["genuine"]),
            ("wrong", groups["wrong"]),
            ("twice", groups["twice"] + seconds),
        )
        for c in charged
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

    refunded = groups["genuine"][: max(genuine_count // 10, 1)]
    for n, created in enumerate(refunded[::3]):
        gateway.faults[created.reference] = ("500", "system-error", "bad-signature")[n % 3]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda c: _refund_in_two_parts(servers, c), refunded))
    gateway.recover()
    late_sweeps = [reconcile(env, tmp_path / f"late-sweep-{n}.log") for n in range(2)]
    for sweep in late_sweeps:
        sweep.wait(120)
    # Refunds the in-process sweeps claimed while the gateway failed wait out their lease.
    settled = wait_until(
        lambda: all(r[5] != "PENDING" for r in _refunds(postgres_env)), timeout=180, interval=1
    )
    drained = wait_until(lambda: all(row[3] for row in _outbox(postgres_env)), timeout=60)
    refunds_drained = wait_until(
        lambda: all(row[3] for row in _refund_outbox(postgres_env)), timeout=60
    )
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
        "twice": Counter({"CONFIRMED": len(groups["twice"])}),
    }
    charged = genuine_count + len(groups["wrong"]) + 2 * len(groups["twice"])
    assert Counter(r for k, r in replies if k != "forged") == Counter(
        {(200, "success"): 3 * charged}
    )
    assert Counter(r for k, r in replies if k == "forged") == Counter(
        {(400, "failure"): len(groups["forged"])}
    )
    assert set(verify_statuses) <= {200}, Counter(verify_statuses)
    confirmed = Counter(cur for _, _, cur, _ in outbox if cur == "CONFIRMED")["CONFIRMED"]
    assert confirmed == genuine_count + len(groups["twice"])
    assert max(Counter((pid, cur) for pid, _, cur, _ in outbox).values()) == 1
    assert drained
    twice = [c for c, n in calls.items() if n > 1]
    assert not twice, f"status hook fired more than once for {len(twice)} changes, e.g. {twice[:3]}"
    # Compared as differences: pytest's diff of two 4,000-entry Counters takes minutes.
    missing, extra = expected - calls, calls - expected
    assert not missing, f"{len(missing)} changes never announced, e.g. {list(missing)[:3]}"
    assert not extra, f"{len(extra)} announcements of no stored change, e.g. {list(extra)[:3]}"
    _check_refunds(postgres_env, gateway, groups, refunded, answers, refund_hook_calls(calls_file))
    assert settled
    assert refunds_drained


def _check_refunds(
    postgres_env: dict[str, str],
    gateway: FaultyGateway,
    groups: dict[str, list[Created]],
    refunded: list[Created],
    answers: list[list[tuple[int, int | None, str | None]]],
    hook: list[tuple[int, str, str]],
) -> None:
    """Every refund asked for, and every charge to give back, went back exactly once."""
    rows = _refunds(postgres_env)
    kinds = Counter((pid, kind) for pid, _, _, _, kind, _ in rows)
    expected = Counter({(c.id, "DUPLICATE"): 1 for c in groups["twice"]})
    expected |= Counter({(c.id, "REJECTED"): 1 for c in groups["wrong"]})
    expected |= Counter({(c.id, "REQUESTED"): 2 for c in refunded})
    assert kinds == expected
    assert Counter(status for *_, status in rows) == Counter({"SUCCEEDED": len(rows)})
    amounts: dict[tuple[int, str], set[int]] = {key: set() for key in kinds}
    for pid, _, _, fen, kind, _ in rows:
        amounts[(pid, kind)].add(fen)
    assert all(amounts[(c.id, "DUPLICATE")] == {1000} for c in groups["twice"])
    assert all(amounts[(c.id, "REJECTED")] == {1} for c in groups["wrong"])
    assert all(amounts[(c.id, "REQUESTED")] == {300, 700} for c in refunded)
    # Both servers answered each request 201 with one and the same refund.
    for pair in (a[i : i + 2] for a in answers for i in (0, 2)):
        assert [status for status, _, _ in pair] == [201, 201], pair
        assert pair[0][1] == pair[1][1], pair
    # At the gateway: each refund reference paid out once, never more than was paid.
    paid_out: Counter[str] = Counter()
    with gateway.emulator.trades.lock:
        trades = gateway.emulator.trades.all()
        for trade in trades:
            taken = [r.out_request_no for r in trade.refunds]
            assert len(taken) == len(set(taken)), trade.out_trade_no
            total = sum((r.amount for r in trade.refunds), Decimal(0))
            assert total <= Decimal(trade.paid_amount or trade.total_amount)
            paid_out.update({r.out_request_no: int(r.amount * 100) for r in trade.refunds})
    assert paid_out == Counter({reference: fen for _, _, reference, fen, _, _ in rows})
    # Every refund change heard once by the refund hook.
    changes = Counter((rid, prev or "-", cur) for rid, prev, cur, _ in _refund_outbox(postgres_env))
    assert Counter(hook) == changes
