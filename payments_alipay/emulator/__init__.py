"""A local Alipay gateway for development and tests (Starlette).

It speaks the gateway protocol for ``alipay.trade.page.pay``/``wap.pay`` (the buyer's
browser opens the signed URL and gets a cashier page with Pay/Cancel), and for
``alipay.trade.query``/``close``/``refund`` and ``alipay.trade.fastpay.refund.query``
(signed JSON answers; a trade is found by ``trade_no`` or ``out_trade_no``). It checks
merchant signatures with each registered app's public key and signs with its own
platform key. After a payment, a close or expiry, and each refund it POSTs the signed
notification to ``notify_url`` and resends on anything but ``success`` on Alipay's
schedule times ``resend_factor``. ``time_expire`` and ``timeout_express`` are honoured.

Routes (relative to wherever the app is mounted)::

    GET      /                                the trades and their refunds, as HTML
    GET|POST /gateway.do                      the gateway
    POST     /pay/{out_trade_no}              the cashier form (action=pay|cancel)
    GET      /control/trades[/{out_trade_no}] trades with their notification history
    POST     /control/trades/{no}/pay         pay as the buyer; JSON {"total_amount", "seller_id"} optional
    POST     /control/fail-next               JSON {"mode", "count"=1, "seconds"=2, "method"=null}
    POST     /control/reset                   forget trades, pending failures and resends
    GET      /control/keys                    the platform public key (PEM and bare base64)

No path is answered by a redirect (``/control/trades/`` is a 404); unknown paths and
methods are JSON errors. Fail modes for the next server calls (query, close, refund,
refund query), answered without processing them: ``timeout`` (no answer for
``seconds``), ``500``, ``html``, ``bad-signature``, ``unsigned``, ``system-error`` (a
signed ``ACQ.SYSTEM_ERROR``); and ``lost-answer``, which processes the call, then
answers 504 after ``seconds``. The
control API has no authentication: never expose the emulator beyond development. Every
count, delay and size it takes, and everything it keeps, is bounded (``limits``).

Its modules: ``state`` (the emulator: trades, merchants, keys, notifications), ``trades``, ``refunds``,
``protocol`` (checking requests, signing answers), ``notifier`` (sending
notifications and resends), ``faults``, ``limits``; the HTTP side in ``app``, ``routes``, ``handlers``
(gateway and cashier), ``control`` (the control API) and ``pages`` (HTML); ``server``
runs it in a thread for tests, ``cli`` alone: ``python -m payments_alipay.emulator``.
"""

from __future__ import annotations

from payments_alipay.emulator.cli import main
from payments_alipay.emulator.faults import FAIL_MODES
from payments_alipay.emulator.notifier import Notifier, OutgoingNotification
from payments_alipay.emulator.protocol import GatewayError, notification_body, signed_answer
from payments_alipay.emulator.server import EmulatorServer, ServerThread
from payments_alipay.emulator.state import (
    DEFAULT_BUYER_ID,
    DEFAULT_SELLER_ID,
    AlipayEmulator,
    create_emulator_app,
)
from payments_alipay.emulator.trades import Trade, TradeError

__all__ = [
    "DEFAULT_BUYER_ID",
    "DEFAULT_SELLER_ID",
    "FAIL_MODES",
    "AlipayEmulator",
    "EmulatorServer",
    "GatewayError",
    "Notifier",
    "OutgoingNotification",
    "ServerThread",
    "Trade",
    "TradeError",
    "create_emulator_app",
    "main",
    "notification_body",
    "signed_answer",
]
