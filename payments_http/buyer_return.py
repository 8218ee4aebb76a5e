"""``GET /api/v1/payments/return/{vendor}``: where a vendor's checkout sends the buyer back.

The vendor signs what it appends to its return URL, but it reaches us through the
buyer's browser: the handler checks the signature only to learn which attempt the
buyer comes from, then asks the vendor itself (``PaymentService.buyer_returned``), and
sends the buyer on to the shop (``PAYMENTS_SHOP_RETURN_URL``) with the payment's id and
status. Without that setting it answers them as JSON.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from payments_core.errors import SignatureInvalid
from payments_http import wire
from payments_http.wire import RequestProblem

if TYPE_CHECKING:
    from starlette.requests import Request

    from payments_core.services import PaymentService

RETURN_PATH: Final = "/api/v1/payments/return/{vendor}"
MAX_QUERY: Final = 8 * 1024


def return_route(service: PaymentService, shop_url: str | None) -> Route:
    """The route of the buyer's return; ``shop_url`` is where the buyer goes next."""

    async def buyer_returned(request: Request) -> Response:
        query = _single_values(request)
        try:
            payment = await run_in_threadpool(  # the vendor is asked before the answer
                service.buyer_returned, request.path_params["vendor"], query
            )
        except SignatureInvalid:  # the browser brought it: the client's fault, not the vendor's
            raise RequestProblem(400, "invalid_request", "the return does not verify") from None
        found = {"payment": payment.id, "status": payment.status.value}
        if shop_url is None:
            return wire.data(found)
        separator = "&" if "?" in shop_url else "?"
        return RedirectResponse(f"{shop_url}{separator}{urlencode(found)}", 303)

    return Route(RETURN_PATH, buyer_returned, methods=["GET"])


def _single_values(request: Request) -> dict[str, str]:
    """The query's parameters; a repeated name could be read two ways, so it is refused."""
    if len(request.scope.get("query_string", b"")) > MAX_QUERY:
        raise RequestProblem(400, "invalid_request", "the query string is too long")
    items = request.query_params.multi_items()
    query = dict(items)
    if len(query) != len(items):
        raise RequestProblem(400, "invalid_request", "a query parameter is repeated")
    return query
