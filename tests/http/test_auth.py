"""The JWT bearer authenticator: what verifies, what is 401, and how keys are given."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from pathlib import Path
from typing import TYPE_CHECKING

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from payments_http.auth import JwtAuthenticator, Unauthenticated
from payments_http.compose import authenticator_from_settings
from tests.http.conftest import SECRET, token

if TYPE_CHECKING:
    from jwt.algorithms import AllowedPrivateKeys

HS = JwtAuthenticator.from_secret(SECRET)


def bearer_of(
    claims: dict[str, object], key: AllowedPrivateKeys | str = SECRET, algorithm: str = "HS256"
) -> str:
    return "Bearer " + jwt.encode(claims, key, algorithm=algorithm)


def claims(**more: object) -> dict[str, object]:
    return {"sub": "alice", "roles": ["CUSTOMER"], "exp": int(time.time()) + 60, **more}


def public_pem(private_key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> str:
    return (
        private_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


def test_a_valid_token_names_the_caller_and_roles() -> None:
    caller = HS.authenticate(f"Bearer {token('alice', ['CUSTOMER', 'ADMIN'])}")

    assert caller.username == "alice"
    assert caller.roles == {"CUSTOMER", "ADMIN"}
    assert caller.credentials is not None
    assert caller.credentials.startswith("Bearer ")


def test_the_scheme_is_case_insensitive() -> None:
    assert HS.authenticate(f"bearer {token()}").username == "alice"


def test_no_roles_claim_means_no_roles() -> None:
    caller = HS.authenticate(bearer_of({"sub": "bob"}))

    assert caller.roles == frozenset()


def test_alg_none_is_refused() -> None:
    header = base64.urlsafe_b64encode(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    payload = base64.urlsafe_b64encode(json.dumps(claims()).encode())
    unsigned = f"{header.decode().rstrip('=')}.{payload.decode().rstrip('=')}."

    with pytest.raises(Unauthenticated):
        HS.authenticate(f"Bearer {unsigned}")


def test_an_expired_token_is_refused() -> None:
    with pytest.raises(Unauthenticated, match="expired"):
        HS.authenticate(bearer_of(claims(exp=int(time.time()) - 5)))


def test_a_token_not_valid_yet_is_refused() -> None:
    with pytest.raises(Unauthenticated):
        HS.authenticate(bearer_of(claims(nbf=int(time.time()) + 300)))


def test_a_bad_signature_is_refused() -> None:
    with pytest.raises(Unauthenticated):
        HS.authenticate(bearer_of(claims(), key="another-secret-" + "y" * 32))


@pytest.mark.parametrize("sub", [None, "", "  ", 42])
def test_a_missing_or_empty_subject_is_refused(sub: object) -> None:
    body = claims()
    if sub is None:
        del body["sub"]
    else:
        body["sub"] = sub

    with pytest.raises(Unauthenticated):
        HS.authenticate(bearer_of(body))


@pytest.mark.parametrize("roles", [{"a": 1}, [1, 2], 5])
def test_malformed_roles_are_refused(roles: object) -> None:
    with pytest.raises(Unauthenticated):
        HS.authenticate(bearer_of(claims(roles=roles)))


def test_an_hs256_token_is_refused_by_an_rs256_authenticator() -> None:
    """The algorithm confusion attack: the public key used as an HMAC secret."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    auth = JwtAuthenticator.from_public_key(public_pem(key))

    segments = [_b64(json.dumps({"alg": "HS256", "typ": "JWT"})), _b64(json.dumps(claims()))]
    signing_input = ".".join(segments).encode()
    mac = hmac.new(public_pem(key).encode(), signing_input, hashlib.sha256).digest()
    forged = f"{signing_input.decode()}.{_b64(mac)}"

    with pytest.raises(Unauthenticated):
        auth.authenticate(f"Bearer {forged}")


