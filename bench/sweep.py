"""One sweep over 1,000 and 10,000 open attempts, against the Alipay emulator.

The emulator runs in its own process (``python -m payments_alipay.emulator``) on
127.0.0.1; the sweep runs here, exactly as ``payments reconcile`` runs it
(``payments_core.sweep.sweep``, batches of 100, 4 queries in flight), on the SQL
repository over a SQLite file. Every attempt is a real ``alipay.trade.query`` over HTTP,
signed by us and answered signed by the emulator; 10% of the trades were opened and paid
at the emulator beforehand (the sweep confirms them), the rest were never opened
(``ACQ.TRADE_NOT_EXIST``: unpaid, still inside their window, left open).

For each count it prints attempts/s of a plain sweep, then sweeps a copy of the same
database again under ``tracemalloc`` and prints the peak of Python memory the sweep
allocated (and the RSS growth), which must stay flat as the count grows. Run from the
project root::

    python -m bench.sweep                 # 1,000 and 10,000
    python -m bench.sweep --counts 500,2000
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Final

import requests

if TYPE_CHECKING:
    from payments_core.services import PaymentService
    from payments_core.values import Caller, Order

ROOT: Final = Path(__file__).resolve().parent.parent
APP_ID: Final = "2021000000000001"
PAID_SHARE: Final = 10  # one in this many trades is paid at the emulator


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_emulator(tmp: Path) -> tuple[subprocess.Popen[bytes], str, dict[str, str]]:
    """The emulator process, its base URL and the merchant settings that reach it."""
    from cryptography.hazmat.primitives.asymmetric import rsa

    from payments_alipay.keys import private_pem, public_pem

    app, platform = (rsa.generate_private_key(65537, 2048) for _ in range(2))
    (tmp / "app.pem").write_text(private_pem(app))
    (tmp / "app_public.pem").write_text(public_pem(app.public_key()))
    (tmp / "platform.pem").write_text(private_pem(platform))
    (tmp / "platform_public.pem").write_text(public_pem(platform.public_key()))
    port = _free_port()
    command = [
        sys.executable,
        "-m",
        "payments_alipay.emulator",
        f"--port={port}",
        f"--app-id={APP_ID}",
        f"--merchant-public-key=@{tmp / 'app_public.pem'}",
        f"--platform-private-key=@{tmp / 'platform.pem'}",
        "--resend-factor=1000",
    ]
    proc = subprocess.Popen(  # noqa: S603 - fixed arguments
        command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(base + "/control/keys", timeout=1).raise_for_status()
            break
        except requests.RequestException:
            time.sleep(0.1)
    settings = {
        "ALIPAY_APP_ID": APP_ID,
        "ALIPAY_PRIVATE_KEY": f"@{tmp / 'app.pem'}",
        "ALIPAY_PUBLIC_KEY": f"@{tmp / 'platform_public.pem'}",
        "ALIPAY_GATEWAY": base + "/gateway.do",
        "PAYMENTS_PUBLIC_URL": "http://127.0.0.1:9",  # notifications go nowhere: the sweep must find the paid
    }
    return proc, base, settings


class _AnyOrder:
    """Every ``bench-*`` order exists, costs 10.00 and belongs to whoever asks."""

    def get(self, order_id: str, *, caller: Caller) -> Order:
        from payments_core.values import Order

        return Order(id=order_id, buyer="bench", total=Decimal("10.00"), status="CREATED")


def _service(url: str, settings: dict[str, str]) -> PaymentService:
    from payments_core.inmemory import SystemClock
    from payments_core.plugins import PaymentHooks, make_plugin_manager
    from payments_core.services import PaymentService

    hooks = PaymentHooks(make_plugin_manager())
    return PaymentService(
        repo=hooks.repository(url, settings),
        vendors=hooks.vendor_gateways(settings),
        orders=_AnyOrder(),
        clock=SystemClock(),
        default_vendor="alipay",  # the emulator the bench runs
        announce=None,  # the sweep alone: no relay, no status hooks to deliver to
    )


def _populate(service: PaymentService, count: int, base: str) -> int:
    """``count`` payments with one open attempt each; every tenth paid at the emulator."""
    from payments_core.values import Caller

    caller = Caller(username="bench", roles=frozenset({"CUSTOMER"}))
    session = requests.Session()
    run = os.urandom(4).hex()
    paid = 0
    for n in range(count):
        payment = service.create(caller, order_id=f"bench-{run}-{n}", subject="bench")
        if n % PAID_SHARE:
            continue
        attempt = payment.attempts[-1]
        session.get(attempt.order_string or "", timeout=10).raise_for_status()  # the buyer opens it
        session.post(
            f"{base}/control/trades/{attempt.reference}/pay", timeout=10
        ).raise_for_status()
        paid += 1
    session.close()
    return paid


def _rss_kib() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") // 1024


def _sweep(service: PaymentService, *, traced: bool) -> tuple[float, int, int, str]:
    """Seconds, traced peak bytes, RSS growth KiB and the sweep's summary."""
    from payments_core.sweep import sweep

    rss = _rss_kib()
    if traced:
        tracemalloc.start()
        tracemalloc.reset_peak()
        base = tracemalloc.get_traced_memory()[0]
    started = time.perf_counter()
    report = sweep(service, batch_size=100, concurrency=4)
    elapsed = time.perf_counter() - started
    peak = 0
    if traced:
        peak = tracemalloc.get_traced_memory()[1] - base
        tracemalloc.stop()
    if report.failed:
        raise RuntimeError(f"the sweep failed on some attempts: {report}")
    return elapsed, peak, _rss_kib() - rss, str(report)


def _measure(count: int, tmp: Path, base: str, settings: dict[str, str]) -> str:
    timed_db, traced_db = tmp / f"timed-{count}.db", tmp / f"traced-{count}.db"
    setup = _service(f"sqlite:///{timed_db}", settings)
    started = time.perf_counter()
    paid = _populate(setup, count, base)
    print(
        f"  {count}: {count} payments, {paid} paid, set up in {time.perf_counter() - started:.0f} s"
    )
    setup.close()
    shutil.copyfile(timed_db, traced_db)
    timed = _service(f"sqlite:///{timed_db}", settings)
    seconds, _, rss, report = _sweep(timed, traced=False)
    traced = _service(f"sqlite:///{traced_db}", settings)
    _, peak, _, _ = _sweep(traced, traced=True)
    for service in (timed, traced):
        service.close()
    return (
        f"  {count:>6} attempts: {count / seconds:7.0f} attempts/s ({seconds:5.1f} s) | "
        f"peak traced {peak / 1024:8.0f} KiB ({peak / count:6.0f} B/attempt) | "
        f"RSS +{rss} KiB | {report}"
    )


def run(args: argparse.Namespace) -> int:
    """Measure every count; prints as it goes."""
    with tempfile.TemporaryDirectory(prefix="bench-sweep-") as name:
        tmp = Path(name)
        proc, base, settings = _start_emulator(tmp)
        try:
            print("one sweep (batch 100, 4 in flight) over N open attempts, emulator over HTTP")
            lines = [_measure(count, tmp, base, settings) for count in args.counts]
            print("\n".join(lines))
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(15)
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m bench.sweep", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--counts", type=lambda s: [int(c) for c in s.split(",")], default=[1000, 10000]
    )
    return parser


if __name__ == "__main__":
    raise SystemExit(run(_parser().parse_args()))
