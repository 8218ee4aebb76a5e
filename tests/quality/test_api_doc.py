"""docs/api.md, the contract, states what the code does: fields, statuses, codes, settings."""

from __future__ import annotations

import re
from pathlib import Path

from payments_alipay.settings import SETTINGS as ALIPAY_SETTINGS
from payments_core.converters import payment_json
from payments_core.inmemory import FrozenClock, InMemoryPaymentRepository
from payments_core.payment import PaymentStatus, can_transition
from payments_core.testing import new_payment
from payments_http.openapi import ERROR_CODES
from payments_http.settings import SETTINGS as HTTP_SETTINGS
from payments_sqlstore.plugin import SETTINGS as SQL_SETTINGS

API = (Path(__file__).parents[2] / "docs" / "api.md").read_text(encoding="utf-8")
_ROW = re.compile(r"^\|(.+)\|$", re.MULTILINE)


def _section(title: str) -> str:
    start = API.index(f"\n## {title}")
    end = API.find("\n## ", start + 1)
    return API[start : end if end > 0 else None]


def _rows(text: str) -> list[list[str]]:
    """The cells of each table row in ``text``, header and rule rows included."""
    return [[cell.strip() for cell in row.split("|")] for row in _ROW.findall(text)]


def _quoted(cell: str) -> list[str]:
    return re.findall(r"`([^`]+)`", cell)


def test_the_payment_table_lists_the_wire_fields_in_order() -> None:
    payment = InMemoryPaymentRepository().add(new_payment(FrozenClock()))
    table = _section("The payment on the wire").split("\n\n", 2)[2]
    fields = [_quoted(row[0])[0] for row in _rows(table) if _quoted(row[0])]

    assert fields == list(payment_json(payment))


def test_the_status_table_is_the_code_s_transition_table() -> None:
    statuses = _section("The statuses").split("\n### ", 1)[0]
    documented = {
        (PaymentStatus(current), PaymentStatus(target))
        for row in _rows(statuses)
        for current in _quoted(row[0])
        for target in _quoted(row[1])
    }
    allowed = {(a, b) for a in PaymentStatus for b in PaymentStatus if can_transition(a, b)}

    assert documented == allowed


def test_every_error_code_the_server_answers_with_is_in_the_errors_table() -> None:
    table = _section("Endpoints").split("### Errors", 1)[1].split("\n### ", 1)[0]
    documented = {code for row in _rows(table) for code in _quoted(row[1])}

    assert set(ERROR_CODES) <= documented, set(ERROR_CODES) - documented


def test_every_setting_of_ours_is_in_the_settings_table() -> None:
    documented = {name for row in _rows(_section("Settings")) for name in _quoted(row[0])}
    ours = {s.name for s in (*HTTP_SETTINGS, *SQL_SETTINGS, *ALIPAY_SETTINGS)}

    assert ours <= documented, ours - documented
