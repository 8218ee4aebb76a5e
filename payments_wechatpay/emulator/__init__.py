"""A local WeChat Pay (API v3, Native payment) for development and tests (Starlette).

It checks each request's ``Authorization`` (``WECHATPAY2-SHA256-RSA2048``) with the
registered merchant's public key and certificate serial, and a timestamp within five
minutes; it signs every answer with its platform key (``Wechatpay-Serial`` is the
``PUB_KEY_ID_…`` id, with ``-Signature``, ``-Timestamp`` and ``-Nonce``). After a payment
or a refund it POSTs a notification to ``notify_url``: a JSON envelope whose resource is
encrypted with the merchant's APIv3 key (AEAD_AES_256_GCM), signed in the same headers
at each send, and resent after 15 s, 15 s, 30 s, 3 min, ... (WeChat Pay's schedule times
``resend_factor``) until the merchant answers 2xx. ``time_expire`` is honoured: an
expired unpaid transaction is ``CLOSED``.

Routes (relative to wherever the app is mounted)::

    POST /v3/pay/transactions/native                      {"code_url": "weixin://wxpay/bizpayurl?pr=..."}
    GET  /v3/pay/transactions/out-trade-no/{no}?mchid=    the transaction (trade_state ...)
    POST /v3/pay/transactions/out-trade-no/{no}/close     204 (an unknown order too)
    POST /v3/refund/domestic/refunds                      the refund (status SUCCESS or PROCESSING)
    GET  /v3/refund/domestic/refunds/{out_refund_no}      the refund
    GET  /                                                every transaction, linked to its scan page
    GET|POST /scan/{pr}                                   the code as a QR code; Pay / Cancel
    GET  /control/transactions[/{no}]                     transactions with their notifications
    POST /control/transactions/{no}/pay                   pay; JSON {"payer_total", "mchid", "appid"} fake what is reported,
                                                          {"notification": "bad-signature"|"unknown-key"|"stale"|
                                                          "undecryptable"|"unsigned"} forges the notification
    GET  /control/refunds[/{out_refund_no}]               refunds with their notifications
    POST /control/refunds/{out_refund_no}/finish          JSON {"status": "SUCCESS"|"CLOSED"|"ABNORMAL"}
    POST /control/refund-mode                             JSON {"status": "SUCCESS"|"PROCESSING"}: new refunds
    POST /control/fail-next                               JSON {"mode", "count"=1, "seconds"=2, "method"=null}
    POST /control/reset                                   forget transactions, refunds, failures, resends
    GET  /control/keys                                    the platform public key (PEM) and its id

API errors are ``{"code", "message"}`` bodies: PARAM_ERROR, INVALID_REQUEST (a refund
over what is left, ...), APPID_MCHID_NOT_MATCH, ORDERPAID, ORDER_CLOSED (400), NOT_ENOUGH,
OUT_TRADE_NO_USED (403), ORDER_NOT_EXIST, RESOURCE_NOT_EXISTS (404), FREQUENCY_LIMITED
(429), SYSTEM_ERROR (500), signed; and, unsigned because the request was not
authenticated, SIGN_ERROR (401: a missing, malformed, stale or wrong ``Authorization``),
a missing ``User-Agent`` or a ``Wechatpay-Serial`` naming another key (400), a body over
64 KiB (413). The signature covers the path below the emulator's mount point, as the
merchant signs the path below ``WECHATPAY_GATEWAY``.
Fail modes for the next API calls (``method``: native, query, close, refund,
refund-query), answered without processing them: ``timeout``, ``500``, ``html``,
``garbage`` (signed, not JSON), ``bad-signature`` and ``unsigned`` (a forged success),
``unknown-key`` (a forged success signed by a key the merchant does not know),
``system-error``, ``not-enough`` and ``frequency-limited`` (signed errors).

No path is answered by a redirect; unknown paths and methods are JSON errors. The
control API has no authentication: never expose the emulator beyond development. Every
count, delay and size it takes, and everything it keeps, is bounded
(``payments_vendorkit.emulation.limits``).

Its modules: ``state`` (the emulator), ``transactions`` (the book), ``fields`` (request
fields), ``errors``, ``protocol`` (signatures and notifications, on
``payments_wechatpay.crypto``); the HTTP side in ``routes``, ``handlers`` (the API),
``scan`` and ``pages`` (HTML), ``control``, ``forgeries`` (notifications on demand); ``server`` runs it in a thread for tests,
``cli`` alone.
"""

from __future__ import annotations

from payments_wechatpay.emulator.errors import WeChatError
from payments_wechatpay.emulator.server import EmulatorServer
from payments_wechatpay.emulator.state import FAIL_MODES, RESEND_GAPS, WeChatPayEmulator
from payments_wechatpay.emulator.transactions import Refund, Transaction

__all__ = [
    "FAIL_MODES",
    "RESEND_GAPS",
    "EmulatorServer",
    "Refund",
    "Transaction",
    "WeChatError",
    "WeChatPayEmulator",
]
