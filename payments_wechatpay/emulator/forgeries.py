"""Notifications as a forger or a replayer would send them, on demand (``pay`` with ``notification``).

Each is what a merchant must refuse: a signature of another body, one by a key the
merchant was never given, a genuine signature ten minutes old, a resource encrypted with
another APIv3 key, or no signature at all.
"""

from __future__ import annotations

import secrets
import time
from typing import TYPE_CHECKING, Final

from cryptography.hazmat.primitives.asymmetric import rsa

from payments_wechatpay.emulator.protocol import Platform, new_key_id

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

NOTIFICATION_FORGERIES: Final = frozenset(
    {"bad-signature", "unknown-key", "stale", "undecryptable", "unsigned"}
)
STALE_SECONDS: Final = 600  # twice the five minutes a merchant allows


def check(forgery: str | None) -> None:
    """Raises: ValueError when ``forgery`` is neither None nor one of ``NOTIFICATION_FORGERIES``."""
    if forgery is not None and forgery not in NOTIFICATION_FORGERIES:
        raise ValueError(f"notification must be one of {', '.join(sorted(NOTIFICATION_FORGERIES))}")


def apiv3_key(forgery: str | None, genuine: bytes) -> bytes:
    """The key the resource is encrypted with: another one for ``undecryptable``."""
    return secrets.token_hex(16).encode("ascii") if forgery == "undecryptable" else genuine


def stranger() -> Platform:
    """A platform key and id that no merchant was given."""
    return Platform(private_key=rsa.generate_private_key(65537, 2048), key_id=new_key_id())


def signer(
    forgery: str | None, platform: Platform, stranger: Callable[[], Platform]
) -> Callable[[bytes], Mapping[str, str]] | None:
    """What makes the ``Wechatpay-*`` headers at each send (None: no signature)."""
    if forgery == "unsigned":
        return None
    if forgery == "bad-signature":
        return lambda body: platform.headers(body + b" ")
    if forgery == "unknown-key":
        return lambda body: stranger().headers(body)
    if forgery == "stale":
        return lambda body: platform.headers(body, timestamp=int(time.time()) - STALE_SECONDS)
    return platform.headers
