"""The settings of the server and the command: names, defaults, command-line options, checks.

Settings are environment-style names mapped to strings. ``SETTINGS`` are the ones this
package reads itself; each plugin declares its own (``payments_settings``) and checks
them when it is asked for its parts. Every check raises ``ValueError`` with one line
that starts with the setting's name and never echoes a secret.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from payments_core.contributions import Setting
from payments_http.notify import notify_path

if TYPE_CHECKING:
    from payments_core.plugins import PaymentHooks


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
    Setting(
        "PAYMENTS_NOTIFY_PATH",
        "/api/v1/payments/notify/{vendor}",
        "path of vendor notifications under PAYMENTS_PUBLIC_URL; holds {vendor}",
    ),
    Setting(
        "PAYMENTS_ORDERS_URL",
        None,
        "base URL of the orders service, or memory:// for an in-memory order book"
        " (required by serve outside --demo)",
    ),
    Setting(
        "PAYMENTS_SHOP_RETURN_URL",
        None,
        "the shop page a buyer back from a vendor's checkout is sent to, with ?payment=&status=",
    ),
    Setting("PAYMENTS_JWT_SECRET", None, "HS256 secret (at least 32 characters)", secret=True),
    Setting("PAYMENTS_JWT_PUBLIC_KEY", None, "RS256/ES256 public key: PEM or @path"),
    Setting("PAYMENTS_METRICS", "on", "on: serve Prometheus metrics at /metrics; off: no endpoint"),
    Setting(
        "PAYMENTS_LOG_FORMAT", "text", "text: one line per record; json: one JSON object per line"
    ),
)
MEMORY: Final = "memory://"
SWITCH: Final = {"on": True, "off": False}
LOG_FORMATS: Final = ("text", "json")
MIN_TTL: Final = 60
MAX_TTL: Final = 7 * 24 * 3600


def declared(hooks: PaymentHooks) -> tuple[Setting, ...]:
    """This package's settings and those the installed plugins declare.

    Raises:
        ValueError: a name is declared twice (by two plugins, or a plugin and us).
    """
    ours = {setting.name for setting in SETTINGS}
    theirs = hooks.settings()
    for setting in theirs:
        if setting.name in ours:
            raise ValueError(f"a plugin declares the setting {setting.name}, which is ours")
    return (*SETTINGS, *theirs)


def effective(
    environ: Mapping[str, str],
    overrides: Mapping[str, str | None],
    settings: Iterable[Setting] = SETTINGS,
) -> dict[str, str]:
    """``environ`` with the given options laid over it and the defaults of ``settings`` filled in.

    Every key of ``environ`` is kept (plugins read their own names); blank values
    count as unset.
    """
    merged = {k: v for k, v in environ.items() if v.strip()}
    merged.update({k: v for k, v in overrides.items() if v is not None and v.strip()})
    for setting in settings:
        if setting.default is not None:
            merged.setdefault(setting.name, setting.default)
    return merged


def integer(settings: Mapping[str, str], name: str, low: int, high: int) -> int:
    """An integer setting within ``[low, high]``."""
    value = settings.get(name, "").strip()
    if not value.isdigit() or not low <= int(value) <= high:
        raise ValueError(f"{name} must be a whole number from {low} to {high}")
    return int(value)


def switch(settings: Mapping[str, str], name: str) -> bool:
    """An on/off setting."""
    value = settings.get(name, "").strip().lower()
    if value not in SWITCH:
        raise ValueError(f"{name} must be on or off")
    return SWITCH[value]


def log_format(settings: Mapping[str, str]) -> str:
    """``PAYMENTS_LOG_FORMAT``: text (the default) or json."""
    value = settings.get("PAYMENTS_LOG_FORMAT", "text").strip().lower() or "text"
    if value not in LOG_FORMATS:
        raise ValueError("PAYMENTS_LOG_FORMAT must be text or json")
    return value


def url(settings: Mapping[str, str], name: str) -> str | None:
    """An optional http(s) base URL setting, without its trailing slash."""
    value = settings.get(name, "").strip()
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.query:
        raise ValueError(f"{name} must be an http(s) base URL without a query string")
    return value.rstrip("/")


def orders_url(settings: Mapping[str, str]) -> str | None:
    """``PAYMENTS_ORDERS_URL``: an http(s) base URL, ``memory://``, or None when unset."""
    if settings.get("PAYMENTS_ORDERS_URL", "").strip() == MEMORY:
        return MEMORY
    return url(settings, "PAYMENTS_ORDERS_URL")


def require_orders(settings: Mapping[str, str]) -> None:
    """Refuse an unset ``PAYMENTS_ORDERS_URL``: a server with no orders can take no payment."""
    if orders_url(settings) is None:
        raise ValueError(
            "PAYMENTS_ORDERS_URL is not set: give the orders service's base URL,"
            f" or {MEMORY} for an in-memory order book"
        )


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
    orders_url(settings)
    url(settings, "PAYMENTS_SHOP_RETURN_URL")
    public_url(settings)
    notify_path(settings)
    switch(settings, "PAYMENTS_METRICS")
    log_format(settings)
    if not settings.get("PAYMENTS_VENDOR", "").strip():
        raise ValueError("PAYMENTS_VENDOR must name a vendor plugin")
