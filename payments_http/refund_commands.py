"""``payments refund PAYMENT_ID`` and ``payments refunds``: refunds for operators.

``refund`` asks for a refund as an ADMIN would over HTTP (the vendor is asked before the
command returns); ``refunds`` lists the refunds that need an operator's eye: PENDING
ones still going back and FAILED ones (``docs/refunds.md`` says what to do with those).
"""

from __future__ import annotations

import getpass
import sys
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Final

from payments_core.converters import dumps, refund_document
from payments_core.refund import RefundStatus
from payments_core.values import Caller
from payments_http._logsafe import configure_logging, log_value
from payments_http.subscribers import close_repository, open_repository

if TYPE_CHECKING:
    import argparse
    from collections.abc import Callable, Iterator, Sequence

    from payments_core.contributions import Setting, Subcommands
    from payments_core.ports import PaymentRepository
    from payments_core.refund import Refund
    from payments_core.values import Settings

PAGE: Final = 200
_LISTED: Final = (RefundStatus.PENDING, RefundStatus.FAILED)


def add_refund_commands(
    commands: Subcommands,
    declared: Sequence[Setting],
    add_settings: Callable[[argparse.ArgumentParser, Sequence[Setting]], None],
) -> None:
    """Add ``payments refund`` and ``payments refunds``, each with every setting as an option."""
    refund = commands.add_parser(
        "refund",
        help="refund a CONFIRMED payment, in full or in part",
        description="Refund a CONFIRMED payment as an operator (role ADMIN): the refund is "
        "recorded first, then sent to the vendor; printed as JSON. Exit status 0 when the "
        "vendor took it (SUCCEEDED, or PENDING to be finished by the sweep), 1 when it refused.",
    )
    refund.add_argument("payment_id", type=int, metavar="PAYMENT_ID")
    refund.add_argument(
        "--amount", type=_amount, help="how much (default: all that is still refundable)"
    )
    refund.add_argument("--reason", help="why, kept with the refund and sent to the vendor")
    refund.set_defaults(run=_refund)
    listing = commands.add_parser(
        "refunds",
        help="list PENDING and FAILED refunds",
        description="List the refunds an operator may need to look at, oldest first, one per "
        "line: id, payment, kind, status, amount, reference, failure, created.",
    )
    listing.add_argument(
        "--status",
        choices=[s.value for s in _LISTED],
        help="only refunds in this status (default: PENDING and FAILED)",
    )
    listing.set_defaults(run=_list)
    for parser in (refund, listing):
        add_settings(parser, declared)


def _amount(text: str) -> Decimal:
    try:
        return Decimal(text)
    except InvalidOperation:
        raise ValueError(f"not an amount: {text[:32]!r}") from None


def _refund(args: argparse.Namespace, settings: Settings) -> int:
    from payments_http.compose import build_service

    configure_logging("WARNING")
    service, _ = build_service(settings)
    operator = Caller(username=f"cli:{getpass.getuser()}", roles={"ADMIN"})
    try:
        refund = service.request_refund(
            operator, args.payment_id, amount=args.amount, reason=args.reason
        )
    finally:
        service.close()
    sys.stdout.write(dumps({"data": refund_document(refund)}).decode() + "\n")
    return 1 if refund.status is RefundStatus.FAILED else 0


def _list(args: argparse.Namespace, settings: Settings) -> int:
    statuses = [RefundStatus(args.status)] if args.status else list(_LISTED)
    repo = open_repository(settings)
    shown = 0
    try:
        for status in statuses:
            for refund in _all_in(repo, status):
                sys.stdout.write(_line(refund))
                shown += 1
    finally:
        close_repository(repo)
    if not shown:
        sys.stdout.write("no refunds to show\n")
    return 0


def _all_in(repo: PaymentRepository, status: RefundStatus) -> Iterator[Refund]:
    after = 0
    while True:
        page = repo.refunds_in(status, limit=PAGE, after=after)
        yield from page
        if len(page) < PAGE:
            return
        after = page[-1].id or after


def _line(refund: Refund) -> str:
    fields = (
        refund.id,
        refund.payment_id,
        refund.kind.value,
        refund.status.value,
        refund.amount,
        refund.reference,
        log_value(refund.failure) if refund.failure else "-",  # the vendor's text: one field
        refund.created_at.isoformat(timespec="seconds"),
    )
    return "\t".join(str(f) for f in fields) + "\n"
