"""Critic, revision, import and review chains: the right parents, depths and details, read back
from a real ledger that verifies."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from ledger_support import new_ledger, payloads, verified_size

from synthguard.ledger.log.store import Ledger
from synthguard.provenance import Event, Generator, Origin, Recorder, sample_from_row, track
from synthguard.provenance.canonical import digest
from synthguard.provenance.errors import InputError

WRITER = Generator(name="self-instruct", model="tiny-lm", parameters={"temperature": 0.7})
CRITIC = Generator(name="critic", model="judge-lm")
REVISER = Generator(name="reviser", model="tiny-lm")


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with new_ledger(tmp_path) as handle:
        yield handle


def alpaca(instruction: str, output: str) -> dict[str, str]:
    return {"instruction": instruction, "output": output}


def test_generator_critic_reviser_chain(ledger: Ledger) -> None:
    """Human seed -> generated -> preference pair judged -> revision -> generated from it."""
    with Recorder(ledger) as recorder:
        seed = recorder.imported(alpaca("Name a colour.", "Blue"))
        first = recorder.generated(
            alpaca("Name a fruit.", "Apple"), WRITER, parents=[seed.sample_id]
        )
        second = recorder.generated(alpaca("Name a fruit.", "Rock"), WRITER, parents=seed.sample_id)
        verdict = recorder.critiqued(
            alpaca("Name a fruit.", "Apple"),
            CRITIC,
            score=0.9,
            chosen=first.sample_id,
            rejected=alpaca("Name a fruit.", "Rock"),
            critique="A rock is not a fruit.",
        )
        revision = recorder.revised(
            alpaca("Name a fruit.", "An apple."),
            first.sample_id,
            REVISER,
            critique="Answer in a full sentence.",
        )
        grandchild = recorder.generated(
            alpaca("Quiz: is an apple a fruit?", "Yes."),
            WRITER,
            parents=[revision.sample_id, seed.sample_id],
        )
        review = recorder.reviewed(
            alpaca("Quiz: is an apple a fruit?", "Yes."),
            reviewer="alice",
            verdict="ok",
            note="fine",
        )

    assert [(r.event, r.depth) for r in (seed, first, second, verdict, revision, grandchild)] == [
        (Event.IMPORTED, 0),
        (Event.GENERATED, 1),
        (Event.GENERATED, 1),
        (Event.CRITIQUED, 1),  # a critique has its sample's depth
        (Event.REVISED, 2),
        (Event.GENERATED, 3),
    ]
    stored = {(p["event"], p["sample_id"]): p for p in payloads(ledger)}
    judged = stored[("critiqued", first.sample_id)]
    assert judged["parents"] == [first.sample_id, second.sample_id]
    assert judged["detail"] == {
        "score": 0.9,
        "chosen": first.sample_id,
        "rejected": second.sample_id,
        "critique_digest": digest(b"A rock is not a fruit."),
    }
    assert judged["generator"]["model"] == "judge-lm"
    assert "A rock" not in str(judged)  # the digest, never the text

    revised = stored[("revised", revision.sample_id)]
    assert revised["parents"] == [first.sample_id]
    assert revised["detail"] == {"critique_digest": digest(b"Answer in a full sentence.")}
    assert revised["generator"]["name"] == "reviser"

    assert stored[("generated", grandchild.sample_id)]["parents"] == [
        revision.sample_id,
        seed.sample_id,
    ]
    reviewed = stored[("reviewed", grandchild.sample_id)]
    assert (reviewed["origin"], reviewed["depth"], reviewed.get("generator")) == ("human", 3, None)
    assert reviewed["detail"] == {"reviewer": "alice", "verdict": "ok", "note": "fine"}
    assert review.parents == [grandchild.sample_id]
    assert verified_size(ledger) == 8  # genesis + 7 records


def test_synthetic_of_synthetic_through_track_goes_four_levels_deep(ledger: Ledger) -> None:
    recorder = Recorder(ledger)

    @track(recorder, model="tiny-lm")
    def rewrite(text: str, parents: list[str]) -> str:
        return text + "+"

    root = recorder.imported("root")
    parent = root.sample_id
    texts = ["root"]
    for _ in range(4):
        texts.append(rewrite(texts[-1], parents=[parent]))
        parent = sample_from_row({"text": texts[-1]}).id
    records = payloads(ledger, "generated")
    assert [r["depth"] for r in records] == [1, 2, 3, 4]
    assert [r["parents"] for r in records] == [
        [sample_from_row({"text": text}).id] for text in texts[:-1]
    ]


def test_parent_depths_come_from_the_ledger_for_a_new_recorder(ledger: Ledger) -> None:
    with Recorder(ledger) as first:
        seed = first.imported("seed text")
        child = first.generated("child text", WRITER, parents=[seed.sample_id])
    # A later run: its own recorder has never seen these samples; the ledger has.
    with Recorder(ledger) as later:
        grandchild = later.generated("grandchild", WRITER, parents=[child.sample_id])
        critique = later.critiqued("child text", CRITIC, score=0.1)
        assert later.reviewed("seed text", reviewer="bob", verdict="bad").depth == 0
    assert (grandchild.depth, critique.depth) == (2, 1)


def test_parent_depths_mapping_is_consulted_before_the_ledger(ledger: Ledger) -> None:
    outside = sample_from_row({"text": "from another ledger"}).id
    with Recorder(ledger, parent_depths={outside: 5}) as recorder:
        assert recorder.generated("derived", WRITER, parents=[outside]).depth == 6
        assert recorder.revised("better", outside, REVISER).depth == 6


def test_unknown_parents_are_named(ledger: Ledger) -> None:
    unknown = sample_from_row({"text": "never recorded"}).id
    recorder = Recorder(ledger)
    with pytest.raises(InputError, match=f"parent {unknown} has no depth"):
        recorder.generated("x", WRITER, parents=[unknown])
    with pytest.raises(InputError, match=f"original {unknown} has no depth"):
        recorder.revised("y", unknown, REVISER)
    with pytest.raises(InputError, match=r"critiqued sample .* has no depth"):
        recorder.critiqued("never recorded", CRITIC, score=1)
    with pytest.raises(InputError, match="not a sample id"):
        recorder.generated("x", WRITER, parents=["sha256:nothex"])
    assert payloads(ledger) == []


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "needs a score, a preference pair or a critique"),
        ({"chosen": "a"}, "needs both chosen and rejected"),
        ({"score": True}, "score must be a number"),
        ({"score": float("inf")}, "finite"),
        ({"critique": "bad \ud800"}, "critique contains a lone surrogate"),
        ({"score": 1, "detail": {"score": 2}}, "detail may not set score"),
        ({"score": 1, "detail": {"x": object()}}, "detail is not JSON"),
    ],
)
def test_bad_critiques_are_refused(ledger: Ledger, options: dict[str, Any], message: str) -> None:
    recorder = Recorder(ledger)
    recorder.imported("judged")
    with pytest.raises(InputError, match=message):
        recorder.critiqued("judged", CRITIC, **options)
    assert len(payloads(ledger)) == 1


def test_bad_reviews_are_refused(ledger: Ledger) -> None:
    recorder = Recorder(ledger)
    recorder.imported("judged")
    with pytest.raises(InputError, match="verdict must be one of ok, bad"):
        recorder.reviewed("judged", reviewer="alice", verdict="meh")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="reviewer"):
        recorder.reviewed("judged", reviewer=" ", verdict="ok")


def test_imported_origin_and_sources(ledger: Ledger) -> None:
    with Recorder(ledger) as recorder:
        record = recorder.imported(
            "a public sentence",
            origin=Origin.HYBRID,
            sources={"uri": "https://example.com/corpus", "license": "CC0-1.0"},
        )
    assert (record.event, record.depth, record.origin) == (Event.IMPORTED, 0, Origin.HYBRID)
    assert payloads(ledger)[0]["sources"] == [
        {"uri": "https://example.com/corpus", "license": "CC0-1.0"}
    ]
    with pytest.raises(InputError, match="source 0: digest"):
        Recorder(ledger).imported("x", sources=[{"uri": "u", "digest": "md5:1"}])
