"""The one reader of sample files: JSONL, Parquet, or a Hugging Face `save_to_disk` folder.

Every command that takes samples reads them here, so a row means the same thing everywhere. A
bad row does not stop the read: it comes out as a `Row` with an error and its line or row
number, so a caller can quarantine it. Only a file that cannot be read at all raises.
JSONL named `*.gz` (`data.jsonl.gz`, `data.json.gz`) is decompressed as it streams.

`check_input` is the look before a command commits to a file: an input without rows, or a file
that is not JSONL at all (CSV, binary, gzip without its `.gz` name), is one error, not one per
line.
"""

from __future__ import annotations

import codecs
import gzip
import importlib
import io
import json
import math
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time
from decimal import Decimal
from itertools import islice
from pathlib import Path
from typing import Any, Literal

from synthguard.provenance.errors import EmptyInputError, InputError
from synthguard.provenance.gc_pause import collection_paused
from synthguard.provenance.sample import (
    DEFAULT_MAPPING,
    FieldMapping,
    NestingError,
    Sample,
    sample_from_row,
)

Format = Literal["jsonl", "parquet", "hf"]
FORMATS: tuple[Format, ...] = ("jsonl", "parquet", "hf")

_HF_MARKERS = ("dataset_info.json", "state.json", "dataset_dict.json")
_BATCH_ROWS = 1024
_CHUNK_BYTES = 1 << 20
# `check_input` judges JSONL by this many non-blank lines, each read this many bytes at a time.
SNIFF_LINES = 20
_SNIFF_BYTES = 1 << 16
# What a file that is not JSONL is, when its first bytes say so: a hint for the error.
_MAGIC = {
    b"\x1f\x8b": "it is gzip-compressed: name it {name}.gz",
    b"PAR1": "it is Parquet: name it *.parquet, or pass --format parquet",
}


@dataclass(frozen=True, slots=True)
class Row:
    """One input row: its 1-based line (JSONL) or row (Parquet, HF) number, and a sample or error.

    `raw` is the parsed value, or the line's text (bad bytes replaced) when it did not parse.
    Exactly one of `sample` and `error` is set.
    """

    number: int
    raw: object
    sample: Sample | None
    error: str | None

    def __post_init__(self) -> None:
        if (self.sample is None) == (self.error is None):
            raise ValueError("a Row holds exactly one of sample and error")

    def __reduce__(self) -> tuple[type[Row], tuple[int, object, Sample | None, str | None]]:
        # Its fields, not a slotted dataclass's slow __getstate__ (the screen's spill).
        return (Row, (self.number, self.raw, self.sample, self.error))


def detect_format(path: Path) -> Format:
    """Return the format a path is read as: HF folder, Parquet by suffix, otherwise JSONL."""
    if path.is_dir() and any((path / marker).is_file() for marker in _HF_MARKERS):
        return "hf"
    if path.suffix.lower() == ".parquet":
        return "parquet"
    return "jsonl"


def read_samples(
    path: Path, mapping: FieldMapping = DEFAULT_MAPPING, fmt: str | None = None
) -> Iterator[Row]:
    """Stream the rows of a sample file in order; raise InputError only if it cannot be read.

    The file is opened before this returns, so a missing or unreadable file fails here, not at
    the first `next()`. Parquet and HF cells JSON cannot hold (timestamps, dates, decimals)
    become strings (ISO 8601, decimal text), so every row has a canonical form.
    """
    kind = _format(path, fmt)
    if kind == "parquet":
        return _parquet_rows(_open_parquet(path), path, mapping)
    if kind == "hf":
        return _table_rows(_hf_tables(_load_hf(path), path), mapping)
    _check_readable(path)
    return _jsonl_rows(path, mapping)


