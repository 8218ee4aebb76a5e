"""Our real server for bench/http.py: ``create_app_from_settings`` with a bench order book.

Served by ``python -m bench._served PORT WORKERS``: uvicorn with uvloop and the options
``payments serve`` gives it (``uvicorn_options``: httptools with a bounded request head,
no server header); every setting comes from the environment as ``payments serve`` reads
it. The only substitution is the orders port: an order book that knows every ``bench-*``
order (10.00 CNY, payable, owned by whoever asks), so a create costs no network call to
an orders service. The lower bound does no orders lookup either. Like the in-memory order
book it answers from memory, so creates run on the event loop as they do with that book
(``offload_create=False``); an adapter that waits on I/O is sent to the thread pool.
"""

from __future__ import annotations

import os
import sys
from decimal import Decimal
from typing import TYPE_CHECKING

from payments_core.errors import OrderNotFound
from payments_core.values import Caller, Order
from payments_http.compose import create_app_from_settings
from payments_http.settings import effective

if TYPE_CHECKING:
    from starlette.applications import Starlette


class BenchOrders:
    """Every order whose id starts with ``bench-`` exists, costs 10.00 and is the caller's."""

    def get(self, order_id: str, *, caller: Caller) -> Order:
        """The order. Raises: OrderNotFound for any other id."""
        if not order_id.startswith("bench-"):
            raise OrderNotFound(order_id)
        return Order(id=order_id, buyer=caller.username, total=Decimal("10.00"), status="CREATED")


def create_app() -> Starlette:
    """The server ``payments serve`` would build, with the bench order book."""
    return create_app_from_settings(
        effective(dict(os.environ), {}), orders=BenchOrders(), offload_create=False
    )


def main(argv: list[str]) -> None:
    """Serve ``create_app`` on 127.0.0.1: ``python -m bench._served PORT WORKERS``."""
    import uvicorn

    from payments_http.serve import shared_metrics, uvicorn_options
    from payments_http.settings import switch

    port, workers = (int(arg) for arg in argv)
    metrics = workers > 1 and switch(effective(dict(os.environ), {}), "PAYMENTS_METRICS")
    with shared_metrics(on=metrics):  # as `payments serve --workers N` runs them
        uvicorn.run(
            "bench._served:create_app",
            factory=True,
            host="127.0.0.1",
            port=port,
            workers=workers,
            loop="uvloop",
            log_level="warning",
            **uvicorn_options(),
        )


if __name__ == "__main__":
    main(sys.argv[1:])
