"""The contract of the ``Orders`` port: a team's own orders adapter proves itself here."""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal
from typing import TypeAlias

from payments_core.errors import OrderNotFound
from payments_core.ports import Orders
from payments_core.testing._support import raises, unique
from payments_core.values import Caller, Order

Place: TypeAlias = Callable[[Order], None]
"""Puts an order (new, or a new state of one) where the adapter under test reads it."""

ALICE = Caller(username="alice", roles={"CUSTOMER"}, credentials="Bearer contract-alice")
BOB = Caller(username="bob", roles={"CUSTOMER"}, credentials="Bearer contract-bob")
AMOUNTS = ("0.01", "0.10", "1", "1000.12", "99999999.99")
# Ids a shop may well use, and that a URL, a SQL LIKE or a collation could mangle.
AWKWARD_IDS = ("a/b", "茶 1", "x?y#z&w", "%2e%2e", "100%", "o_1", "O'Brien", " pad ")


def _order(
    order_id: str | None = None,
    *,
    buyer: str = "alice",
    total: Decimal = Decimal("1000.12"),
    status: str = "CREATED",
    currency: str = "CNY",
) -> Order:
    return Order(
        id=order_id or unique("order-"), buyer=buyer, total=total, status=status, currency=currency
    )


class OrdersContract:
    """What every ``Orders`` does. Fixtures: ``orders`` (the adapter) and ``place`` (a ``Place``)."""

    def test_get_returns_the_placed_order_field_for_field(
        self, orders: Orders, place: Place
    ) -> None:
        placed = _order(buyer="alice", total=Decimal("1000.12"), status="CREATED", currency="USD")
        place(placed)

        assert orders.get(placed.id, caller=ALICE) == placed

    def test_an_order_nobody_placed_is_order_not_found(self, orders: Orders, place: Place) -> None:
        place(_order())

        with raises(OrderNotFound):
            orders.get(unique("missing-"), caller=ALICE)

    def test_amounts_come_back_exact(self, orders: Orders, place: Place) -> None:
        for amount in AMOUNTS:
            placed = _order(total=Decimal(amount))
            place(placed)

            got = orders.get(placed.id, caller=ALICE).total

            assert isinstance(got, Decimal)
            assert got == Decimal(amount)

    def test_the_answer_is_the_order_asked_for_never_a_near_one(
        self, orders: Orders, place: Place
    ) -> None:
        base = unique("Order-")
        place(_order(base))

        for near in (base.lower(), base.upper(), base + " ", base[:-1], base + "%"):
            try:
                got = orders.get(near, caller=ALICE)
            except OrderNotFound:
                continue
            assert got.id == near  # never another order's id

    def test_ids_with_awkward_characters_name_their_own_order(
        self, orders: Orders, place: Place
    ) -> None:
        prefix = unique("")
        for order_id in AWKWARD_IDS:
            placed = _order(prefix + order_id, total=Decimal(len(order_id)))
            place(placed)

            assert orders.get(placed.id, caller=ALICE) == placed

    def test_a_new_state_of_an_order_is_seen_on_the_next_get(
        self, orders: Orders, place: Place
    ) -> None:
        created = _order(status="CREATED")
        place(created)
        assert orders.get(created.id, caller=ALICE).payable

        place(_order(created.id, status="PAID"))

        got = orders.get(created.id, caller=ALICE)
        assert got.status == "PAID"
        assert not got.payable

    def test_the_order_is_answered_whoever_asks_the_use_case_checks_the_buyer(
        self, orders: Orders, place: Place
    ) -> None:
        placed = _order(buyer="alice")
        place(placed)

        try:
            got = orders.get(placed.id, caller=BOB)
        except OrderNotFound:  # a remote service may hide others' orders: as good
            return
        assert got.buyer == "alice"  # never rewritten to the one who asks
