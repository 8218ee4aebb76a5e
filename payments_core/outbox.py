"""The outbox relay: stored changes of status, claimed in batches, delivered to the change hooks.

Payments' changes go to ``payments_status_changed``, refunds' to ``payments_refund_changed``.
"""

from __future__ import annotations

import functools
import logging
import threading
from collections.abc import Callable, Mapping
from datetime import timedelta
from typing import TYPE_CHECKING, Final, Protocol

from attrs import frozen

from payments_core.delivery import BackgroundDelivery
from payments_core.errors import PaymentsError
from payments_core.ports import Payments, Refunds
from payments_core.values import Delivery, RefundChange, subscriber_name_problem

if TYPE_CHECKING:
    from payments_core.plugins import PaymentHooks, RefundHook, StatusHook
    from payments_core.ports import Clock, Outbox
    from payments_core.values import Change, Settings


class Stored(Payments, Refunds, Protocol):
    """Where the relay reads a change's payment or refund, as stored at delivery time."""


@frozen
class _Hooks:
    """This process's change hooks, as read for one round of delivery."""

    status: list[StatusHook]
    refund: list[RefundHook]

    def names(self) -> list[str]:
        """Every plugin with a change hook, each once."""
        return list(
            dict.fromkeys([h.plugin for h in self.status] + [h.plugin for h in self.refund])
        )


log = logging.getLogger(__name__)
BATCH: Final = 500
"""Changes claimed, and retired, per transaction."""