@dataclass(frozen=True, slots=True)
class RowChunk:
    """A run of consecutive rows of a sample file: JSONL lines as read, not yet parsed
    (`lines`: line number and bytes), or rows another format gave parsed (`rows`). It pickles
    small, so the parsing can go to whichever process takes the chunk (`parsed`)."""

    mapping: FieldMapping
    lines: list[tuple[int, bytes]] = field(default_factory=list)
    rows: list[Row] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.lines) + len(self.rows)

    def parsed(self) -> list[Row]:
        """The chunk's rows, in order, exactly as `read_samples` gives them."""
        with collection_paused():
            parsed = [_line_row(number, line, self.mapping) for number, line in self.lines]
        return self.rows + parsed


def read_chunks(
    path: Path,
    mapping: FieldMapping = DEFAULT_MAPPING,
    fmt: str | None = None,
    *,
    rows: int,
    size: int,
) -> Iterator[RowChunk]:
    """The rows of a sample file in order, in chunks of at most `rows` rows that end once they
    hold `size` bytes of JSONL (a chunk of one line may hold more); InputError as
    `read_samples`. Blank lines are left out, as `read_samples` leaves them."""
    kind = _format(path, fmt)
    if kind != "jsonl":
        parsed = read_samples(path, mapping, fmt)
        while chunk := list(islice(parsed, rows)):
            yield RowChunk(mapping, rows=chunk)
        return
    _check_readable(path)
    lines: list[tuple[int, bytes]] = []
    held = 0
    try:
        with _open_jsonl(path) as data:
            number = 0
            for line in data:
                number += 1
                if _blank(number, line):
                    continue
                lines.append((number, line))
                held += len(line)
                if len(lines) == rows or held >= size:
                    yield RowChunk(mapping, lines=lines)
                    lines, held = [], 0
    except _READ_ERRORS as exc:
        raise _read_error(path, exc) from exc
    if lines:
        yield RowChunk(mapping, lines=lines)


def check_input(path: Path, fmt: str | None = None) -> None:
    """Raise InputError unless `path` can be read and holds rows; EmptyInputError if it has none.

    JSONL whose first 20 non-blank lines (all of them, in a shorter file) hold no JSON object
    is not JSONL at all, and one error says so. Only those lines are read, in bounded memory.
    """
    kind = _format(path, fmt)
    if kind == "parquet":
        parquet = _open_parquet(path)
        try:
            rows = int(parquet.metadata.num_rows)
        finally:
            parquet.close()
    elif kind == "hf":
        rows = len(_load_hf(path))
    else:
        _check_readable(path)
        rows = _sniff_jsonl(path)
    if rows == 0:
        raise EmptyInputError(f"{path} is empty: it holds no rows")


def count_rows(path: Path, fmt: str | None = None) -> int | None:
    """Return a cheap row count for a progress bar (JSONL: lines), or None if it is unknown."""
    try:
        kind = _format(path, fmt)
        if kind == "parquet":
            return int(_open_parquet(path).metadata.num_rows)
        if kind == "hf":
            return len(_load_hf(path))
        return _count_lines(path)
    except (InputError, OSError, EOFError, zlib.error):
        return None


def _format(path: Path, fmt: str | None) -> Format:
    if fmt is None:
        return detect_format(path)
    if fmt not in FORMATS:
        raise InputError(f"unknown input format {fmt!r}; one of: {', '.join(FORMATS)}")
    return fmt


# JSONL

# What reading a file can raise: OSError (gzip.BadGzipFile too), and for gzip a cut-off stream
# (EOFError) or corrupt data (zlib.error).
_READ_ERRORS: tuple[type[Exception], ...] = (OSError, EOFError, zlib.error)


def _open_jsonl(path: Path) -> io.BufferedIOBase:
    """Open a JSONL file's bytes; a `.gz` name is decompressed as it is read, never whole."""
    if path.suffix.lower() == ".gz":
        return gzip.GzipFile(path, "rb")
    return path.open("rb")


def _read_error(path: Path, exc: Exception) -> InputError:
    if isinstance(exc, gzip.BadGzipFile) and str(exc).startswith("Not a gzipped file"):
        return InputError(f"{path} is not gzip-compressed, though its name ends in .gz")
    if isinstance(exc, EOFError | zlib.error | gzip.BadGzipFile):
        return InputError(f"{path} is cut off or corrupt: its gzip data cannot be read ({exc})")
    detail = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
    return InputError(f"cannot read {path}: {detail}")


