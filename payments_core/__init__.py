"""payments_core: the pure domain of the payments library.

The Payment and its status transitions, the ports (vendor, repository, orders, clock),
the use cases, the pluggy hooks, what plugins contribute (settings, commands, demo
pieces) and in-memory adapters for tests and embedding. A sweep is
``payments_core.sweep.sweep``: exported here, the function would hide its module.
"""

from __future__ import annotations

from payments_core.asyncservice import AsyncPaymentService
from payments_core.background import Sweeper, running, running_in_background
from payments_core.contributions import Command, DemoVendor, Setting
from payments_core.converters import (
    PaymentView,
    dumps,
    loads,
    make_converter,
    payment_document,
    payment_json,
    read_payment,
)
from payments_core.delivery import BackgroundDelivery
from payments_core.errors import (
    AmountNotSupported,
    ConcurrencyConflict,
    ConflictError,
    CurrencyMismatch,
    DomainError,
    DuplicateReference,
    DuplicateTradeId,
    IdempotencyKeyReused,
    InvalidTransition,
    NotAllowed,
    NotFound,
    OrderAlreadyPaid,
    OrderNotFound,
    OrderNotPayable,
    OrdersError,
    OrdersUnavailable,
    PaymentExists,
    PaymentFinal,
    PaymentNotFound,
    PaymentsError,
    SignatureInvalid,
    StoreUnavailable,
    ValidationFailed,
    VendorDeclined,
    VendorError,
    VendorNotFound,
    VendorUnavailable,
)
from payments_core.evidence import apply_report
from payments_core.fakevendor import FakeMode, FakeVendor
from payments_core.hookspecs import PROJECT, hookimpl, hookspec
from payments_core.inmemory import (
    FrozenClock,
    InMemoryOrders,
    InMemoryPaymentRepository,
    SystemClock,
)
from payments_core.money import Money
from payments_core.outbox import OutboxRelay
from payments_core.payment import Attempt, AttemptState, Payment, PaymentId, PaymentStatus
from payments_core.plugins import (
    PaymentHooks,
    PaymentsPluginManager,
    StatusHook,
    make_plugin_manager,
)
from payments_core.ports import (
    Clock,
    Closeable,
    Orders,
    PaymentRepository,
    Pingable,
    VendorGateway,
)
from payments_core.services import ADMIN, CUSTOMER, PaymentService
from payments_core.sweep import SweepReport
from payments_core.values import (
    Caller,
    Checkout,
    CheckoutRequest,
    DueAttempt,
    IdempotencyClaim,
    IdempotencyRecord,
    NotificationOutcome,
    Order,
    Reply,
    Settings,
    StatusChange,
    TradeReport,
    TradeStatus,
)

__all__ = [
    "ADMIN",
    "CUSTOMER",
    "PROJECT",
    "AmountNotSupported",
    "AsyncPaymentService",
    "Attempt",
    "AttemptState",
    "BackgroundDelivery",
    "Caller",
    "Checkout",
    "CheckoutRequest",
    "Clock",
    "Closeable",
    "Command",
    "ConcurrencyConflict",
    "ConflictError",
    "CurrencyMismatch",
    "DemoVendor",
    "DomainError",
    "DueAttempt",
    "DuplicateReference",
    "DuplicateTradeId",
    "FakeMode",
    "FakeVendor",
    "FrozenClock",
    "IdempotencyClaim",
    "IdempotencyKeyReused",
    "IdempotencyRecord",
    "InMemoryOrders",
    "InMemoryPaymentRepository",
    "InvalidTransition",
    "Money",
    "NotAllowed",
    "NotFound",
    "NotificationOutcome",
    "Order",
    "OrderAlreadyPaid",
    "OrderNotFound",
    "OrderNotPayable",
    "Orders",
    "OrdersError",
    "OrdersUnavailable",
    "OutboxRelay",
    "Payment",
    "PaymentExists",
    "PaymentFinal",
    "PaymentHooks",
    "PaymentId",
    "PaymentNotFound",
    "PaymentRepository",
    "PaymentService",
    "PaymentStatus",
    "PaymentView",
    "PaymentsError",
    "PaymentsPluginManager",
    "Pingable",
    "Reply",
    "Setting",
    "Settings",
    "SignatureInvalid",
    "StatusChange",
    "StatusHook",
    "StoreUnavailable",
    "SweepReport",
    "Sweeper",
    "SystemClock",
    "TradeReport",
    "TradeStatus",
    "ValidationFailed",
    "VendorDeclined",
    "VendorError",
    "VendorGateway",
    "VendorNotFound",
    "VendorUnavailable",
    "apply_report",
    "dumps",
    "hookimpl",
    "hookspec",
    "loads",
    "make_converter",
    "make_plugin_manager",
    "payment_document",
    "payment_json",
    "read_payment",
    "running",
    "running_in_background",
]
