"""The form decoder agrees with decoding each name and value once with ``unquote_plus``."""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import quote, quote_plus, unquote_plus, urlencode

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from payments_alipay._form import FormError, decode_form

ALPHABET = st.characters(codec="utf-8", exclude_characters="\x00")
FIELDS = st.dictionaries(
    st.text(ALPHABET, min_size=1, max_size=8).filter(lambda name: name != "charset"),
    st.text(ALPHABET, max_size=40),
    max_size=8,
)
RAW = st.text(st.sampled_from("ab=&%+2Fe6C3zZ \t."), max_size=40)


def reference(body: bytes) -> dict[str, str]:
    """Split on & and the first =, decode every token once; refuse NULs and repeats."""
    text = body.decode("ascii")
    pairs = [part.partition("=") for part in text.split("&") if part]
    decoded = [
        (unquote_plus(k, "utf-8", "strict"), unquote_plus(v, "utf-8", "strict"))
        for k, _, v in pairs
    ]
    if any("\x00" in k + v for k, v in decoded) or "\x00" in text:
        raise ValueError("NUL")
    fields = dict(decoded)
    if len(fields) != len(decoded):
        raise ValueError("repeated")
    return fields


@settings(max_examples=300, deadline=None)
@given(FIELDS, st.sampled_from([quote_plus, quote]))
def test_any_fields_encoded_either_way_decode_back_exactly(
    fields: dict[str, str], quoting: Callable[..., str]
) -> None:
    body = urlencode(fields, quote_via=quoting).encode("ascii")

    assert decode_form(body) == fields


@settings(max_examples=500, deadline=None)
@given(RAW)
def test_any_raw_body_decodes_as_the_reference_does_or_is_refused_when_it_is(raw: str) -> None:
    body = raw.encode("ascii")
    try:
        expected = reference(body)
    except (ValueError, UnicodeDecodeError):
        with pytest.raises(FormError):
            decode_form(body)
        return

    assert decode_form(body) == expected


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        (b"a=b=c", {"a": "b=c"}),
        (b"a=1&&b=2&", {"a": "1", "b": "2"}),
        (b"a", {"a": ""}),
        (b"sign=ab%2b%2F%3d", {"sign": "ab+/="}),
        (b"x=%zz%4", {"x": "%zz%4"}),
        (b"x=%%41", {"x": "%A"}),
        (b"", {}),
    ],
)
def test_edge_cases_decode_like_unquote_plus(body: bytes, fields: dict[str, str]) -> None:
    assert decode_form(body) == fields


@pytest.mark.parametrize(
    "body",
    [b"a=%00", b"a=1&a=2", b"a=1&%61=2", b"a=%FF", b"a=\x00", "a=é".encode(), b"charset=%00&a=1"],
)
def test_nuls_repeats_and_bad_bytes_are_refused(body: bytes) -> None:
    with pytest.raises(FormError):
        decode_form(body)
