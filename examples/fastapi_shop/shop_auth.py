"""The shop's own JWTs (HS256, ``sub`` and ``roles``), read into the ``Caller`` payments takes.

The payments app mounted under ``/pay`` reads the same tokens with its ``JwtAuthenticator``.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

import jwt
from fastapi import HTTPException

from payments_core import Caller

LIFETIME = 3600


def issue(secret: str, username: str, roles: Sequence[str] = ("CUSTOMER",)) -> str:
    """A token the shop's login would hand out."""
    now = int(time.time())
    claims = {"sub": username, "roles": list(roles), "iat": now, "exp": now + LIFETIME}
    return jwt.encode(claims, secret, algorithm="HS256")


def caller_of(secret: str, authorization: str | None) -> Caller:
    """The caller a ``Bearer`` token names; 401 otherwise.

    ``credentials`` keeps the header, as payments forwards it to an orders service.
    """
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise HTTPException(401, "a bearer token is required")
    try:
        claims = jwt.decode(
            token, secret, algorithms=["HS256"], options={"require": ["sub", "exp"]}
        )
    except jwt.PyJWTError:
        raise HTTPException(401, "the token is not valid") from None
    roles = claims.get("roles", [])
    if not isinstance(claims["sub"], str) or not isinstance(roles, list):
        raise HTTPException(401, "the token's claims are not usable")
    return Caller(
        username=claims["sub"], roles=frozenset(map(str, roles)), credentials=authorization
    )
