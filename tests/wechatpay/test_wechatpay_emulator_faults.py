"""Faults on demand, resends, the scan page, limits and the command: the emulator's own parts."""

from __future__ import annotations

import json
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
import segno

from payments_core.testing import unique
from payments_http import cli
from payments_wechatpay import crypto
from payments_wechatpay.emulator import EmulatorServer
from tests.wechatpay.emulator_support import (
    MCHID,
    Merchant,
    Receiver,
    merchant,
    merchant_key,
    notifications,
    receiver,
    rsa_public,
    shop,
    snapshot,
)

pytestmark = pytest.mark.integration
__all__ = ["merchant", "merchant_key", "receiver", "shop"]  # fixtures


@pytest.fixture(scope="module")
def server() -> Iterator[EmulatorServer]:
    with EmulatorServer(resend_factor=0.001) as running:
        yield running


def _opened(merchant: Merchant, total: int = 100) -> str:
    number = unique("WF")[:32]
    assert (
        merchant.sdk.pay(description="Tea", out_trade_no=number, amount={"total": total})[0] == 200
    )
    return number


def _fail_next(merchant: Merchant, **body: object) -> requests.Response:
    return requests.post(f"{merchant.base}/control/fail-next", json=body, timeout=5)


def _query(merchant: Merchant, number: str) -> requests.Response:
    return merchant.call("GET", f"/v3/pay/transactions/out-trade-no/{number}?mchid={MCHID}")


@pytest.mark.parametrize("mode", ["bad-signature", "unsigned", "unknown-key"])
def test_a_forged_answer_fails_the_sdks_verification_and_ours(
    merchant: Merchant, shop: Receiver, mode: str
) -> None:
    number = _opened(merchant)
    _fail_next(merchant, mode=mode, method="query")

    with pytest.raises(Exception, match=r"signature|algorithm"):
        merchant.sdk.query(out_trade_no=number)
    _fail_next(merchant, mode=mode, method="query")
    forged = _query(merchant, number)
    honest = _query(merchant, number)

    assert forged.status_code == 200
    assert forged.json()["trade_state"] == "SUCCESS"  # what a forger would like believed
    assert not merchant.verified(forged)
    assert merchant.verified(honest)
    assert honest.json()["trade_state"] == "NOTPAY"


def test_a_forged_close_is_a_204_that_does_not_verify(merchant: Merchant, shop: Receiver) -> None:
    number = _opened(merchant)
    _fail_next(merchant, mode="bad-signature", method="close")

    forged = merchant.call(
        "POST", f"/v3/pay/transactions/out-trade-no/{number}/close", {"mchid": MCHID}
    )

    assert forged.status_code == 204
    assert not merchant.verified(forged)
    assert _query(merchant, number).json()["trade_state"] == "NOTPAY"  # nothing was closed


@pytest.mark.parametrize(
    ("mode", "status", "code"),
    [
        ("system-error", 500, "SYSTEM_ERROR"),
        ("not-enough", 403, "NOT_ENOUGH"),
        ("frequency-limited", 429, "FREQUENCY_LIMITED"),
    ],
)
def test_signed_error_faults(
    merchant: Merchant, shop: Receiver, mode: str, status: int, code: str
) -> None:
    _fail_next(merchant, mode=mode)

    answer = merchant.call("POST", "/v3/refund/domestic/refunds", {"out_refund_no": "R1"})

    assert (answer.status_code, answer.json()["code"]) == (status, code)
    assert merchant.verified(answer)


def test_garbage_is_signed_but_not_json(merchant: Merchant, shop: Receiver) -> None:
    number = _opened(merchant)
    _fail_next(merchant, mode="garbage", method="query")

    answer = _query(merchant, number)

    assert answer.status_code == 200
    assert merchant.verified(answer)
    with pytest.raises(json.JSONDecodeError):
        json.loads(answer.content)


def test_plain_faults_and_a_timeout(merchant: Merchant, shop: Receiver) -> None:
    number = _opened(merchant)
    _fail_next(merchant, mode="500", method="query")
    _fail_next(merchant, mode="html", method="query")
    _fail_next(merchant, mode="timeout", method="query", seconds=2)

    plain = _query(merchant, number)
    html = _query(merchant, number)
    with pytest.raises(requests.Timeout):
        requests.get(
            f"{merchant.base}/v3/pay/transactions/out-trade-no/{number}?mchid={MCHID}", timeout=0.5
        )

    assert plain.status_code == 500
    assert html.headers["content-type"].startswith("text/html")


