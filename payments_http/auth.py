"""Who is calling: the pluggable ``Authenticator`` and the default JWT bearer one.

A team with its own identity provider passes any object with an ``authenticate``
method to ``create_app``; it returns a ``Caller`` or raises ``Unauthenticated``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Final, Protocol

import jwt
from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from payments_core.values import Caller

MIN_SECRET_LENGTH: Final = 32
_VERIFIED_MAX: Final = 4096  # tokens remembered after their signature was checked
_SCHEME: Final = "bearer"
_TIME_CLAIMS: Final = ("exp", "nbf", "iat")


class Unauthenticated(Exception):
    """No credentials, or credentials that prove nothing; answered 401."""

    code: Final = "unauthenticated"

    def __init__(self, reason: str = "a valid bearer token is required") -> None:
        self.reason = reason
        super().__init__(reason)


class Authenticator(Protocol):
    """Turns the ``Authorization`` header into a ``Caller``."""

    def authenticate(self, authorization: str | None) -> Caller:
        """The caller named by the header value (None when absent).

        Raises:
            Unauthenticated: missing, malformed, expired or unverifiable credentials.
        """
        ...


def bearer_token(authorization: str | None) -> str:
    """The token of ``Bearer <token>``. Raises: Unauthenticated."""
    if not authorization:
        raise Unauthenticated()
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != _SCHEME or not token.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer <token>'")
    return token.strip()


class JwtAuthenticator:
    """JWT bearer tokens: ``sub`` is the username, ``roles`` a list of role names.

    The accepted algorithms are fixed by the key: HS256 for a shared secret, RS256 for
    an RSA public key, ES256 for an EC P-256 public key; ``alg: none`` never verifies.
    ``exp`` and ``nbf`` are honoured when present; ``exp``, ``nbf`` and ``iat`` must then
    be JSON numbers (PyJWT would take ``"exp": "1700000000"`` too); ``sub`` is required.
    """

    def __init__(
        self,
        key: str | RSAPublicKey | EllipticCurvePublicKey,
        algorithms: Sequence[str],
        *,
        audience: str | None = None,
        issuer: str | None = None,
        leeway: float = 0,
    ) -> None:
        if not algorithms or "none" in {a.lower() for a in algorithms}:
            raise ValueError("JwtAuthenticator needs real algorithms")
        self._key = key
        self._algorithms = list(algorithms)
        self._audience = audience
        self._issuer = issuer
        self._leeway = leeway
        self._options: jwt.types.Options = {
            "require": ["sub"],
            "verify_aud": audience is not None,
        }
        # Verified Authorization headers by their exact text: a client sends the same
        # token on every request; its signature need not be checked again, its times are,
        # as PyJWT checks them (whole seconds), so that no entry outlives its token.
        self._verified: dict[str, tuple[Caller, int | None, int | None]] = {}

    @classmethod
    def from_secret(cls, secret: str) -> JwtAuthenticator:
        """HS256 with a shared secret of at least 32 characters.

        Raises:
            ValueError: naming PAYMENTS_JWT_SECRET.
        """
        if len(secret) < MIN_SECRET_LENGTH:
            raise ValueError(
                f"PAYMENTS_JWT_SECRET must be at least {MIN_SECRET_LENGTH} characters long"
            )
        return cls(secret, ["HS256"])

    @classmethod
    def from_public_key(cls, value: str) -> JwtAuthenticator:
        """RS256 or ES256 with a PEM public key, given inline or as ``@path``.

        Raises:
            ValueError: naming PAYMENTS_JWT_PUBLIC_KEY; never echoing the key.
        """
        key = _load_public_key(value)
        if isinstance(key, RSAPublicKey):
            return cls(key, ["RS256"])
        return cls(key, ["ES256"])

    def authenticate(self, authorization: str | None) -> Caller:
        """See ``Authenticator.authenticate``."""
        token = bearer_token(authorization)
        header = authorization or ""
        known = self._verified.get(header)
        if known is not None:
            caller, expires, not_before = known
            now = time.time()
            if expires is not None and expires <= now - self._leeway:
                self._verified.pop(header, None)
                raise Unauthenticated("the token has expired")
            if not_before is not None and not_before > now + self._leeway:
                raise Unauthenticated("the token is not valid")
            return caller
        try:
            claims = jwt.decode(
                token,
                self._key,
                algorithms=self._algorithms,
                options=self._options,
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("the token has expired") from None
        except jwt.InvalidTokenError:
            raise Unauthenticated("the token is not valid") from None
        _require_numeric_times(claims)
        caller = _caller(claims, header)
        if len(self._verified) >= _VERIFIED_MAX:
            self._verified.pop(next(iter(self._verified)), None)  # the oldest goes first
        self._verified[header] = (caller, _time_claim(claims, "exp"), _time_claim(claims, "nbf"))
        return caller


def _require_numeric_times(claims: Mapping[str, object]) -> None:
    """Raises Unauthenticated unless every time claim present is a finite JSON number."""
    for name in _TIME_CLAIMS:
        if name in claims and not _is_number(claims[name]):
            raise Unauthenticated(f"the token's {name} claim must be a number")


def _is_number(value: object) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and math.isfinite(value))


def _time_claim(claims: Mapping[str, object], name: str) -> int | None:
    """The claim in whole seconds, as PyJWT compares it (``int(exp) <= now`` is expired)."""
    value = claims.get(name)
    return int(value) if isinstance(value, int | float) else None


def _caller(claims: dict[str, object], authorization: str) -> Caller:
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject.strip():
        raise Unauthenticated("the token has no subject")
    roles = claims.get("roles", [])
    if isinstance(roles, str):
        roles = roles.split()
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise Unauthenticated("the token's roles claim must be a list of names")
    return Caller(username=subject, roles=frozenset(roles), credentials=authorization)


def _load_public_key(value: str) -> RSAPublicKey | EllipticCurvePublicKey:
    text = value.strip()
    if text.startswith("@"):
        try:
            text = Path(text[1:]).expanduser().read_text(encoding="ascii")
        except (OSError, UnicodeDecodeError) as exc:
            raise ValueError(
                f"PAYMENTS_JWT_PUBLIC_KEY: cannot read {text[1:]} ({type(exc).__name__})"
            ) from None
    try:
        key = load_pem_public_key(text.strip().encode("ascii", errors="replace"))
    except (ValueError, TypeError):
        raise ValueError("PAYMENTS_JWT_PUBLIC_KEY is not a PEM public key") from None
    if isinstance(key, RSAPublicKey):
        if key.key_size < 2048:
            raise ValueError("PAYMENTS_JWT_PUBLIC_KEY: RSA keys must have at least 2048 bits")
        return key
    if isinstance(key, EllipticCurvePublicKey) and key.curve.name == "secp256r1":
        return key
    raise ValueError("PAYMENTS_JWT_PUBLIC_KEY must be an RSA or EC P-256 public key")


def issue_token(
    secret: str, username: str, roles: Sequence[str], *, lifetime_seconds: int, now: float
) -> str:
    """An HS256 token for ``username`` (the demo and tests use it; production issues its own)."""
    claims = {
        "sub": username,
        "roles": list(roles),
        "iat": int(now),
        "exp": int(now) + lifetime_seconds,
    }
    return jwt.encode(claims, secret, algorithm="HS256")
