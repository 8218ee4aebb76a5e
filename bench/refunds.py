"""The CPU a refund request costs us, next to a create's, with Alipay's emulator over HTTP.

Both use cases run here exactly as the HTTP handlers call them, on the SQL repository
over a SQLite file; the emulator runs in its own process, so only our side is counted
(``time.process_time``: this process's CPU, whatever the machine's load). A create
signs one page-pay order string (one RSA-2048 signature, no vendor call); a refund
request stores the refund, signs ``alipay.trade.refund``, sends it, verifies the
signed answer and stores the outcome. The lower bound, measured in the same run, is
the raw ``cryptography`` work each cannot avoid: one signature for a create, one
signature and one verification for a refund. Run from the project root::

    python -m bench.refunds                # 300 of each
    python -m bench.refunds --count 1000
"""

from __future__ import annotations

import argparse
import signal
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

import requests

from bench.sweep import _service, _start_emulator

if TYPE_CHECKING:
    from payments_core.payment import Payment
    from payments_core.services import PaymentService


def _cpu_per_call(calls: list[Callable[[], object]]) -> float:
    """Microseconds of this process's CPU per call, over all of ``calls``."""
    started = time.process_time()
    for call in calls:
        call()
    return (time.process_time() - started) / len(calls) * 1e6


def _since(started: float, calls: int) -> float:
    """Microseconds of this process's CPU per call since ``started``."""
    return (time.process_time() - started) / calls * 1e6


def _raw_rsa(count: int) -> tuple[float, float]:
    """CPU µs of one RSA-2048 PKCS#1 v1.5 SHA-256 signature, and of one verification."""
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding, rsa

    key = rsa.generate_private_key(65537, 2048)
    text = b"app_id=2021000000000001&biz_content={...}&method=alipay.trade.refund" * 4
    signature = key.sign(text, padding.PKCS1v15(), hashes.SHA256())
    public = key.public_key()
    sign = _cpu_per_call([lambda: key.sign(text, padding.PKCS1v15(), hashes.SHA256())] * count)
    verify = _cpu_per_call(
        [lambda: public.verify(signature, text, padding.PKCS1v15(), hashes.SHA256())] * count
    )
    return sign, verify


def _paid(service: PaymentService, payments: list[Payment], base: str) -> None:
    """Pay every payment at the emulator and confirm it (not measured)."""
    from payments_core.values import Caller

    admin = Caller(username="ops", roles=frozenset({"ADMIN"}))
    with requests.Session() as session:
        for payment in payments:
            attempt = payment.attempts[-1]
            session.get(attempt.order_string, timeout=10).raise_for_status()  # opens the cashier
            session.post(
                f"{base}/control/trades/{attempt.reference}/pay", timeout=10
            ).raise_for_status()
            if not service.verify(admin, payment.id or 0):
                raise RuntimeError(f"payment {payment.id} was not confirmed")


def run(args: argparse.Namespace) -> int:
    """Measure and print; 1 when a refund did not succeed (the figures would mean nothing)."""
    from payments_core.refund import RefundStatus
    from payments_core.values import Caller

    customer = Caller(username="bench", roles=frozenset({"CUSTOMER"}))
    admin = Caller(username="ops", roles=frozenset({"ADMIN"}))
    with tempfile.TemporaryDirectory(prefix="bench-refunds-") as name:
        tmp = Path(name)
        proc, base, settings = _start_emulator(tmp)
        try:
            service = _service(f"sqlite:///{tmp / 'refunds.db'}", settings)
            started = time.process_time()
            created = [
                service.create(customer, order_id=f"bench-{n}", subject="bench")
                for n in range(args.count)
            ]
            create = _since(started, args.count)
            _paid(service, created, base)
            started = time.process_time()
            refunds = [
                service.request_refund(admin, p.id or 0, amount=Decimal("1.00")) for p in created
            ]
            refund = _since(started, args.count)
            service.close()
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(15)
    if any(r.status is not RefundStatus.SUCCEEDED for r in refunds):
        print("some refunds did not succeed: no figures")
        return 1
    sign, verify = _raw_rsa(args.count)
    print(f"CPU per call in this process, {args.count} of each (emulator in its own process)")
    print(f"  create          {create:8.0f} µs   raw lower bound {sign:6.0f} µs (1 signature)")
    print(
        f"  refund request  {refund:8.0f} µs   raw lower bound {sign + verify:6.0f} µs (sign+verify)"
    )
    print(f"  refund / create        {refund / create:5.2f}")
    print(
        f"  lower bound / ours: create {sign / create:4.2f}, refund {(sign + verify) / refund:4.2f}"
    )
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.refunds", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--count", type=int, default=300)
    return parser


if __name__ == "__main__":
    raise SystemExit(run(_parser().parse_args()))