def test_a_fault_waits_for_its_method_and_is_used_once(merchant: Merchant, shop: Receiver) -> None:
    number = _opened(merchant)
    _fail_next(merchant, mode="500", method="close")

    queries = [_query(merchant, number).status_code for _ in range(2)]
    closes = [
        merchant.call(
            "POST", f"/v3/pay/transactions/out-trade-no/{number}/close", {"mchid": MCHID}
        ).status_code
        for _ in range(2)
    ]

    assert queries == [200, 200]
    assert closes == [500, 204]


@pytest.mark.parametrize(
    "body",
    [
        {"mode": "explode"},
        {"mode": "500", "method": "alipay.trade.query"},
        {"mode": "500", "count": 0},
        {"mode": "500", "count": 101},
        {"mode": "500", "count": True},
        {"mode": "timeout", "seconds": 61},
        {"mode": "timeout", "seconds": float("nan")},
    ],
)
def test_fail_next_refuses_what_is_out_of_range(
    merchant: Merchant, server: EmulatorServer, body: dict[str, object]
) -> None:
    answer = requests.post(
        f"{merchant.base}/control/fail-next",
        data=json.dumps(body),  # NaN too: Python's json writes it
        headers={"Content-Type": "application/json"},
        timeout=5,
    )

    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "invalid_request"
    assert server.emulator.failures.waiting() == 0


def test_a_notification_is_resent_until_answered_2xx_each_send_freshly_signed(
    merchant: Merchant, shop: Receiver, server: EmulatorServer
) -> None:
    shop.answers.extend([500, 404])
    number = _opened(merchant)

    requests.post(f"{merchant.base}/control/transactions/{number}/pay", timeout=5)
    sends = shop.wait_for(3)
    time.sleep(0.2)  # a fourth would come within the 30 ms gap that follows
    key = rsa_public(merchant.settings["WECHATPAY_PUBLIC_KEY"])

    assert len(shop.received) == 3
    assert {s.body for s in sends} == {sends[0].body}  # the same notification
    assert len({s.headers["wechatpay-nonce"] for s in sends}) == 3  # signed at each send
    for sent in sends:
        headers = sent.headers
        assert crypto.verify_response(
            key,
            headers["wechatpay-timestamp"],
            headers["wechatpay-nonce"],
            sent.body,
            headers["wechatpay-signature"],
        )
    history = notifications(server, number)
    assert [(h["status"], h["delivered"]) for h in history] == [
        (500, False),
        (404, False),
        (204, True),
    ]


def test_resends_stop_after_wechat_pays_schedule(
    merchant: Merchant, shop: Receiver, server: EmulatorServer
) -> None:
    server.emulator.notifier.factor = 0.00001  # the whole day's schedule in a few milliseconds
    try:
        shop.answers.extend([500] * 30)
        number = _opened(merchant)
        requests.post(f"{merchant.base}/control/transactions/{number}/pay", timeout=5)
        shop.wait_for(16)
        time.sleep(0.3)
    finally:
        server.emulator.notifier.factor = 0.001

    assert len(shop.received) == 16  # the first send and 15 resends


def test_the_scan_page_shows_the_code_url_as_an_inline_qr_code_and_pays(
    merchant: Merchant, shop: Receiver, server: EmulatorServer
) -> None:
    number = _opened(merchant, total=1234)
    code_url = str(snapshot(server, number)["code_url"])
    pr = code_url.partition("pr=")[2]

    page = requests.get(f"{merchant.base}/scan/{pr}", timeout=5)
    cancelled = requests.post(f"{merchant.base}/scan/{pr}", data={"action": "cancel"}, timeout=5)
    after_cancel = _query(merchant, number).json()["trade_state"]
    paid = requests.post(f"{merchant.base}/scan/{pr}", data={"action": "pay"}, timeout=5)
    again = requests.post(f"{merchant.base}/scan/{pr}", data={"action": "pay"}, timeout=5)
    index = requests.get(f"{merchant.base}/", timeout=5)

    assert page.status_code == 200
    expected_qr = segno.make(code_url, error="m").svg_inline(scale=4, title="code_url")
    assert expected_qr in page.text  # the code_url itself, encoded on the page
    assert "12.34" in page.text
    assert 'id="pay"' in page.text
    assert 'id="cancel"' in page.text
    assert not re.search(r"<script|src=|https?://", page.text.replace(code_url, ""))  # no CDN
    assert "Payment cancelled" in cancelled.text
    assert after_cancel == "NOTPAY"
    assert "Paid 12.34 CNY" in paid.text
    assert again.status_code == 409
    assert _query(merchant, number).json()["trade_state"] == "SUCCESS"
    assert shop.wait_for(1)
    assert f'href="scan/{pr}"' in index.text


