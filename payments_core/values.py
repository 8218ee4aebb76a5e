"""Plain values that cross the ports: what vendors report, orders, callers, status changes."""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Final

from attrs import field, frozen, validators

from payments_core.money import Money
from payments_core.payment import PaymentId, PaymentStatus
from payments_core.refund import RefundId, RefundStatus

Settings = Mapping[str, str]
"""Configuration as environment-style names (``PAYMENTS_*``, each plugin's own) to string values."""


def _names(names: Iterable[str]) -> frozenset[str]:
    return frozenset(names)


@frozen(kw_only=True)
class CheckoutRequest:
    """What a vendor needs to open one checkout attempt."""

    reference: str  # letters, digits and underscore, at most 64 characters, unique forever
    amount: Money
    subject: str
    description: str | None
    expires_at: datetime


@frozen(kw_only=True)
class Checkout:
    """An opened checkout attempt: where the buyer goes to pay, and until when."""

    order_string: str
    expires_at: datetime


class TradeStatus(enum.Enum):
    """What a vendor says about one attempt."""

    UNPAID = "UNPAID"  # not paid yet, or not even opened by the buyer
    PAID = "PAID"
    CLOSED = "CLOSED"  # closed unpaid; it can no longer be paid


@frozen(kw_only=True)
class TradeReport:
    """Verified vendor evidence about one attempt.

    Only a vendor adapter builds it, and only after checking the vendor's signature
    and that the message is addressed to this merchant's application.
    """

    vendor: str
    reference: str
    status: TradeStatus
    trade_id: str | None = None
    amount: Money | None = None
    merchant_matches: bool = True  # False when the paid account is not the configured seller


class RefundState(enum.Enum):
    """What a vendor says about one refund."""

    PENDING = "PENDING"  # it has the refund and has not finished paying it out
    SUCCEEDED = "SUCCEEDED"  # the money went back
    FAILED = "FAILED"  # it refused the refund for good (``failure`` says why)
    NOT_FOUND = "NOT_FOUND"  # it has no refund under this reference: it may be sent


@frozen(kw_only=True)
class RefundReport:
    """Verified vendor evidence about one refund of one attempt.

    Built only by a vendor adapter, from a signed answer or notification addressed to
    this merchant. ``amount`` is what the vendor says this refund returns, when it says.
    """

    vendor: str
    reference: str  # the attempt the money returns from
    refund_reference: str
    state: RefundState
    amount: Money | None = None
    failure: str | None = None  # the vendor's code when FAILED


class NotificationOutcome(enum.Enum):
    """What became of one vendor notification; the vendor's gateway words the reply."""

    APPLIED = "applied"  # genuine and taken in, or with nothing to take in: stop sending it
    RETRY = "retry"  # genuine, but it could not be applied now: send it again later
    REFUSED = "refused"  # unreadable, or it failed verification: not the vendor's


@frozen(kw_only=True)
class Reply:
    """A vendor's own answer to one notification, in its own format.

    ``status`` is for a vendor whose protocol fixes the transport status of an answer
    (an empty body with its own success status, say); None leaves it to the adapter
    that serves notifications, which maps the outcome.
    """

    body: str = ""
    media_type: str | None = None
    status: int | None = None


@frozen(kw_only=True)
class Order:
    """An order as the orders service knows it.

    Raises (on construction): TypeError for a field of the wrong type, ValueError for a
    currency that is not three capital letters. The amount's own rules are ``Money.parse``'s.
    """

    id: str = field(validator=validators.instance_of(str))
    buyer: str = field(validator=validators.instance_of(str))
    total: Decimal = field(validator=validators.instance_of(Decimal))
    status: str = field(validator=validators.instance_of(str))
    currency: str = field(default="CNY", validator=validators.matches_re(r"[A-Z]{3}"))

    @property
    def payable(self) -> bool:
        """Only a CREATED order can be paid."""
        return self.status == "CREATED"


@frozen(kw_only=True)
class Caller:
    """Who asks: the authenticated user, their roles, and opaque credentials to forward."""

    username: str
    roles: frozenset[str] = field(factory=frozenset, converter=_names)
    credentials: str | None = field(default=None, repr=False)

    def has(self, role: str) -> bool:
        """Whether the caller holds ``role``."""
        return role in self.roles


