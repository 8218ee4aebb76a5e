"""Listing payments, their attempts and status changes, and create's choice of vendor."""

from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime, timedelta

import pytest
from attrs import evolve

from payments_core.errors import (
    IdempotencyKeyReused,
    NotAllowed,
    PaymentNotFound,
    ValidationFailed,
    VendorNotSupported,
)
from payments_core.fakevendor import FakeVendor
from payments_core.listing import PaymentQuery, encode_cursor
from payments_core.payment import PaymentStatus
from payments_core.sweep import sweep
from payments_core.values import Caller, ChangeSource
from tests.unit.world import ADMIN, ALICE, BOB, TTL, World

CAROL = Caller(username="carol")  # no role at all: still sees her own payments


def _cursor(document: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(document).encode()).decode().rstrip("=")


def test_pages_are_newest_first_and_the_last_has_no_next() -> None:
    world = World()
    made = [world.create() for _ in range(5)]

    first = world.service.list_payments(ALICE, limit=2)
    second = world.service.list_payments(ALICE, limit=2, cursor=first.next)
    third = world.service.list_payments(ALICE, limit=2, cursor=second.next)

    pages = [first.payments, second.payments, third.payments]
    assert [[p.id for p in page] for page in pages] == [
        [made[4].id, made[3].id],
        [made[2].id, made[1].id],
        [made[0].id],
    ]
    assert first.next is not None
    assert second.next is not None
    assert third.next is None


def test_a_full_last_page_has_no_next() -> None:
    world = World()
    for _ in range(4):
        world.create()

    page = world.service.list_payments(ALICE, limit=4)

    assert len(page.payments) == 4
    assert page.next is None


def test_payments_created_while_paging_are_neither_shown_nor_shift_a_page() -> None:
    world = World()
    before = [world.create() for _ in range(6)]
    seen = []
    page = world.service.list_payments(ALICE, limit=4)
    while True:
        seen += [p.id for p in page.payments]
        world.create()
        if page.next is None:
            break
        page = world.service.list_payments(ALICE, limit=4, cursor=page.next)

    assert seen == [p.id for p in reversed(before)]


def test_the_default_page_holds_twenty() -> None:
    world = World()
    for _ in range(21):
        world.create()

    page = world.service.list_payments(ALICE)

    assert len(page.payments) == 20
    assert page.next is not None


def test_a_customer_sees_only_their_own_whatever_payer_says() -> None:
    world = World()
    mine = world.create(ALICE)
    world.create(BOB)

    for payer in (None, "bob", "alice"):
        page = world.service.list_payments(ALICE, payer=payer)
        assert [p.id for p in page.payments] == [mine.id]


def test_a_payer_filter_a_customer_sends_is_ignored_not_checked() -> None:
    world = World()
    mine = world.create(ALICE)

    page = world.service.list_payments(ALICE, payer="\x00" * 300)

    assert [p.id for p in page.payments] == [mine.id]


def test_a_caller_without_roles_sees_their_own_and_nothing_else() -> None:
    world = World()
    world.create(ALICE)

    assert world.service.list_payments(CAROL, payer="alice").payments == []


def test_an_admin_sees_everyone_and_filters_by_payer() -> None:
    world = World()
    a, b = world.create(ALICE), world.create(BOB)

    everyone = world.service.list_payments(ADMIN)
    bobs = world.service.list_payments(ADMIN, payer="bob")

    assert [p.id for p in everyone.payments] == [b.id, a.id]
    assert [p.id for p in bobs.payments] == [b.id]


