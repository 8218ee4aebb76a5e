"""What the merchant's server reaches: the API v3 calls, each answered signed by the platform key.

These handlers only read requests and render answers; the emulator does the rest.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.responses import JSONResponse, Response

from payments_vendorkit.emulation import limits
from payments_vendorkit.emulation.web import plain_fault
from payments_wechatpay.emulator import fields
from payments_wechatpay.emulator.errors import WeChatError
from payments_wechatpay.emulator.protocol import Platform, authenticate, encode

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

    from starlette.requests import Request

    from payments_wechatpay.emulator.protocol import Merchant
    from payments_wechatpay.emulator.state import WeChatPayEmulator

    Call = Callable[[Merchant, Request, bytes], Awaitable[tuple[int, dict[str, object] | None]]]


def request_target(request: Request) -> str:
    """The path (below the emulator's mount point) and query exactly as sent: what the merchant signed.

    A merchant signs the path below the API's root (``/v3/...``) and sends it to
    ``WECHATPAY_GATEWAY`` + that path, so an emulator mounted under ``/wechatpay`` checks
    the signature over the path without its mount point, as WeChat Pay at its own root would.
    """
    raw: bytes = request.scope.get("raw_path") or request.scope["path"].encode("utf-8")
    mount: bytes = request.scope.get("root_path", "").encode("utf-8")
    if mount and raw.startswith(mount):
        raw = raw[len(mount) :]
    query: bytes = request.scope.get("query_string", b"")
    target = raw + (b"?" + query if query else b"")
    return target.decode("latin-1")


def signed(platform: Platform, status: int, node: Mapping[str, object] | None) -> Response:
    """An answer signed with the platform key (no body for 204)."""
    body = b"" if node is None else encode(node)
    headers = platform.headers(body) | {"Request-ID": uuid.uuid4().hex}
    media = None if node is None else "application/json"
    return Response(body, status, headers=headers, media_type=media)


def _error(platform: Platform, exc: WeChatError) -> Response:
    return signed(platform, exc.status, exc.body())


class ApiHandlers:
    """The ``/v3/...`` calls of one emulator."""

    def __init__(self, emulator: WeChatPayEmulator) -> None:
        self.emulator = emulator

    async def _serve(self, request: Request, method: str, call: Call) -> Response:
        platform = self.emulator.platform
        try:
            body = await limits.read_bounded_body(request)
        except limits.TooLarge as exc:
            return JSONResponse(WeChatError("PARAM_ERROR", str(exc)).body(), 413)
        failure = self.emulator.failures.take(method)
        if failure is not None:
            return await self._fault(request, method, *failure)
        try:
            merchant = self._authenticate(request, body)
        except WeChatError as exc:  # WeChat Pay signs only answers to requests it authenticated
            return JSONResponse(exc.body(), exc.status)
        try:
            status, node = await call(merchant, request, body)
        except WeChatError as exc:
            return _error(platform, exc)
        return signed(platform, status, node)

    def _authenticate(self, request: Request, body: bytes) -> Merchant:
        if not request.headers.get("user-agent"):
            raise WeChatError("PARAM_ERROR", "the User-Agent header is missing")
        serial = request.headers.get("wechatpay-serial")
        if serial is not None and serial != self.emulator.platform.key_id:
            raise WeChatError("INVALID_REQUEST", "Wechatpay-Serial names no key of this platform")
        return authenticate(
            self.emulator.merchants(),
            request.headers.get("authorization"),
            request.method,
            request_target(request),
            body,
        )

    async def native(self, request: Request) -> Response:
        """``POST /v3/pay/transactions/native``: the code_url of a new (or the same) order."""

        async def call(
            merchant: Merchant, req: Request, body: bytes
        ) -> tuple[int, dict[str, object]]:
            trade = self.emulator.native(merchant, fields.json_object(body))
            return 200, {"code_url": trade.code_url}

        return await self._serve(request, "native", call)

    async def query(self, request: Request) -> Response:
        """``GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=``."""

        async def call(
            merchant: Merchant, req: Request, body: bytes
        ) -> tuple[int, dict[str, object]]:
            number = req.path_params["out_trade_no"]
            return 200, self.emulator.query(merchant, number, req.query_params.get("mchid"))

        return await self._serve(request, "query", call)

    async def close(self, request: Request) -> Response:
        """``POST /v3/pay/transactions/out-trade-no/{out_trade_no}/close``: 204."""

        async def call(merchant: Merchant, req: Request, body: bytes) -> tuple[int, None]:
            number = req.path_params["out_trade_no"]
            self.emulator.close(merchant, number, fields.json_object(body))
            return 204, None

        return await self._serve(request, "close", call)

    async def refund(self, request: Request) -> Response:
        """``POST /v3/refund/domestic/refunds``."""

        async def call(
            merchant: Merchant, req: Request, body: bytes
        ) -> tuple[int, dict[str, object]]:
            return 200, self.emulator.refund(merchant, fields.json_object(body))

        return await self._serve(request, "refund", call)

    async def refund_query(self, request: Request) -> Response:
        """``GET /v3/refund/domestic/refunds/{out_refund_no}``."""

        async def call(
            merchant: Merchant, req: Request, body: bytes
        ) -> tuple[int, dict[str, object]]:
            return 200, self.emulator.refund_query(merchant, req.path_params["out_refund_no"])

        return await self._serve(request, "refund-query", call)

    async def _fault(self, request: Request, method: str, mode: str, seconds: float) -> Response:
        """The answer of a call that fails in ``mode``, without processing it."""
        plain = await plain_fault(mode, seconds)
        if plain is not None:
            return plain
        platform = self.emulator.platform
        if mode in _SIGNED_ERRORS:
            code, message = _SIGNED_ERRORS[mode]
            return _error(platform, WeChatError(code, message))
        if mode == "garbage":
            body = b"\x00{not json"
            return Response(
                body, 200, headers=platform.headers(body), media_type="application/json"
            )
        status, node = _forged_success(method, request)
        if mode == "unknown-key":  # well signed, by a key the merchant was never given
            # made once, off the event loop: an RSA key takes a while
            return signed(await run_in_threadpool(self.emulator.stranger), status, node)
        body = b"" if node is None else encode(node)
        # "bad-signature": a genuine signature, of another body
        headers = {} if mode == "unsigned" else platform.headers(body + b" ")
        return Response(body, status, headers=headers, media_type="application/json")


_SIGNED_ERRORS = {
    "system-error": ("SYSTEM_ERROR", "系统错误 (system error)"),
    "not-enough": ("NOT_ENOUGH", "基本账户余额不足 (the merchant's balance is too low)"),
    "frequency-limited": ("FREQUENCY_LIMITED", "频率超限 (too many requests)"),
}


def _forged_success(method: str, request: Request) -> tuple[int, dict[str, object] | None]:
    """What a forger would like the merchant to believe: success, and paid."""
    number = request.path_params.get("out_trade_no") or request.path_params.get("out_refund_no", "")
    if method == "native":
        return 200, {"code_url": "weixin://wxpay/bizpayurl?pr=forged"}
    if method == "close":
        return 204, None
    if method == "query":
        return 200, {
            "mchid": request.query_params.get("mchid", ""),
            "out_trade_no": number,
            "transaction_id": "4200000000209901010000000001",
            "trade_type": "NATIVE",
            "trade_state": "SUCCESS",
            "success_time": "2099-01-01T00:00:00+08:00",
            "amount": {"total": 1, "payer_total": 1, "currency": "CNY"},
        }
    return 200, {
        "out_refund_no": number,
        "refund_id": "50300000002099010100001",
        "status": "SUCCESS",
    }
