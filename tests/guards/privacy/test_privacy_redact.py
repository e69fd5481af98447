"""Redaction: each span becomes its kind's placeholder and nothing else changes, byte for byte;
the row keeps its own field names and other fields; chat samples redact message by message; the
redacted sample's id is the digest of its redacted content, as the reader computes it."""

from __future__ import annotations

import random

import privacy_planting as planting
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from synthguard.guards.privacy import KINDS, PLACEHOLDERS, Finding, find_private, redact
from synthguard.guards.privacy.redaction import merged
from synthguard.provenance.canonical import canonical_json, digest_json
from synthguard.provenance.errors import InputError
from synthguard.provenance.sample import FieldMapping, sample_from_row

DOCS = planting.docstrings(12, seed=11)


@pytest.mark.parametrize("kind", KINDS)
def test_redaction_replaces_the_span_and_keeps_everything_else(kind: str) -> None:
    rng = random.Random(f"redact-{kind}")
    for doc in DOCS:
        planted = planting.plant(doc, kind, rng)
        row = {"id": 17, "instruction": "Explain.", "output": planted.text, "meta": {"k": [1]}}
        sample = sample_from_row(row)
        clean = redact(sample, find_private(sample))
        expected = planted.text[: planted.start] + PLACEHOLDERS[kind] + planted.text[planted.end :]
        assert clean.content["output"] == expected
        assert clean.row == {**row, "output": expected}
        assert clean.kind == sample.kind
        assert clean.id == digest_json(clean.content) != sample.id
        assert find_private(clean) == []


def test_the_row_keeps_its_mapped_field_names() -> None:
    mapping = FieldMapping.parse(["instruction=prompt", "output=completion"])
    row = {"prompt": "Mail me: jo.li77@gmail.com", "completion": "Done.", "source": "crawl"}
    sample = sample_from_row(row, mapping)
    clean = redact(sample, find_private(sample), mapping)
    assert clean.row == {"prompt": "Mail me: [EMAIL]", "completion": "Done.", "source": "crawl"}
    assert clean == sample_from_row(clean.row, mapping)


def test_chat_samples_redact_each_message_on_its_own() -> None:
    messages = [
        {"role": "user", "content": "Reach me on +44 20 7123 4567.", "name": "ann"},
        {"role": "assistant", "content": "Noted; I will not repeat it."},
        {"role": "user", "content": "And mail kai.roe@proton.me, ip 81.2.69.160"},
    ]
    sample = sample_from_row({"messages": messages, "lang": "en"})
    clean = redact(sample, find_private(sample))
    assert clean.row == {
        "messages": [
            {"role": "user", "content": "Reach me on [PHONE].", "name": "ann"},
            messages[1],
            {"role": "user", "content": "And mail [EMAIL], ip [IP_ADDRESS]"},
        ],
        "lang": "en",
    }
    assert messages[0]["content"] == "Reach me on +44 20 7123 4567."  # the input is untouched


def test_no_findings_is_the_same_sample() -> None:
    sample = sample_from_row({"text": "Nothing private here."})
    assert redact(sample, []) is sample


def test_overlapping_findings_merge_under_the_longest() -> None:
    findings = [
        Finding("text", 5, 20, "secret", "secret/KeywordDetector", "x"),
        Finding("text", 10, 14, "phone", "phone/libphonenumber", "x"),
        Finding("text", 30, 34, "ssn", "ssn/area-group", "x"),
        Finding("text", 34, 38, "ssn", "ssn/area-group", "x"),
    ]
    assert merged(findings) == [(5, 20, "secret"), (30, 34, "ssn"), (34, 38, "ssn")]


def test_findings_that_do_not_fit_the_sample_are_refused() -> None:
    sample = sample_from_row({"text": "short"})
    with pytest.raises(InputError, match="no such field"):
        redact(sample, [Finding("output", 0, 2, "email", "email", "x")])
    with pytest.raises(InputError, match="outside"):
        redact(sample, [Finding("text", 2, 9, "email", "email", "x")])


TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=60)


@settings(max_examples=200, deadline=None)
@given(
    pieces=st.lists(st.tuples(TEXT, st.sampled_from(KINDS)), min_size=1, max_size=4),
    tail=TEXT,
    data=st.data(),
)
def test_redaction_changes_only_the_spans(
    pieces: list[tuple[str, str]], tail: str, data: st.DataObject
) -> None:
    """Whatever the spans, the text between them survives byte for byte, in order."""
    text, findings, keep = "", [], []
    for before, kind in pieces:
        width = data.draw(st.integers(1, 12))
        keep.append(before)
        start = len(text) + len(before)
        text += before + "x" * width
        findings.append(Finding("output", start, start + width, kind, kind, "*"))
    text += tail
    keep.append(tail)
    sample = sample_from_row({"instruction": "q", "output": text, "n": 1})
    clean = redact(sample, findings)
    expected = "".join(
        keep[i] + (PLACEHOLDERS[findings[i].kind] if i < len(findings) else "")
        for i in range(len(keep))
    )
    assert clean.content["output"] == expected
    assert canonical_json({**clean.row, "output": text}) == canonical_json(sample.row)
