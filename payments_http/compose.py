"""Composition from the settings: the plugins' repository and vendors, the orders
adapter, the authenticator, status-change delivery and the in-process sweeper.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import TYPE_CHECKING

from payments_core.background import Background
from payments_core.delivery import BackgroundDelivery
from payments_core.errors import PaymentsError
from payments_core.inmemory import InMemoryOrders, SystemClock
from payments_core.outbox import OutboxRelay
from payments_core.plugins import PaymentHooks, make_plugin_manager
from payments_core.services import PaymentService
from payments_http import settings as config
from payments_http.app import create_app
from payments_http.auth import JwtAuthenticator
from payments_http.metered import CountedRepository, CountedSweeper, TimedVendor
from payments_http.metrics import Metrics
from payments_http.notify import notify_path
from payments_http.orders import HttpOrders
from payments_http.sweeper import Sweeper

if TYPE_CHECKING:
    import pluggy
    from starlette.applications import Starlette
    from starlette.routing import BaseRoute

    from payments_core.ports import Clock, Orders
    from payments_http.auth import Authenticator

log = logging.getLogger(__name__)


def authenticator_from_settings(settings: Mapping[str, str]) -> JwtAuthenticator:
    """The JWT authenticator of ``PAYMENTS_JWT_SECRET`` or ``PAYMENTS_JWT_PUBLIC_KEY``.

    Raises:
        ValueError: neither or both are set, or the one given is unusable.
    """
    secret = settings.get("PAYMENTS_JWT_SECRET", "").strip()
    public_key = settings.get("PAYMENTS_JWT_PUBLIC_KEY", "").strip()
    if secret and public_key:
        raise ValueError("PAYMENTS_JWT_SECRET and PAYMENTS_JWT_PUBLIC_KEY: set only one of them")
    if secret:
        return JwtAuthenticator.from_secret(secret)
    if public_key:
        return JwtAuthenticator.from_public_key(public_key)
    raise ValueError("PAYMENTS_JWT_SECRET or PAYMENTS_JWT_PUBLIC_KEY must be set")


def orders_from_settings(settings: Mapping[str, str]) -> Orders:
    """``HttpOrders`` at ``PAYMENTS_ORDERS_URL``; an empty in-memory order book for ``memory://``.

    Unset is the in-memory book too when embedding; ``payments serve`` refuses it.
    """
    base = config.orders_url(settings)
    return HttpOrders(base) if base and base != config.MEMORY else InMemoryOrders()


def build_service(
    settings: Mapping[str, str],
    *,
    plugin_manager: pluggy.PluginManager | None = None,
    orders: Orders | None = None,
    clock: Clock | None = None,
    background_delivery: bool = False,
    metrics: Metrics | None = None,
) -> tuple[PaymentService, BackgroundDelivery | None]:
    """The ``PaymentService`` the settings describe, with the installed plugins.

    Status changes reach the plugins through an ``OutboxRelay``: right after each stored
    change, or with ``background_delivery`` from a thread (returned, not yet started)
    so that requests never wait for the plugins' hooks. With ``metrics``, each vendor
    is timed and the service's repository counts what it stores (``metered``).

    Raises:
        ValueError: one line naming the setting at fault.
        StoreUnavailable: the database could not be reached.
    """
    hooks = PaymentHooks(plugin_manager or make_plugin_manager())
    settings = config.effective(settings, {}, config.declared(hooks))
    config.check(settings)
    vendors = hooks.vendor_gateways(settings)
    default_vendor = settings.get("PAYMENTS_VENDOR", "alipay")
    if default_vendor not in vendors:
        have = ", ".join(sorted(vendors)) or "none (configure ALIPAY_* or install a plugin)"
        raise ValueError(
            f"PAYMENTS_VENDOR: no vendor {default_vendor!r} is configured; have {have}"
        )
    repo = hooks.repository(
        settings.get("PAYMENTS_DATABASE_URL", "sqlite:///payments.db"), settings
    )
    clock = clock or SystemClock()
    relay = OutboxRelay(repo, repo, hooks, clock, settings=settings)
    _register(relay)
    delivery = relay.in_background() if background_delivery else None
    if metrics is not None:
        metrics.outbox = repo
        vendors = {name: TimedVendor(vendor, metrics) for name, vendor in vendors.items()}
        repo = CountedRepository(repo, metrics)
    service = PaymentService(
        repo=repo,
        vendors=vendors,
        orders=orders or orders_from_settings(settings),
        clock=clock,
        default_vendor=default_vendor,
        checkout_ttl=timedelta(seconds=config.integer(settings, "PAYMENTS_CHECKOUT_TTL", 1, 10**7)),
        announce=relay.wake,
    )
    return service, delivery


def _register(relay: OutboxRelay) -> None:
    """Register the status hooks as subscribers now: changes other processes make before
    this one first delivers wait for them too. A store down now leaves it to that delivery."""
    try:
        relay.register()
    except PaymentsError as exc:
        log.warning("status hooks not registered as subscribers yet: %s", exc.code)


class _Closer:
    """Closes what the service holds (vendors, orders, repository) when the server stops."""

    def __init__(self, service: PaymentService) -> None:
        self._service = service

    def start(self) -> None:
        return None

    def stop(self) -> None:
        self._service.close()


def create_app_from_settings(
    settings: Mapping[str, str],
    *,
    plugin_manager: pluggy.PluginManager | None = None,
    orders: Orders | None = None,
    authenticator: Authenticator | None = None,
    extra_routes: Sequence[BaseRoute] = (),
    background: Sequence[Background] = (),
    offload_create: bool | None = None,
) -> Starlette:
    """The whole server of ``payments serve``: service, auth, delivery and sweeper, and
    ``/metrics`` unless ``PAYMENTS_METRICS`` is off.

    ``background`` parts start after the repository is opened and stop before it closes;
    ``offload_create`` is ``create_app``'s (by default, creates run in the thread pool
    unless the orders adapter is the in-memory one).

    Raises:
        ValueError: one line naming the setting at fault.
        StoreUnavailable: the database could not be reached.
    """
    settings = config.effective(settings, {})
    auth = authenticator or authenticator_from_settings(settings)
    metrics = Metrics() if config.switch(settings, "PAYMENTS_METRICS") else None
    service, delivery = build_service(
        settings,
        plugin_manager=plugin_manager,
        orders=orders,
        background_delivery=True,
        metrics=metrics,
    )
    interval = config.integer(settings, "PAYMENTS_RECONCILE_INTERVAL", 0, 86400)
    parts: list[Background] = [_Closer(service), *background]
    if delivery is not None:
        parts.append(delivery)
    if interval:
        parts.append(
            CountedSweeper(service, interval, metrics) if metrics else Sweeper(service, interval)
        )
    return create_app(
        service,
        authenticator=auth,
        background=parts,
        extra_routes=extra_routes,
        notify_path=notify_path(settings),
        return_to=config.url(settings, "PAYMENTS_SHOP_RETURN_URL"),
        offload_create=offload_create,
        metrics=metrics,
    )
