"""The verifier's re-encoding check agrees with the rfc8785 reference on every line.

`canonical_value` takes a fast path (the C json decoder, then orjson or the C json encoder) for
most lines; its verdict must be exactly the reference's: strict decode, then
`rfc8785.dumps(value) == line`, whichever fast encoder is in use.
"""

from __future__ import annotations

import json

import pytest
import rfc8785
from hypothesis import given, settings
from hypothesis import strategies as st

from lifecycle.audit.verify import EntryProblem, canonical_value, check_entry
from lifecycle.log.canonical import CanonicalError, decode, encode

# Strings that exercise every rule: escapes, non-ASCII, combining marks (NFC), astral characters
# (UTF-16 key order), lone surrogates, U+2028 and DEL.
PIECES = list("aZ09 \"\\/\t\n\x00\x1f\x7f") + [
    "é", "e\u0301", "\u0301", "ñ", "–", "\u2028", "😀", "\U0001d11e", "\ufb01", "\ud800", "中"]
text = st.lists(st.sampled_from(PIECES), max_size=5).map("".join)
numbers = st.one_of(st.integers(-(2**53) - 5, 2**53 + 5), st.integers(-10**20, 10**20),
                    st.floats(allow_nan=True, allow_infinity=True))
values = st.recursive(
    st.one_of(st.none(), st.booleans(), numbers, text),
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(text, inner, max_size=4)),
    max_leaves=12)


def reference_verdict(raw: bytes) -> bool:
    try:
        return rfc8785.dumps(decode(raw)) == raw
    except (CanonicalError, rfc8785.CanonicalizationError):
        return False


def verifier_verdict(raw: bytes) -> bool:
    """The verifier's verdict (its fast path first: orjson's re-encoding)."""
    try:
        canonical_value(raw)
        return True
    except EntryProblem:
        return False


def renderings(value) -> list[bytes]:
    """The reference bytes of the value, and other JSON texts of it that a writer might emit."""
    out = []
    for render in (
            lambda v: rfc8785.dumps(v),
            lambda v: json.dumps(v, ensure_ascii=False, sort_keys=True,
                                 separators=(",", ":")).encode("utf-8", "surrogatepass"),
            lambda v: json.dumps(v, sort_keys=True, separators=(",", ":")).encode(),
            lambda v: json.dumps(v, ensure_ascii=False).encode("utf-8", "surrogatepass"),
    ):
        try:
            out.append(render(value))
        except (ValueError, rfc8785.CanonicalizationError, UnicodeEncodeError):
            pass
    return out


@settings(max_examples=600, deadline=None)
@given(value=values, cut=st.integers(0, 40), byte=st.integers(0, 255))
def test_fast_path_gives_the_reference_verdict(value, cut, byte):
    for raw in renderings(value):
        mutated = raw[:cut] + bytes([byte]) + raw[cut + 1:]
        for line in (raw, mutated, b" " + raw, raw[:cut] + raw[cut:].replace(b",", b", ", 1)):
            assert verifier_verdict(line) == reference_verdict(line), line


@pytest.mark.parametrize("line, reason", [
    (b'{"a":1,"a":2}', "duplicate key 'a'"),
    (b'{"a":1.5}', "floats are not allowed: 1.5"),
    (b'{"a":NaN}', "NaN is not allowed"),
    (b'{"a":9007199254740992}', "integer outside ±(2**53-1): 9007199254740992"),
    ('{"a":"e\u0301"}'.encode(), "a: string is not in Unicode NFC"),
    (b'{"b":1,"a":2}', "not canonical (RFC 8785): byte 2 is b'b', the canonical form has b'a'"),
    (b'{"a":"\\u00e9"}', "not canonical (RFC 8785): byte 6 is b'\\\\', the canonical form has "
                         "b'\\xc3'"),
    # Code point order, which RFC 8785 does not use: U+1D11E is D834 DD1E in UTF-16, < FB01.
    ('{"\ufb01":2,"\U0001d11e":1}'.encode(), "not canonical (RFC 8785): byte 2 is b'\\xef', "
                                              "the canonical form has b'\\xf0'"),
])
def test_lines_outside_the_profile_are_refused_with_the_reason(line, reason):
    with pytest.raises(EntryProblem) as refused:
        canonical_value(line)
    assert str(refused.value).endswith(reason)


def test_astral_keys_are_ordered_by_utf16_as_rfc8785_says():
    value = {"\ufb01": 1, "\U0001d11e": 2}  # U+1D11E sorts first in UTF-16, last by code point
    raw = rfc8785.dumps(value)
    assert raw == encode(value)
    assert canonical_value(raw) == value


def test_entry_shape_is_checked():
    entry = {"v": 1, "seq": 0, "prev": "0" * 64, "at": "2026-03-02T09:00:01.000000Z",
             "type": "network.created", "actor": {"id": 1, "role": "admin"}, "data": {}}
    check_entry(encode(entry), 0, "0" * 64)
    for change, reason in [({"v": True}, "v is True"), ({"seq": 1}, "seq is 1, expected 0"),
                           ({"prev": "1" * 64}, "prev must be 64 zeros in the first entry"),
                           ({"at": "2026-03-02 09:00"}, "is not a time"),
                           ({"extra": 1}, "unexpected extra")]:
        with pytest.raises(EntryProblem, match=reason):
            check_entry(encode({**entry, **change}), 0, "0" * 64)
