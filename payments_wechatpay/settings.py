"""The WeChat Pay configuration, read once from the environment-style settings (docs/wechatpay.md).

Every problem is a ``ValueError`` whose message is one line that starts with the name
of the setting at fault and never contains a key.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final, TypeVar
from urllib.parse import urlsplit

from payments_core.contributions import Setting
from payments_vendorkit.keys import load_private_key, load_public_key, same_key
from payments_wechatpay.crypto import APIV3_KEY_BYTES

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

    from payments_core.values import Settings

VENDOR: Final = "wechatpay"
PRODUCTION_GATEWAY: Final = "https://api.mch.weixin.qq.com"
NOTIFY_PATHS: Final = "/api/v1/payments/notify/{vendor}"  # PAYMENTS_NOTIFY_PATH's default
DEFAULT_TIMEOUT: Final = 12.0
MAX_TIMEOUT: Final = 60.0
REQUIRED: Final = (
    "WECHATPAY_MCHID",
    "WECHATPAY_APPID",
    "WECHATPAY_PRIVATE_KEY",
    "WECHATPAY_CERT_SERIAL",
    "WECHATPAY_PUBLIC_KEY",
    "WECHATPAY_PUBLIC_KEY_ID",
    "WECHATPAY_APIV3_KEY",
)
_K = TypeVar("_K")
_PATTERNS: Final = {
    "WECHATPAY_MCHID": (re.compile(r"[0-9]{1,32}"), "1 to 32 digits"),
    "WECHATPAY_APPID": (re.compile(r"[0-9A-Za-z_]{1,32}"), "1 to 32 letters, digits or _"),
    "WECHATPAY_CERT_SERIAL": (re.compile(r"[0-9A-Fa-f]{8,64}"), "8 to 64 hexadecimal digits"),
    "WECHATPAY_PUBLIC_KEY_ID": (
        re.compile(r"PUB_KEY_ID_[0-9A-Za-z]{1,64}"),
        "PUB_KEY_ID_ followed by letters and digits",
    ),
}
_SECONDS: Final = re.compile(r"[0-9]{1,3}(?:\.[0-9]{1,3})?")
SETTINGS: Final = (
    Setting("WECHATPAY_MCHID", None, "WeChat Pay merchant id (商户号)"),
    Setting("WECHATPAY_APPID", None, "app id bound to the merchant (wx…)"),
    Setting(
        "WECHATPAY_PRIVATE_KEY", None, "merchant API private key: PEM, base64 or @path", secret=True
    ),
    Setting("WECHATPAY_CERT_SERIAL", None, "serial number of the merchant API certificate"),
    Setting("WECHATPAY_PUBLIC_KEY", None, "WeChat Pay platform public key: PEM, base64 or @path"),
    Setting("WECHATPAY_PUBLIC_KEY_ID", None, "id of that public key (PUB_KEY_ID_…)"),
    Setting(
        "WECHATPAY_APIV3_KEY", None, "APIv3 key (32 bytes), decrypts notifications", secret=True
    ),
    Setting("WECHATPAY_GATEWAY", "production", "production or a base URL (the emulator)"),
    Setting(
        "WECHATPAY_TIMEOUT",
        f"{DEFAULT_TIMEOUT:g}",
        "seconds one WeChat Pay call may take, retries included",
    ),
)


@dataclass(frozen=True, kw_only=True)
class WeChatPaySettings:
    """A usable WeChat Pay configuration with its keys already parsed."""

    mchid: str
    appid: str
    private_key: RSAPrivateKey
    cert_serial: str
    platform_key: RSAPublicKey
    platform_key_id: str
    apiv3_key: bytes
    notify_url: str
    gateway_url: str = PRODUCTION_GATEWAY
    timeout: float = DEFAULT_TIMEOUT  # seconds one call may take, all tries included

    def __repr__(self) -> str:
        return f"WeChatPaySettings(mchid={self.mchid!r}, gateway_url={self.gateway_url!r})"

    @classmethod
    def from_settings(cls, settings: Settings) -> WeChatPaySettings:
        """Read and check the ``WECHATPAY_*`` and ``PAYMENTS_PUBLIC_URL`` settings.

        Raises:
            ValueError: one line naming the setting that is missing or unusable.
        """
        for name in REQUIRED:
            if not _get(settings, name):
                raise ValueError(f"{name} is not set; WeChat Pay needs {', '.join(REQUIRED)}")
        private_key = _key(settings, "WECHATPAY_PRIVATE_KEY", load_private_key)
        platform_key = _key(settings, "WECHATPAY_PUBLIC_KEY", load_public_key)
        if same_key(private_key, platform_key):
            raise ValueError(
                "WECHATPAY_PUBLIC_KEY is your own public key (the public half of "
                "WECHATPAY_PRIVATE_KEY); it must be the WeChat Pay platform public key"
            )
        return cls(
            mchid=_matching(settings, "WECHATPAY_MCHID"),
            appid=_matching(settings, "WECHATPAY_APPID"),
            private_key=private_key,
            cert_serial=_matching(settings, "WECHATPAY_CERT_SERIAL").upper(),
            platform_key=platform_key,
            platform_key_id=_matching(settings, "WECHATPAY_PUBLIC_KEY_ID"),
            apiv3_key=_apiv3_key(settings),
            notify_url=notify_url(settings),
            gateway_url=gateway_url(_get(settings, "WECHATPAY_GATEWAY") or "production"),
            timeout=_timeout(settings),
        )


def is_configured(settings: Settings) -> bool:
    """Whether any of the required WeChat Pay settings is given (then all of them must be)."""
    return any(_get(settings, name) for name in REQUIRED)


def gateway_url(value: str) -> str:
    """``production`` or a full http(s) base URL, without a trailing slash.

    Raises:
        ValueError: naming WECHATPAY_GATEWAY.
    """
    if value.lower() == "production":
        return PRODUCTION_GATEWAY
    _check_url("WECHATPAY_GATEWAY", value, "production or an http(s) base URL")
    return value.rstrip("/")


def notify_url(settings: Settings) -> str:
    """``{PAYMENTS_PUBLIC_URL}{PAYMENTS_NOTIFY_PATH}`` for wechatpay (host and port by default).

    Raises:
        ValueError: naming PAYMENTS_PUBLIC_URL or PAYMENTS_NOTIFY_PATH.
    """
    base = _get(settings, "PAYMENTS_PUBLIC_URL")
    if not base:
        host = _get(settings, "PAYMENTS_HOST") or "127.0.0.1"
        base = f"http://{host}:{_get(settings, 'PAYMENTS_PORT') or '8000'}"
    _check_url("PAYMENTS_PUBLIC_URL", base, "an http(s) base URL")
    path = _get(settings, "PAYMENTS_NOTIFY_PATH") or NOTIFY_PATHS
    if not path.startswith("/") or path.count("{vendor}") != 1 or "?" in path:
        raise ValueError("PAYMENTS_NOTIFY_PATH must be a path starting with / holding {vendor}")
    return base.rstrip("/") + path.replace("{vendor}", VENDOR)


def _get(settings: Settings, name: str) -> str:
    return (settings.get(name) or "").strip()


def _matching(settings: Settings, name: str) -> str:
    pattern, hint = _PATTERNS[name]
    value = _get(settings, name)
    if not pattern.fullmatch(value):
        raise ValueError(f"{name} must be {hint}")
    return value


def _key(settings: Settings, name: str, load: Callable[[str], _K]) -> _K:
    try:
        return load(_get(settings, name))
    except ValueError as exc:
        raise ValueError(f"{name} is unusable: {exc}") from None


def _apiv3_key(settings: Settings) -> bytes:
    raw = _get(settings, "WECHATPAY_APIV3_KEY").encode("utf-8")
    if len(raw) != APIV3_KEY_BYTES:
        raise ValueError(
            f"WECHATPAY_APIV3_KEY must be {APIV3_KEY_BYTES} bytes (it has {len(raw)}): "
            "the APIv3 key set in the WeChat Pay console"
        )
    return raw


def _timeout(settings: Settings) -> float:
    value = _get(settings, "WECHATPAY_TIMEOUT")
    if not value:
        return DEFAULT_TIMEOUT
    seconds = float(value) if _SECONDS.fullmatch(value) else 0.0
    if not 1 <= seconds <= MAX_TIMEOUT:
        raise ValueError(f"WECHATPAY_TIMEOUT must be a number of seconds from 1 to {MAX_TIMEOUT:g}")
    return seconds


def _check_url(name: str, value: str, hint: str) -> None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{name} must be {hint}")
    if parts.query or parts.fragment:
        raise ValueError(f"{name} must carry no query string or fragment")
