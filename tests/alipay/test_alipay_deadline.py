"""One deadline per Alipay call (``ALIPAY_TIMEOUT``), across its tries, whatever the gateway does.

These bound correctness, not speed: a call must be over by its deadline plus a
generous margin for a loaded machine, where without the deadline it took 3 tries x 10 s.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from payments_alipay import AlipayGateway, AlipaySettings, Timeouts
from payments_core.errors import VendorUnavailable
from tests.alipay.conftest import APP_ID, DATA
from tests.alipay.slow_peer import Mode, SlowPeer

pytestmark = pytest.mark.integration

MARGIN = 3.0  # seconds past the deadline a busy machine may need to give up


def _settings(gateway_url: str, **extra: str) -> AlipaySettings:
    return AlipaySettings.from_settings(
        {
            "ALIPAY_APP_ID": APP_ID,
            "ALIPAY_PRIVATE_KEY": f"@{DATA / 'app_private_key_pkcs8.pem'}",
            "ALIPAY_PUBLIC_KEY": f"@{DATA / 'alipay_platform_public_key.pem'}",
            "ALIPAY_GATEWAY": gateway_url,
            **extra,
        }
    )


def _seconds_until_unavailable(call: Callable[[], object]) -> float:
    started = time.monotonic()
    with pytest.raises(VendorUnavailable):
        call()
    return time.monotonic() - started


@pytest.mark.parametrize("mode", ["hang", "trickle"])
@pytest.mark.parametrize("operation", ["query", "close"])
def test_a_call_to_a_gateway_that_never_answers_ends_by_alipay_timeout(
    mode: Mode, operation: str
) -> None:
    with SlowPeer(mode) as peer:
        gateway = AlipayGateway(_settings(peer.url, ALIPAY_TIMEOUT="2"))
        call = {"query": gateway.query, "close": gateway.close_attempt}[operation]

        waited = _seconds_until_unavailable(lambda: call("slow_1"))

    assert waited < 2 + MARGIN
    assert peer.connections >= 1


def test_by_default_a_call_ends_within_twelve_seconds() -> None:
    with SlowPeer("hang") as peer:
        gateway = AlipayGateway(_settings(peer.url))

        waited = _seconds_until_unavailable(lambda: gateway.query("slow_2"))

    assert waited < 12 + MARGIN
    assert peer.connections >= 1


def test_the_deadline_is_a_setting_of_twelve_seconds_by_default() -> None:
    assert _settings("http://127.0.0.1:9/gateway.do").timeout == 12.0
    assert _settings("http://127.0.0.1:9/gateway.do", ALIPAY_TIMEOUT="2.5").timeout == 2.5


@pytest.mark.parametrize("value", ["0", "0.5", "61", "-1", "abc", "1e1", "nan", "inf", "12s"])
def test_an_unusable_alipay_timeout_is_one_line_naming_it(value: str) -> None:
    with pytest.raises(ValueError, match=r"^ALIPAY_TIMEOUT must be .* from 1 to 60$"):
        _settings("http://127.0.0.1:9/gateway.do", ALIPAY_TIMEOUT=value)


def test_calls_left_hanging_do_not_pile_up_past_the_in_flight_bound() -> None:
    with SlowPeer("trickle") as peer:
        settings = _settings(peer.url)
        gateway = AlipayGateway(settings, timeouts=Timeouts(total=1.0, in_flight=2))

        waits = [_seconds_until_unavailable(lambda: gateway.query("slow_3")) for _ in range(4)]

    assert max(waits) < 1 + MARGIN
    assert peer.connections <= 2  # the abandoned two still hold their slots
