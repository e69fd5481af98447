"""Redaction: a sample with each private value replaced by its kind's placeholder.

Only the found spans change; every other character of every string and every other field of
the row stays as it was. The new row is read back through `sample_from_row`, the reader's own
path, so the redacted sample's id is the digest of its redacted content. Overlapping findings
are merged into one span, named by the kind of its longest member (ties: `detect.PRIORITY`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from synthguard.guards.fields import labelled_strings
from synthguard.guards.privacy.detect import PRIORITY
from synthguard.guards.privacy.finding import PLACEHOLDERS, Finding
from synthguard.provenance.errors import InputError
from synthguard.provenance.sample import DEFAULT_MAPPING, FieldMapping, Sample, sample_from_row


def redact(
    sample: Sample, findings: Sequence[Finding], mapping: FieldMapping = DEFAULT_MAPPING
) -> Sample:
    """A new sample of the same kind with each finding's span replaced by its placeholder.

    `mapping` is the one the sample was read with: the row keeps its own field names. Raise
    InputError when a finding does not fit the sample (an unknown field, a span past its end).
    """
    strings = dict(labelled_strings(sample))
    spans: dict[str, list[Finding]] = defaultdict(list)
    for finding in findings:
        text = strings.get(finding.field)
        if text is None:
            raise InputError(
                f"finding in {finding.field!r}: the {sample.kind} sample has no such field"
            )
        if not 0 <= finding.start < finding.end <= len(text):
            raise InputError(
                f"finding [{finding.start}, {finding.end}) in {finding.field!r} lies outside "
                f"its {len(text)} characters"
            )
        spans[finding.field].append(finding)
    if not spans:
        return sample
    row: dict[str, Any] = dict(sample.row)
    for field, found in spans.items():
        _put(row, sample, field, strings[field], redact_text(strings[field], found), mapping)
    return sample_from_row(row, mapping)


def redact_text(text: str, findings: Sequence[Finding]) -> str:
    """`text` with each finding's span (all in this one string) replaced by its placeholder."""
    pieces: list[str] = []
    cursor = 0
    for start, end, kind in merged(findings):
        pieces += [text[cursor:start], PLACEHOLDERS[kind]]
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


def merged(findings: Sequence[Finding]) -> list[tuple[int, int, str]]:
    """The findings' spans with overlapping ones merged, each with the kind that names it."""
    groups: list[tuple[int, int, list[Finding]]] = []
    for finding in sorted(findings, key=lambda f: (f.start, f.end)):
        if groups and finding.start < groups[-1][1]:
            start, end, members = groups[-1]
            groups[-1] = (start, max(end, finding.end), [*members, finding])
        else:
            groups.append((finding.start, finding.end, [finding]))
    return [(start, end, _kind_of(members)) for start, end, members in groups]


def _kind_of(members: Sequence[Finding]) -> str:
    rank = {kind: i for i, kind in enumerate(PRIORITY)}
    longest = min(members, key=lambda f: (f.start - f.end, rank.get(f.kind, len(rank))))
    return longest.kind


def _put(
    row: dict[str, Any],
    sample: Sample,
    field: str,
    original: str,
    text: str,
    mapping: FieldMapping,
) -> None:
    """Write a redacted string into the row where the sample's content came from."""
    if sample.kind == "chat":
        index = int(field.removeprefix("messages[").removesuffix("]"))
        messages = row.get(mapping.messages)
        if not isinstance(messages, list) or not 0 <= index < len(messages):
            raise InputError(f"the sample's row holds no {field} under {mapping.messages!r}")
        message = messages[index]
        if not isinstance(message, dict) or message.get("content") != original:
            raise InputError(f"the sample's row holds no {field} under {mapping.messages!r}")
        messages = list(messages)
        messages[index] = {**message, "content": text}
        row[mapping.messages] = messages
        return
    names = {"instruction": mapping.instruction, "input": mapping.input, "output": mapping.output}
    name = names.get(field, mapping.text)
    if row.get(name) != original:
        raise InputError(f"the sample's row holds no {field!r} under {name!r}: another mapping?")
    row[name] = text