def _b64(data: str | bytes) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def test_rs256_with_a_public_key_from_a_file(tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    (tmp_path / "jwt.pem").write_text(public_pem(key))
    auth = authenticator_from_settings({"PAYMENTS_JWT_PUBLIC_KEY": f"@{tmp_path / 'jwt.pem'}"})

    caller = auth.authenticate(bearer_of(claims(), key=key, algorithm="RS256"))

    assert caller.username == "alice"


def test_es256_with_an_inline_public_key() -> None:
    key = ec.generate_private_key(ec.SECP256R1())
    auth = authenticator_from_settings({"PAYMENTS_JWT_PUBLIC_KEY": public_pem(key)})

    assert auth.authenticate(bearer_of(claims(), key=key, algorithm="ES256")).username == "alice"


@pytest.mark.parametrize(
    ("settings", "named"),
    [
        ({}, "PAYMENTS_JWT_SECRET"),
        ({"PAYMENTS_JWT_SECRET": "short"}, "PAYMENTS_JWT_SECRET"),
        ({"PAYMENTS_JWT_PUBLIC_KEY": "not a key"}, "PAYMENTS_JWT_PUBLIC_KEY"),
        ({"PAYMENTS_JWT_PUBLIC_KEY": "@/nonexistent/key.pem"}, "PAYMENTS_JWT_PUBLIC_KEY"),
        ({"PAYMENTS_JWT_SECRET": SECRET, "PAYMENTS_JWT_PUBLIC_KEY": "x"}, "PAYMENTS_JWT_SECRET"),
    ],
)
def test_unusable_settings_name_the_setting(settings: dict[str, str], named: str) -> None:
    with pytest.raises(ValueError, match=named) as caught:
        authenticator_from_settings(settings)

    assert "\n" not in str(caught.value)
    if settings.get("PAYMENTS_JWT_SECRET"):
        assert settings["PAYMENTS_JWT_SECRET"] not in str(caught.value)


def test_a_small_rsa_key_is_refused() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505 - on purpose

    with pytest.raises(ValueError, match="2048"):
        JwtAuthenticator.from_public_key(public_pem(key))


def test_a_remembered_token_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    authenticator = JwtAuthenticator.from_secret(SECRET)
    now = time.time()
    header = bearer_of(claims(exp=int(now) + 60))
    first = authenticator.authenticate(header)

    monkeypatch.setattr("payments_http.auth.time.time", lambda: now + 61)

    assert first.username == "alice"
    with pytest.raises(Unauthenticated, match="expired"):
        authenticator.authenticate(header)


def test_a_remembered_token_answers_the_same_caller_without_decoding_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    authenticator = JwtAuthenticator.from_secret(SECRET)
    header = bearer_of(claims())
    first = authenticator.authenticate(header)

    def no_decode(*args: object, **kwargs: object) -> None:
        raise AssertionError("decoded again")

    monkeypatch.setattr("payments_http.auth.jwt.decode", no_decode)

    assert authenticator.authenticate(header) == first


def test_a_refused_token_is_never_remembered() -> None:
    authenticator = JwtAuthenticator.from_secret(SECRET)
    forged = bearer_of(claims(), key="y" * 40)

    for _ in range(2):
        with pytest.raises(Unauthenticated):
            authenticator.authenticate(forged)


NOW = int(time.time())


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("exp", str(NOW + 600)),  # the probe's token: accepted, then remembered forever
        ("exp", f"{NOW + 600}.5"),
        ("nbf", str(NOW - 60)),
        ("iat", str(NOW - 60)),
        ("nbf", False),
        ("iat", False),
        ("exp", [NOW + 600]),
        ("exp", {"at": NOW + 600}),
    ],
    ids=[  # stable ids: the values move with the clock
        "exp-string",
        "exp-decimal-string",
        "nbf-string",
        "iat-string",
        "nbf-false",
        "iat-false",
        "exp-list",
        "exp-object",
    ],
)
def test_a_time_claim_that_is_not_a_json_number_is_refused(name: str, value: object) -> None:
    with pytest.raises(Unauthenticated):
        HS.authenticate(bearer_of(claims(**{name: value})))


def test_a_remembered_token_expires_when_the_decoder_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    authenticator = JwtAuthenticator.from_secret(SECRET)
    now = float(int(time.time()))  # PyJWT decodes against the real clock: read it here
    header = bearer_of(claims(exp=now + 60.7))  # NumericDate may have a fraction
    monkeypatch.setattr("payments_http.auth.time.time", lambda: now)
    first = authenticator.authenticate(header)

    monkeypatch.setattr("payments_http.auth.time.time", lambda: now + 60)

    assert first.username == "alice"
    # PyJWT, decoding it afresh, compares int(exp) <= now: expired from now + 60 on.
    with pytest.raises(Unauthenticated, match="expired"):
        authenticator.authenticate(header)
