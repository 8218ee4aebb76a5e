"""Byte-exact vectors (tests/wechatpay/data/vectors.json, made once from the test-only keys
there): our signer and encrypter must keep producing exactly these bytes, and our verifier
and decrypter must accept them and nothing altered."""

from __future__ import annotations

from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from payments_wechatpay import crypto

Vectors = dict[str, dict[str, Any]]


def test_the_request_message_and_authorization_are_byte_exact(
    vectors: Vectors, merchant_key: RSAPrivateKey
) -> None:
    merchant = vectors["merchant"]
    for name in ("request", "get_request"):
        v = vectors[name]
        message = crypto.request_message(
            v["method"], v["path"], v["timestamp"], v["nonce"], v["body"]
        )
        header = crypto.authorization(
            merchant_key,
            mchid=merchant["mchid"],
            serial_no=merchant["cert_serial"],
            method=v["method"],
            path=v["path"],
            body=v["body"].encode(),
            timestamp=v["timestamp"],
            nonce=v["nonce"],
        )
        assert message == v["message"].encode()
        assert header == v["authorization"]


def test_a_get_signs_an_empty_body_line() -> None:
    message = crypto.request_message("get", "/v3/x?mchid=1", 1, "N")
    assert message == b"GET\n/v3/x?mchid=1\n1\nN\n\n"


def test_the_authorization_parses_back_and_verifies(
    vectors: Vectors, merchant_key: RSAPrivateKey
) -> None:
    v = vectors["request"]
    auth = crypto.parse_authorization(v["authorization"])

    assert auth.mchid == vectors["merchant"]["mchid"]
    assert auth.serial_no == vectors["merchant"]["cert_serial"]
    assert (auth.timestamp, auth.nonce_str) == (v["timestamp"], v["nonce"])
    public = merchant_key.public_key()
    assert crypto.verify_request(public, auth, "POST", v["path"], v["body"])
    assert not crypto.verify_request(public, auth, "POST", v["path"], v["body"] + " ")
    assert not crypto.verify_request(public, auth, "POST", v["path"] + "?x=1", v["body"])


@pytest.mark.parametrize(
    "header",
    [
        'WECHATPAY2-SHA256-RSA2048 mchid="1"',
        'Bearer mchid="1",nonce_str="n",signature="s",timestamp="1",serial_no="S"',
        'WECHATPAY2-SHA256-RSA2048 mchid="1",mchid="2",nonce_str="n",signature="s",timestamp="1",serial_no="S"',
        'WECHATPAY2-SHA256-RSA2048 mchid=1,nonce_str="n",signature="s",timestamp="1",serial_no="S"',
    ],
)
def test_a_malformed_authorization_is_refused(header: str) -> None:
    with pytest.raises(ValueError, match="authorization"):
        crypto.parse_authorization(header)


def test_the_response_signature_is_byte_exact_and_verifies(
    vectors: Vectors, platform_key: RSAPrivateKey
) -> None:
    v = vectors["response"]
    public = platform_key.public_key()

    assert crypto.response_message(v["timestamp"], v["nonce"], v["body"]) == v["message"].encode()
    assert (
        crypto.sign_response(platform_key, v["timestamp"], v["nonce"], v["body"]) == v["signature"]
    )
    assert crypto.verify_response(public, v["timestamp"], v["nonce"], v["body"], v["signature"])
    for timestamp, nonce, body in (
        (str(int(v["timestamp"]) + 1), v["nonce"], v["body"]),
        (v["timestamp"], v["nonce"] + "0", v["body"]),
        (v["timestamp"], v["nonce"], v["body"].replace("p4lp", "p4lq")),
    ):
        assert not crypto.verify_response(public, timestamp, nonce, body, v["signature"])


@pytest.mark.parametrize("signature", ["", "not base64!", "WECHATPAY/SIGNTEST/abc", "AAAA"])
def test_garbage_signatures_do_not_verify(
    vectors: Vectors, platform_key: RSAPrivateKey, signature: str
) -> None:
    v = vectors["response"]
    assert not crypto.verify_response(
        platform_key.public_key(), v["timestamp"], v["nonce"], v["body"], signature
    )


def test_the_notification_resource_is_byte_exact_and_decrypts(vectors: Vectors) -> None:
    v = vectors["notification"]
    key = vectors["merchant"]["apiv3_key"].encode()

    sealed = crypto.encrypt_resource(key, v["plaintext"], v["nonce"], v["associated_data"])

    assert sealed == v["ciphertext"]
    plain = crypto.decrypt_resource(key, v["ciphertext"], v["nonce"], v["associated_data"])
    assert plain == v["plaintext"].encode()


@pytest.mark.parametrize(
    ("key", "nonce", "associated"),
    [
        (b"b7cde1ef52f6a5d1e1fb3b7f7f0b3a9c", None, None),
        (None, "fdasflkja485", None),
        (None, None, "refund"),
        (None, "", None),
    ],
)
def test_a_resource_decrypts_only_with_its_key_nonce_and_associated_data(
    vectors: Vectors, key: bytes | None, nonce: str | None, associated: str | None
) -> None:
    v = vectors["notification"]
    with pytest.raises(crypto.ResourceError):
        crypto.decrypt_resource(
            key or vectors["merchant"]["apiv3_key"].encode(),
            v["ciphertext"],
            v["nonce"] if nonce is None else nonce,
            v["associated_data"] if associated is None else associated,
        )


def test_a_tampered_or_garbage_ciphertext_does_not_decrypt(vectors: Vectors) -> None:
    v = vectors["notification"]
    key = vectors["merchant"]["apiv3_key"].encode()
    flipped = ("B" if v["ciphertext"][0] == "A" else "A") + v["ciphertext"][1:]
    for ciphertext in (flipped, "", "***", v["ciphertext"][:-4]):
        with pytest.raises(crypto.ResourceError):
            crypto.decrypt_resource(key, ciphertext, v["nonce"], v["associated_data"])


def test_an_apiv3_key_of_another_length_is_refused() -> None:
    with pytest.raises(ValueError, match="31 bytes"):
        crypto.encrypt_resource(b"x" * 31, b"{}", "fdasflkja484")


def test_the_notification_signature_is_byte_exact(
    vectors: Vectors, platform_key: RSAPrivateKey
) -> None:
    v = vectors["notification"]
    signature = crypto.sign_response(platform_key, v["timestamp"], v["header_nonce"], v["body"])
    assert signature == v["signature"]
    assert v["ciphertext"] in v["body"]
