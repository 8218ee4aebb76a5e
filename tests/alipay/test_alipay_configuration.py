"""Keys in every form Alipay hands out, settings read once, and one-line configuration errors."""

from __future__ import annotations

import textwrap
from importlib.metadata import entry_points
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

from payments_alipay import AlipayGateway, AlipaySettings, load_private_key, load_public_key
from payments_alipay.keys import private_pem, public_base64, public_pem, same_key
from payments_alipay.plugin import payments_vendor_gateways
from payments_alipay.settings import NOTIFY_PATH, PRODUCTION_GATEWAY, SANDBOX_GATEWAY
from tests.alipay.conftest import APP_ID, DATA, read


def full_settings(**changes: str) -> dict[str, str]:
    settings = {
        "ALIPAY_APP_ID": APP_ID,
        "ALIPAY_PRIVATE_KEY": f"@{DATA / 'app_private_key_pkcs1.txt'}",
        "ALIPAY_PUBLIC_KEY": read("alipay_platform_public_key.txt"),
        "PAYMENTS_PUBLIC_URL": "https://pay.example.com/",
    }
    settings.update(changes)
    return {k: v for k, v in settings.items() if v}


def assert_one_line_naming(error: pytest.ExceptionInfo[ValueError], setting: str) -> None:
    message = str(error.value)
    assert message.startswith(setting), message
    assert "\n" not in message
    for key_file in (
        "app_private_key_pkcs1.txt",
        "alipay_platform_public_key.txt",
        "app_public_key.txt",
    ):
        key_text = read(key_file).strip()
        assert all(key_text[i : i + 16] not in message for i in range(0, len(key_text) - 16, 16))


@pytest.mark.parametrize(
    "name",
    [
        "app_private_key_pkcs8.pem",
        "app_private_key_pkcs1.pem",
        "app_private_key_pkcs8.txt",
        "app_private_key_pkcs1.txt",
    ],
)
def test_a_private_key_loads_from_pem_or_bare_base64(name: str, app_public: RSAPublicKey) -> None:
    key = load_private_key(read(name))

    assert same_key(key, app_public)


def test_a_wrapped_base64_key_with_stray_whitespace_loads(app_public: RSAPublicKey) -> None:
    wrapped = "\n  ".join(textwrap.wrap(read("app_private_key_pkcs8.txt").strip(), 64)) + " \r\n"

    assert same_key(load_private_key(wrapped), app_public)


def test_a_key_loads_from_an_at_path(tmp_path: Path, app_key: RSAPrivateKey) -> None:
    path = tmp_path / "key.pem"
    path.write_text(private_pem(app_key))

    assert same_key(load_private_key(f"@{path}"), app_key.public_key())


def test_a_public_key_loads_from_pem_or_bare_base64(platform_public: RSAPublicKey) -> None:
    assert (
        load_public_key(public_pem(platform_public)).public_numbers()
        == platform_public.public_numbers()
    )
    assert (
        load_public_key(public_base64(platform_public)).public_numbers()
        == platform_public.public_numbers()
    )


@pytest.mark.parametrize(
    "text",
    ["not a key", "", "QUJD", "-----BEGIN PRIVATE KEY-----\nQUJD\n-----END PRIVATE KEY-----"],
)
def test_garbage_is_refused_without_being_echoed(text: str) -> None:
    with pytest.raises(ValueError, match="key") as error:
        load_private_key(text)

    assert "QUJD" not in str(error.value)
    assert "not a key" not in str(error.value)


