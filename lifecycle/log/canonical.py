"""Canonical JSON for log entries: a restricted profile of RFC 8785 (JCS).

Log entries are hashed and signed as bytes, so every writer and every offline
verifier must produce *exactly* the same bytes for the same value.  RFC 8785
gives that, but its number rules (ECMAScript double formatting) are a classic
source of cross-implementation drift.  The profile therefore forbids floats
outright (money travels as decimal strings), bounds integers to the range a
double represents exactly (±(2**53 - 1)), and requires NFC strings so that two
visually identical texts cannot hash differently.

Within that profile RFC 8785 reduces to: no whitespace, UTF-8, object keys
sorted by UTF-16 code units, and minimal string escaping - which is what the
standard library's C JSON encoder emits with ``ensure_ascii=False`` (it escapes
only ``"``, ``\\`` and U+0000..U+001F, using the short forms and lowercase
``\\u00xx``).  ``encode`` validates with one Python walk and then lets the C
encoder do the output; the property test in ``tests/test_log_canonical.py``
checks the result against the ``rfc8785`` reference implementation.
"""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import datetime, timezone

import orjson

__all__ = [
    "MAX_INT",
    "CanonicalError",
    "encode",
    "decode",
    "check_canonical",
    "is_canonical",
    "format_time",
    "parse_time",
]

MAX_INT = 2**53 - 1
"""Largest integer magnitude allowed: every such value is exact in an IEEE double."""

_FAST_DUMPS = json.JSONEncoder(
    ensure_ascii=False,
    allow_nan=False,
    sort_keys=True,
    separators=(",", ":"),
).encode

_ORDERED_DUMPS = json.JSONEncoder(
    ensure_ascii=False,
    allow_nan=False,
    sort_keys=False,
    separators=(",", ":"),
).encode


class CanonicalError(ValueError):
    """A value or a byte string falls outside the canonical log-entry profile."""


class _Invalid(Exception):
    """Internal: carries a reason up the walk, collecting the path on the way.

    Building the path only while unwinding keeps the happy path free of string
    concatenation, which matters at tens of thousands of entries per second.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.path: list[str | int] = []


def _format_path(parts: list[str | int]) -> str:
    """Render ``['data', 'items', 3, 'amount']`` as ``data.items[3].amount``."""
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else part
    return text or "(root)"


def _to_error(problem: _Invalid) -> CanonicalError:
    return CanonicalError(f"{_format_path(problem.path[::-1])}: {problem.reason}")


# --------------------------------------------------------------------------- walk


def _check_string(text: str) -> bool:
    """Validate a non-ASCII string; return True if it has characters beyond the BMP.

    Callers skip ASCII strings (``str.isascii`` is O(1) in CPython) because
    ASCII is always valid NFC - that keeps the common case cheap.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise _Invalid("string contains a lone surrogate") from None
    if not unicodedata.is_normalized("NFC", text):
        raise _Invalid("string is not in Unicode NFC")
    return max(text) > "\uffff"


def _check_scalar(value: object) -> None:
    """Validate anything that is not a string, object or array."""
    kind = type(value)
    if kind is int:
        if not -MAX_INT <= value <= MAX_INT:
            raise _Invalid("integer outside ±(2**53-1)")
    elif kind is float:
        raise _Invalid("floats are not allowed")
    elif value is not None and kind is not bool:
        raise _Invalid(f"type {kind.__name__} is not allowed")


def _walk(value: object) -> bool:
    """Validate ``value`` against the profile.

    Returns True when some object has a key with a character beyond the BMP:
    only then can code-point order (what ``sort_keys`` uses) differ from the
    UTF-16 order RFC 8785 requires, so only then is the slow path needed.
    """
    kind = type(value)
    if kind is dict:
        return _walk_object(value)
    if kind is list:
        return _walk_array(value)
    if kind is str:
        if not value.isascii():
            _check_string(value)
        return False
    _check_scalar(value)
    return False


def _walk_object(obj: dict) -> bool:
    """Checks keys and values inline: one function call per value was the bottleneck."""
    needs_utf16_sort = False
    key = None
    try:
        for key, item in obj.items():
            if type(key) is not str:
                raise _Invalid(f"object key {key!r} is not a string")
            if not key.isascii():
                needs_utf16_sort |= _check_string(key)
            kind = type(item)
            if kind is str:
                if not item.isascii():
                    _check_string(item)
            elif kind is dict or kind is list:
                needs_utf16_sort |= _walk(item)
            elif kind is not int or not -MAX_INT <= item <= MAX_INT:
                _check_scalar(item)
    except _Invalid as problem:
        problem.path.append(key if type(key) is str else repr(key))
        raise
    return needs_utf16_sort


def _walk_array(items: list) -> bool:
    needs_utf16_sort = False
    position = 0
    try:
        for position, item in enumerate(items):
            kind = type(item)
            if kind is str:
                if not item.isascii():
                    _check_string(item)
            elif kind is dict or kind is list:
                needs_utf16_sort |= _walk(item)
            elif kind is not int or not -MAX_INT <= item <= MAX_INT:
                _check_scalar(item)
    except _Invalid as problem:
        problem.path.append(position)
        raise
    return needs_utf16_sort


