"""The canonical entry encoding: RFC 8785 vectors, the rfc8785 reference, strict decoding."""

from __future__ import annotations

import json
import unicodedata
from datetime import datetime, timedelta, timezone

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from lifecycle.log.canonical import (
    MAX_INT,
    CanonicalError,
    check_canonical,
    decode,
    encode,
    format_time,
    is_canonical,
    parse_time,
)

from tests.conftest import FIXTURES  # noqa: E402  (../shared/fixtures)
JCS = FIXTURES / "jcs"
needs_fixtures = pytest.mark.skipif(
    not JCS.is_dir(), reason=f"RFC 8785 vectors not found at {JCS} (../shared/fixtures is absent)"
)

# Why each upstream vector is outside the restricted profile.  Anything not
# listed must encode byte for byte to its output file.
OUT_OF_PROFILE = {
    "structures.json": "floats are not allowed",  # 56.0 parses as a float
    "values.json": "floats are not allowed",  # 333333333.33333329, 1E30, 4.50, ...
    "unicode.json": "not in Unicode NFC",  # "A\u030a" is deliberately unnormalised
    "weird.json": "not in Unicode NFC",  # U+FB33 is a composition exclusion (NFC: U+05D3 U+05BC)
}


def _vector_names() -> list[str]:
    return sorted(p.name for p in (JCS / "input").glob("*.json")) if JCS.is_dir() else []


@needs_fixtures
def test_every_vector_is_classified() -> None:
    names = _vector_names()
    assert names, "no RFC 8785 input vectors found"
    assert set(OUT_OF_PROFILE) <= set(names)


@needs_fixtures
@pytest.mark.parametrize("name", _vector_names() or ["<missing>"])
def test_rfc8785_vector(name: str) -> None:
    value = json.loads((JCS / "input" / name).read_bytes())
    expected = (JCS / "output" / name).read_bytes()
    if name in OUT_OF_PROFILE:
        with pytest.raises(CanonicalError, match=OUT_OF_PROFILE[name]):
            encode(value)
    else:
        assert encode(value) == expected
        assert check_canonical(expected) == value


@needs_fixtures
def test_out_of_profile_vectors_differ_only_by_profile_rules() -> None:
    """Outside the profile only because of NFC: our ordering/escaping still matches
    RFC 8785 once the offending strings are normalised (vs the reference encoder)."""
    for name in ("weird.json", "unicode.json"):
        value = json.loads((JCS / "input" / name).read_bytes())
        normalised = _nfc(value)
        assert encode(normalised) == rfc8785.dumps(normalised)


def _nfc(value):
    if isinstance(value, dict):
        return {unicodedata.normalize("NFC", k): _nfc(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_nfc(v) for v in value]
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    return value


# ------------------------------------------------------------------ property test

nfc_text = st.text(
    alphabet=st.characters(
        blacklist_categories=("Cs",),  # no lone surrogates
    ),
    max_size=12,
).map(lambda s: unicodedata.normalize("NFC", s))
tricky_text = st.sampled_from(
    ["", "\x00", "\x1f", "\x7f", "\u2028", "\u2029", '"\\/', "\ue000", "\uffff", "😂", "\U0010ffff"]
)
keys = st.one_of(nfc_text, tricky_text)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-MAX_INT, max_value=MAX_INT),
    nfc_text,
    tricky_text,
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=5),
        st.dictionaries(keys, inner, max_size=5),
    ),
    max_leaves=30,
)


@settings(max_examples=400, deadline=None)
@given(values)
def test_encode_matches_reference_and_round_trips(value) -> None:
    data = encode(value)
    assert data == rfc8785.dumps(value)
    assert decode(data) == value
    assert check_canonical(data) == value


def test_keys_sort_by_utf16_code_units_not_code_points() -> None:
    # U+1F602 is D83D DE02 in UTF-16, which sorts before U+E000 / U+FF5E.
    value = {"\uff5e": 1, "😂": 2, "\ue000": 3, "a": 4}
    assert encode(value) == rfc8785.dumps(value)
    assert encode(value).decode().index("😂") < encode(value).decode().index("\ue000")


