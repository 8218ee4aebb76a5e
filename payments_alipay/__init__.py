"""Alipay vendor plugin for ``payments`` (Open Platform, RSA2), and a local gateway emulator.

Configure it with the ``ALIPAY_*`` settings (docs/alipay.md); the ``payments`` entry point
``alipay`` registers :class:`AlipayGateway`. The emulator lives in
``payments_alipay.emulator`` and is not imported here (it needs Starlette).
"""

from __future__ import annotations

from payments_alipay._transport import Timeouts
from payments_alipay.gateway import AlipayGateway
from payments_alipay.keys import load_private_key, load_public_key
from payments_alipay.notification import parse_form
from payments_alipay.settings import (
    PRODUCTION_GATEWAY,
    SANDBOX_GATEWAY,
    AlipaySettings,
)
from payments_alipay.signing import canonical_string, sign_rsa2, signed_node, verify_rsa2

__all__ = [
    "PRODUCTION_GATEWAY",
    "SANDBOX_GATEWAY",
    "AlipayGateway",
    "AlipaySettings",
    "Timeouts",
    "canonical_string",
    "load_private_key",
    "load_public_key",
    "parse_form",
    "sign_rsa2",
    "signed_node",
    "verify_rsa2",
]
