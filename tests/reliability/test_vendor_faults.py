"""Vendor faults: the gateway times out, refuses, answers 500, HTML, bad or no signature,
ACQ.SYSTEM_ERROR, and shows paid trades as unpaid. No wrong transition; the API answers
502/503 as the OpenAPI document says; once the gateway recovers, one sweep brings every payment to
its true status.
"""

from __future__ import annotations

import sqlite3
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.reliability._system import (
    Created,
    FaultyGateway,
    Server,
    auth,
    create,
    reconcile,
    status_of,
)

if TYPE_CHECKING:
    from tests.reliability.conftest import StartServer

pytestmark = [pytest.mark.reliability, pytest.mark.integration]

# What verify answers while the gateway misbehaves this way, for a paid trade (the API's
# 503 when the vendor could not be reached in time, 502 when it answered something wrong
# or unverifiable; "flip" answers validly that the trade is unpaid, so verify says false).
EXPECTED: dict[str, tuple[int, str | None]] = {
    "timeout": (503, "vendor_unavailable"),
    "500": (503, "vendor_unavailable"),
    "system-error": (503, "vendor_unavailable"),
    "html": (502, "vendor_error"),
    "bad-signature": (502, "vendor_error"),
    "unsigned": (502, "vendor_error"),
    "flip": (200, None),
}


def _verify(server: Server, created: Created) -> tuple[int, object]:
    response = server.request(
        "GET",
        f"/api/v1/payments/verify/{created.id}",
        headers=auth(created.payer),
    )
    body = response.json()
    return response.status_code, body.get("data", body.get("error", {}).get("code"))


def _leases_expire(env: dict[str, str]) -> None:
    """What a minute does: a sweep's claims (1 min leases) lapse, failed ones included.

    ``payments reconcile`` has no lease option and a failed attempt stays claimed until
    its lease ends, so without this the next sweep would skip every attempt just tried.
    """
    path = env["PAYMENTS_DATABASE_URL"].removeprefix("sqlite:///")
    with closing(sqlite3.connect(path)) as conn, conn:
        conn.execute("UPDATE attempts SET claimed_until = NULL")


def _sweep(env: dict[str, str], log: Path) -> str:
    _leases_expire(env)
    proc = reconcile(env, log)
    proc.wait(120)
    return log.read_text().strip().splitlines()[-1]


@pytest.mark.timeout(240)
def test_gateway_faults_cause_no_wrong_transition_and_recovery_brings_the_true_status(
    sqlite_env: dict[str, str], gateway: FaultyGateway, start_server: StartServer, tmp_path: Path
) -> None:
    server = start_server(sqlite_env)
    paid = {fault: create(server, f"paid-{n}") for n, fault in enumerate(EXPECTED)}
    unpaid = {fault: create(server, f"unpaid-{n}") for n, fault in enumerate(EXPECTED)}
    for created in [*paid.values(), *unpaid.values()]:
        gateway.open(created.order_string)
    for created in paid.values():
        gateway.pay(created.reference)
    for fault in EXPECTED:
        gateway.faults[paid[fault].reference] = fault
        gateway.faults[unpaid[fault].reference] = fault

    with ThreadPoolExecutor(len(EXPECTED) + 1) as pool:
        sweep = pool.submit(_sweep, sqlite_env, tmp_path / "sweep-faults.log")
        answers = dict(
            zip(EXPECTED, pool.map(lambda f: _verify(server, paid[f]), EXPECTED), strict=True)
        )
        sweep_summary = sweep.result(timeout=150)
    statuses_under_faults = {
        c.reference: status_of(server, c) for c in [*paid.values(), *unpaid.values()]
    }

    gateway.refuse()
    refused = _verify(server, paid["flip"])
    refused_sweep = _sweep(sqlite_env, tmp_path / "sweep-refused.log")
    statuses_refused = {
        c.reference: status_of(server, c) for c in [*paid.values(), *unpaid.values()]
    }

    gateway.recover()
    recovered_sweep = _sweep(sqlite_env, tmp_path / "sweep-recovered.log")
    final = {
        fault: (status_of(server, paid[fault]), status_of(server, unpaid[fault]))
        for fault in EXPECTED
    }

    assert answers == {f: (s, False if s == 200 else c) for f, (s, c) in EXPECTED.items()}
    assert set(statuses_under_faults.values()) == {"PENDING"}, statuses_under_faults
    # the attempts' part of the summary; the refunds' part follows the ";"
    assert "0 failed" not in sweep_summary.split(";")[0]  # every attempt met a fault
    assert refused == (503, "vendor_unavailable")
    assert set(statuses_refused.values()) == {"PENDING"}
    assert "14 failed" in refused_sweep.split(";")[0], refused_sweep
    assert final == dict.fromkeys(EXPECTED, ("CONFIRMED", "PENDING")), final
    assert "7 CONFIRMED" in recovered_sweep, recovered_sweep
    assert "0 failed" in recovered_sweep.split(";")[0], recovered_sweep