def test_escaping() -> None:
    assert encode("\x7f\u2028\x08\t\n\x0c\r\x01\"\\/") == (
        b'"\x7f\xe2\x80\xa8\\b\\t\\n\\f\\r\\u0001\\"\\\\/"'
    )


# ------------------------------------------------------------------- rejections


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"data": {"amount": 1.5}}, "data.amount: floats are not allowed"),
        ({"x": float("nan")}, "x: floats are not allowed"),
        ({"x": float("inf")}, "x: floats are not allowed"),
        ({"data": {"items": [1, 2**53]}}, r"data.items\[1\]: integer outside"),
        ([-(2**53)], r"\[0\]: integer outside"),
        ({"a": {1: 2}}, "not a string"),
        ({"name": "A\u030a"}, "name: string is not in Unicode NFC"),
        ({"A\u030a": 1}, "not in Unicode NFC"),
        ({"s": "\ud800"}, "s: string contains a lone surrogate"),
        ({"t": (1, 2)}, "t: type tuple is not allowed"),
        ({"t": datetime.now(timezone.utc)}, "type datetime is not allowed"),
    ],
)
def test_encode_rejects(value, message) -> None:
    with pytest.raises(CanonicalError, match=message):
        encode(value)


def test_integer_bounds_are_inclusive() -> None:
    assert encode([MAX_INT, -MAX_INT]) == b"[9007199254740991,-9007199254740991]"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b'{"a":1,"a":2}', "duplicate key"),
        (b"NaN", "NaN is not allowed"),
        (b"[Infinity]", "Infinity is not allowed"),
        (b"[-Infinity]", "Infinity is not allowed"),
        (b"1.0", "floats are not allowed"),
        (b"1e2", "floats are not allowed"),
        (b"[9007199254740992]", "integer outside"),
        (b"[-9007199254740992]", "integer outside"),
        (b"[" + b"9" * 5000 + b"]", "integer outside"),
        (b'"\xff"', "invalid UTF-8"),
        (b'\xef\xbb\xbf{"a":1}', "invalid JSON"),
        (b'{"a":1', "invalid JSON"),
        (b'["A\\u030a"]', "NFC"),
        (b'["\\ud800"]', "lone surrogate"),
    ],
)
def test_decode_rejects(data: bytes, message: str) -> None:
    with pytest.raises(CanonicalError, match=message):
        decode(data)


@pytest.mark.parametrize(
    "data",
    [
        b'{"a": 1}',
        b'{"b":1,"a":2}',
        b' {"a":1}',
        b'{"a":1}\n',
        b'"\\u0041"',
        b'"\\u00e9"',
        b'"\\/"',
        b"-0",
        b'"\\u001F"',
    ],
)
def test_non_canonical_layout_is_detected(data: bytes) -> None:
    decode(data)  # valid JSON within the profile ...
    assert not is_canonical(data)  # ... but not its canonical bytes
    with pytest.raises(CanonicalError, match="not canonical"):
        check_canonical(data)


# ------------------------------------------------------------------------- times


def test_time_round_trip() -> None:
    moment = datetime(2024, 3, 9, 23, 30, 5, 42, tzinfo=timezone(timedelta(hours=-3)))
    text = format_time(moment)
    assert text == "2024-03-10T02:30:05.000042Z"
    assert parse_time(text) == moment
    assert parse_time(text).tzinfo == timezone.utc


def test_format_time_rejects_naive() -> None:
    with pytest.raises(CanonicalError, match="naive"):
        format_time(datetime(2024, 1, 1))


@pytest.mark.parametrize(
    "text",
    [
        "2024-03-10T02:30:05Z",
        "2024-03-10T02:30:05.000042+00:00",
        "2024-03-10 02:30:05.000042Z",
        "2024-03-10T02:30:05.0000420Z",
        "2024-02-30T02:30:05.000042Z",
        "２０24-03-10T02:30:05.000042Z",
    ],
)
def test_parse_time_rejects_other_forms(text: str) -> None:
    with pytest.raises(CanonicalError):
        parse_time(text)