def _check_readable(path: Path) -> None:
    try:
        with path.open("rb"):
            pass
    except IsADirectoryError as exc:
        raise InputError(
            f"{path} is a directory, not a JSONL file or a saved Hugging Face dataset"
        ) from exc
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _jsonl_rows(path: Path, mapping: FieldMapping) -> Iterator[Row]:
    try:
        with _open_jsonl(path) as lines:
            number = 0
            # Not enumerate(): its reused result tuple would keep the last line alive.
            for line in lines:
                number += 1
                if _blank(number, line):
                    continue
                try:
                    text = line.decode("utf-8")
                except UnicodeDecodeError:
                    yield _undecodable(number, line)
                    continue
                # One copy of a long row at a time: the bytes go before the parse, the text
                # before the canonical form is built.
                del line
                parsed = _parse_line(number, text)
                del text
                yield parsed if isinstance(parsed, Row) else _row(number, parsed.value, mapping)
    except _READ_ERRORS as exc:
        raise _read_error(path, exc) from exc


def _line_row(number: int, line: bytes, mapping: FieldMapping) -> Row:
    """The row of one non-blank line (`_jsonl_rows` does the same with one copy of the line
    alive at a time)."""
    try:
        text = line.decode("utf-8")
    except UnicodeDecodeError:
        return _undecodable(number, line)
    parsed = _parse_line(number, text)
    return parsed if isinstance(parsed, Row) else _row(number, parsed.value, mapping)


def _undecodable(number: int, line: bytes) -> Row:
    raw = _strip(number, line.decode("utf-8", "replace"))
    return Row(number, raw, None, "line is not valid UTF-8")


def _sniff_jsonl(path: Path) -> int:
    """Return how many of the first lines hold something: 0 for an empty file.

    Raise InputError when none of the first `SNIFF_LINES` of them holds a JSON object.
    """
    seen = number = 0
    try:
        with _open_jsonl(path) as data:
            while seen < SNIFF_LINES:
                number += 1
                kind = _sniff_line(data, number)
                if kind == "end":
                    break
                if kind == "object":
                    return seen + 1
                if kind == "other":
                    seen += 1
    except _READ_ERRORS as exc:
        raise _read_error(path, exc) from exc
    if seen == 0:
        return 0
    if seen == SNIFF_LINES:
        what = f"the first {SNIFF_LINES} lines are not JSON objects"
    elif seen == 1:
        what = "its only line is not a JSON object"
    else:
        what = f"none of its {seen} lines is a JSON object"
    hint = _magic_hint(path)
    raise InputError(f"{path} does not look like JSONL: {what}" + (f" ({hint})" if hint else ""))


def _sniff_line(data: io.BufferedIOBase, number: int) -> Literal["end", "blank", "object", "other"]:
    """Read one line and tell whether it holds a JSON object.

    A line that fits in one read is parsed, leniently: only its shape matters here. A longer
    one is judged by its first non-blank character, so that no line is ever held whole.
    """
    chunk = data.readline(_SNIFF_BYTES)
    if not chunk:
        return "end"
    whole = chunk.endswith(b"\n") or len(chunk) < _SNIFF_BYTES
    if number == 1:
        chunk = chunk.lstrip(_BLANK_BYTES).removeprefix(codecs.BOM_UTF8)
    if whole:
        text = chunk.decode("utf-8", "replace").strip(_BLANK)
        if not text:
            return "blank"
        return "object" if _holds_object(text) else "other"
    start = chunk.lstrip(_BLANK_BYTES)[:1]
    while not chunk.endswith(b"\n") and (chunk := data.readline(_SNIFF_BYTES)):
        start = start or chunk.lstrip(_BLANK_BYTES)[:1]
    if not start:
        return "blank"
    return "object" if start == b"{" else "other"


