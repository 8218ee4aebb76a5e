"""WeChat Pay's error answers as the emulator gives them: an HTTP status, a code, a message."""

from __future__ import annotations

from typing import Final

# code -> HTTP status, as WeChat Pay answers them (the body is {"code", "message"})
STATUSES: Final = {
    "PARAM_ERROR": 400,
    "INVALID_REQUEST": 400,
    "APPID_MCHID_NOT_MATCH": 400,
    "ORDERPAID": 400,
    "ORDER_CLOSED": 400,
    "SIGN_ERROR": 401,
    "NOT_ENOUGH": 403,
    "OUT_TRADE_NO_USED": 403,
    "ORDER_NOT_EXIST": 404,
    "RESOURCE_NOT_EXISTS": 404,
    "FREQUENCY_LIMITED": 429,
    "SYSTEM_ERROR": 500,
}


class WeChatError(Exception):
    """A refusal with WeChat Pay's ``code`` (a key of ``STATUSES``) and a message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message

    @property
    def status(self) -> int:
        """The HTTP status WeChat Pay answers this code with."""
        return STATUSES[self.code]

    def body(self) -> dict[str, object]:
        """The JSON error body."""
        return {"code": self.code, "message": self.message}
