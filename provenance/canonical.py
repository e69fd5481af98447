"""Canonical JSON (RFC 8785, JCS) and `sha256:<hex>` digests.

`rfc8785` is the reference implementation. Records are canonicalised on the hot path of every
append, where `rfc8785.dumps` costs as much as the Ed25519 signature itself, so `canonical_json`
walks the value once with the C string escaper of the standard library and hands numbers that
need ECMAScript formatting (floats) to `rfc8785`. A hypothesis test pins the two byte-identical.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import Any, NoReturn

import rfc8785

from synthguard.provenance.errors import InputError

_INT_MAX = 2**53 - 1
DIGEST_PREFIX = "sha256:"
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
_STREAM_CHARS = 1 << 20


def _not_json(value: object) -> object:
    raise TypeError(f"value of type {type(value).__name__} is not JSON")


# The standard library's C encoder: no circular-reference markers, no indent, sorted keys.
_STRINGS_OBJECT = (
    c_make_encoder(None, _not_json, encode_basestring, None, ":", ",", True, False, False)
    if c_make_encoder is not None
    else None
)


class Fragment(str):
    """Text that is already canonical JSON, spliced into the output verbatim.

    Lets a value that repeats across many records (a generator's identity) be encoded once.
    """

    __slots__ = ()


class EncodedList(list[Any]):
    """A list whose canonical JSON is written once, when it is made: a value that repeats in
    many records (the guards a screen ran, in each of its verdict records) is encoded once.
    It equals the plain list, and refuses to be changed (its text would no longer be it)."""

    __slots__ = ("canonical",)

    def __init__(self, items: Iterable[Any]) -> None:
        super().__init__(items)
        self.canonical = canonical_json(list(self)).decode("utf-8")

    def __reduce__(self) -> tuple[type[EncodedList], tuple[list[Any]]]:
        # Rebuilt from its items: pickle's way for a list would append to it.
        return (EncodedList, (list(self),))

    def _unchanged(self, *_args: Any, **_kwargs: Any) -> NoReturn:
        raise TypeError("an EncodedList is not changed once it is made")

    __setitem__ = __delitem__ = __iadd__ = __imul__ = _unchanged
    append = extend = insert = pop = remove = clear = sort = reverse = _unchanged


class EncodedDict(dict[str, Any]):
    """A JSON object whose canonical JSON is written once, when it is made: a record's
    `detail`, checked to be JSON where it is given, is not encoded a second time when it is
    signed. Making one raises InputError for a value that is not JSON. It equals the plain
    dict, and refuses to be changed (its text would no longer be it)."""

    __slots__ = ("canonical",)

    def __init__(self, items: Mapping[str, Any]) -> None:
        super().__init__(items)
        # As a plain object: `_encode` would splice the text this is about to make.
        self.canonical = "".join(_encoded(self, _encode_object))
        if not self.canonical.isascii():
            try:
                self.canonical.encode("utf-8")
            except UnicodeEncodeError as exc:
                raise InputError("text is not valid Unicode (lone surrogate)") from exc

    def __reduce__(self) -> tuple[type[EncodedDict], tuple[dict[str, Any]]]:
        # Rebuilt from its items: pickle's way for a dict would set them one by one.
        return (EncodedDict, (dict(self),))

    def _unchanged(self, *_args: Any, **_kwargs: Any) -> NoReturn:
        raise TypeError("an EncodedDict is not changed once it is made")

    __setitem__ = __delitem__ = __ior__ = _unchanged
    setdefault = update = pop = popitem = clear = _unchanged


def canonical_json(value: Any) -> bytes:
    """Return the RFC 8785 canonical form of a JSON value as UTF-8 bytes."""
    parts = _encoded(value)
    try:
        return "".join(parts).encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError("text is not valid Unicode (lone surrogate)") from exc


def _encoded(value: Any, encode: Callable[[Any, list[str]], None] | None = None) -> list[str]:
    """The pieces of a value's canonical form; InputError for one nested deeper than Python's
    recursion limit lets the walk go (a caller's argument, a generator's parameters)."""
    parts: list[str] = []
    try:
        (encode or _encode)(value, parts)
    except RecursionError:
        raise InputError("a value nested too deeply for canonical JSON") from None
    return parts


def _encode(value: Any, out: list[str]) -> None:
    kind = type(value)
    if kind is str:
        out.append(encode_basestring(value))
    elif kind is dict:
        _encode_object(value, out)
    elif kind is EncodedDict:
        out.append(value.canonical)
    elif isinstance(value, Mapping):
        _encode_object(value, out)
    elif kind is list or kind is tuple:
        _encode_array(value, out)
    elif value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif kind is int:
        if not -_INT_MAX <= value <= _INT_MAX:
            raise InputError(
                f"integer {_shown(value)} is outside the range JSON numbers hold exactly"
            )
        out.append(str(value))
    elif kind is Fragment:
        out.append(value)
    elif kind is float:
        if 1e-4 <= abs(value) < 1e16:
            # Where Python's shortest round-trip form has no exponent, it is ECMAScript's too
            # (rfc8785 starts from it), less a trailing ".0".
            text = repr(value)
            out.append(text[:-2] if text.endswith(".0") else text)
            return
        try:
            out.append(rfc8785.dumps(value).decode("ascii"))
        except rfc8785.CanonicalizationError as exc:
            raise InputError(f"{value} cannot be written as JSON") from exc
    elif kind is EncodedList:
        out.append(value.canonical)
    elif isinstance(value, str):
        out.append(encode_basestring(str.__str__(value)))
    elif isinstance(value, int):
        _encode(int(value), out)
    elif isinstance(value, float):
        _encode(float(value), out)
    elif isinstance(value, Sequence) and not isinstance(value, (bytes, bytearray, memoryview)):
        _encode_array(value, out)
    else:
        raise InputError(f"value of type {kind.__name__} is not JSON")


def _shown(value: int) -> str:
    """An integer as a message shows it: written out when short, else by its size (Python
    refuses to write out one of more than 4,300 digits)."""
    if value.bit_length() <= 128:
        return str(value)
    return f"of about {int(value.bit_length() * math.log10(2)) + 1:,} digits"


def _encode_object(value: Mapping[Any, Any], out: list[str]) -> None:
    if not value:
        out.append("{}")
        return
    try:
        keys = sorted(value)
        joined = "".join(keys)
    except TypeError as exc:
        raise InputError("object keys must be strings") from exc
    # JCS orders keys by UTF-16 code units; code-point order agrees unless a key leaves the BMP.
    if not joined.isascii():
        keys = sorted(value, key=lambda k: k.encode("utf-16-be", "surrogatepass"))
    elif (
        _STRINGS_OBJECT is not None
        and type(value) is dict
        and all(type(item) is str for item in value.values())
        and sum(map(len, value.values())) < _STREAM_CHARS
    ):
        # An object of strings (most sample rows): the standard library's C encoder, with its
        # keys sorted (ASCII: code-point order is JCS's) and the same string escaper. Not for
        # long strings: the encoder joins its pieces, one more copy of the whole text.
        out.extend(_STRINGS_OBJECT(value, 0))
        return
    out.append("{")
    for i, key in enumerate(keys):
        if i:
            out.append(",")
        out.append(encode_basestring(str.__str__(key)))
        out.append(":")
        item = value[key]
        if type(item) is str:
            out.append(encode_basestring(item))
        else:
            _encode(item, out)
    out.append("}")


def _encode_array(value: Sequence[Any], out: list[str]) -> None:
    out.append("[")
    for i, item in enumerate(value):
        if i:
            out.append(",")
        _encode(item, out)
    out.append("]")


def json_copy(value: Any) -> Any:
    """`value` with every dict and list copied (a tuple becomes a list, as JSON has it);
    strings, numbers and other leaves are immutable and shared. For taking a snapshot of a
    caller's JSON value, so a later change to the caller's object changes nothing signed."""
    if isinstance(value, Mapping):
        return {key: json_copy(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [json_copy(item) for item in value]
    return value


def digest(data: bytes) -> str:
    """Return `sha256:<hex>` of some bytes."""
    return DIGEST_PREFIX + hashlib.sha256(data).hexdigest()


def digest_json(value: Any) -> str:
    """Return the digest of a JSON value's canonical form.

    A large value is hashed piece by piece, never joined into one string and encoded whole:
    a 50 MB row costs one extra copy of its largest string, not three of the row.
    """
    parts = _encoded(value)
    if sum(map(len, parts)) < _STREAM_CHARS:
        try:
            return digest("".join(parts).encode("utf-8"))
        except UnicodeEncodeError as exc:
            raise InputError("text is not valid Unicode (lone surrogate)") from exc
    hasher = hashlib.sha256()
    try:
        for i, part in enumerate(parts):
            parts[i] = ""
            for start in range(0, len(part), _STREAM_CHARS):
                hasher.update(part[start : start + _STREAM_CHARS].encode("utf-8"))
            del part
    except UnicodeEncodeError as exc:
        raise InputError("text is not valid Unicode (lone surrogate)") from exc
    return DIGEST_PREFIX + hasher.hexdigest()


def parse_digest(text: str) -> bytes:
    """Return the 32 raw bytes of a `sha256:<hex>` digest, or raise InputError."""
    # bytes.fromhex alone would take upper case and spaces: two spellings of one digest.
    if not isinstance(text, str) or not _DIGEST.fullmatch(text):
        raise InputError(f"not a sha256 digest: {text!r}")
    return bytes.fromhex(text[len(DIGEST_PREFIX) :])
