"""A stand-in WeChat Pay behind ``responses``: Native orders, query and close, with the
merchant's signature checked on every call and every answer signed. It keeps what the
emulator will keep, in memory, so that the vendor contract runs before the emulator exists."""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Mapping
from typing import Final

import responses
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from requests import PreparedRequest

from payments_wechatpay import crypto
from tests.wechatpay.conftest import APPID, BASE, MCHID, Platform, answer_json

TRADE: Final = re.compile(
    re.escape(BASE) + r"/v3/pay/transactions/out-trade-no/([^/?]+)(/close)?(\?.*)?$"
)
Answer = tuple[int, dict[str, str], bytes]


class FakeWeChatPay:
    """Orders by out_trade_no; ``pay`` plays the buyer scanning and paying a code_url."""

    def __init__(self, platform: Platform, merchant_public: RSAPublicKey) -> None:
        self.platform = platform
        self.merchant_public = merchant_public
        self.orders: dict[str, dict[str, object]] = {}

    def install(self, rsps: responses.RequestsMock) -> None:
        rsps.add_callback("POST", f"{BASE}/v3/pay/transactions/native", self._native)
        rsps.add_callback("GET", TRADE, self._query)
        rsps.add_callback("POST", TRADE, self._close)

    def pay(self, reference: str) -> None:
        order = self.orders.get(reference)
        if order is None or order["trade_state"] != "NOTPAY":
            raise RuntimeError(f"WeChat Pay refuses to pay {reference}")
        order.update(trade_state="SUCCESS", transaction_id="42" + secrets.token_hex(13)[:26])

    def notification(self, reference: str) -> tuple[bytes, Mapping[str, str]]:
        return self.platform.notification(self.orders[reference])

    def _signed(self, status: int, value: object = None) -> Answer:
        body = b"" if value is None else answer_json(value)
        return status, self.platform.headers(body), body

    def _authorized(self, request: PreparedRequest) -> bool:
        body = request.body or b""
        raw = body if isinstance(body, bytes) else body.encode()
        auth = crypto.parse_authorization(request.headers["Authorization"])
        path = request.path_url
        return auth.mchid == MCHID and crypto.verify_request(
            self.merchant_public, auth, request.method or "", path, raw
        )

    def _native(self, request: PreparedRequest) -> Answer:
        if not self._authorized(request):
            return 401, {}, answer_json({"code": "SIGN_ERROR", "message": "签名错误"})
        order = json.loads(request.body or b"")
        reference = order["out_trade_no"]
        if order["appid"] != APPID or reference in self.orders:
            return self._signed(400, {"code": "OUT_TRADE_NO_USED", "message": "商户订单号重复"})
        self.orders[reference] = {
            "appid": APPID,
            "mchid": MCHID,
            "out_trade_no": reference,
            "trade_type": "NATIVE",
            "trade_state": "NOTPAY",
            "amount": {"total": order["amount"]["total"], "currency": "CNY"},
        }
        return self._signed(200, {"code_url": f"weixin://wxpay/bizpayurl?pr={reference}"})

    def _query(self, request: PreparedRequest) -> Answer:
        if not self._authorized(request):
            return 401, {}, answer_json({"code": "SIGN_ERROR", "message": "签名错误"})
        match = TRADE.match(request.url or "")
        order = self.orders.get(match[1]) if match else None
        if order is None:
            return self._signed(404, {"code": "ORDER_NOT_EXIST", "message": "订单不存在"})
        return self._signed(200, order)

    def _close(self, request: PreparedRequest) -> Answer:
        if not self._authorized(request):
            return 401, {}, answer_json({"code": "SIGN_ERROR", "message": "签名错误"})
        match = TRADE.match(request.url or "")
        order = self.orders.get(match[1]) if match else None
        if order is not None and order["trade_state"] == "SUCCESS":
            return self._signed(400, {"code": "ORDERPAID", "message": "订单已支付"})
        if order is not None:
            order["trade_state"] = "CLOSED"
        return self._signed(204)  # WeChat Pay answers 204 for an order it does not know, too
