"""The plugin manager and the typed wrapper around its hooks; nothing else touches ``pm.hook``."""

from __future__ import annotations

import argparse
import inspect
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Final

import pluggy
from attrs import frozen

from payments_core import _memory_plugin, hookspecs
from payments_core.hookspecs import PROJECT

if TYPE_CHECKING:
    from payments_core.contributions import DemoVendor, Setting, Subcommands
    from payments_core.payment import Payment, PaymentStatus
    from payments_core.ports import PaymentRepository, VendorGateway
    from payments_core.refund import Refund, RefundStatus
    from payments_core.values import Settings

_STATUS_HOOK: Final = "payments_status_changed"
_REFUND_HOOK: Final = "payments_refund_changed"
_CALLED_ALONE: Final = frozenset({_STATUS_HOOK, _REFUND_HOOK})
"""The hooks the outbox relay calls one implementation at a time."""


class PaymentsPluginManager(pluggy.PluginManager):
    """A pluggy manager with the ``payments`` specs that refuses change hooks it cannot run.

    The change hooks (``payments_status_changed``, ``payments_refund_changed``) are not
    called through pluggy: each implementation is called on its
    own, so that one failing does not stop the others and is retried alone. A wrapper
    would have nothing to wrap there, and a generator or ``async def`` would return
    without running yet count as delivered, so they are refused however the plugin is
    registered (entry point or ``register`` later).
    """

    def __init__(self) -> None:
        super().__init__(PROJECT)
        self.add_hookspecs(hookspecs)

    def register(self, plugin: object, name: str | None = None) -> str | None:
        """Register ``plugin`` like pluggy does, after checking its change hooks.

        Raises:
            pluggy.PluginValidationError: the plugin's ``payments_status_changed`` or
                ``payments_refund_changed`` is a wrapper, a generator or a coroutine
                function.
        """
        plugin_name = name or self.get_canonical_name(plugin)
        if not self.is_blocked(plugin_name):
            for hook, function, wrapper in self._change_hooks_of(plugin):
                _check_change_hook(hook, plugin, plugin_name, function, wrapper)
        return super().register(plugin, name)

    def _change_hooks_of(self, plugin: object) -> Iterator[tuple[str, Callable[..., object], bool]]:
        """Each change hook of ``plugin``: its spec name, function, and whether a wrapper."""
        for attribute in dir(plugin):
            opts = self.parse_hookimpl_opts(plugin, attribute)
            hook = None if opts is None else (opts.get("specname") or attribute)
            if opts is not None and hook in _CALLED_ALONE:
                wrapper = bool(opts.get("wrapper") or opts.get("hookwrapper"))
                yield str(hook), getattr(plugin, attribute), wrapper


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


@frozen(kw_only=True)
class StatusHook:
    """One plugin's ``payments_status_changed``, to be called on its own.

    ``durable``: the plugin was registered under a name of its own, not one pluggy made
    up from the object's id (which changes with every process), so the name can stand
    for a subscriber across processes and restarts.
    """

    plugin: str
    call: Callable[[Payment, PaymentStatus | None, PaymentStatus], None]
    durable: bool = True


@frozen(kw_only=True)
class RefundHook:
    """One plugin's ``payments_refund_changed``, to be called on its own (see ``StatusHook``)."""

    plugin: str
    call: Callable[[Refund, RefundStatus | None, RefundStatus], None]
    durable: bool = True


