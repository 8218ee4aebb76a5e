"""The ``payments`` plugin: registers AlipayGateway through the entry point ``alipay``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from payments_alipay.gateway import AlipayGateway
from payments_alipay.settings import AlipaySettings, is_configured
from payments_core.hookspecs import hookimpl

if TYPE_CHECKING:
    from collections.abc import Sequence

    from payments_core.ports import VendorGateway
    from payments_core.values import Settings


@hookimpl
def payments_vendor_gateways(settings: Settings) -> Sequence[VendorGateway]:
    """The Alipay gateway, or nothing when no ``ALIPAY_*`` key setting is given.

    Raises:
        ValueError: Alipay is partly or wrongly configured (one line naming the setting).
    """
    if not is_configured(settings):
        return []
    return [AlipayGateway(AlipaySettings.from_settings(settings))]
