"""kill -9 a process writing payments: everything acknowledged survives, nothing is partial."""

from __future__ import annotations

import secrets
import subprocess
import sys
import time

import pytest
from sqlalchemy import ColumnElement, ScalarSelect, case, func, or_, select

from payments_core.payment import AttemptState, PaymentStatus
from payments_sqlstore import SqlPaymentRepository
from payments_sqlstore.tables import attempts, idempotency_records, payments, status_changes
from tests.sqlstore._worker import new_payment

pytestmark = pytest.mark.integration

ACKS_BEFORE_KILL = 30
KILLS = 2


def test_kill_9_mid_stream_loses_no_acknowledged_write(db_url: str) -> None:
    repo = SqlPaymentRepository.from_url(db_url)
    try:
        for _ in range(KILLS):
            created, confirmed = _write_until_killed(db_url)

            _assert_acknowledged(repo, created, confirmed)
            _assert_nothing_partial(repo)
        token = secrets.token_hex(4)
        assert repo.add(new_payment(f"after-{token}", f"AFTER{token}")).version == 1
    finally:
        repo.close()


def _write_until_killed(url: str) -> tuple[set[int], set[int]]:
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and test module
        [sys.executable, "-m", "tests.sqlstore._worker", "write", url, secrets.token_hex(4)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    lines = [proc.stdout.readline() for _ in range(ACKS_BEFORE_KILL)]
    time.sleep(secrets.randbelow(5) / 1000)  # land somewhere inside the next transaction
    proc.kill()
    rest, _ = proc.communicate(timeout=30)
    created: set[int] = set()
    confirmed: set[int] = set()
    for line in [*lines, *rest.splitlines()]:
        kind, _, number = line.strip().partition(" ")
        (created if kind == "created" else confirmed).add(int(number))
    assert len(created) >= ACKS_BEFORE_KILL // 2
    return created, confirmed


def _assert_acknowledged(
    repo: SqlPaymentRepository, created: set[int], confirmed: set[int]
) -> None:
    for payment_id in created:
        payment = repo.get(payment_id)
        assert payment.version in (1, 2)
        assert len(payment.attempts) == 1
        assert repo.find_idempotent("crash", payment.order_id) is not None
    for payment_id in confirmed:
        payment = repo.get(payment_id)
        assert payment.status is PaymentStatus.CONFIRMED
        assert payment.attempts[0].state is AttemptState.PAID


def _assert_nothing_partial(repo: SqlPaymentRepository) -> None:
    confirmed = payments.c.status == "CONFIRMED"
    broken = select(payments.c.id).where(
        or_(
            _per_payment(attempts.c.payment_id) != 1,
            _per_payment(idempotency_records.c.payment_id) != 1,
            _per_payment(status_changes.c.payment_id) != case((confirmed, 2), else_=1),
            payments.c.version != case((confirmed, 2), else_=1),
        )
    )
    orphans = select(attempts.c.reference).where(
        attempts.c.payment_id.not_in(select(payments.c.id))
    )
    with repo.engine.connect() as conn:
        assert conn.execute(broken).all() == []
        assert conn.execute(orphans).all() == []


def _per_payment(column: ColumnElement[int]) -> ScalarSelect[int]:
    return select(func.count()).where(column == payments.c.id).scalar_subquery()
