"""The shop's own orders: its SQLite table, the ``Orders`` adapter over it, and the hook that
marks an order PAID once its payment is confirmed.
"""

from __future__ import annotations

import sqlite3
import threading
from decimal import Decimal
from pathlib import Path

from payments_core import Caller, Order, OrderNotFound, Payment, PaymentStatus, hookimpl

HOOK_NAME = "fastapi-shop-orders"  # stable: the name the hook is registered (and known) under
SCHEMA = """
CREATE TABLE IF NOT EXISTS shop_orders (
    id TEXT PRIMARY KEY,
    buyer TEXT NOT NULL,
    total TEXT NOT NULL,
    status TEXT NOT NULL,
    currency TEXT NOT NULL
)
"""


class OrderTable:
    """The shop's ``shop_orders`` table; amounts are stored as decimal text, never floats."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._lock = threading.Lock()
        with self._connect() as db:
            db.execute(SCHEMA)

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self._path, timeout=10, isolation_level=None)

    def put(self, order: Order) -> None:
        """Add an order, or store a new state of it."""
        with self._lock, self._connect() as db:
            db.execute(
                "INSERT OR REPLACE INTO shop_orders (id, buyer, total, status, currency)"
                " VALUES (?, ?, ?, ?, ?)",
                (order.id, order.buyer, str(order.total), order.status, order.currency),
            )

    def find(self, order_id: str) -> Order | None:
        """The order, or None."""
        with self._connect() as db:
            row = db.execute(
                "SELECT id, buyer, total, status, currency FROM shop_orders WHERE id = ?",
                (order_id,),
            ).fetchone()
        if row is None:
            return None
        return Order(id=row[0], buyer=row[1], total=Decimal(row[2]), status=row[3], currency=row[4])

    def mark_paid(self, order_id: str) -> None:
        """CREATED becomes PAID; any other state stays (a repeated call changes nothing)."""
        with self._lock, self._connect() as db:
            db.execute(
                "UPDATE shop_orders SET status = 'PAID' WHERE id = ? AND status = 'CREATED'",
                (order_id,),
            )


class ShopOrders:
    """The ``Orders`` port over the shop's table (payments asks it before taking a payment)."""

    def __init__(self, table: OrderTable) -> None:
        self._table = table

    def get(self, order_id: str, *, caller: Caller) -> Order:
        """The order, whoever asks: payments checks that the caller is its buyer."""
        del caller
        order = self._table.find(order_id)
        if order is None:
            raise OrderNotFound(order_id)
        return order


class MarkOrdersPaid:
    """The ``payments_status_changed`` hook: a confirmed payment's order becomes PAID.

    Idempotent, as the hook must be: a change can be delivered again after a crash.
    """

    def __init__(self, table: OrderTable) -> None:
        self._table = table

    @hookimpl
    def payments_status_changed(
        self, payment: Payment, previous: PaymentStatus | None, current: PaymentStatus
    ) -> None:
        del previous
        if current is PaymentStatus.CONFIRMED:
            self._table.mark_paid(payment.order_id)
