"""``payments examplepay notification REFERENCE --amount A``: a signed notification to post.

It prints the form body ExamplePay would send once REFERENCE is paid, signed with
``EXAMPLEPAY_SECRET``, to try a server's notify endpoint by hand:

    curl -d "$(payments examplepay notification R1 --amount 10.00)" \\
         "$PAYMENTS/api/v1/payments/notify/examplepay"
"""

from __future__ import annotations

import secrets
import sys
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from payments_core.money import Money
from payments_core.values import TradeStatus

from payments_examplepay.gateway import ExamplePayGateway
from payments_examplepay.settings import SECRET, secret_of

if TYPE_CHECKING:
    import argparse

    from payments_core.contributions import Subcommands
    from payments_core.values import Settings


def add_commands(commands: Subcommands) -> None:
    """Add ``payments examplepay notification`` to ``commands``."""
    group = commands.add_parser("examplepay", help="ExamplePay chores")
    chores = group.add_subparsers(dest="examplepay_command", required=True, metavar="COMMAND")
    notification = chores.add_parser(
        "notification", help="the signed body ExamplePay posts when a trade is paid"
    )
    notification.add_argument("reference", help="the attempt's reference (in its orderString)")
    notification.add_argument("--amount", required=True, help="the amount paid, e.g. 10.00")
    notification.add_argument("--trade-id", help="ExamplePay's trade id (default: a new one)")
    notification.set_defaults(run=_notification)


def _notification(args: argparse.Namespace, settings: Settings) -> int:
    secret = secret_of(settings)
    if secret is None:
        raise ValueError(f"{SECRET.name} is not set; the notification is signed with it")
    fields = {
        "reference": args.reference,
        "status": TradeStatus.PAID.value,
        "amount": str(Money.parse(args.amount)),
        "trade_id": args.trade_id or "EX" + secrets.token_hex(6),
    }
    signature = ExamplePayGateway(secret).sign(fields)
    sys.stdout.write(urlencode({**fields, "signature": signature}) + "\n")
    return 0
