"""WECHATPAY_* settings: one-line errors naming the setting, never a key; the plugin's hooks."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

from payments_core.plugins import PaymentHooks, make_plugin_manager
from payments_wechatpay.gateway import WeChatPayGateway
from payments_wechatpay.plugin import payments_vendor_gateways
from payments_wechatpay.settings import PRODUCTION_GATEWAY, REQUIRED, WeChatPaySettings
from tests.wechatpay.conftest import APIV3_KEY, CERT_SERIAL, KEY_ID, merchant_settings, read

SECRET_LINE = read("merchant_private_key.pem").splitlines()[5]


def refused(**changes: str) -> str:
    with pytest.raises(ValueError, match=r"^[A-Z0-9_]+ ") as caught:
        WeChatPaySettings.from_settings(merchant_settings(**changes))
    message = str(caught.value)
    assert "\n" not in message
    assert SECRET_LINE not in message
    assert APIV3_KEY not in message
    return message


def test_complete_settings_are_read_with_defaults() -> None:
    settings = WeChatPaySettings.from_settings(merchant_settings())

    assert settings.gateway_url == PRODUCTION_GATEWAY == "https://api.mch.weixin.qq.com"
    assert settings.timeout == 12
    assert settings.cert_serial == CERT_SERIAL
    assert settings.platform_key_id == KEY_ID
    assert settings.apiv3_key == APIV3_KEY.encode()
    assert settings.notify_url == "https://shop.example/api/v1/payments/notify/wechatpay"


def test_keys_load_in_the_forms_alipays_take(tmp_path: object) -> None:
    pkcs1 = WeChatPaySettings.from_settings(
        merchant_settings(WECHATPAY_PRIVATE_KEY=read("merchant_private_key_pkcs1.pem"))
    )
    bare = "".join(read("platform_public_key.pem").splitlines()[1:-1])
    at_path = WeChatPaySettings.from_settings(
        merchant_settings(
            WECHATPAY_PRIVATE_KEY="@tests/wechatpay/data/merchant_private_key.pem",
            WECHATPAY_PUBLIC_KEY=bare,
        )
    )
    assert pkcs1.private_key.private_numbers() == at_path.private_key.private_numbers()
    assert at_path.platform_key.public_numbers().n > 2**2047


def test_the_gateway_is_production_or_a_base_url() -> None:
    local = merchant_settings(WECHATPAY_GATEWAY="http://127.0.0.1:8123/")
    assert WeChatPaySettings.from_settings(local).gateway_url == "http://127.0.0.1:8123"
    assert "WECHATPAY_GATEWAY" in refused(WECHATPAY_GATEWAY="sandbox")
    assert "WECHATPAY_GATEWAY" in refused(WECHATPAY_GATEWAY="http://x/?a=1")


@pytest.mark.parametrize("missing", REQUIRED)
def test_a_missing_required_setting_is_named(missing: str) -> None:
    assert refused(**{missing: ""}).startswith(missing)


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("WECHATPAY_MCHID", "19000x"),
        ("WECHATPAY_APPID", "wx-123"),
        ("WECHATPAY_CERT_SERIAL", "not hex"),
        ("WECHATPAY_PUBLIC_KEY_ID", "0114232134912410000000000000"),
        ("WECHATPAY_APIV3_KEY", APIV3_KEY[:-1]),
        ("WECHATPAY_APIV3_KEY", APIV3_KEY + "é"),
        ("WECHATPAY_PRIVATE_KEY", "garbage"),
        ("WECHATPAY_PRIVATE_KEY", read("platform_public_key.pem")),
        ("WECHATPAY_PUBLIC_KEY", read("merchant_private_key.pem")),
        ("WECHATPAY_TIMEOUT", "0.5"),
        ("WECHATPAY_TIMEOUT", "ten"),
        ("PAYMENTS_PUBLIC_URL", "ftp://shop"),
    ],
)
def test_an_unusable_setting_is_named_in_one_line(setting: str, value: str) -> None:
    assert refused(**{setting: value}).startswith(setting)


def test_our_own_public_key_as_the_platform_key_is_refused_saying_so() -> None:
    message = refused(WECHATPAY_PUBLIC_KEY=read("merchant_public_key.pem"))
    assert message.startswith("WECHATPAY_PUBLIC_KEY is your own public key")


def test_the_plugin_offers_nothing_without_wechatpay_settings() -> None:
    assert list(payments_vendor_gateways(settings={"PAYMENTS_PUBLIC_URL": "http://x"})) == []
    assert list(payments_vendor_gateways(settings={"WECHATPAY_GATEWAY": "production"})) == []


def test_the_plugin_refuses_a_partial_configuration_naming_what_is_missing() -> None:
    with pytest.raises(ValueError, match=r"^WECHATPAY_APPID is not set"):
        payments_vendor_gateways(settings={"WECHATPAY_MCHID": "1900000001"})


def test_the_plugin_offers_the_gateway_when_configured() -> None:
    (gateway,) = payments_vendor_gateways(settings=merchant_settings())
    assert isinstance(gateway, WeChatPayGateway)
    assert gateway.name == "wechatpay"
    gateway.close()


def test_the_plugin_is_registered_and_declares_its_settings() -> None:
    found = {ep.name: ep.value for ep in entry_points(group="payments")}
    assert found.get("wechatpay") == "payments_wechatpay.plugin"

    declared = {s.name: s for s in PaymentHooks(make_plugin_manager()).settings()}
    ours = {name for name in declared if name.startswith("WECHATPAY_")}
    assert ours == {*REQUIRED, "WECHATPAY_GATEWAY", "WECHATPAY_TIMEOUT"}
    secret = sorted(name for name in ours if declared[name].secret)
    assert secret == ["WECHATPAY_APIV3_KEY", "WECHATPAY_PRIVATE_KEY"]


def test_configured_through_the_hooks_the_gateway_is_found_by_name() -> None:
    gateways = PaymentHooks(make_plugin_manager()).vendor_gateways(merchant_settings())
    gateway = gateways["wechatpay"]
    assert isinstance(gateway, WeChatPayGateway)
    gateway.close()
