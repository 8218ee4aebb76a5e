"""The settings: names, defaults, command-line options and checks.

Settings are environment-style names mapped to strings. Every check raises
``ValueError`` with one line that starts with the setting's name and never echoes
a secret.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final
from urllib.parse import urlsplit

from attrs import frozen


@frozen
class Setting:
    """One setting: its environment name, default and help."""

    name: str
    default: str | None
    help: str
    secret: bool = False

    @property
    def option(self) -> str:
        """The command-line option: ``PAYMENTS_CHECKOUT_TTL`` is ``--checkout-ttl``."""
        short = self.name.removeprefix("PAYMENTS_").lower().replace("_", "-")
        return "--" + short


SETTINGS: Final = (
    Setting("PAYMENTS_HOST", "127.0.0.1", "where `payments serve` listens"),
    Setting("PAYMENTS_PORT", "8000", "the port `payments serve` listens on"),
    Setting(
        "PAYMENTS_DATABASE_URL",
        "sqlite:///payments.db",
        "SQLAlchemy URL (postgresql+psycopg://... for PostgreSQL; memory:// in memory)",
    ),
    Setting("PAYMENTS_VENDOR", "alipay", "default vendor plugin name"),
    Setting("PAYMENTS_CHECKOUT_TTL", "900", "seconds an orderString stays payable"),
    Setting(
        "PAYMENTS_RECONCILE_INTERVAL", "60", "seconds between in-process sweeps; 0 turns it off"
    ),
    Setting("PAYMENTS_PUBLIC_URL", None, "base URL the vendor reaches (default http://HOST:PORT)"),
    Setting("PAYMENTS_ORDERS_URL", None, "base URL of the orders service; unset: in-memory"),
    Setting("PAYMENTS_JWT_SECRET", None, "HS256 secret (at least 32 characters)", secret=True),
    Setting("PAYMENTS_JWT_PUBLIC_KEY", None, "RS256/ES256 public key: PEM or @path"),
    Setting("ALIPAY_APP_ID", None, "Alipay application id"),
    Setting("ALIPAY_PRIVATE_KEY", None, "app private key: PEM, bare base64 or @path", secret=True),
    Setting("ALIPAY_PUBLIC_KEY", None, "Alipay's public key: PEM, bare base64 or @path"),
    Setting("ALIPAY_GATEWAY", "sandbox", "production, sandbox or a gateway URL"),
    Setting("ALIPAY_SELLER_ID", None, "when set, notifications and queries must name this seller"),
    Setting("ALIPAY_RETURN_URL", None, "where the buyer's browser goes after paying"),
    Setting("ALIPAY_PRODUCT", "page", "page or wap"),
    Setting("ALIPAY_TIMEOUT", "12", "seconds one Alipay query or close may take, retries included"),
)
NAMES: Final = frozenset(s.name for s in SETTINGS)
MIN_TTL: Final = 60
MAX_TTL: Final = 7 * 24 * 3600


def effective(environ: Mapping[str, str], overrides: Mapping[str, str | None]) -> dict[str, str]:
    """``environ`` with the given options laid over it and defaults filled in.

    Every key of ``environ`` is kept (plugins read their own names); blank values
    count as unset.
    """
    merged = {k: v for k, v in environ.items() if v.strip()}
    merged.update({k: v for k, v in overrides.items() if v is not None and v.strip()})
    for setting in SETTINGS:
        if setting.default is not None:
            merged.setdefault(setting.name, setting.default)
    return merged


def integer(settings: Mapping[str, str], name: str, low: int, high: int) -> int:
    """An integer setting within ``[low, high]``."""
    value = settings.get(name, "").strip()
    if not value.isdigit() or not low <= int(value) <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}")
    return int(value)


def url(settings: Mapping[str, str], name: str) -> str | None:
    """An optional http(s) base URL setting, without its trailing slash."""
    value = settings.get(name, "").strip()
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise ValueError(f"{name} must be an http(s) base URL without a query string")
    return value.rstrip("/")


def public_url(settings: Mapping[str, str]) -> str:
    """``PAYMENTS_PUBLIC_URL``, or ``http://{host}:{port}``."""
    given = url(settings, "PAYMENTS_PUBLIC_URL")
    if given:
        return given
    host = settings.get("PAYMENTS_HOST", "127.0.0.1")
    host = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 - reachable form
    return f"http://{host}:{settings.get('PAYMENTS_PORT', '8000')}"


def check(settings: Mapping[str, str]) -> None:
    """Check the settings this package reads itself (plugins check their own)."""
    integer(settings, "PAYMENTS_PORT", 1, 65535)
    integer(settings, "PAYMENTS_CHECKOUT_TTL", MIN_TTL, MAX_TTL)
    integer(settings, "PAYMENTS_RECONCILE_INTERVAL", 0, 86400)
    url(settings, "PAYMENTS_ORDERS_URL")
    public_url(settings)
    if not settings.get("PAYMENTS_VENDOR", "").strip():
        raise ValueError("PAYMENTS_VENDOR must name a vendor plugin")
