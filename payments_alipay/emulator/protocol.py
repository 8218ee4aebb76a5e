"""The emulator's side of the protocol: checking merchant requests, signing what Alipay signs."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Final
from urllib.parse import parse_qsl, quote_plus, urlencode

from payments_alipay.emulator.refunds import refund_fee
from payments_alipay.emulator.trades import CHINA, TIME_FORMAT, cst
from payments_alipay.signing import (
    NOTIFICATION_EXCLUDED,
    REQUEST_EXCLUDED,
    canonical_string,
    sign_rsa2,
    verify_rsa2,
)

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey, RSAPublicKey

    from payments_alipay.emulator.refunds import RefundRecord
    from payments_alipay.emulator.trades import Trade

PAGE_METHODS: Final = frozenset({"alipay.trade.page.pay", "alipay.trade.wap.pay"})
SERVER_METHODS: Final = frozenset(
    {
        "alipay.trade.query",
        "alipay.trade.close",
        "alipay.trade.refund",
        "alipay.trade.fastpay.refund.query",
    }
)


class GatewayError(Exception):
    """A gateway-level refusal (``40001``/``40002``), before any business logic."""

    def __init__(self, code: str, sub_code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.sub_code = sub_code
        self.message = message


def parse_params(query: list[tuple[str, str]], body: bytes) -> dict[str, str]:
    """Query-string and form-body parameters merged, each decoded once.

    Raises:
        GatewayError: bytes that are not UTF-8, or a parameter given twice.
    """
    pairs = list(query)
    try:
        pairs += parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise GatewayError("40002", "isv.invalid-charset", "the request is not UTF-8") from None
    params: dict[str, str] = {}
    for name, value in pairs:
        if name in params:
            raise GatewayError("40002", "isv.invalid-parameter", f"{name} is given twice")
        params[name] = value
    return params


def check_request(
    params: Mapping[str, str], merchants: Mapping[str, RSAPublicKey]
) -> dict[str, object]:
    """The verified ``biz_content`` of a merchant request, checked the way Alipay checks it.

    Raises:
        GatewayError: a missing or invalid common parameter, or a bad signature.
    """
    for name in ("app_id", "method", "sign", "timestamp", "charset"):
        if not params.get(name):
            raise GatewayError(
                "40001", f"isv.missing-{name.replace('_', '-')}", f"{name} is missing"
            )
    key = merchants.get(params["app_id"])
    if key is None:
        raise GatewayError("40002", "isv.invalid-app-id", "unknown app_id")
    _check_values(params)
    if not verify_rsa2(key, canonical_string(params, REQUEST_EXCLUDED), params["sign"]):
        raise GatewayError("40002", "isv.invalid-signature", "验签出错 (invalid signature)")
    return _biz(params)


def _check_values(params: Mapping[str, str]) -> None:
    """The common parameters hold what Alipay takes (checked in Alipay's order)."""
    if params["method"] not in PAGE_METHODS | SERVER_METHODS:
        raise GatewayError("40002", "isv.invalid-method", "unsupported method")
    if params.get("sign_type") != "RSA2":
        raise GatewayError("40002", "isv.invalid-signature-type", "sign_type must be RSA2")
    if params["charset"].lower() not in ("utf-8", "utf8"):
        raise GatewayError("40002", "isv.invalid-charset", "charset must be utf-8")
    try:
        datetime.strptime(params["timestamp"], TIME_FORMAT)  # noqa: DTZ007 - format check only
    except ValueError:
        raise GatewayError("40002", "isv.invalid-timestamp", "timestamp format") from None


def _biz(params: Mapping[str, str]) -> dict[str, object]:
    try:
        biz = json.loads(params.get("biz_content") or "{}")
    except ValueError:
        biz = None
    if not isinstance(biz, dict):
        raise GatewayError("40002", "isv.invalid-parameter", "biz_content is not a JSON object")
    return biz


def signed_answer(
    method: str | None,
    node: Mapping[str, object],
    key: RSAPrivateKey,
    *,
    sign: bool = True,
    tamper: bool = False,
) -> str:
    """A gateway answer body ``{"<node>":{...},"sign":"..."}`` signed over the node's text."""
    name = method.replace(".", "_") + "_response" if method else "error_response"
    text = json.dumps(node, ensure_ascii=False, separators=(",", ":"))
    if not sign:
        return '{"' + name + '":' + text + "}"
    signature = sign_rsa2(key, text + (" " if tamper else ""))
    return '{"' + name + '":' + text + ',"sign":"' + signature + '"}'


def failure_node(code: str, sub_code: str, message: str, **extra: str) -> dict[str, object]:
    """A failure node with Alipay's usual ``msg`` for the code."""
    msg = {"40001": "Missing Required Arguments", "40002": "Invalid Arguments"}.get(
        code, "Business Failed"
    )
    return {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": message, **extra}


def query_node(trade: Trade) -> dict[str, object]:
    """The success node of ``alipay.trade.query`` for a trade."""
    node: dict[str, object] = {
        "code": "10000",
        "msg": "Success",
        "out_trade_no": trade.out_trade_no,
        "trade_no": trade.trade_no,
        "trade_status": trade.status,
        "total_amount": trade.paid_amount or trade.total_amount,
    }
    if trade.paid_at is not None:
        amount = trade.paid_amount or trade.total_amount
        node |= {
            "buyer_logon_id": "tes***@example.com",
            "buyer_user_id": trade.buyer_id,
            "buyer_pay_amount": amount,
            "receipt_amount": amount,
            "invoice_amount": amount,
            "point_amount": "0.00",
            "send_pay_date": cst(trade.paid_at),
            "fund_bill_list": [{"amount": amount, "fund_channel": "ALIPAYACCOUNT"}],
        }
    return node


def notification_body(
    trade: Trade, key: RSAPrivateKey, now: datetime, refund: RefundRecord | None = None
) -> str:
    """The signed form body Alipay POSTs to notify_url for the trade's current status.

    After a ``refund`` it also names it: ``out_biz_no`` (its out_request_no),
    ``refund_fee`` (the trade's total refunded) and ``gmt_refund``.
    """
    amount = trade.paid_amount or trade.total_amount
    params: dict[str, str | None] = {
        "gmt_create": cst(trade.created_at),
        "charset": "utf-8",
        "gmt_payment": cst(trade.paid_at) if trade.paid_at else None,
        "gmt_close": cst(trade.closed_at) if trade.closed_at else None,
        "notify_time": cst(now),
        "subject": trade.subject,
        "body": trade.body,
        "buyer_id": trade.buyer_id,
        "version": "1.0",
        "notify_id": f"{now:%Y%m%d}{secrets.randbelow(10**26):026d}",
        "notify_type": "trade_status_sync",
        "out_trade_no": trade.out_trade_no,
        "trade_no": trade.trade_no,
        "trade_status": trade.status,
        "total_amount": amount,
        "app_id": trade.app_id,
        "auth_app_id": trade.app_id,
        "seller_id": trade.seller_id,
        "passback_params": trade.passback_params,
    }
    if trade.paid_at is not None:
        params |= _paid_fields(amount)
    if refund is not None:
        params |= {
            "out_biz_no": refund.out_request_no,
            "refund_fee": refund_fee(trade),
            "gmt_refund": refund.at.astimezone(CHINA).strftime(TIME_FORMAT + ".%f")[:-3],
        }
    return _signed_form(params, key)


def _paid_fields(amount: str) -> dict[str, str | None]:
    """What a notification adds once the buyer has paid ``amount``."""
    fund = json.dumps([{"amount": amount, "fundChannel": "ALIPAYACCOUNT"}], separators=(",", ":"))
    return {
        "receipt_amount": amount,
        "invoice_amount": amount,
        "buyer_pay_amount": amount,
        "point_amount": "0.00",
        "fund_bill_list": fund,
    }


def return_query(trade: Trade, key: RSAPrivateKey, now: datetime) -> str:
    """The signed query string Alipay appends to return_url after a payment."""
    params: dict[str, str | None] = {
        "charset": "utf-8",
        "out_trade_no": trade.out_trade_no,
        "method": trade.method + ".return",
        "total_amount": trade.paid_amount or trade.total_amount,
        "trade_no": trade.trade_no,
        "auth_app_id": trade.app_id,
        "version": "1.0",
        "app_id": trade.app_id,
        "seller_id": trade.seller_id,
        "timestamp": cst(now),
    }
    return _signed_form(params, key)


def _signed_form(params: dict[str, str | None], key: RSAPrivateKey) -> str:
    params["sign_type"] = "RSA2"
    params["sign"] = sign_rsa2(key, canonical_string(params, NOTIFICATION_EXCLUDED))
    return urlencode([(k, v) for k, v in params.items() if v], quote_via=quote_plus)
