"""``AsyncPaymentService``: the use cases for asyncio code, each run in a bounded thread pool.

``PaymentService`` blocks: a vendor call for up to its gateway's timeout, a database wait
for up to the repository's (docs/embedding.md names the settings and their defaults).
Called from an ``async def`` handler it would stall every other coroutine of the loop for
that long; through this facade the loop only awaits.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Final, ParamSpec, TypeVar

from payments_core.listing import LIMIT_DEFAULT
from payments_core.sweep import SweepReport, sweep

if TYPE_CHECKING:
    from collections.abc import Sequence
    from datetime import datetime
    from decimal import Decimal
    from types import TracebackType

    from payments_core.listing import PaymentPage
    from payments_core.payment import Attempt, Payment, PaymentId, PaymentStatus
    from payments_core.ports import VendorGateway
    from payments_core.refund import Refund, RefundId, RefundStatus
    from payments_core.services import PaymentService
    from payments_core.values import Caller, NotificationOutcome, StatusChange

DEFAULT_WORKERS: Final = 8
"""Use cases running at once by default; the others wait their turn without blocking."""

_P = ParamSpec("_P")
_T = TypeVar("_T")


class AsyncPaymentService:
    """``PaymentService``'s use cases as coroutines, for asyncio applications.

    Each call runs in a thread pool of ``max_workers`` threads owned by the facade: at most
    that many use cases block at once (each holding a database connection while it
    runs; keep it at or below the repository's pool), and further calls queue without
    blocking the event loop. Context variables reach the call, as with ``asyncio.to_thread``.
    Cancelling an awaiting task does not stop a call already running in the pool.

    Args:
        service: the composed core; its synchronous methods stay usable.
        max_workers: the pool's size (at least 1).
    """

    def __init__(self, service: PaymentService, *, max_workers: int = DEFAULT_WORKERS) -> None:
        if max_workers < 1:
            raise ValueError("max_workers must be at least 1")
        self.service = service
        self._pool = ThreadPoolExecutor(max_workers, thread_name_prefix="payments-async")
        self._closed = False

    async def __aenter__(self) -> AsyncPaymentService:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    async def create(
        self,
        caller: Caller,
        *,
        order_id: str,
        subject: str,
        description: str | None = None,
        idempotency_key: str | None = None,
        vendor: str | None = None,
    ) -> Payment:
        """``PaymentService.create``: asks the orders service, then the vendor."""
        return await self._run(
            self.service.create,
            caller,
            order_id=order_id,
            subject=subject,
            description=description,
            idempotency_key=idempotency_key,
            vendor=vendor,
        )

    def check_may_create(self, caller: Caller) -> None:
        """``PaymentService.check_may_create``: a rule, no waiting, so not a coroutine."""
        self.service.check_may_create(caller)

    async def get(self, caller: Caller, payment_id: PaymentId) -> Payment:
        """``PaymentService.get``: one database read."""
        return await self._run(self.service.get, caller, payment_id)

    async def list_payments(
        self,
        caller: Caller,
        *,
        status: PaymentStatus | None = None,
        order_id: str | None = None,
        payer: str | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
        limit: int = LIMIT_DEFAULT,
        cursor: str | None = None,
    ) -> PaymentPage:
        """``PaymentService.list_payments``: one database read."""
        return await self._run(
            self.service.list_payments,
            caller,
            status=status,
            order_id=order_id,
            payer=payer,
            created_from=created_from,
            created_to=created_to,
            limit=limit,
            cursor=cursor,
        )

    async def attempts(self, caller: Caller, payment_id: PaymentId) -> Sequence[Attempt]:
        """``PaymentService.attempts``: one database read."""
        return await self._run(self.service.attempts, caller, payment_id)

    async def status_changes(self, caller: Caller, payment_id: PaymentId) -> Sequence[StatusChange]:
        """``PaymentService.status_changes``: two database reads."""
        return await self._run(self.service.status_changes, caller, payment_id)

    async def retry(self, caller: Caller, payment_id: PaymentId) -> Payment:
        """``PaymentService.retry``: vendor queries, closes and a new checkout."""
        return await self._run(self.service.retry, caller, payment_id)

    async def verify(self, caller: Caller, payment_id: PaymentId) -> bool:
        """``PaymentService.verify``: one vendor query per open attempt."""
        return await self._run(self.service.verify, caller, payment_id)

    async def handle_notification(
        self, vendor_name: str, body: bytes, headers: Mapping[str, str]
    ) -> NotificationOutcome:
        """``PaymentService.handle_notification``: signature check and database writes."""
        return await self._run(self.service.handle_notification, vendor_name, body, headers)

    async def sweep_attempt(self, payment_id: PaymentId, reference: str) -> PaymentStatus | None:
        """``PaymentService.sweep_attempt``: a vendor query, perhaps a close."""
        return await self._run(self.service.sweep_attempt, payment_id, reference)

    async def request_refund(
        self,
        caller: Caller,
        payment_id: PaymentId,
        *,
        amount: Decimal | None = None,
        reason: str | None = None,
        idempotency_key: str | None = None,
    ) -> Refund:
        """``PaymentService.request_refund``: database writes and one vendor refund call."""
        return await self._run(
            self.service.request_refund,
            caller,
            payment_id,
            amount=amount,
            reason=reason,
            idempotency_key=idempotency_key,
        )

    async def refunds(self, caller: Caller, payment_id: PaymentId) -> Sequence[Refund]:
        """``PaymentService.refunds``: database reads."""
        return await self._run(self.service.refunds, caller, payment_id)

    async def get_refund(
        self, caller: Caller, payment_id: PaymentId, refund_id: RefundId
    ) -> Refund:
        """``PaymentService.get_refund``: database reads."""
        return await self._run(self.service.get_refund, caller, payment_id, refund_id)

    async def sweep_refund(self, refund_id: RefundId) -> RefundStatus | None:
        """``PaymentService.sweep_refund``: a vendor refund call or query."""
        return await self._run(self.service.sweep_refund, refund_id)

    async def sweep(self) -> SweepReport:
        """One sweep over every open attempt (``payments_core.sweep.sweep``): the longest call."""
        return await self._run(sweep, self.service)

    def vendor(self, name: str) -> VendorGateway:
        """``PaymentService.vendor``: a lookup, so not a coroutine. Raises: VendorNotFound."""
        return self.service.vendor(name)

    async def health(self) -> None:
        """``PaymentService.health``: one database round trip."""
        await self._run(self.service.health)

    async def close(self) -> None:
        """Close the service (``PaymentService.close``), then the pool, once.

        Any other call afterwards raises RuntimeError.
        """
        if self._closed:
            return
        self._closed = True
        try:
            await self._run(self.service.close)
        finally:
            self._pool.shutdown(wait=False)

    async def _run(self, func: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
        call = functools.partial(contextvars.copy_context().run, func, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)