class PaymentHooks:
    """Typed access to the ``payments`` hooks of one plugin manager."""

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self._pm = pm

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

    def settings(self) -> list[Setting]:
        """Every plugin's declared settings.

        Raises:
            ValueError: two plugins declare the same name.
        """
        declared: dict[str, Setting] = {}
        for provided in self._pm.hook.payments_settings():
            for setting in provided:
                if setting.name in declared:
                    raise ValueError(f"two plugins declare the setting {setting.name}")
                declared[setting.name] = setting
        return list(declared.values())

    def add_commands(self, commands: Subcommands) -> None:
        """Let every plugin add its subcommands to ``commands``.

        Raises:
            ValueError: a plugin adds a command whose name is taken.
        """
        try:
            self._pm.hook.payments_commands(commands=commands)
        except argparse.ArgumentError as exc:
            raise ValueError(f"a plugin's command clashes: {exc.message}") from None

    def demo_vendor(self, public_url: str, buyer: str) -> DemoVendor:
        """The first plugin's part of the demo.

        Raises:
            ValueError: no installed plugin offers a demo.
        """
        demo: DemoVendor | None = self._pm.hook.payments_demo_vendor(
            public_url=public_url, buyer=buyer
        )
        if demo is None:
            raise ValueError(
                "the demo needs a vendor plugin that offers one (payments_demo_vendor)"
            )
        return demo

    def status_hooks(self, settings: Settings | None = None) -> list[StatusHook]:
        """Every plugin's ``payments_status_changed``, in the order pluggy calls them.

        Each is called with ``settings`` (empty when None) if it takes them.

        pluggy calls the implementations from the last of ``get_hookimpls()`` to the
        first: ``tryfirst`` ones first, ``trylast`` ones last, the others newest first.

        Raises:
            pluggy.PluginValidationError: an implementation that cannot run on its own,
                which only a manager not made by ``make_plugin_manager`` lets in.
        """
        impls = self._pm.hook.payments_status_changed.get_hookimpls()
        given = {} if settings is None else settings
        return [_status_hook(impl, given) for impl in reversed(impls)]

    def refund_hooks(self, settings: Settings | None = None) -> list[RefundHook]:
        """Every plugin's ``payments_refund_changed``, in the order pluggy calls them.

        As ``status_hooks``, for the changes of refunds.

        Raises: pluggy.PluginValidationError (see ``status_hooks``).
        """
        impls = self._pm.hook.payments_refund_changed.get_hookimpls()
        given = {} if settings is None else settings
        return [_refund_hook(impl, given) for impl in reversed(impls)]


def _status_hook(impl: pluggy.HookImpl, settings: Settings) -> StatusHook:
    call = _caller(_STATUS_HOOK, impl, settings, "payment")
    return StatusHook(plugin=impl.plugin_name, call=call, durable=_durable(impl))


def _refund_hook(impl: pluggy.HookImpl, settings: Settings) -> RefundHook:
    call = _caller(_REFUND_HOOK, impl, settings, "refund")
    return RefundHook(plugin=impl.plugin_name, call=call, durable=_durable(impl))


def _durable(impl: pluggy.HookImpl) -> bool:
    # pluggy names an unnamed, nameless object after its id(): another name in every process
    return impl.plugin_name != str(id(impl.plugin))


def _caller(
    hook: str, impl: pluggy.HookImpl, settings: Settings, subject: str
) -> Callable[[object, object, object], None]:
    """A call of ``impl`` with the arguments it names: ``subject`` (the changed thing),
    ``previous``, ``current`` and ``settings``."""
    _check_change_hook(
        hook, impl.plugin, impl.plugin_name, impl.function, impl.wrapper or impl.hookwrapper
    )

    def call(changed: object, previous: object, current: object) -> None:
        given = {subject: changed, "previous": previous, "current": current, "settings": settings}
        impl.function(*(given[name] for name in impl.argnames))

    return call


def _check_change_hook(
    hook: str, plugin: object, plugin_name: str, function: Callable[..., object], wrapper: bool
) -> None:
    """Raise ``pluggy.PluginValidationError`` for a change hook that calling would not run."""
    if wrapper:
        why = "cannot be a wrapper (wrapper=True or hookwrapper=True)"
    elif inspect.isgeneratorfunction(function) or inspect.isasyncgenfunction(function):
        why = "cannot be a generator: calling it would run none of its body"
    elif inspect.iscoroutinefunction(function):
        why = "cannot be async: it is called from synchronous code and never awaited"
    else:
        return
    message = f"plugin {plugin_name!r}: {hook} {why}; implement it as a plain function"
    raise pluggy.PluginValidationError(plugin, message)
