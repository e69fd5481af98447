"""What a sample is: its shape, its canonical content, and its content-addressed id.

Three shapes are understood: Alpaca (instruction/input/output), chat (`messages` of role and
content) and plain `text`. A sample's id is the digest of its canonical content only, so the same
content carries the same id whatever else its row holds; the row's own digest covers every field.

The rows synthguard writes (screen outputs, release data files) carry their id in a `sample_id`
field (`output_row`); a row that carries the id of its own content is read back as the row it was
written from, so the field never enters a sample's content or its stored row.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field

from synthguard.provenance.canonical import (
    canonical_json,
    digest_json,
    json_copy,
    parse_digest,
)
from synthguard.provenance.errors import InputError

SampleKind = Literal["alpaca", "chat", "text"]

SAMPLE_ID_FIELD: Final = "sample_id"
"""The field of an output row that holds its sample id (`output_row`)."""

_JSON_TYPE_NAMES = {dict: "object", list: "array", type(None): "null"}


class FieldMapping(BaseModel):
    """Which input field holds each part of a sample (e.g. `instruction` read from `prompt`)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    instruction: str = Field(default="instruction", min_length=1)
    input: str = Field(default="input", min_length=1)
    output: str = Field(default="output", min_length=1)
    messages: str = Field(default="messages", min_length=1)
    text: str = Field(default="text", min_length=1)
    id: str = Field(default="id", min_length=1, description="The row's own identifier, if any.")

    @classmethod
    def parse(cls, pairs: Iterable[str]) -> FieldMapping:
        """Build a mapping from CLI pairs such as `instruction=prompt` (target=input field)."""
        targets = cls.model_fields
        chosen: dict[str, str] = {}
        for pair in pairs:
            target, sep, source = (part.strip() for part in pair.partition("="))
            if not sep or not target or not source:
                raise InputError(f"field mapping {pair!r} is not of the form target=field")
            if target not in targets:
                known = ", ".join(targets)
                raise InputError(f"unknown field {target!r} in mapping {pair!r}; one of: {known}")
            if target in chosen:
                raise InputError(f"field {target!r} is mapped twice")
            chosen[target] = source
        return cls(**chosen)


DEFAULT_MAPPING = FieldMapping()


@dataclass(frozen=True, slots=True)
class Sample:
    """One training sample: its shape, canonical content, original row, and their digests.

    `id` is the digest of the canonical content, `digest` that of the whole row; both are
    computed once, at construction. Equality and hashing go by kind, id and digest.
    """

    kind: SampleKind
    content: dict[str, Any] = field(compare=False)
    row: dict[str, Any] = field(compare=False, repr=False)
    id: str = field(init=False)
    digest: str = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # The row first: it holds the content too, and a fault there names the input's field.
        object.__setattr__(self, "digest", _digest_of(self.row))
        # A row of exactly the content's fields (most Alpaca and text rows) has its digest as
        # its id. Content holds only strings, lists and dicts, so equal values are equal JSON.
        same = self.content == self.row
        object.__setattr__(self, "id", self.digest if same else _digest_of(self.content))

    def detached(self) -> Sample:
        """This sample with a row of its own: the row's dicts and lists copied, so a caller
        who still holds the row it was read from (a generator's return value) can change it
        without changing what is stored under this sample's digest."""
        row = self.row
        # Most rows are one level of strings: a shallow copy is a whole one.
        flat = all(type(value) is str for value in row.values())
        copied = dict(row) if flat else json_copy(row)
        return _restored(self.kind, self.content, copied, self.id, self.digest)

    def __reduce__(self) -> tuple[Callable[..., Sample], tuple[Any, ...]]:
        # Pickled as its fields, digests included: a slotted dataclass pickles through a
        # Python-level __getstate__ (tens of microseconds a sample), and a sample read back
        # (the screen's spill, a worker's part) is not digested again.
        return (_restored, (self.kind, self.content, self.row, self.id, self.digest))


def _restored(
    kind: SampleKind, content: dict[str, Any], row: dict[str, Any], sample_id: str, digest: str
) -> Sample:
    sample = object.__new__(Sample)
    for name, value in (
        ("kind", kind),
        ("content", content),
        ("row", row),
        ("id", sample_id),
        ("digest", digest),
    ):
        object.__setattr__(sample, name, value)
    return sample