def test_an_unknown_scan_code_is_404_and_text_is_escaped(
    merchant: Merchant, shop: Receiver
) -> None:
    unknown = requests.get(f"{merchant.base}/scan/nope", timeout=5)
    number = unique("WH")[:20]
    body = merchant.order(number, description="<script>alert(1)</script>")
    merchant.call("POST", "/v3/pay/transactions/native", body)
    index = requests.get(f"{merchant.base}/control/transactions/{number}", timeout=5)
    pr = str(index.json()["data"]["code_url"]).partition("pr=")[2]
    page = requests.get(f"{merchant.base}/scan/{pr}", timeout=5)

    assert unknown.status_code == 404
    assert "<script>" not in page.text
    assert "&lt;script&gt;" in page.text


@pytest.mark.parametrize(
    "path", ["/control/transactions/", "/v3/pay/transactions/native/", "/scan/"]
)
def test_no_path_is_answered_by_a_redirect(merchant: Merchant, path: str) -> None:
    answer = requests.get(f"{merchant.base}{path}", timeout=5, allow_redirects=False)

    assert answer.status_code in (404, 405)
    assert "location" not in answer.headers
    assert answer.json()["error"]["code"] in ("not_found", "method_not_allowed")


def test_a_body_over_64_kib_is_refused_before_it_is_read_whole(merchant: Merchant) -> None:
    big = b"{" + b" " * (64 * 1024) + b"}"

    api = merchant.call("POST", "/v3/pay/transactions/native", raw=big)
    control = requests.post(f"{merchant.base}/control/fail-next", data=big, timeout=5)

    assert api.status_code == 413
    assert control.status_code == 413


def test_the_book_keeps_a_bounded_number_of_transactions(
    merchant: Merchant, shop: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("payments_wechatpay.emulator.transactions.MAX_TRADES", 2)
    _opened(merchant)
    _opened(merchant)

    third = merchant.call("POST", "/v3/pay/transactions/native", merchant.order(unique("WB")[:20]))
    reset = requests.post(f"{merchant.base}/control/reset", timeout=5)

    assert (third.status_code, third.json()["code"]) == (429, "FREQUENCY_LIMITED")
    assert reset.status_code == 200
    assert _opened(merchant)


@pytest.mark.parametrize(
    "fake", [{"payer_total": -1}, {"payer_total": 1.5}, {"payer_total": "1"}, {"mchid": "x" * 65}]
)
def test_pay_overrides_are_bounded(
    merchant: Merchant, shop: Receiver, fake: dict[str, object]
) -> None:
    number = _opened(merchant)

    answer = requests.post(
        f"{merchant.base}/control/transactions/{number}/pay", json=fake, timeout=5
    )

    assert answer.status_code == 400
    assert _query(merchant, number).json()["trade_state"] == "NOTPAY"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_the_command_prints_settings_that_reach_it_and_removes_its_keys_at_exit() -> None:
    port = _free_port()
    process = subprocess.Popen(  # noqa: S603 - our own interpreter and module
        [sys.executable, "-m", "payments_wechatpay.emulator", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    try:
        assert process.stdout is not None
        lines = [process.stdout.readline() for _ in range(9)]
        exported = dict(
            line.removeprefix("export ").strip().split("=", 1)
            for line in lines
            if line.startswith("export ")
        )
        key_file = Path(exported["WECHATPAY_PRIVATE_KEY"].removeprefix("@"))
        deadline = time.monotonic() + 20
        while True:
            try:
                keys = requests.get(f"http://127.0.0.1:{port}/control/keys", timeout=1).json()
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "the emulator did not start"
                time.sleep(0.1)
        assert key_file.read_text().startswith("-----BEGIN PRIVATE KEY-----")
        assert oct(key_file.stat().st_mode & 0o777) == "0o600"
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=20)
        if process.stdout is not None:
            process.stdout.close()

    assert exported["WECHATPAY_GATEWAY"] == f"http://127.0.0.1:{port}"
    assert exported["WECHATPAY_PUBLIC_KEY_ID"] == keys["data"]["platform_public_key_id"]
    assert len(exported["WECHATPAY_APIV3_KEY"]) == 32
    assert set(exported) >= {"WECHATPAY_MCHID", "WECHATPAY_APPID", "WECHATPAY_CERT_SERIAL"}
    assert not key_file.parent.exists()  # the throwaway keys are gone


def test_payments_wechatpay_emulator_is_a_subcommand(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        cli.main(["wechatpay-emulator", "--help"])
    out = capsys.readouterr().out

    assert done.value.code == 0
    assert out.startswith("usage: payments wechatpay-emulator ")
    for option in ("--host", "--port", "--mchid", "--appid", "--resend-factor"):
        assert option in out
