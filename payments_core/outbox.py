"""The outbox relay: stored status changes, claimed in batches, delivered to the status hooks."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import TYPE_CHECKING, Final

from payments_core.delivery import BackgroundDelivery
from payments_core.errors import PaymentsError
from payments_core.values import Delivery, subscriber_name_problem

if TYPE_CHECKING:
    from payments_core.plugins import PaymentHooks, StatusHook
    from payments_core.ports import Clock, Outbox, Payments
    from payments_core.values import Settings, StatusChange

log = logging.getLogger(__name__)
BATCH: Final = 500
"""Changes claimed, and retired, per transaction."""


class OutboxRelay:
    """Delivers the outbox's status changes to every ``payments_status_changed`` plugin.

    Build it before the service and give the service ``announce=relay.wake``.

    The plugin names of its status hooks are registered as subscribers before its first
    delivery (and again when they change), so that every process sharing the outbox
    keeps a change pending until these hooks have it. A hook without a name of its own
    is delivered only the changes this process sees, and a warning says so.

    Args:
        outbox: where stored changes wait to be delivered.
        payments: where a change's payment is read, as stored at delivery time.
        hooks: the plugins to deliver to.
        clock: the time claims are made at.
        lease: how long a claimed change is skipped by the other processes.
        settings: the effective settings, given to the hooks that take them.
    """

    def __init__(
        self,
        outbox: Outbox,
        payments: Payments,
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
        """Register the durable status hooks as subscribers now, if not done already; their names.

        ``deliver`` calls it first; call it at start-up so that changes made before this
        process first delivers wait for its hooks too.

        Raises:
            StoreUnavailable: nothing was registered; the next call tries again.
        """
        return self._register(self._hooks.status_hooks(self._settings))

    def _register(self, hooks: list[StatusHook]) -> frozenset[str]:
        names = frozenset(h.plugin for h in hooks if self._durable(h))
        if names != self._registered:
            self._outbox.register_subscribers(sorted(names), self._clock.now())
            self._registered = names
        return names

    def _durable(self, hook: StatusHook) -> bool:
        """Whether ``hook`` can be a subscriber; a warning, once, says why not."""
        problem = None if hook.durable else "its name was made from its id"
        problem = problem or subscriber_name_problem(hook.plugin)
        if problem and hook.plugin not in self._warned:
            self._warned.add(hook.plugin)
            log.warning(
                "status hook %r is not a subscriber (%s): changes other processes make "
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
            hooks = self._hooks.status_hooks(self._settings)
            self._register(hooks)
            claimed = self._outbox.claim_changes(
                self._clock.now(), limit=BATCH, lease=self._lease, hooks=[h.plugin for h in hooks]
            )
            fresh = [c for c in claimed if c.id not in tried]
            again = [c for c in claimed if c.id in tried]
            delivered += self._deliver_batch(hooks, fresh, again=again)
            # A short batch drained the outbox as it was; going on would chase each
            # change stored meanwhile one by one, two transactions apiece, under load.
            if (not fresh or len(claimed) < BATCH) and not self._here.again:
                return delivered
            tried.update(c.id for c in fresh)

    def _deliver_batch(
        self, hooks: list[StatusHook], fresh: list[StatusChange], *, again: list[StatusChange]
    ) -> int:
        """Deliver ``fresh``; release ``again``, tried earlier in this call, for the next one."""
        results = [self._deliver_one(change, hooks) for change in fresh]
        released = [Delivery(change_id=c.id) for c in again]
        if results or released:
            self._outbox.mark_delivered(results + released)
        return sum(1 for r in results if r.done)

    def _deliver_one(self, change: StatusChange, hooks: list[StatusHook]) -> Delivery:
        todo = [h for h in hooks if h.plugin not in change.delivered_to]
        if not todo:
            return Delivery(change_id=change.id, done=True)
        payment = self._payments.get(change.payment_id)
        done: set[str] = set()
        for hook in todo:
            try:
                hook.call(payment, change.previous, change.current)
            except Exception:  # a plugin's failure must not stop the others or lose the change
                log.exception(
                    "status hook %s failed for change %s; will retry", hook.plugin, change.id
                )
            else:
                done.add(hook.plugin)
        return Delivery(change_id=change.id, to=frozenset(done), done=len(done) == len(todo))