def sample_from_row(row: object, mapping: FieldMapping = DEFAULT_MAPPING) -> Sample:
    """Detect a row's shape and return its Sample, or raise InputError naming the bad field.

    A `messages` field makes a chat sample; `instruction` or `output` an Alpaca one; `text` a
    text one. A field holding null counts as absent (columnar formats fill missing cells so).
    A row whose `sample_id` is the id of its content is an output row (`output_row`): it is
    read as the row it was written from. Any other `sample_id` is the row's own field.
    """
    if not isinstance(row, Mapping):
        raise InputError("row is not a JSON object")
    values: dict[str, Any] = row if type(row) is dict else dict(row)
    check_depth(values)
    carried = values.get(SAMPLE_ID_FIELD)
    if isinstance(carried, str):
        written = _written_from(values, mapping)
        if written is not None and written.id == carried:
            return written
    return _sample_of(values, mapping)


MAX_DEPTH: Final = 32
"""How deep a row's values may nest (the row itself is level 1; a chat message's content is at
level 3). No sample shape comes near it, and deeper rows cannot be kept whole: a release's
Parquet file holds lists up to 49 levels deep, and Python's own recursion limit stops the
screen's spill at a few hundred."""


class NestingError(InputError):
    """A row nested more than `MAX_DEPTH` levels deep."""


def check_depth(row: Mapping[str, Any]) -> None:
    """NestingError for a row whose values nest more than `MAX_DEPTH` levels."""
    if all(type(value) is str for value in row.values()):
        return  # most rows: one level of strings
    level: list[Any] = [row]
    for _ in range(MAX_DEPTH):
        level = [
            item
            for value in level
            for item in (value.values() if isinstance(value, Mapping) else value)
            if isinstance(item, Mapping | list | tuple)
        ]
        if not level:
            return
    raise NestingError(f"row is nested too deeply: more than {MAX_DEPTH} levels")


def output_row(row: Mapping[str, Any], sample_id: str | None) -> dict[str, Any]:
    """The row as synthguard writes it: `sample_id` first (None for a row that is no sample),
    then the row's own fields, where one named `sample_id`, `_sample_id`, `__sample_id`, ...
    gains one more leading underscore, so that nothing of the row is overwritten and
    `sample_from_row` reads the output back as the row it was."""
    body: dict[str, Any] = {SAMPLE_ID_FIELD: sample_id}
    for key, value in row.items():
        body[f"_{key}" if _is_id_name(key) else key] = value
    return body


def original_row(row: Mapping[str, Any]) -> dict[str, Any]:
    """Undo `output_row`: the row without its `sample_id`, the row's own fields renamed back."""
    return {
        key[1:] if _is_id_name(key) else key: value
        for key, value in row.items()
        if key != SAMPLE_ID_FIELD
    }


def _is_id_name(key: object) -> bool:
    return isinstance(key, str) and key.lstrip("_") == SAMPLE_ID_FIELD


def _written_from(values: Mapping[str, Any], mapping: FieldMapping) -> Sample | None:
    """The sample of the row that `values` would be the output of, if it reads as one."""
    try:
        return _sample_of(original_row(values), mapping)
    except InputError:
        return None


def _sample_of(values: dict[str, Any], mapping: FieldMapping) -> Sample:
    kind: SampleKind
    if values.get(mapping.messages) is not None:
        kind, content = "chat", _chat_content(values, mapping.messages)
    elif values.get(mapping.instruction) is not None or values.get(mapping.output) is not None:
        kind, content = "alpaca", _alpaca_content(values, mapping)
    elif values.get(mapping.text) is not None:
        kind, content = "text", {"text": _text_field(values, mapping.text)}
    else:
        raise InputError(
            "row has none of the content fields "
            f"{mapping.instruction}/{mapping.output}, {mapping.messages}, {mapping.text}"
        )
    return Sample(kind, content, values)


SampleLike = Sample | Mapping[str, Any] | str
"""What the recorder and `track` take as a sample: a Sample, a row, or a string (text sample)."""

ParentLike = Sample | Mapping[str, Any] | str
"""What names a parent: a Sample, a row, or a sample id (`sha256:<hex>`)."""


def as_sample(value: object, mapping: FieldMapping = DEFAULT_MAPPING) -> Sample:
    """Return `value` as a Sample: a Sample as it is, a row read by `mapping`, a string as
    the text sample `{"text": value}`; raise InputError naming the bad field otherwise."""
    if isinstance(value, Sample):
        return value
    if isinstance(value, str):
        return sample_from_row({"text": value})
    if not isinstance(value, Mapping):
        raise InputError(
            f"row is not a JSON object but {_type_name(value)} (a sample is an object, a "
            "string or a Sample)"
        )
    return sample_from_row(value, mapping)


def parent_id(value: object, mapping: FieldMapping = DEFAULT_MAPPING) -> str:
    """Return the sample id a parent names: an id as it is, else the id of a Sample or row."""
    if isinstance(value, str):
        try:
            parse_digest(value)
        except InputError:
            raise InputError(
                f"parent {value!r} is not a sample id (sha256:<64 lower-case hex digits>)"
            ) from None
        return value
    if isinstance(value, Sample | Mapping):
        return as_sample(value, mapping).id
    raise InputError(f"a parent is a sample id, a row or a Sample, not {_type_name(value)}")


