"""ExamplePay's one setting, ``EXAMPLEPAY_SECRET``, and how it is read."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from payments_core.contributions import Setting

if TYPE_CHECKING:
    from payments_core.values import Settings

SECRET: Final = Setting(
    "EXAMPLEPAY_SECRET",
    None,
    "the HMAC key ExamplePay signs notifications with (at least 32 characters)",
    secret=True,
)
MIN_SECRET_LENGTH: Final = 32


def secret_of(settings: Settings) -> bytes | None:
    """``EXAMPLEPAY_SECRET`` as bytes, or None when it is not set.

    Raises:
        ValueError: it is too short (the message names it, never shows it).
    """
    secret = (settings.get(SECRET.name) or "").strip()
    if not secret:
        return None
    if len(secret) < MIN_SECRET_LENGTH:
        raise ValueError(f"{SECRET.name} must be at least {MIN_SECRET_LENGTH} characters")
    return secret.encode()
