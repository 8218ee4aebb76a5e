"""Shared pieces of the emulator tests: a shop that receives notifications, and a buyer."""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urljoin

import requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from payments_alipay.emulator import AlipayEmulator
from payments_alipay.settings import NOTIFY_PATH
from payments_core.inmemory import FrozenClock


def frozen_now() -> FrozenClock:
    """A frozen clock at the real current second (the emulator honours time_expire)."""
    return FrozenClock(datetime.now(UTC).replace(microsecond=0))


class Shop:
    """The merchant's notify endpoint: keeps every body and answers from a script."""

    def __init__(self) -> None:
        self.bodies: dict[str, list[bytes]] = defaultdict(list)
        self.replies: dict[str, list[str]] = {}
        self._arrived = threading.Condition()
        self.app = Starlette(routes=[Route(NOTIFY_PATH, self._notify, methods=["POST"])])

    async def _notify(self, request: Request) -> Response:
        body = await request.body()
        reference = dict(parse_qsl(body.decode("ascii"))).get("out_trade_no", "")
        with self._arrived:
            self.bodies[reference].append(body)
            script = self.replies.get(reference, [])
            reply = script.pop(0) if script else "success"
            self._arrived.notify_all()
        return PlainTextResponse(reply)

    def wait_for(self, reference: str, count: int = 1, timeout: float = 10.0) -> list[bytes]:
        """The first ``count`` bodies for ``reference``, waiting for them to arrive."""
        deadline = time.monotonic() + timeout
        with self._arrived:
            while len(self.bodies[reference]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{count} notifications for {reference} did not arrive")
                self._arrived.wait(left)
            return list(self.bodies[reference][:count])


class BrowserBuyer:
    """The buyer: opens the order string like a browser and clicks Pay on the cashier page."""

    def __init__(self, emulator: AlipayEmulator, shop: Shop, session: requests.Session) -> None:
        self.emulator = emulator
        self.shop = shop
        self.session = session
        self.order_strings: dict[str, str] = {}

    def open(self, order_string: str) -> requests.Response:
        page = self.session.get(order_string, timeout=5)
        reference = json.loads(dict(parse_qsl(order_string.split("?", 1)[1]))["biz_content"])[
            "out_trade_no"
        ]
        self.order_strings[reference] = page.url
        return page

    def click(self, reference: str, button: str) -> requests.Response:
        action = urljoin(self.order_strings[reference], f"pay/{reference}")
        return self.session.post(action, data={"action": button}, timeout=5, allow_redirects=False)