class OutboxRelay:
    """Delivers the outbox's changes: payments' to every ``payments_status_changed``
    plugin, refunds' to every ``payments_refund_changed`` plugin.

    Build it before the service and give the service ``announce=relay.wake``.

    The plugin names of its change hooks are registered as subscribers before its first
    delivery (and again when they change), so that every process sharing the outbox
    keeps a change pending until these hooks have it. A plugin lacking the hook of a
    change (a refund's change, say, for a plugin with only a status hook) counts as
    having it, so the change is not kept for it. A hook without a name of its own is
    delivered only the changes this process sees, and a warning says so.

    Args:
        outbox: where stored changes wait to be delivered.
        payments: where a change's payment or refund is read, as stored at delivery time.
        hooks: the plugins to deliver to.
        clock: the time claims are made at.
        lease: how long a claimed change is skipped by the other processes.
        settings: the effective settings, given to the hooks that take them.
    """

    def __init__(
        self,
        outbox: Outbox,
        payments: Stored,
        hooks: PaymentHooks,
        clock: Clock,
        *,
        lease: timedelta = timedelta(minutes=1),
        settings: Settings | None = None,
    ) -> None:
        self._settings: Settings = {} if settings is None else settings
        self._registered: frozenset[str] | None = None  # subscribers this relay registered
        self._warned: set[str] = set()  # hooks said not to be subscribers
        self._outbox = outbox
        self._payments = payments
        self._hooks = hooks
        self._clock = clock
        self._lease = lease
        self._delivering = threading.Lock()
        self._here = threading.local()  # whether this thread is delivering, and was woken
        self._background: BackgroundDelivery | None = None

    def register(self) -> frozenset[str]:
        """Register the durable change hooks as subscribers now, if not done already; their names.

        ``deliver`` calls it first; call it at start-up so that changes made before this
        process first delivers wait for its hooks too.

        Raises:
            StoreUnavailable: nothing was registered; the next call tries again.
        """
        return self._register(self._read_hooks())

    def _read_hooks(self) -> _Hooks:
        return _Hooks(
            status=self._hooks.status_hooks(self._settings),
            refund=self._hooks.refund_hooks(self._settings),
        )

    def _register(self, hooks: _Hooks) -> frozenset[str]:
        every: list[StatusHook | RefundHook] = [*hooks.status, *hooks.refund]
        names = frozenset(h.plugin for h in every if self._durable(h))
        if names != self._registered:
            self._outbox.register_subscribers(sorted(names), self._clock.now())
            self._registered = names
        return names

    def _durable(self, hook: StatusHook | RefundHook) -> bool:
        """Whether ``hook`` can be a subscriber; a warning, once, says why not."""
        problem = None if hook.durable else "its name was made from its id"
        problem = problem or subscriber_name_problem(hook.plugin)
        if problem and hook.plugin not in self._warned:
            self._warned.add(hook.plugin)
            log.warning(
                "change hook %r is not a subscriber (%s): changes other processes make "
                "may be retired before it hears them; register its plugin with a stable name=",
                hook.plugin,
                problem,
            )
        return problem is None

    def wake(self) -> None:
        """Have the pending changes delivered: by the background delivery when there is one.

        Without one, they are delivered now, and a store failure is logged rather than
        raised: the changes stay in the outbox for the next delivery.
        """
        if self._background is not None:
            self._background.wake()
            return
        try:
            self.deliver()
        except PaymentsError as exc:
            log.warning("status changes not delivered now: %s", exc.code)

    def in_background(self, *, interval: float = 30.0, min_gap: float = 0.25) -> BackgroundDelivery:
        """A thread delivering for this relay (not yet started); ``wake`` signals it from now on.

        See ``BackgroundDelivery`` for ``interval`` and ``min_gap``.

        Raises:
            RuntimeError: the relay already has one.
        """
        if self._background is not None:
            raise RuntimeError("this relay already delivers in the background")
        self._background = BackgroundDelivery(self.deliver, interval=interval, min_gap=min_gap)
        return self._background

    def deliver(self) -> int:
        """Deliver the stored changes now; how many were delivered to every plugin.

        Changes are claimed in batches, so processes sharing a database never deliver
        the same change at once. Each plugin is called on its own; one that raises is
        logged and called again for that change on the next delivery, while those that
        succeeded are not. Called by a hook during a delivery (the hook stored a change),
        it returns 0 at once and the running delivery goes round again for that change.

        Raises:
            StoreUnavailable: the outbox could not be read or written.
            pluggy.PluginValidationError: see ``PaymentHooks.status_hooks``.
        """
        if getattr(self._here, "delivering", False):  # waiting on our own lock would hang
            self._here.again = True
            return 0
        with self._delivering:  # in one process, a healthy hook sees each change once
            self._here.delivering = True
            try:
                return self._deliver_pending()
            finally:
                self._here.delivering = False

    def _deliver_pending(self) -> int:
        delivered = 0
        tried: set[int] = set()
        while True:
            self._here.again = False
            hooks = self._read_hooks()
            self._register(hooks)
            claimed = self._outbox.claim_changes(
                self._clock.now(), limit=BATCH, lease=self._lease, hooks=hooks.names()
            )
            fresh = [c for c in claimed if c.id not in tried]
            again = [c for c in claimed if c.id in tried]
            delivered += self._deliver_batch(hooks, fresh, again=again)
            # A short batch drained the outbox as it was; going on would chase each
            # change stored meanwhile one by one, two transactions apiece, under load.
            if (not fresh or len(claimed) < BATCH) and not self._here.again:
                return delivered
            tried.update(c.id for c in fresh)

    def _deliver_batch(self, hooks: _Hooks, fresh: list[Change], *, again: list[Change]) -> int:
        """Deliver ``fresh``; release ``again``, tried earlier in this call, for the next one."""
        results = [self._deliver_one(change, hooks) for change in fresh]
        released = [Delivery(change_id=c.id) for c in again]
        if results or released:
            self._outbox.mark_delivered(results + released)
        return sum(1 for r in results if r.done)

    def _deliver_one(self, change: Change, hooks: _Hooks) -> Delivery:
        if isinstance(change, RefundChange):
            todo = [h for h in hooks.refund if h.plugin not in change.delivered_to]
            refund = self._payments.get_refund(change.refund_id) if todo else None
            calls = {
                h.plugin: functools.partial(h.call, refund, change.previous, change.current)
                for h in todo
                if refund is not None
            }
            others = {h.plugin for h in hooks.status}
            mine = {h.plugin for h in hooks.refund}
        else:
            due = [h for h in hooks.status if h.plugin not in change.delivered_to]
            payment = self._payments.get(change.payment_id) if due else None
            calls = {
                h.plugin: functools.partial(h.call, payment, change.previous, change.current)
                for h in due
                if payment is not None
            }
            others = {h.plugin for h in hooks.refund}
            mine = {h.plugin for h in hooks.status}
        # A plugin with only the other kind of hook is owed nothing for this change.
        exempt = frozenset(others - mine - change.delivered_to)
        kind = "refund" if isinstance(change, RefundChange) else "status"
        return self._deliver_to(change, calls, exempt, kind=kind)

    def _deliver_to(
        self,
        change: Change,
        calls: Mapping[str, Callable[[], None]],
        exempt: frozenset[str],
        *,
        kind: str,
    ) -> Delivery:
        """Make each call on its own; ``exempt`` plugins count as delivered."""
        done: set[str] = set()
        for plugin, call in calls.items():
            try:
                call()
            except Exception:  # a plugin's failure must not stop the others or lose the change
                log.exception(
                    "%s hook %s failed for change %s; will retry", kind, plugin, change.id
                )
            else:
                done.add(plugin)
        return Delivery(
            change_id=change.id, to=frozenset(done) | exempt, done=len(done) == len(calls)
        )
