"""``payments serve --demo`` takes its vendor, stand-in and seed orders from the demo hook."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from payments_core.contributions import DemoVendor
from payments_core.fakevendor import FakeVendor
from payments_core.hookspecs import hookimpl
from payments_core.plugins import make_plugin_manager
from payments_core.values import Order, Settings
from payments_http import demo

PUBLIC_URL = "http://127.0.0.1:8123"


class AcmeDemo:
    """A vendor that is not Alipay, with a stand-in app and its own orders."""

    def __init__(self) -> None:
        self.vendor = FakeVendor("acme")
        self.stopped = 0
        self.vendor_settings: list[Settings] = []

    @hookimpl(tryfirst=True)
    def payments_demo_vendor(self, public_url: str, buyer: str) -> DemoVendor:
        def console(request: Request) -> PlainTextResponse:
            return PlainTextResponse("acme console")

        return DemoVendor(
            vendor="acme",
            settings={"ACME_URL": f"{public_url}/acme"},
            orders=[
                Order(id="ACME-1", buyer=buyer, total=Decimal("3.00"), status="PAID"),
                Order(id="ACME-2", buyer=buyer, total=Decimal("4.00"), status="CREATED"),
            ],
            mount_path="/acme",
            app=Starlette(routes=[Route("/console", console)]),
            notes=[f"Acme sandbox  {public_url}/acme/console"],
            stop=self.stop,
        )

    @hookimpl
    def payments_vendor_gateways(self, settings: Settings) -> list[FakeVendor]:
        self.vendor_settings.append(settings)
        return [self.vendor] if settings.get("ACME_URL") else []

    def stop(self) -> None:
        self.stopped += 1


@pytest.fixture
def acme() -> AcmeDemo:
    return AcmeDemo()


@pytest.fixture
def built(acme: AcmeDemo, tmp_path: Path) -> demo.Demo:
    pm = make_plugin_manager()
    pm.register(acme, name="acme-demo")
    return demo.build(
        {"PAYMENTS_PORT": "8123", "PAYMENTS_VENDOR": "acme"}, tmp_path, plugin_manager=pm
    )


@pytest.fixture
def client(built: demo.Demo) -> Iterator[TestClient]:
    with TestClient(built.app, base_url=PUBLIC_URL) as test_client:
        yield test_client


def _export(banner: str, name: str) -> str:
    line = next(line for line in banner.splitlines() if line.startswith(f"export {name}="))
    return line.partition("=")[2]


def test_the_demo_serves_the_vendor_the_hook_offers(
    built: demo.Demo, client: TestClient, acme: AcmeDemo
) -> None:
    token = _export(built.banner, "CUSTOMER_TOKEN")

    console = client.get("/acme/console")
    created = client.post(
        "/api/v1/payments",
        json={"orderId": "ACME-2", "subject": "Tea"},
        headers={"Authorization": f"Bearer {token}"},
    )

    assert console.text == "acme console"
    assert created.status_code == 201, created.text
    assert created.json()["data"]["totalAmount"] == 4.0
    assert built.settings["PAYMENTS_VENDOR"] == "acme"
    assert acme.vendor_settings[-1]["ACME_URL"] == f"{PUBLIC_URL}/acme"


def test_the_banner_shows_the_vendor_notes_and_orders_and_pays_a_payable_one(
    built: demo.Demo,
) -> None:
    assert f"  Acme sandbox  {PUBLIC_URL}/acme/console\n" in built.banner
    assert "  ACME-1      3.00  PAID     buyer alice" in built.banner
    assert "# 1. create the payment of order ACME-2 " in built.banner
    assert '"orderId": "ACME-2"' in built.banner
    assert "  Vendors          acme, " in built.banner  # the default first, then the others
    assert '# to pay with wechatpay instead, add "vendor": "wechatpay" to the body' in built.banner


def test_the_vendor_stand_in_stops_with_the_server(built: demo.Demo, acme: AcmeDemo) -> None:
    with TestClient(built.app):
        assert acme.stopped == 0

    assert acme.stopped == 1


def test_without_a_demo_plugin_the_demo_says_so(tmp_path: Path) -> None:
    pm = make_plugin_manager(load_entrypoints=False)

    with pytest.raises(ValueError, match="the demo needs a vendor plugin"):
        demo.build({"PAYMENTS_PORT": "8123"}, tmp_path, plugin_manager=pm)


class AcmeDemoWithoutGateway(AcmeDemo):
    @hookimpl
    def payments_vendor_gateways(self, settings: Settings) -> list[FakeVendor]:
        return []


def test_the_vendor_stand_in_stops_when_the_server_cannot_be_built(tmp_path: Path) -> None:
    acme = AcmeDemoWithoutGateway()
    pm = make_plugin_manager()
    pm.register(acme, name="acme-demo")

    with pytest.raises(ValueError, match="PAYMENTS_VENDOR: no vendor 'acme'"):
        demo.build(
            {"PAYMENTS_PORT": "8123", "PAYMENTS_VENDOR": "acme"}, tmp_path, plugin_manager=pm
        )

    assert acme.stopped == 1


def test_the_demo_offers_every_installed_vendor_with_alipay_the_default(tmp_path: Path) -> None:
    built = demo.build({"PAYMENTS_PORT": "8123"}, tmp_path)

    with TestClient(built.app, base_url=PUBLIC_URL) as test_client:
        wechat = test_client.get("/wechatpay/control/keys")
        alipay = test_client.get("/emulator/control/trades")

    assert built.settings["PAYMENTS_VENDOR"] == "alipay"
    assert built.settings["WECHATPAY_GATEWAY"] == f"{PUBLIC_URL}/wechatpay"
    assert built.settings["ALIPAY_GATEWAY"] == f"{PUBLIC_URL}/emulator/gateway.do"
    assert (
        wechat.json()["data"]["platform_public_key_id"] == built.settings["WECHATPAY_PUBLIC_KEY_ID"]
    )
    assert alipay.status_code == 200
    assert "  Vendors          alipay, wechatpay (the first is the default)" in built.banner
    assert f"WeChat Pay emulator  {PUBLIC_URL}/wechatpay/" in built.banner
    assert "# 1. create the payment of order DEMO-1001 " in built.banner


def test_payments_vendor_chooses_the_demos_default(tmp_path: Path) -> None:
    built = demo.build({"PAYMENTS_PORT": "8123", "PAYMENTS_VENDOR": "wechatpay"}, tmp_path)
    with TestClient(built.app):
        pass  # starts and stops the stand-ins

    assert built.settings["PAYMENTS_VENDOR"] == "wechatpay"
    assert "  Vendors          wechatpay, alipay " in built.banner
    assert '"vendor": "alipay"' in built.banner


class Clashing(AcmeDemo):
    def __init__(self, order_id: str, setting: str) -> None:
        super().__init__()
        self.order_id, self.setting = order_id, setting

    @hookimpl(tryfirst=True)
    def payments_demo_vendor(self, public_url: str, buyer: str) -> DemoVendor:
        return DemoVendor(
            vendor="acme",
            settings={self.setting: "x"},
            orders=[Order(id=self.order_id, buyer=buyer, total=Decimal("1.00"), status="CREATED")],
            mount_path="/acme",
            app=Starlette(),
            stop=self.stop,
        )


@pytest.mark.parametrize(
    ("order_id", "setting", "message"),
    [
        ("DEMO-1001", "ACME_URL", "two plugins' demos seed the order DEMO-1001"),
        ("ACME-1", "WECHATPAY_MCHID", "two plugins' demos set WECHATPAY_MCHID"),
    ],
)
def test_demos_that_clash_are_refused_and_stopped(
    tmp_path: Path, order_id: str, setting: str, message: str
) -> None:
    acme = Clashing(order_id, setting)
    pm = make_plugin_manager()
    pm.register(acme, name="acme-demo")

    with pytest.raises(ValueError, match=message):
        demo.build({"PAYMENTS_PORT": "8123"}, tmp_path, plugin_manager=pm)

    assert acme.stopped == 1
