"""Our crypto against an independent implementation: the ``wechatpayv3`` SDK, used directly
(no network). Its signer and ours agree byte for byte, its verifier and decrypter accept what
we make, and our gateway accepts a notification it signs."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from wechatpayv3 import utils as sdk
from wechatpayv3.core import Core

from payments_core.values import TradeReport, TradeStatus
from payments_wechatpay import crypto
from payments_wechatpay.gateway import WeChatPayGateway
from tests.wechatpay.conftest import APIV3_KEY, CERT_SERIAL, KEY_ID, MCHID, Platform, read

Vectors = dict[str, dict[str, Any]]


@pytest.fixture(scope="module")
def sdk_core() -> Core:
    """The SDK in platform public key mode: it downloads no certificates."""
    return Core(
        mchid=MCHID,
        cert_serial_no=CERT_SERIAL,
        private_key=read("merchant_private_key.pem"),
        apiv3_key=APIV3_KEY,
        public_key=read("platform_public_key.pem"),
        public_key_id=KEY_ID,
    )


def test_the_sdk_builds_our_authorization_byte_for_byte(
    vectors: Vectors, merchant_key: RSAPrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("request", "get_request"):
        v = vectors[name]
        monkeypatch.setattr(sdk.time, "time", lambda v=v: float(v["timestamp"]))

        theirs = sdk.build_authorization(
            v["path"],
            v["method"],
            MCHID,
            CERT_SERIAL,
            merchant_key,
            data=v["body"],
            nonce_str=v["nonce"],
        )

        assert theirs == v["authorization"]


def test_the_sdk_verifies_our_response_and_notification_signatures(
    vectors: Vectors, platform_key: RSAPrivateKey
) -> None:
    public = platform_key.public_key()
    r, n = vectors["response"], vectors["notification"]
    assert sdk.rsa_verify(r["timestamp"], r["nonce"], r["body"], r["signature"], public)
    assert sdk.rsa_verify(n["timestamp"], n["header_nonce"], n["body"], n["signature"], public)
    assert not sdk.rsa_verify(r["timestamp"], r["nonce"], r["body"] + " ", r["signature"], public)


def test_the_sdk_decrypts_and_verifies_our_notification(vectors: Vectors, sdk_core: Core) -> None:
    n = vectors["notification"]
    headers = {
        "Wechatpay-Signature": n["signature"],
        "Wechatpay-Timestamp": n["timestamp"],
        "Wechatpay-Nonce": n["header_nonce"],
        "Wechatpay-Serial": n["serial"],
        "Wechatpay-Signature-Type": crypto.SCHEME,
    }

    assert sdk_core.decrypt_callback(headers, n["body"].encode()) == n["plaintext"]
    headers["Wechatpay-Signature"] = vectors["response"]["signature"]
    assert sdk_core.decrypt_callback(headers, n["body"].encode()) is None


def test_the_sdk_decrypts_our_resources(vectors: Vectors) -> None:
    for plaintext in ('{"a":"中文"}', "", "x" * 5000):
        sealed = crypto.encrypt_resource(APIV3_KEY.encode(), plaintext, "0123456789ab", "refund")
        assert sdk.aes_decrypt("0123456789ab", sealed, "refund", APIV3_KEY) == plaintext


def test_we_verify_the_sdks_signatures(vectors: Vectors, platform_key: RSAPrivateKey) -> None:
    body = '{"code_url":"weixin://wxpay/bizpayurl?pr=中"}'
    signature = sdk.rsa_sign(platform_key, f"1716182055\nNONCE\n{body}\n")

    assert signature == crypto.sign_response(platform_key, 1716182055, "NONCE", body)
    assert crypto.verify_response(
        platform_key.public_key(), "1716182055", "NONCE", body.encode(), signature
    )


def test_our_gateway_takes_a_notification_signed_by_the_sdk(
    gateway: WeChatPayGateway, platform: Platform, platform_key: RSAPrivateKey
) -> None:
    """The SDK signs (its rsa_sign); it has no encrypter, so the resource is sealed with the
    raw AES-GCM primitive it decrypts with, and the SDK's own decrypter checks it first."""
    plaintext = json.dumps(platform.transaction("P20240520abc123"), ensure_ascii=False)
    nonce = "k2hF9aQ1zXcV"
    sealed = AESGCM(APIV3_KEY.encode()).encrypt(nonce.encode(), plaintext.encode(), b"transaction")
    ciphertext = base64.b64encode(sealed).decode()
    assert sdk.aes_decrypt(nonce, ciphertext, "transaction", APIV3_KEY) == plaintext
    resource = {
        "original_type": "transaction",
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": ciphertext,
        "associated_data": "transaction",
        "nonce": nonce,
    }
    body = json.dumps(
        {
            "id": "EV-1",
            "event_type": "TRANSACTION.SUCCESS",
            "resource_type": "encrypt-resource",
            "resource": resource,
        }
    )
    timestamp = str(int(platform.clock.now().timestamp()))
    headers = {
        "wechatpay-timestamp": timestamp,
        "wechatpay-nonce": "SDKNONCE",
        "wechatpay-serial": KEY_ID,
        "wechatpay-signature": sdk.rsa_sign(platform_key, f"{timestamp}\nSDKNONCE\n{body}\n"),
    }

    report = gateway.parse_notification(body.encode(), headers)

    assert report is not None
    assert report.reference == "P20240520abc123"
    assert isinstance(report, TradeReport)
    assert report.status is TradeStatus.PAID
