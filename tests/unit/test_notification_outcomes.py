"""The core answers a notification with an outcome; the vendor words it, HTTP picks the status."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

import pytest

from payments_core.fakevendor import FakeVendor
from payments_core.money import Money
from payments_core.values import CheckoutRequest, NotificationOutcome, Reply, TradeReport
from payments_http.routes import notification_status
from tests.unit.world import FORM, World

APPLIED, RETRY, REFUSED = NotificationOutcome


class SilentVendor(FakeVendor):
    """A vendor whose genuine notifications may report nothing to act on."""

    def parse_notification(self, body: bytes, headers: Mapping[str, str]) -> TradeReport | None:  # type: ignore[override]  # the fake always reports; this one may not
        super().parse_notification(body, headers)  # still verified
        return None


def test_a_genuine_notification_is_applied(world: World) -> None:
    payment = world.create()

    outcome = world.service.handle_notification("fake", world.pay(payment), FORM)

    assert outcome is APPLIED


def test_a_forged_notification_is_refused(world: World) -> None:
    payment = world.create()
    world.pay(payment)
    forged = world.vendor.notification(world.reference(payment), forged=True)

    outcome = world.service.handle_notification("fake", forged, FORM)

    assert outcome is REFUSED
    assert world.stored(payment) == payment


def test_a_notification_that_cannot_be_applied_now_is_to_be_resent(world: World) -> None:
    now = world.clock.now()
    request = CheckoutRequest(
        reference="NOT_OURS",
        amount=Money.parse("1.00"),
        subject="x",
        description=None,
        expires_at=now + timedelta(minutes=5),
    )
    world.vendor.open_checkout(request)

    outcome = world.service.handle_notification("fake", world.vendor.pay("NOT_OURS"), FORM)

    assert outcome is RETRY


def test_a_genuine_notification_reporting_nothing_is_applied_and_changes_nothing() -> None:
    world = World(vendor_class=SilentVendor)
    payment = world.create()

    outcome = world.service.handle_notification("fake", world.pay(payment), FORM)

    assert outcome is APPLIED
    assert world.stored(payment) == payment


@pytest.mark.parametrize(("outcome", "status"), [(APPLIED, 200), (RETRY, 200), (REFUSED, 400)])
def test_http_maps_each_outcome_to_todays_status(outcome: NotificationOutcome, status: int) -> None:
    assert notification_status(outcome, Reply(body="x")) == status


@pytest.mark.parametrize("outcome", list(NotificationOutcome))
def test_a_status_the_vendors_reply_names_wins(outcome: NotificationOutcome) -> None:
    assert notification_status(outcome, Reply(status=204)) == 204


def test_the_fake_vendor_words_only_applied_as_success() -> None:
    vendor = FakeVendor()

    replies = [vendor.reply(outcome) for outcome in (APPLIED, RETRY, REFUSED)]

    assert [r.body for r in replies] == ["success", "failure", "failure"]
    assert {r.media_type for r in replies} == {"text/plain"}
    assert {r.status for r in replies} == {None}
