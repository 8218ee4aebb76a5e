"""The emulator's HTML: the scan page (the code_url as a QR code, with Pay and Cancel), results, errors.

The QR code is SVG made here by ``segno`` and written into the page: no script, no
image from elsewhere. Every link and form action is relative, so the pages work
wherever the emulator is mounted.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING, Final

import segno

from payments_vendorkit.emulation.web import html_page

if TYPE_CHECKING:
    from payments_wechatpay.emulator.transactions import Transaction

_STYLE: Final = (
    "body{font-family:system-ui,sans-serif;max-width:32rem;margin:3rem auto;padding:0 1rem}"
    "h1{color:#07c160}dt{color:#666}dd{margin:0 0 .6rem 0;font-size:1.1rem}"
    "button{font-size:1.1rem;padding:.5rem 1.5rem;margin-right:1rem}"
)


def page(title: str, content: str) -> str:
    """A whole HTML document."""
    return html_page(title, content, _STYLE)


def qr_svg(text: str) -> str:
    """``text`` as an inline SVG QR code."""
    return segno.make(text, error="m").svg_inline(scale=4, title="code_url")


def scan(trade: Transaction, expires: str | None) -> str:
    """The scan page: the code, what is paid, and the Pay and Cancel buttons."""
    rows = [
        ("Merchant order", trade.out_trade_no),
        ("Description", trade.description),
        ("Amount (CNY)", f"{trade.total // 100}.{trade.total % 100:02d}"),
        ("State", trade.state),
    ]
    if expires:
        rows.append(("Pay before", expires))
    details = "".join(f"<dt>{escape(k)}</dt><dd>{escape(v)}</dd>" for k, v in rows)
    return page(
        "WeChat Pay emulator: scan",
        f"<h1>WeChat Pay emulator</h1><p>This is a local emulator; no money moves.</p>"
        f'<div id="qr">{qr_svg(trade.code_url)}</div>'
        f'<p><code id="code-url">{escape(trade.code_url)}</code></p>'
        f'<dl id="trade">{details}</dl>'
        f'<form method="post" action="{escape(trade.code)}">'
        f'<button id="pay" type="submit" name="action" value="pay">Pay</button>'
        f'<button id="cancel" type="submit" name="action" value="cancel">Cancel</button>'
        f"</form>",
    )


def message(title: str, text: str, *, code: str | None = None) -> str:
    """A result or error page; ``code`` is WeChat Pay's error code."""
    body = f'<h1 id="result">{escape(title)}</h1><p id="message">{escape(text)}</p>'
    if code:
        body += f'<p>错误代码 <code id="code">{escape(code)}</code></p>'
    return page(f"WeChat Pay emulator: {title}", body)


def index(trades: list[Transaction]) -> str:
    """Every transaction, each with a link to its scan page."""
    rows = "".join(
        f'<li><a href="scan/{escape(t.code)}">{escape(t.out_trade_no)}</a>: '
        f"{escape(t.state)} {t.total} fen</li>"
        for t in trades
    )
    return page("WeChat Pay emulator", f"<h1>WeChat Pay emulator</h1><ul>{rows}</ul>")