def _utf16_key(key: str) -> bytes:
    """Big-endian UTF-16 bytes compare exactly like sequences of UTF-16 code units."""
    return key.encode("utf-16-be", "surrogatepass")


def _utf16_ordered(value: object) -> object:
    """Copy ``value`` with every object's keys inserted in RFC 8785 order."""
    if type(value) is dict:
        return {key: _utf16_ordered(value[key]) for key in sorted(value, key=_utf16_key)}
    if type(value) is list:
        return [_utf16_ordered(item) for item in value]
    return value


def _validate(value: object) -> bool:
    try:
        return _walk(value)
    except _Invalid as problem:
        raise _to_error(problem) from None


# ------------------------------------------------------------------ encode/decode


def encode(value: object) -> bytes:
    """Return the canonical bytes of ``value`` or raise CanonicalError naming the path.

    Accepts only dict (str keys), list, str, int, bool and None.
    """
    if _validate(value):
        return _ORDERED_DUMPS(_utf16_ordered(value)).encode("utf-8")
    return _FAST_DUMPS(value).encode("utf-8")


def _reject_float(text: str) -> None:
    raise CanonicalError(f"floats are not allowed: {text}")


def _reject_constant(text: str) -> None:
    raise CanonicalError(f"{text} is not allowed")


def _parse_int(text: str) -> int:
    if len(text) > 17:  # longer than "-9007199254740991": out of range, don't convert
        raise CanonicalError(f"integer outside ±(2**53-1): {text[:20]}…")
    number = int(text)
    if not -MAX_INT <= number <= MAX_INT:
        raise CanonicalError(f"integer outside ±(2**53-1): {text}")
    return number


def _unique_keys(pairs: list[tuple[str, object]]) -> dict:
    obj = dict(pairs)
    if len(obj) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise CanonicalError(f"duplicate key {key!r}")
            seen.add(key)
    return obj


def decode(data: bytes) -> object:
    """Strictly parse JSON bytes into a value that satisfies the profile.

    Rejects invalid UTF-8, duplicate keys, NaN/Infinity, any number with a
    fraction or exponent (``1.0`` and ``1e2`` are floats), out-of-range
    integers, non-NFC strings and lone surrogates.  It does *not* demand
    canonical layout; use ``check_canonical`` for that.
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise CanonicalError("decode expects bytes")
    try:
        text = bytes(data).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CanonicalError(f"invalid UTF-8 at byte {exc.start}") from None
    try:
        value = json.loads(
            text,
            object_pairs_hook=_unique_keys,
            parse_float=_reject_float,
            parse_constant=_reject_constant,
            parse_int=_parse_int,
        )
    except CanonicalError:
        raise
    except ValueError as exc:  # json.JSONDecodeError and friends
        raise CanonicalError(f"invalid JSON: {exc}") from None
    _validate(value)
    return value


def check_canonical(data: bytes) -> object:
    """Decode ``data`` and insist it is byte-for-byte the canonical encoding."""
    value = decode(data)
    expected = encode(value)
    if expected != bytes(data):
        raise CanonicalError(f"not canonical: {first_difference(bytes(data), expected)}")
    return value


def is_canonical(data: bytes) -> bool:
    """True when ``data`` is a valid, canonically encoded value of the profile."""
    try:
        check_canonical(data)
    except CanonicalError:
        return False
    return True


def first_difference(actual: bytes, expected: bytes) -> str:
    """Where two encodings part, in words: for "not canonical" reports."""
    for offset, (got, want) in enumerate(zip(actual, expected)):
        if got != want:
            return f"byte {offset} is {bytes([got])!r}, the canonical form has {bytes([want])!r}"
    return f"{len(actual)} bytes, the canonical form has {len(expected)}"


# -------------------------------------------------------------------------- times

_TIME_SHAPE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}Z")


def format_time(moment: datetime) -> str:
    """Render an aware datetime as ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` in UTC.

    A single fixed-width form means times compare as strings and re-encode
    identically; naive datetimes are refused because their zone is a guess.
    """
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise CanonicalError("naive datetime: a time zone is required")
    utc = moment.astimezone(timezone.utc)
    return (
        f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T"
        f"{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}.{utc.microsecond:06d}Z"
    )


def parse_time(text: str) -> datetime:
    """Parse exactly the ``format_time`` form into an aware UTC datetime."""
    if not isinstance(text, str) or not _TIME_SHAPE.fullmatch(text):
        raise CanonicalError(f"time {text!r} is not YYYY-MM-DDTHH:MM:SS.ffffffZ")
    try:
        # The shape is already checked; fromisoformat is many times faster than strptime.
        return datetime.fromisoformat(text[:-1] + "+00:00")
    except ValueError as exc:
        raise CanonicalError(f"time {text!r} is not a valid date: {exc}") from None


def decode_verified(raw: bytes) -> object:
    """Decode a line already checked to be canonical (no floats, NaN, integers beyond
    ±(2^53−1) or duplicate keys): orjson gives the same value as the standard decoder, two to
    three times faster. Anything it does not take (a lone surrogate escape) goes to the
    standard decoder."""
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return json.loads(raw)
