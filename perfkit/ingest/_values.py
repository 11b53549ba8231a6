"""Lenient parsing of the small values every trace format carries.

Ids, 64-bit integers, enum values and JSON text: each helper returns the
normalised value, or ``None`` (or raises :class:`BadValue`) when the input
cannot be read, so that the reader decides what a bad record means.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any, Final

import orjson

from perfkit.ingest.schema import (
    KIND_CLIENT,
    KIND_CONSUMER,
    KIND_INTERNAL,
    KIND_PRODUCER,
    KIND_SERVER,
    KIND_UNSPECIFIED,
    STATUS_ERROR,
    STATUS_OK,
    STATUS_UNSET,
)

INT64_MAX: Final = 2**63 - 1
_ZERO_TRACE: Final = "0" * 32
_ZERO_SPAN: Final = "0" * 16
_B64_TRANS: Final = str.maketrans("-_", "+/")


class BadValue(ValueError):
    """A value in a span cannot be read; the message says which and why."""


def hex_id(value: object, nbytes: int, *, pad: bool = False) -> str | None:
    """An id as lowercase hex of ``2 * nbytes`` characters, or None if invalid.

    Accepts hex of either case (an optional ``0x`` prefix) and standard or
    URL-safe base64 when its decoded length is ``nbytes``. With ``pad``, hex
    shorter than full width is left-padded with zeros, as Jaeger and Zipkin
    print 64-bit ids. A 16-hex-digit trace id is always padded to 128 bits.
    All-zero ids are invalid.
    """
    width = 2 * nbytes
    if type(value) is str and len(value) == width:
        # The common case: a full-width hex id.
        try:
            raw = bytes.fromhex(value)
        except ValueError:
            raw = b""
        if len(raw) == nbytes:
            text = raw.hex()
            return None if text in (_ZERO_TRACE, _ZERO_SPAN) else text
    if not isinstance(value, str):
        return None
    return _lenient_id(value.strip(), nbytes, pad=pad)


def _lenient_id(text: str, nbytes: int, *, pad: bool) -> str | None:
    width = 2 * nbytes
    digits = text[2:] if text[:2] in ("0x", "0X") else text
    if digits and len(digits) <= width and _is_hex(digits):
        full = len(digits) == width or (nbytes == 16 and len(digits) == 16)
        if full or pad:
            digits = digits.lower().rjust(width, "0")
            return None if digits.strip("0") == "" else digits
    # Not hex of a width that fits: base64 if it decodes to the right length.
    raw = _b64(text)
    if raw is None or len(raw) != nbytes:
        return None
    result = raw.hex()
    return None if result.strip("0") == "" else result


def _is_hex(text: str) -> bool:
    return text.isascii() and all(c in "0123456789abcdefABCDEF" for c in text)


def _b64(text: str) -> bytes | None:
    text = text.translate(_B64_TRANS)
    text += "=" * (-len(text) % 4)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def parent_id(value: object, *, pad: bool = False) -> str | None:
    """A parent span id, or None for a root (absent, empty or all zeros).

    Raises:
        BadValue: the value is present but is not a span id.
    """
    if value is None or value == "":
        return None
    result = hex_id(value, 8, pad=pad)
    if result is None:
        if isinstance(value, str) and value.strip("0") == "":
            return None
        raise BadValue(f"parent span id {value!r} is not an 8-byte hex or base64 id")
    return result


# Ids already converted, raw text to lowercase hex, so that the spans of a
# trace and the siblings of a parent convert each id once.
TRACE_MEMO: dict[str, str] = {}
_MEMO_LIMIT: Final = 8192


def trace_id_of(value: object) -> str | None:
    """``hex_id(value, 16)``, remembered: the spans of a trace repeat its id."""
    if type(value) is not str:
        return hex_id(value, 16)
    result = TRACE_MEMO.get(value)
    if result is None:
        result = hex_id(value, 16)
        if result is not None:
            if len(TRACE_MEMO) >= _MEMO_LIMIT:
                TRACE_MEMO.clear()
            TRACE_MEMO[value] = result
    return result


PARENT_MEMO: dict[str, str | None] = {}  # None: the parent of a root


def parent_id_of(value: object) -> str | None:
    """``parent_id(value)``, remembered: siblings repeat their parent's id.

    Raises:
        BadValue: the value is present but is not a span id.
    """
    if type(value) is not str:
        return parent_id(value)
    try:
        return PARENT_MEMO[value]
    except KeyError:
        pass
    result = parent_id(value)
    if len(PARENT_MEMO) >= _MEMO_LIMIT:
        PARENT_MEMO.clear()
    PARENT_MEMO[value] = result
    return result


def uint64(value: object, what: str) -> int:
    """A non-negative 64-bit integer given as a JSON number or decimal string.

    Raises:
        BadValue: the value is missing, not an integer, negative or too large.
    """
    if type(value) is int:
        number = value
    elif isinstance(value, str):
        if not is_decimal(value):
            raise BadValue(f"{what} {value!r} is not an integer")
        number = int(value)
    elif isinstance(value, float) and value.is_integer() and abs(value) < 2**53:
        number = int(value)
    elif value is None:
        raise BadValue(f"{what} is missing")
    else:
        raise BadValue(f"{what} {value!r} is not an exact integer")
    if not 0 <= number <= INT64_MAX:
        raise BadValue(f"{what} {value!r} is out of range")
    return number


def is_decimal(text: str) -> bool:
    """Whether text is a decimal integer: ASCII digits, maybe a leading minus.

    Stricter than ``int()``, which also takes ``"1_000"``, surrounding spaces
    and digits of other scripts.
    """
    digits = text[1:] if text[:1] == "-" else text
    return digits.isascii() and digits.isdigit()


def int64(value: object) -> int:
    """A signed 64-bit integer attribute value, from a number or a string.

    Raises:
        BadValue: not an integer, or outside the int64 range.
    """
    if type(value) is int:
        number = value
    elif (isinstance(value, str) and is_decimal(value)) or (
        isinstance(value, float) and value.is_integer()
    ):
        number = int(value)
    else:
        raise BadValue(f"integer value {value!r} is not an integer")
    if not -INT64_MAX - 1 <= number <= INT64_MAX:
        raise BadValue(f"integer value {value!r} is out of the int64 range")
    return number


def _enum_table(pairs: dict[str, int], prefix: str) -> dict[object, int]:
    table: dict[object, int] = {}
    for name, number in pairs.items():
        for spelling in (name, prefix + name):
            table[spelling] = table[spelling.lower()] = number
        table[number] = table[str(number)] = number
    return table


_KINDS: Final = _enum_table(
    {
        "UNSPECIFIED": KIND_UNSPECIFIED,
        "INTERNAL": KIND_INTERNAL,
        "SERVER": KIND_SERVER,
        "CLIENT": KIND_CLIENT,
        "PRODUCER": KIND_PRODUCER,
        "CONSUMER": KIND_CONSUMER,
    },
    "SPAN_KIND_",
)
_STATUSES: Final = _enum_table(
    {"UNSET": STATUS_UNSET, "OK": STATUS_OK, "ERROR": STATUS_ERROR}, "STATUS_CODE_"
)


def span_kind(value: object) -> int:
    """A SpanKind number from a number or a name (``2``, ``"SPAN_KIND_SERVER"``).

    A missing kind is UNSPECIFIED.

    Raises:
        BadValue: an unknown kind.
    """
    if value is None:
        return KIND_UNSPECIFIED
    return _enum(_KINDS, value, "span kind")


def status_code(value: object) -> int:
    """A StatusCode number from a number or a name; missing means UNSET.

    Raises:
        BadValue: an unknown status code.
    """
    if value is None:
        return STATUS_UNSET
    return _enum(_STATUSES, value, "status code")


def _enum(table: dict[object, int], value: object, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise BadValue(f"{what} {value!r} is not a number or a name")
    number = table.get(value)
    if number is None and isinstance(value, str):
        number = table.get(value.strip().upper())
    if number is None:
        raise BadValue(f"unknown {what} {value!r}")
    return number


_SORT: Final = orjson.OPT_SORT_KEYS


def dumps(value: Any) -> str:
    """JSON text with sorted keys; integers beyond 64 bits are kept exact."""
    try:
        return orjson.dumps(value, option=_SORT).decode()
    except orjson.JSONEncodeError:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


EMPTY_OBJECT: Final = "{}"
EMPTY_LIST: Final = "[]"