def test_filters_by_status_order_and_creation_time() -> None:
    world = World()
    first = world.create()
    world.clock.advance(timedelta(minutes=1))
    paid = world.create()
    world.notify(world.pay(paid))
    world.clock.advance(timedelta(minutes=1))
    last = world.create()
    service = world.service

    def ids(
        *,
        status: PaymentStatus | None = None,
        order_id: str | None = None,
        created_from: datetime | None = None,
        created_to: datetime | None = None,
    ) -> list[int | None]:
        page = service.list_payments(
            ALICE,
            status=status,
            order_id=order_id,
            created_from=created_from,
            created_to=created_to,
        )
        return [p.id for p in page.payments]

    assert ids(status=PaymentStatus.CONFIRMED) == [paid.id]
    assert ids(status=PaymentStatus.PENDING) == [last.id, first.id]
    assert ids(order_id=first.order_id) == [first.id]
    assert ids(created_from=paid.created_at) == [last.id, paid.id]
    assert ids(created_to=paid.created_at) == [first.id]
    assert ids(created_from=paid.created_at, created_to=last.created_at) == [paid.id]


@pytest.mark.parametrize("limit", [0, -1, 101, True])
def test_a_limit_outside_one_to_a_hundred_is_refused(limit: int) -> None:
    with pytest.raises(ValidationFailed) as caught:
        World().service.list_payments(ALICE, limit=limit)

    assert caught.value.field == "limit"


def test_a_hundred_is_the_largest_page() -> None:
    world = World()
    world.create()

    assert len(world.service.list_payments(ALICE, limit=100).payments) == 1


def test_a_time_without_offset_is_refused() -> None:
    with pytest.raises(ValidationFailed) as caught:
        World().service.list_payments(ALICE, created_to=datetime(2024, 1, 1))  # noqa: DTZ001

    assert caught.value.field == "createdTo"