def _holds_object(text: str) -> bool:
    if not text.startswith("{"):
        return False
    try:
        value, end = _SHAPE.raw_decode(text)
    except (ValueError, RecursionError):
        return False
    return isinstance(value, dict) and end == len(text)


def _magic_hint(path: Path) -> str | None:
    """What a file that is not JSONL is, when its first bytes say so (gzip without .gz, ...)."""
    if path.suffix.lower() == ".gz":
        return None
    try:
        with path.open("rb") as data:
            head = data.read(4)
    except OSError:
        return None
    for magic, hint in _MAGIC.items():
        if head.startswith(magic):
            return hint.format(name=path.name)
    return None


# What bytes.strip() strips: ASCII whitespace, that is JSON's four plus vertical tab and form feed.
_BLANK = " \t\n\r\x0b\x0c"
_BLANK_BYTES = _BLANK.encode("ascii")
_SPACE = re.compile(f"[{re.escape(_BLANK)}]*")


def _blank(number: int, line: bytes) -> bool:
    # isspace, not strip: a 50 MB line is not copied to learn that it is not blank.
    if number == 1 and line.startswith(codecs.BOM_UTF8):
        line = line[len(codecs.BOM_UTF8) :]
        return not line or line.isspace()
    return line.isspace()


def _strip(number: int, text: str) -> str:
    if number == 1:
        text = text.strip(_BLANK).removeprefix("\ufeff")
    return text.strip(_BLANK)


def _skip_space(text: str, position: int) -> int:
    found = _SPACE.match(text, position)
    return found.end() if found else position


@dataclass(frozen=True, slots=True)
class _Parsed:
    value: object


class _RowError(Exception):
    """A line Python's json would read, but not as one unambiguous JSON value."""


def _parse_line(number: int, text: str) -> Row | _Parsed:
    """Parse one line as strict JSON: no duplicate keys, no NaN, integers Python can read."""
    start = 0
    if number == 1:
        start = _skip_space(text, 0)
        if text.startswith("\ufeff", start):
            start += 1
    try:
        return _Parsed(_decode(text, start))
    except json.JSONDecodeError as exc:
        raw = _strip(number, text)
        error = _json_error(raw, exc)
    except _RowError as exc:
        raw, error = _strip(number, text), f"invalid JSON: {exc}"
    except RecursionError:
        raw, error = _strip(number, text), "invalid JSON: nested too deeply"
    return Row(number, raw, None, error)


def _json_error(raw: str, error: json.JSONDecodeError) -> str:
    # Told on the stripped line, as a user reads it: a string cut off at the end of the line
    # is unterminated, not holding a newline.
    try:
        _decode(raw, 0)
    except json.JSONDecodeError as stripped:
        error = stripped
    except (_RowError, RecursionError):
        pass
    return f"invalid JSON: {error.msg} (column {error.colno})"


def _decode(text: str, start: int) -> object:
    value, end = _DECODER.raw_decode(text, _skip_space(text, start))
    if _skip_space(text, end) != len(text):
        raise json.JSONDecodeError("Extra data", text, end)
    return value


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # Python keeps the last of two equal keys, another reader may keep the first: the row
    # would not mean one thing, so it is refused.
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _RowError(f"duplicate key {key!r}")
            seen.add(key)
    return value


def _int(digits: str) -> int:
    try:
        return int(digits)
    except ValueError:  # more digits than sys.get_int_max_str_digits() (4300 by default)
        count = len(digits.lstrip("-"))
        raise _RowError(
            f"an integer of {count} digits is outside the range JSON numbers hold exactly"
        ) from None


