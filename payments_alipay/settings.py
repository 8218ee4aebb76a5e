"""The Alipay configuration, read once from the environment-style settings (docs/alipay.md).

Every problem is a ``ValueError`` whose message is one line that starts with the name
of the setting at fault and never contains a key.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, Literal, TypeVar
from urllib.parse import urlsplit

from payments_alipay.keys import load_private_key, load_public_key, same_key
from payments_core.contributions import Setting

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

    from payments_core.values import Settings

PRODUCTION_GATEWAY: Final = "https://openapi.alipay.com/gateway.do"
SANDBOX_GATEWAY: Final = "https://openapi-sandbox.dl.alipaydev.com/gateway.do"
NOTIFY_PATHS: Final = "/api/v1/payments/notify/{vendor}"  # PAYMENTS_NOTIFY_PATH's default
NOTIFY_PATH: Final = NOTIFY_PATHS.replace("{vendor}", "alipay")
REQUIRED: Final = ("ALIPAY_APP_ID", "ALIPAY_PRIVATE_KEY", "ALIPAY_PUBLIC_KEY")
Product = Literal["page", "wap"]
_K = TypeVar("_K")
_APP_ID: Final = re.compile(r"[0-9A-Za-z_]{1,32}")
_SECONDS: Final = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3})?")
DEFAULT_TIMEOUT: Final = 12.0
MAX_TIMEOUT: Final = 60.0
_SELLER_ID: Final = re.compile(r"[0-9A-Za-z_@.\-]{1,64}")
SETTINGS: Final = (
    Setting("ALIPAY_APP_ID", None, "Alipay application id"),
    Setting("ALIPAY_PRIVATE_KEY", None, "app private key: PEM, bare base64 or @path", secret=True),
    Setting("ALIPAY_PUBLIC_KEY", None, "Alipay's public key: PEM, bare base64 or @path"),
    Setting("ALIPAY_GATEWAY", "sandbox", "production, sandbox or a gateway URL"),
    Setting("ALIPAY_SELLER_ID", None, "when set, notifications and queries must name this seller"),
    Setting("ALIPAY_RETURN_URL", None, "where the buyer's browser goes after paying"),
    Setting("ALIPAY_PRODUCT", "page", "page or wap"),
    Setting(
        "ALIPAY_TIMEOUT",
        f"{DEFAULT_TIMEOUT:g}",
        "seconds one Alipay query, close or refund call may take, retries included",
    ),
)


@dataclass(frozen=True, kw_only=True)
class AlipaySettings:
    """A usable Alipay configuration with its keys already parsed."""

    app_id: str
    private_key: RSAPrivateKey
    alipay_public_key: RSAPublicKey
    gateway_url: str = SANDBOX_GATEWAY
    notify_url: str | None = None
    return_url: str | None = None
    seller_id: str | None = None
    product: Product = "page"
    timeout: float = DEFAULT_TIMEOUT  # seconds one server call may take, all tries included

    def __repr__(self) -> str:
        return f"AlipaySettings(app_id={self.app_id!r}, gateway_url={self.gateway_url!r})"

    @classmethod
    def from_settings(cls, settings: Settings) -> AlipaySettings:
        """Read and check the ``ALIPAY_*`` and ``PAYMENTS_PUBLIC_URL`` settings.

        Raises:
            ValueError: one line naming the setting that is missing or unusable.
        """
        for name in REQUIRED:
            if not _get(settings, name):
                raise ValueError(f"{name} is not set; Alipay needs {', '.join(REQUIRED)}")
        private_key = _key(settings, "ALIPAY_PRIVATE_KEY", load_private_key)
        public_key = _key(settings, "ALIPAY_PUBLIC_KEY", load_public_key)
        if same_key(private_key, public_key):
            raise ValueError(
                "ALIPAY_PUBLIC_KEY is your application's own public key (the public half of "
                "ALIPAY_PRIVATE_KEY); it must be the Alipay public key shown in the Alipay console"
            )
        return cls(
            app_id=_app_id(settings),
            private_key=private_key,
            alipay_public_key=public_key,
            gateway_url=gateway_url(_get(settings, "ALIPAY_GATEWAY") or "sandbox"),
            notify_url=notify_url(settings),
            return_url=_optional_url(settings, "ALIPAY_RETURN_URL"),
            seller_id=_seller_id(settings),
            product=_product(settings),
            timeout=_timeout(settings),
        )


def is_configured(settings: Settings) -> bool:
    """Whether any of the required Alipay settings is given (then all of them must be)."""
    return any(_get(settings, name) for name in REQUIRED)


def gateway_url(value: str) -> str:
    """``production``, ``sandbox`` or a full http(s) URL, as the gateway URL.

    Raises:
        ValueError: naming ALIPAY_GATEWAY.
    """
    aliases = {"production": PRODUCTION_GATEWAY, "sandbox": SANDBOX_GATEWAY}
    if value.lower() in aliases:
        return aliases[value.lower()]
    _check_url("ALIPAY_GATEWAY", value, allow_query=True, hint="production, sandbox or a URL")
    return value


def notify_url(settings: Settings) -> str:
    """``{PAYMENTS_PUBLIC_URL}{PAYMENTS_NOTIFY_PATH}`` for alipay (host and port by default).

    Raises:
        ValueError: naming PAYMENTS_PUBLIC_URL or PAYMENTS_NOTIFY_PATH.
    """
    base = _get(settings, "PAYMENTS_PUBLIC_URL")
    if not base:
        host = _get(settings, "PAYMENTS_HOST") or "127.0.0.1"
        base = f"http://{host}:{_get(settings, 'PAYMENTS_PORT') or '8000'}"
    _check_url("PAYMENTS_PUBLIC_URL", base, allow_query=False, hint="an http(s) base URL")
    path = _get(settings, "PAYMENTS_NOTIFY_PATH") or NOTIFY_PATHS
    if not path.startswith("/") or path.count("{vendor}") != 1 or "?" in path:
        raise ValueError("PAYMENTS_NOTIFY_PATH must be a path starting with / holding {vendor}")
    return base.rstrip("/") + path.replace("{vendor}", "alipay")


def _get(settings: Settings, name: str) -> str:
    return (settings.get(name) or "").strip()


def _key(settings: Settings, name: str, load: Callable[[str], _K]) -> _K:
    try:
        return load(_get(settings, name))
    except ValueError as exc:
        raise ValueError(f"{name} is unusable: {exc}") from None


def _app_id(settings: Settings) -> str:
    value = _get(settings, "ALIPAY_APP_ID")
    if not _APP_ID.fullmatch(value):
        raise ValueError("ALIPAY_APP_ID must be 1 to 32 letters or digits")
    return value


def _seller_id(settings: Settings) -> str | None:
    value = _get(settings, "ALIPAY_SELLER_ID")
    if value and not _SELLER_ID.fullmatch(value):
        raise ValueError("ALIPAY_SELLER_ID must be an Alipay account id like 2088…")
    return value or None


def _product(settings: Settings) -> Product:
    value = (_get(settings, "ALIPAY_PRODUCT") or "page").lower()
    if value == "page":
        return "page"
    if value == "wap":
        return "wap"
    raise ValueError("ALIPAY_PRODUCT must be page or wap")


def _timeout(settings: Settings) -> float:
    value = _get(settings, "ALIPAY_TIMEOUT")
    if not value:
        return DEFAULT_TIMEOUT
    seconds = float(value) if _SECONDS.fullmatch(value) else 0.0
    if not 1 <= seconds <= MAX_TIMEOUT:
        raise ValueError(f"ALIPAY_TIMEOUT must be a number of seconds from 1 to {MAX_TIMEOUT:g}")
    return seconds


def _optional_url(settings: Settings, name: str) -> str | None:
    value = _get(settings, name)
    if value:
        _check_url(name, value, allow_query=False, hint="an absolute http(s) URL")
    return value or None


def _check_url(name: str, value: str, *, allow_query: bool, hint: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{name} must be {hint}")
    if not allow_query and (parts.query or parts.fragment):
        raise ValueError(f"{name} must carry no query string or fragment")