@pytest.mark.parametrize("value", ["", "a\x00b", "x" * 257, "tab\there", "\ud800"])
def test_a_text_filter_no_stored_text_could_match_is_refused(value: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        World().service.list_payments(ADMIN, payer=value)

    assert caught.value.field == "payer"


@pytest.mark.parametrize(
    "cursor",
    [
        "not base64 !",
        "%%%%",
        _cursor([1, 2]),
        _cursor({"v": 1, "id": 5}),
        _cursor({"v": 1, "id": 0, "f": "x"}),
        _cursor({"v": 1, "id": True, "f": "x"}),
        _cursor({"v": 1, "id": "5", "f": "x"}),
        _cursor({"v": 2, "id": 5, "f": "x"}),
        _cursor({"v": 1, "id": 5, "f": "x", "payer": "bob"}),
        "A" * 201,
        "é",
    ],
)
def test_a_cursor_we_did_not_hand_out_is_refused(cursor: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        World().service.list_payments(ALICE, cursor=cursor)

    assert caught.value.field == "cursor"


def test_a_cursor_is_refused_under_other_filters() -> None:
    world = World()
    for _ in range(3):
        world.create()
    page = world.service.list_payments(ALICE, limit=1)
    assert page.next is not None

    with pytest.raises(ValidationFailed) as caught:
        world.service.list_payments(ALICE, limit=1, cursor=page.next, status=PaymentStatus.PENDING)

    assert caught.value.field == "cursor"


def test_a_forged_cursor_cannot_lift_the_owner_filter() -> None:
    world = World()
    bobs = [world.create(BOB) for _ in range(3)]
    mine = world.create(ALICE)
    # Alice forges cursors as an admin's would look: every payer, or bob's, below a high id.
    forged = [
        encode_cursor(PaymentQuery(limit=1), 10_000),
        encode_cursor(PaymentQuery(limit=1, payer="bob"), 10_000),
    ]

    for cursor in forged:
        with pytest.raises(ValidationFailed):
            world.service.list_payments(ALICE, cursor=cursor)
    own = encode_cursor(PaymentQuery(limit=1, payer="alice"), 10_000)
    seen = world.service.list_payments(ALICE, cursor=own, payer="bob").payments
    assert [p.id for p in seen] == [mine.id]
    assert all(p.id not in {b.id for b in bobs} for p in seen)


def test_status_changes_name_what_made_each() -> None:
    world = World()
    payment = world.create()
    world.clock.advance(TTL + timedelta(seconds=1))
    sweep(world.service)
    world.service.retry(ALICE, payment.id or 0)
    world.pay(payment)
    world.service.verify(ALICE, payment.id or 0)
    other = world.create()
    world.notify(world.pay(other))

    mine = world.service.status_changes(ALICE, payment.id or 0)
    theirs = world.service.status_changes(ADMIN, other.id or 0)

    assert [(c.previous, c.current, c.source) for c in mine] == [
        (None, PaymentStatus.PENDING, ChangeSource.CREATE),
        (PaymentStatus.PENDING, PaymentStatus.TIMEOUT, ChangeSource.SWEEP),
        (PaymentStatus.TIMEOUT, PaymentStatus.PENDING, ChangeSource.RETRY),
        (PaymentStatus.PENDING, PaymentStatus.CONFIRMED, ChangeSource.VERIFY),
    ]
    assert [c.source for c in theirs] == [ChangeSource.CREATE, ChangeSource.NOTIFICATION]


def test_another_users_status_changes_are_not_found() -> None:
    world = World()
    payment = world.create(ALICE)

    with pytest.raises(PaymentNotFound):
        world.service.status_changes(BOB, payment.id or 0)
    with pytest.raises(PaymentNotFound):
        world.service.status_changes(ADMIN, 987654)


def test_attempts_are_for_admins_only_and_oldest_first() -> None:
    world = World()
    payment = world.create()
    retried = world.service.retry(ALICE, payment.id or 0)

    attempts = world.service.attempts(ADMIN, payment.id or 0)

    assert [a.reference for a in attempts] == [a.reference for a in retried.attempts]
    assert len(attempts) == 2
    with pytest.raises(NotAllowed):
        world.service.attempts(ALICE, payment.id or 0)
    with pytest.raises(NotAllowed):  # before the lookup: nothing is learnt about the id
        world.service.attempts(ALICE, 987654)
    with pytest.raises(PaymentNotFound):
        world.service.attempts(ADMIN, 987654)


def _two_vendors(world: World) -> World:
    second = FakeVendor("second", clock=world.clock)
    world.service = evolve(world.service, vendors={"fake": world.vendor, "second": second})
    return world


def test_create_goes_through_the_named_vendor_or_the_default() -> None:
    world = _two_vendors(World())

    named = world.service.create(ALICE, order_id=world.order(), subject="Tea", vendor="second")
    default = world.service.create(ALICE, order_id=world.order(), subject="Tea")

    assert named.vendor == "second"
    assert default.vendor == "fake"


def test_a_vendor_that_is_not_configured_is_refused_before_the_order_is_read() -> None:
    world = World()

    with pytest.raises(VendorNotSupported) as caught:
        world.service.create(ALICE, order_id="no-such-order", subject="Tea", vendor="nope")

    assert caught.value.code == "vendor_not_supported"
    assert world.repo.page(PaymentQuery(limit=5)) == []


def test_the_vendor_is_part_of_what_an_idempotency_key_stands_for() -> None:
    world = _two_vendors(World())
    order = world.order()
    first = world.service.create(
        ALICE, order_id=order, subject="Tea", idempotency_key="k1", vendor="second"
    )

    again = world.service.create(
        ALICE, order_id=order, subject="Tea", idempotency_key="k1", vendor="second"
    )
    with pytest.raises(IdempotencyKeyReused):
        world.service.create(ALICE, order_id=order, subject="Tea", idempotency_key="k1")
    with pytest.raises(IdempotencyKeyReused):
        world.service.create(
            ALICE, order_id=order, subject="Tea", idempotency_key="k1", vendor="fake"
        )

    assert again == first


def test_a_key_used_without_a_vendor_keeps_the_fingerprint_stored_before_vendors() -> None:
    world = World()
    order = world.order()
    first = world.service.create(ALICE, order_id=order, subject="Tea", idempotency_key="k2")
    record = world.repo.find_idempotent("alice", "k2")

    before = hashlib.sha256(json.dumps([order, "Tea", None]).encode()).hexdigest()
    assert record is not None
    assert record.fingerprint == before
    assert world.service.create(ALICE, order_id=order, subject="Tea", idempotency_key="k2") == first
