"""The emulator's HTML: the cashier page with Pay/Cancel, results and errors.

Every link and form action is relative, so the pages work wherever the emulator is
mounted (``/``, ``/emulator``, behind a proxy).
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from payments_alipay.emulator.trades import Trade

_STYLE: Final = (
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}"
    "h1{color:#1677ff}dt{color:#666}dd{margin:0 0 .6rem 0;font-size:1.1rem}"
    "button{font-size:1.1rem;padding:.5rem 1.5rem;margin-right:1rem}"
)


def page(title: str, content: str) -> str:
    """A whole HTML document."""
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<style>{_STYLE}</style></head><body>{content}</body></html>"
    )


def cashier(trade: Trade, expires: str | None) -> str:
    """The pay page: what is being paid, and the Pay and Cancel buttons."""
    rows = [
        ("Merchant order", trade.out_trade_no),
        ("Subject", trade.subject),
        ("Amount (CNY)", trade.total_amount),
    ]
    if trade.body:
        rows.append(("Description", trade.body))
    if expires:
        rows.append(("Pay before (China time)", expires))
    details = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows)
    action = f"pay/{escape(trade.out_trade_no)}"
    return page(
        "Alipay emulator: pay",
        f"<h1>Alipay emulator</h1><p>This is a local emulator; no money moves.</p>"
        f'<dl id="trade">{details}</dl>'
        f'<form method="post" action="{action}">'
        f'<button id="pay" type="submit" name="action" value="pay">Pay</button>'
        f'<button id="cancel" type="submit" name="action" value="cancel">Cancel</button>'
        f"</form>",
    )


def message(title: str, text: str, *, code: str | None = None, link: str | None = None) -> str:
    """A result or error page; ``code`` is shown as Alipay's error pages show theirs."""
    body = f'<h1 id="result">{escape(title)}</h1><p id="message">{escape(text)}</p>'
    if code:
        body += f'<p>错误代码 <code id="code">{escape(code)}</code></p>'
    if link:
        body += f'<p><a id="back" href="{escape(link)}">Back to the shop</a></p>'
    return page(f"Alipay emulator: {title}", body)


def trade_row(trade: Trade) -> str:
    """One trade of the index page, with the refunds paid out of it."""
    refunds = "".join(
        f"<li>refund {escape(r.out_request_no)}: {r.amount:.2f} CNY</li>" for r in trade.refunds
    )
    listed = f'<ul class="refunds">{refunds}</ul>' if refunds else ""
    title = f"{escape(trade.out_trade_no)}: {escape(trade.status)} {escape(trade.total_amount)} CNY"
    return f"<li>{title}{listed}</li>"