def test_a_missing_key_file_names_the_file_but_not_a_key(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read the key file"):
        load_public_key(f"@{tmp_path / 'missing.pem'}")


def test_a_key_shorter_than_2048_bits_is_refused() -> None:
    short = rsa.generate_private_key(65537, 1024)  # noqa: S505 - the point of the test

    with pytest.raises(ValueError, match="1024 bits"):
        load_private_key(private_pem(short))


def test_complete_settings_are_read_with_defaults() -> None:
    settings = AlipaySettings.from_settings(full_settings())

    assert settings.app_id == APP_ID
    assert settings.gateway_url == SANDBOX_GATEWAY
    assert settings.notify_url == "https://pay.example.com" + NOTIFY_PATH
    assert settings.return_url is None
    assert settings.seller_id is None
    assert settings.product == "page"


def test_the_notify_url_defaults_to_the_host_and_port() -> None:
    settings = full_settings(PAYMENTS_PUBLIC_URL="", PAYMENTS_HOST="0.0.0.0", PAYMENTS_PORT="9000")  # noqa: S104

    assert AlipaySettings.from_settings(settings).notify_url == "http://0.0.0.0:9000" + NOTIFY_PATH


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("production", PRODUCTION_GATEWAY),
        ("SANDBOX", SANDBOX_GATEWAY),
        ("http://127.0.0.1:8765/gateway.do", None),
    ],
)
def test_the_gateway_is_an_alias_or_a_url(value: str, expected: str | None) -> None:
    settings = AlipaySettings.from_settings(full_settings(ALIPAY_GATEWAY=value))

    assert settings.gateway_url == (expected or value)


def test_the_settings_repr_shows_no_key() -> None:
    text = repr(AlipaySettings.from_settings(full_settings()))

    assert "Key" not in text
    assert APP_ID in text


@pytest.mark.parametrize("missing", ["ALIPAY_APP_ID", "ALIPAY_PRIVATE_KEY", "ALIPAY_PUBLIC_KEY"])
def test_a_missing_required_setting_is_named(missing: str) -> None:
    with pytest.raises(ValueError, match=missing) as error:
        AlipaySettings.from_settings(full_settings(**{missing: ""}))

    assert_one_line_naming(error, missing)


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("ALIPAY_PRIVATE_KEY", "MIIBroken" + "A" * 40),
        ("ALIPAY_PUBLIC_KEY", read("app_private_key_pkcs1.txt")[:200]),
        ("ALIPAY_GATEWAY", "ftp://example.com"),
        ("ALIPAY_PRODUCT", "app"),
        ("ALIPAY_RETURN_URL", "https://shop.example.com/back?x=1"),
        ("PAYMENTS_PUBLIC_URL", "pay.example.com"),
        ("ALIPAY_APP_ID", "20 21"),
        ("ALIPAY_SELLER_ID", "2088 1"),
    ],
)
def test_an_unusable_setting_is_named_in_one_line(setting: str, value: str) -> None:
    with pytest.raises(ValueError, match=setting) as error:
        AlipaySettings.from_settings(full_settings(**{setting: value}))

    assert_one_line_naming(error, setting)


def test_the_apps_own_public_key_as_alipay_public_key_is_refused_saying_so() -> None:
    with pytest.raises(
        ValueError, match="ALIPAY_PUBLIC_KEY is your application's own public key"
    ) as error:
        AlipaySettings.from_settings(full_settings(ALIPAY_PUBLIC_KEY=read("app_public_key.txt")))

    assert_one_line_naming(error, "ALIPAY_PUBLIC_KEY")


def test_the_plugin_offers_nothing_without_alipay_settings() -> None:
    assert list(payments_vendor_gateways(settings={"PAYMENTS_PUBLIC_URL": "http://x"})) == []


def test_the_plugin_refuses_a_partial_configuration_naming_what_is_missing() -> None:
    with pytest.raises(ValueError, match="ALIPAY_APP_ID") as error:
        payments_vendor_gateways(settings={"ALIPAY_PRIVATE_KEY": read("app_private_key_pkcs8.txt")})

    assert_one_line_naming(error, "ALIPAY_APP_ID")


def test_the_plugin_offers_the_alipay_gateway_when_configured() -> None:
    (gateway,) = payments_vendor_gateways(settings=full_settings(ALIPAY_PRODUCT="wap"))

    assert isinstance(gateway, AlipayGateway)
    assert gateway.name == "alipay"
    assert gateway.settings.product == "wap"


def test_the_plugin_is_registered_under_the_payments_entry_point_group() -> None:
    found = {ep.name: ep.value for ep in entry_points(group="payments")}

    assert found.get("alipay") == "payments_alipay.plugin"