def _float(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # 1e400: json reads it as infinity, which no JSON number is
        shown = text if len(text) <= 24 else f"{text[:12]}...{text[-8:]}"
        raise _RowError(f"the number {shown} is outside the range of a JSON number (a double)")
    return value


def _constant(name: str) -> object:
    raise _RowError(f"{name} is not a JSON number")


_DECODER = json.JSONDecoder(
    object_pairs_hook=_unique_keys, parse_int=_int, parse_float=_float, parse_constant=_constant
)
# Only a line's shape: NaN, repeated keys and integers too long for int() are still objects.
_SHAPE = json.JSONDecoder(parse_int=len)


def _count_lines(path: Path) -> int:
    count = 0
    last = b"\n"
    with _open_jsonl(path) as data:
        while chunk := data.read(_CHUNK_BYTES):
            count += chunk.count(b"\n")
            last = chunk
    # A last line without a newline is still a line.
    return count + (not last.endswith(b"\n"))


# Parquet and Hugging Face datasets


def _optional(module: str, extra: str, purpose: str) -> Any:
    # Imported by name so neither package is needed, nor its missing type stubs, until used.
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise InputError(
            f"{purpose} needs the {extra} extra: pip install 'synthguard[{extra}]'"
        ) from exc


def _open_parquet(path: Path) -> Any:
    pq = _optional("pyarrow.parquet", "parquet", "reading Parquet")
    pa = _optional("pyarrow", "parquet", "reading Parquet")
    try:
        parquet = pq.ParquetFile(path)
    except IsADirectoryError as exc:
        raise InputError(f"{path} is a directory, not a Parquet file") from exc
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror or exc}") from exc
    except pa.ArrowException as exc:
        raise InputError(f"{path} is not a readable Parquet file: {exc}") from exc
    names = parquet.schema_arrow.names
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        # A row is a mapping: it would keep one of the values and drop the others unsaid.
        parquet.close()
        raise InputError(
            f"{path} has more than one column named {', '.join(map(repr, repeated))}: a row "
            "cannot hold both values; rename them"
        )
    return parquet


def _parquet_rows(parquet: Any, path: Path, mapping: FieldMapping) -> Iterator[Row]:
    pa = _optional("pyarrow", "parquet", "reading Parquet")
    try:
        batches = (batch.to_pylist() for batch in parquet.iter_batches(batch_size=_BATCH_ROWS))
        yield from _table_rows(batches, mapping)
    except (OSError, pa.ArrowException) as exc:
        raise InputError(f"cannot read Parquet file {path}: {exc}") from exc
    finally:
        parquet.close()


def _load_hf(path: Path) -> Any:
    datasets = _optional("datasets", "hf", "reading a Hugging Face dataset")
    try:
        dataset = datasets.load_from_disk(str(path))
    except Exception as exc:  # datasets raises many types for a folder it cannot load
        raise InputError(f"cannot load Hugging Face dataset {path}: {exc}") from exc
    if isinstance(dataset, datasets.DatasetDict):
        splits = ", ".join(dataset)
        raise InputError(
            f"{path} holds several splits ({splits}); name one split's folder, e.g. "
            f"{path / next(iter(dataset), 'train')}"
        )
    return dataset


def _hf_tables(dataset: Any, path: Path) -> Iterator[list[dict[str, Any]]]:
    # Arrow batches, not the default Python format, so no feature (e.g. Image) gets decoded.
    try:
        for table in dataset.with_format("arrow").iter(batch_size=_BATCH_ROWS):
            yield table.to_pylist()
    except OSError as exc:
        raise InputError(f"cannot read Hugging Face dataset {path}: {exc}") from exc


def _table_rows(batches: Iterator[list[dict[str, Any]]], mapping: FieldMapping) -> Iterator[Row]:
    number = 0
    for batch in batches:
        for cells in batch:
            number += 1
            yield _row(number, {key: _jsonable(value) for key, value in cells.items()}, mapping)


def _jsonable(value: Any) -> Any:
    if value is None or type(value) in (str, int, float, bool):
        return value
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def _row(number: int, value: object, mapping: FieldMapping) -> Row:
    try:
        return Row(number, value, sample_from_row(value, mapping), None)
    except NestingError as exc:
        # Kept as its JSON text: a value this deep would stop whatever pickles or walks it
        # next (the screen's spill, the outputs).
        try:
            text = json.dumps(value, ensure_ascii=False)
        except RecursionError:
            text = "(a row nested too deeply to write back)"
        return Row(number, text, None, str(exc))
    except InputError as exc:
        return Row(number, value, None, str(exc))
