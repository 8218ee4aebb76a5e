"""``payments refund`` and ``payments refunds`` on a SQLite file, with a fake vendor plugin."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from payments_core.fakevendor import FakeMode, FakeVendor
from payments_core.hookspecs import hookimpl
from payments_core.inmemory import InMemoryOrders
from payments_core.payment import PaymentStatus
from payments_core.plugins import PaymentsPluginManager, make_plugin_manager
from payments_core.services import PaymentService
from payments_core.values import Caller, Order, Settings
from payments_http import cli, compose
from payments_sqlstore import plugin as sqlstore_plugin

ALICE = Caller(username="alice", roles={"CUSTOMER"})
FORM = {"content-type": "application/x-www-form-urlencoded"}


class Vendor:
    def __init__(self, vendor: FakeVendor) -> None:
        self.vendor = vendor

    @hookimpl
    def payments_vendor_gateways(self, settings: Settings) -> list[FakeVendor]:
        del settings
        return [self.vendor]


@pytest.fixture
def vendor() -> FakeVendor:
    return FakeVendor()


@pytest.fixture
def url(tmp_path: Path, vendor: FakeVendor, monkeypatch: pytest.MonkeyPatch) -> str:
    """A SQLite file that every ``payments`` command of the test opens with the fake vendor."""
    pm: PaymentsPluginManager = make_plugin_manager(load_entrypoints=False)
    pm.register(sqlstore_plugin, name="payments_sqlstore")
    pm.register(Vendor(vendor), name="vendor")
    orders = InMemoryOrders(
        [Order(id="o1", buyer="alice", total=Decimal("9.90"), status="CREATED")]
    )
    real = compose.build_service

    def with_the_fake(settings: Settings, **kwargs: Any) -> Any:
        merged = {"PAYMENTS_VENDOR": "fake", **settings}
        return real(merged, plugin_manager=pm, orders=orders, **kwargs)

    monkeypatch.setattr(compose, "build_service", with_the_fake)
    return f"sqlite:///{tmp_path / 'payments.db'}"


def _paid(url: str, vendor: FakeVendor) -> int:
    service: PaymentService
    service, _ = compose.build_service({"PAYMENTS_DATABASE_URL": url})
    try:
        payment = service.create(ALICE, order_id="o1", subject="Tea")
        body = vendor.pay(payment.attempts[0].reference)
        service.handle_notification("fake", body, FORM)
        assert payment.id is not None
        assert service.get(ALICE, payment.id).status is PaymentStatus.CONFIRMED
        return payment.id
    finally:
        service.close()


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = cli.main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def test_refund_sends_a_refund_and_prints_it(
    url: str, vendor: FakeVendor, capsys: pytest.CaptureFixture[str]
) -> None:
    pid = _paid(url, vendor)

    status, out, err = _run(
        ["refund", str(pid), "--amount", "1.90", "--reason", "late", "--database-url", url], capsys
    )

    assert (status, err) == (0, "")
    refund = json.loads(out)["data"]
    assert refund["paymentId"] == pid
    assert refund["amount"] == 1.9
    assert refund["reason"] == "late"
    assert refund["kind"] == "REQUESTED"
    assert refund["status"] == "SUCCEEDED"


def test_refunds_lists_the_pending_ones_and_refund_refuses_too_much_in_one_line(
    url: str, vendor: FakeVendor, capsys: pytest.CaptureFixture[str]
) -> None:
    pid = _paid(url, vendor)
    vendor.mode = FakeMode.DOWN
    sent = _run(["refund", str(pid), "--database-url", url], capsys)
    refund = json.loads(sent[1])["data"]

    pending = _run(["refunds", "--database-url", url], capsys)
    failed = _run(["refunds", "--status", "FAILED", "--database-url", url], capsys)
    too_much = _run(["refund", str(pid), "--amount", "0.01", "--database-url", url], capsys)

    assert sent[0] == 0
    assert refund["status"] == "PENDING"
    assert pending[0] == 0
    fields = pending[1].splitlines()[0].split("\t")
    assert fields[:6] == [
        str(refund["id"]),
        str(pid),
        "REQUESTED",
        "PENDING",
        "9.90",
        refund["reference"],
    ]
    assert len(pending[1].splitlines()) == 1
    assert failed[:2] == (0, "no refunds to show\n")
    assert too_much[0] == 2
    assert too_much[2].count("\n") == 1
    assert "exceeds" in too_much[2]


def test_an_amount_that_is_not_a_number_is_refused_by_the_parser(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["refund", "1", "--amount", "ten", "--database-url", url])

    assert exited.value.code == 2
    assert "--amount" in capsys.readouterr().err
