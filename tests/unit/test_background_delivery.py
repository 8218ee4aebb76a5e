"""BackgroundDelivery runs deliveries off the request path and survives failures."""

from __future__ import annotations

import threading

from payments_core.delivery import BackgroundDelivery
from payments_core.errors import StoreUnavailable


def test_a_wake_runs_a_delivery_soon() -> None:
    ran = threading.Event()

    def deliver() -> int:
        ran.set()
        return 0

    delivery = BackgroundDelivery(deliver, interval=60).start()

    delivery.wake()

    assert ran.wait(5)
    delivery.stop()


def test_a_failing_delivery_is_retried_on_the_next_round() -> None:
    calls: list[int] = []
    done = threading.Event()

    def deliver() -> int:
        calls.append(1)
        if len(calls) == 1:
            raise StoreUnavailable()
        done.set()
        return 1

    delivery = BackgroundDelivery(deliver, interval=0.01).start()

    assert done.wait(5)
    assert len(calls) >= 2
    delivery.stop()


def test_stop_delivers_once_more_and_ends_the_thread() -> None:
    calls: list[int] = []

    def deliver() -> int:
        calls.append(1)
        return 0

    delivery = BackgroundDelivery(deliver, interval=60).start()

    delivery.stop()

    assert calls == [1]