def sample_parts(sample: Sample) -> list[str]:
    """Return the sample's non-empty strings in order: instruction, input, output; or each
    message's content; or the text."""
    content = sample.content
    if sample.kind == "alpaca":
        parts = [content["instruction"], content["input"], content["output"]]
    elif sample.kind == "chat":
        parts = [message["content"] for message in content["messages"]]
    else:
        parts = [content["text"]]
    return [part for part in parts if part]


def sample_text(sample: Sample) -> str:
    """Return the text a guard reads: the sample's strings joined with newlines."""
    return "\n".join(sample_parts(sample))


def unread_fields(sample: Sample, mapping: FieldMapping = DEFAULT_MAPPING) -> list[str]:
    """The fields of a sample's row outside its content, which no guard reads (and which its id
    does not cover; its digest does): top-level fields other than those its shape is read from
    and the row's own id, and a chat message's keys other than role and content, named as
    `messages[].tool_calls`. Fields holding null count as absent."""
    row = sample.row
    if sample.kind == "alpaca":
        read = {mapping.instruction, mapping.input, mapping.output, mapping.id}
    elif sample.kind == "chat":
        read = {mapping.messages, mapping.id}
    else:
        read = {mapping.text, mapping.id}
    unread = [key for key, value in row.items() if key not in read and value is not None]
    if sample.kind == "chat":
        unread += [
            f"{mapping.messages}[].{key}"
            for message in row[mapping.messages]
            for key, value in message.items()
            if key not in ("role", "content") and value is not None
        ]
    return list(dict.fromkeys(unread))


def _alpaca_content(row: dict[str, Any], mapping: FieldMapping) -> dict[str, Any]:
    instruction = _text_field(row, mapping.instruction)
    given = row.get(mapping.input)
    extra = "" if given is None else _string(given, f"field {mapping.input!r}")
    output = _text_field(row, mapping.output)
    return {"instruction": instruction, "input": extra, "output": output}


def _chat_content(row: dict[str, Any], name: str) -> dict[str, Any]:
    messages = row[name]
    if not isinstance(messages, list):
        raise InputError(f"field {name!r} must be a list of messages, not {_type_name(messages)}")
    if not messages:
        raise InputError(f"field {name!r} is empty")
    kept = []
    for i, message in enumerate(messages):
        where = f"{name}[{i}]"
        if not isinstance(message, Mapping):
            raise InputError(f"{where} must be an object, not {_type_name(message)}")
        role = message.get("role")
        if not isinstance(role, str) or not role:
            raise InputError(f"{where}.role must be a string")
        kept.append({"role": role, "content": _string(message.get("content"), f"{where}.content")})
    return {"messages": kept}


def _text_field(row: dict[str, Any], name: str) -> str:
    value = row.get(name)
    if value is None:
        raise InputError(f"missing field {name!r}")
    text = _string(value, f"field {name!r}")
    if not text.strip():
        raise InputError(f"field {name!r} is empty")
    return text


def _string(value: object, where: str) -> str:
    if not isinstance(value, str):
        raise InputError(f"{where} must be a string, not {_type_name(value)}")
    return value


def _type_name(value: object) -> str:
    return _JSON_TYPE_NAMES.get(type(value), type(value).__name__)


def _digest_of(value: Any) -> str:
    try:
        return digest_json(value)
    except InputError as exc:
        # Only a failing value pays for the walk that finds which field it was.
        try:
            found = _first_problem(value, "")
        except RecursionError:
            found = None
        where, problem = found or ("", exc)
        raise InputError(_describe(where, problem)) from exc


def _first_problem(value: Any, where: str) -> tuple[str, InputError] | None:
    if isinstance(value, Mapping):
        for key, item in value.items():
            inner = f"{where}.{key}" if where else str(key)
            try:
                canonical_json(key)
            except InputError as exc:
                return inner, exc
            found = _first_problem(item, inner)
            if found:
                return found
        return None
    if isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found = _first_problem(item, f"{where}[{i}]")
            if found:
                return found
        return None
    try:
        canonical_json(value)
    except InputError as exc:
        return where, exc
    return None


def _describe(where: str, problem: InputError) -> str:
    if isinstance(problem.__cause__, UnicodeEncodeError):
        what = "contains a lone surrogate (not valid UTF-8)"
    else:
        what = f"cannot be canonical JSON: {problem}"
    return f"field {where!r} {what}" if where else f"row {what}"
