"""Listing payments a page at a time: the query the repository answers, the page, the cursor.

Pages are keyset pages: each holds the newest payments whose id is below the last id of
the page before. A payment stored while a caller pages through is never shown twice nor
shifts a page (it has a higher id than every page already read), and a page costs the
same however many payments lie behind it: no row is counted or skipped.

The cursor a page hands out is opaque to callers: base64url of a small JSON object
holding the last id and a digest of that id and the filters it was made under. It is
checked when it comes back: a cursor that does not decode, was altered, or was made
under other filters is refused. The digest is a checksum, not a signature: a cursor
grants nothing to forge, because the filters, the payer's included, are the caller's
own each time, never the cursor's, and its id only bounds what those filters find.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Sequence
from datetime import datetime
from typing import Final

from attrs import frozen

from payments_core.errors import ValidationFailed
from payments_core.payment import Payment, PaymentId, PaymentStatus

LIMIT_DEFAULT: Final = 20
LIMIT_MAX: Final = 100
CURSOR_MAX: Final = 200  # characters; ours are under 80
_CURSOR_VERSION: Final = 1


@frozen(kw_only=True)
class PaymentQuery:
    """Which payments one page holds: every filter that is not None must match.

    ``created_from`` is inclusive and ``created_to`` exclusive, both aware.
    ``before`` keeps only ids below it (the keyset of the page before); ``limit`` is
    how many payments at most, newest (highest id) first.
    """

    limit: int
    payer: str | None = None
    status: PaymentStatus | None = None
    order_id: str | None = None
    created_from: datetime | None = None
    created_to: datetime | None = None
    before: PaymentId | None = None

    def matches(self, payment: Payment) -> bool:
        """Whether ``payment`` passes every filter and the keyset bound (not the limit)."""
        pid = payment.id
        return (
            pid is not None
            and (self.before is None or pid < self.before)
            and (self.payer is None or payment.payer == self.payer)
            and (self.status is None or payment.status is self.status)
            and (self.order_id is None or payment.order_id == self.order_id)
            and (self.created_from is None or payment.created_at >= self.created_from)
            and (self.created_to is None or payment.created_at < self.created_to)
        )

    def digest(self, last: PaymentId) -> str:
        """A short digest of the filters (not the keyset bound nor the limit) and ``last``."""
        filters = [
            last,
            self.payer,
            self.status.value if self.status else None,
            self.order_id,
            self.created_from.isoformat() if self.created_from else None,
            self.created_to.isoformat() if self.created_to else None,
        ]
        return hashlib.sha256(json.dumps(filters).encode()).hexdigest()[:16]


@frozen(kw_only=True)
class PaymentPage:
    """One page of payments, newest first, and the cursor of the next (None on the last)."""

    payments: Sequence[Payment]
    next: str | None


def encode_cursor(query: PaymentQuery, last: PaymentId) -> str:
    """The cursor of the page after the one ending with payment ``last``, under ``query``."""
    document = {"v": _CURSOR_VERSION, "id": last, "f": query.digest(last)}
    raw = json.dumps(document, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, query: PaymentQuery) -> PaymentId:
    """The keyset bound a cursor made by ``encode_cursor`` under the same filters holds.

    Raises:
        ValidationFailed: on ``cursor``: not one of ours, altered, or made under
            other filters than ``query``'s.
    """
    if not 0 < len(cursor) <= CURSOR_MAX or not cursor.isascii():
        raise _bad_cursor()
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        document = json.loads(raw)
    except (binascii.Error, ValueError):
        raise _bad_cursor() from None
    if not isinstance(document, dict) or set(document) != {"v", "id", "f"}:
        raise _bad_cursor()
    last = document["id"]
    if document["v"] != _CURSOR_VERSION or type(last) is not int or last < 1:
        raise _bad_cursor()
    if encode_cursor(query, last) != cursor.rstrip("="):  # one spelling per cursor
        raise ValidationFailed("cursor", "was made for other filters, or altered")
    return last


def _bad_cursor() -> ValidationFailed:
    return ValidationFailed("cursor", "is not a cursor this service handed out")
