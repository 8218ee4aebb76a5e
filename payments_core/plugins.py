"""The plugin manager and the typed wrapper around its hooks; nothing else touches ``pm.hook``."""

from __future__ import annotations

import logging
import threading
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pluggy

from payments_core import _memory_plugin, hookspecs
from payments_core.hookspecs import PROJECT
from payments_core.values import Delivery

if TYPE_CHECKING:
    from payments_core.ports import Outbox, PaymentRepository, Payments, VendorGateway
    from payments_core.values import Settings, StatusChange

log = logging.getLogger(__name__)
_BATCH = 500
_STATUS_HOOK = "payments_status_changed"


class PaymentsPluginManager(pluggy.PluginManager):
    """A pluggy manager with the ``payments`` specs that refuses wrappers of the status hook.

    The status hook is not called through pluggy: each implementation is called on its
    own, so that one failing does not stop the others and is retried alone. A wrapper
    could not wrap anything there, so it is refused however the plugin is registered.
    """

    def __init__(self) -> None:
        super().__init__(PROJECT)
        self.add_hookspecs(hookspecs)

    def register(self, plugin: object, name: str | None = None) -> str | None:
        """Register ``plugin`` like pluggy does, after checking its status hook.

        Raises:
            pluggy.PluginValidationError: the plugin wraps ``payments_status_changed``.
        """
        plugin_name = name or self.get_canonical_name(plugin)
        if not self.is_blocked(plugin_name) and self._wraps_status_hook(plugin):
            raise pluggy.PluginValidationError(
                plugin,
                f"plugin {plugin_name!r}: {_STATUS_HOOK} cannot be a wrapper "
                "(wrapper=True or hookwrapper=True); implement it as a plain hook",
            )
        return super().register(plugin, name)

    def _wraps_status_hook(self, plugin: object) -> bool:
        for attribute in dir(plugin):
            opts = self.parse_hookimpl_opts(plugin, attribute)
            if opts is None or (opts.get("specname") or attribute) != _STATUS_HOOK:
                continue
            if opts.get("wrapper") or opts.get("hookwrapper"):
                return True
        return False


def make_plugin_manager(*, load_entrypoints: bool = True) -> PaymentsPluginManager:
    """A manager with the ``payments`` specs, the installed plugins and the in-memory fallback."""
    pm = PaymentsPluginManager()
    if load_entrypoints:
        pm.load_setuptools_entrypoints(PROJECT)
    pm.register(_memory_plugin, name="payments_core.memory")
    pm.check_pending()
    return pm


def _safe_url(url: str) -> str:
    """The URL without its password or query (libpq takes ``?password=``), for error messages."""
    base, question, _ = url.partition("?")
    query = "?***" if question else ""
    scheme, sep, rest = base.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not at:
        return base + query
    user = credentials.partition(":")[0]
    return f"{scheme}{sep}{user}:***@{host}{query}"


class PaymentHooks:
    """Typed access to the ``payments`` hooks of one plugin manager."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self._pm = pm
        self._delivering = threading.Lock()

    def vendor_gateways(self, settings: Settings) -> Mapping[str, VendorGateway]:
        """Every plugin's gateways by name.

        Raises:
            ValueError: two plugins provide the same vendor name, or a plugin's own
                configuration error (its message names the setting).
        """
        gateways: dict[str, VendorGateway] = {}
        for provided in self._pm.hook.payments_vendor_gateways(settings=settings):
            for gateway in provided:
                if gateway.name in gateways:
                    raise ValueError(f"two plugins provide the vendor {gateway.name!r}")
                gateways[gateway.name] = gateway
        return gateways

    def repository(self, url: str, settings: Settings) -> PaymentRepository:
        """The repository of the first plugin that answers ``url``.

        Raises:
            ValueError: no plugin handles the URL (the message names PAYMENTS_DATABASE_URL).
        """
        repo: PaymentRepository | None = self._pm.hook.payments_payment_repository(
            url=url, settings=settings
        )
        if repo is None:
            raise ValueError(f"PAYMENTS_DATABASE_URL: no plugin handles {_safe_url(url)!r}")
        return repo

    def deliver_changes(
        self,
        store: Payments,
        outbox: Outbox,
        *,
        now: datetime,
        lease: timedelta = timedelta(minutes=1),
    ) -> int:
        """Announce stored status changes to every ``payments_status_changed`` plugin.

        Changes are claimed in batches, so processes sharing a database never deliver
        the same change at once. Each plugin is called on its own; one that raises is
        logged and called again for that change on the next delivery, while those that
        succeeded are not.

        Returns:
            How many changes were fully delivered.
        """
        with self._delivering:  # in one process, a healthy hook sees each change once
            delivered = 0
            tried: set[int] = set()
            while True:
                claimed = outbox.claim_changes(now, limit=_BATCH, lease=lease)
                fresh = [c for c in claimed if c.id not in tried]
                # a change that failed in this call is released again: the next call retries it
                again = [Delivery(change_id=c.id) for c in claimed if c.id in tried]
                results = [self._deliver(change, store) for change in fresh]
                if results or again:
                    outbox.mark_delivered(results + again)
                delivered += sum(1 for r in results if r.done)
                # A short batch drained the outbox as it was; going on would chase each
                # change stored meanwhile one by one, two transactions apiece, under load.
                if not fresh or len(claimed) < _BATCH:
                    return delivered
                tried.update(c.id for c in fresh)

    def _deliver(self, change: StatusChange, store: Payments) -> Delivery:
        impls = reversed(self._pm.hook.payments_status_changed.get_hookimpls())  # pluggy's order
        todo = [i for i in impls if i.plugin_name not in change.delivered_to]
        payment = store.get(change.payment_id) if todo else None
        done: set[str] = set()
        for impl in todo:
            kwargs = {"payment": payment, "previous": change.previous, "current": change.current}
            try:
                impl.function(*(kwargs[name] for name in impl.argnames))
            except Exception:  # a plugin's failure must not stop the others or lose the change
                log.exception(
                    "status hook %s failed for change %s; will retry", impl.plugin_name, change.id
                )
            else:
                done.add(impl.plugin_name)
        return Delivery(change_id=change.id, to=frozenset(done), done=len(done) == len(todo))