class ChangeSource(enum.Enum):
    """What made a payment change status: the use case that stored the change."""

    CREATE = "create"  # the payment was created
    RETRY = "retry"  # a retry: reissued, or found paid or closed on the way
    NOTIFICATION = "notification"  # a vendor's notification
    SWEEP = "sweep"  # a sweep asked the vendor, or closed an expired attempt
    VERIFY = "verify"  # a caller asked to verify


@frozen(kw_only=True)
class StatusChange:
    """A stored change of status, kept in the outbox until every hook has seen it, and
    kept afterwards as the payment's history.

    ``source`` is None for changes stored before sources were recorded.
    """

    id: int
    payment_id: PaymentId
    previous: PaymentStatus | None  # None for the creation of the payment
    current: PaymentStatus
    at: datetime
    delivered_to: frozenset[str] = field(factory=frozenset, converter=_names)
    source: ChangeSource | None = None


@frozen(kw_only=True)
class RefundChange:
    """A stored change of a refund's status, in the same outbox as payments' changes.

    Its ``id`` is drawn from the same sequence as ``StatusChange.id``: one outbox, one
    order of delivery.
    """

    id: int
    refund_id: RefundId
    payment_id: PaymentId
    previous: RefundStatus | None  # None for the creation of the refund
    current: RefundStatus
    at: datetime
    delivered_to: frozenset[str] = field(factory=frozenset, converter=_names)


Change = StatusChange | RefundChange
"""Anything the outbox holds for the hooks."""


@frozen(kw_only=True)
class Delivery:
    """Who has now seen one status change, and whether the delivering process is done with it.

    ``done``: every hook of the delivering process has the change. The outbox retires
    it only if every registered subscriber has it too (see ``ports.Outbox``).
    """

    change_id: int
    to: frozenset[str] = field(factory=frozenset, converter=_names)
    done: bool = False


SUBSCRIBER_NAME_MAX: Final = 200  # characters


def subscriber_name_problem(name: str) -> str | None:
    """Why ``name`` cannot name a subscriber, or None when it can.

    A name is stored in ``delivered_to`` as a JSON string and looked up as text, so it
    is printable, without quotes or backslashes, and at most 200 characters long.
    """
    if not 0 < len(name) <= SUBSCRIBER_NAME_MAX:
        return f"a subscriber name has 1 to {SUBSCRIBER_NAME_MAX} characters"
    if not name.isprintable() or '"' in name or "\\" in name:
        return "a subscriber name is printable, without quotes or backslashes"
    return None


@frozen(kw_only=True)
class Subscriber:
    """A durable hearer of status changes: the plugin name of a status hook.

    ``pending`` counts the undelivered changes waiting for it (0 once retired).
    """

    name: str
    registered_at: datetime  # when a process last registered it
    retired_at: datetime | None = None
    pending: int = 0

    @property
    def active(self) -> bool:
        """Whether changes wait for it."""
        return self.retired_at is None


@frozen(kw_only=True)
class IdempotencyClaim:
    """A payer's idempotency key and the fingerprint of the request that first used it."""

    payer: str
    key: str
    fingerprint: str  # a digest of the request body

    def recorded(self, payment_id: PaymentId) -> IdempotencyRecord:
        """The record of this claim once ``payment_id`` was stored with it."""
        return IdempotencyRecord(
            payer=self.payer, key=self.key, fingerprint=self.fingerprint, payment_id=payment_id
        )


@frozen(kw_only=True)
class IdempotencyRecord:
    """The first request made with one idempotency key by one payer, and its payment."""

    payer: str
    key: str
    fingerprint: str  # a digest of the request body
    payment_id: PaymentId


@frozen(kw_only=True)
class RefundIdempotencyRecord:
    """The first refund request made with one idempotency key by one requester."""

    requester: str
    key: str
    fingerprint: str  # a digest of the payment id and the request body
    refund_id: RefundId


@frozen(kw_only=True)
class DueAttempt:
    """An open attempt claimed by one sweeper for a while."""

    payment_id: PaymentId
    reference: str
