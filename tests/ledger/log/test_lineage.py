"""Reading lineage back: records per sample, depth, id prefixes and the ancestry tree."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import pytest

from synthguard.ledger.log.lineage import (
    LineageNode,
    ancestry,
    ancestry_json,
    depth_of,
    records_for,
    resolve_sample_id,
)
from synthguard.ledger.log.store import Ledger
from synthguard.ledger.screening import screening_status
from synthguard.provenance import Event, Generator, Recorder, sample_from_row
from synthguard.provenance.errors import InputError, VerificationError
from synthguard.provenance.record import RECORD_TYPE

WRITER = Generator(name="writer", model="tiny-lm")
CRITIC = Generator(name="critic", model="judge-lm")


def text_id(text: str) -> str:
    return sample_from_row({"text": text}).id


def build_chain(ledger: Ledger) -> dict[str, str]:
    """seed (human) -> a -> revised b -> c (also from seed); a critiqued, c reviewed."""
    with Recorder(ledger) as recorder:
        recorder.imported("seed")
        recorder.generated("a", WRITER, parents=[text_id("seed")])
        recorder.critiqued("a", CRITIC, score=0.5)
        recorder.revised("b", text_id("a"), WRITER, critique="shorter")
        recorder.generated("c", WRITER, parents=[text_id("b"), text_id("seed")])
        recorder.reviewed("c", reviewer="alice", verdict="ok")
    return {name: text_id(name) for name in ("seed", "a", "b", "c")}


def test_records_for_and_depth_of(ledger_db: Ledger) -> None:
    ids = build_chain(ledger_db)
    entries = records_for(ledger_db, ids["a"])
    assert [(e.record.event, e.seq) for e in entries] == [
        (Event.GENERATED, 2),
        (Event.CRITIQUED, 3),
    ]
    assert [depth_of(ledger_db, ids[name]) for name in ("seed", "a", "b", "c")] == [0, 1, 2, 3]
    assert depth_of(ledger_db, text_id("never recorded")) is None
    assert ledger_db.depth_of(ids["c"]) == 3


def walk(node: LineageNode) -> Iterator[tuple[int, LineageNode]]:
    """(level, node) over the tree, depth first, the sample itself at level 0."""
    yield 0, node
    for parent in node.parents:
        yield from ((level + 1, below) for level, below in walk(parent))


def test_ancestry_tree_follows_making_records_and_marks_repeats(ledger_db: Ledger) -> None:
    ids = build_chain(ledger_db)
    tree = ancestry(ledger_db, ids["c"])
    shape = [(level, node.sample_id, node.repeated) for level, node in walk(tree)]
    assert shape == [
        (0, ids["c"], False),
        (1, ids["b"], False),
        (2, ids["a"], False),
        (3, ids["seed"], False),
        (1, ids["seed"], True),  # reached twice through the DAG: expanded once
    ]
    assert [e.record.event for e in tree.notes] == [Event.REVIEWED]
    a_node = tree.parents[0].parents[0]
    assert [e.record.event for e in a_node.notes] == [Event.CRITIQUED]
    assert (tree.depth, a_node.depth) == (3, 1)

    as_json = ancestry_json(tree)
    assert as_json["sample_id"] == ids["c"]
    assert as_json["records"][0]["event"] == "generated"
    assert as_json["notes"][0]["detail"] == {"reviewer": "alice", "verdict": "ok"}
    assert as_json["parents"][1]["repeated"] is True


def test_a_parent_missing_from_the_ledger_is_a_leaf(ledger_db: Ledger) -> None:
    outside = text_id("elsewhere")
    with Recorder(ledger_db, parent_depths={outside: 2}) as recorder:
        recorder.generated("child", WRITER, parents=[outside])
    tree = ancestry(ledger_db, text_id("child"))
    (parent,) = tree.parents
    assert (parent.sample_id, parent.missing, parent.depth) == (outside, True, None)


def test_resolve_sample_id_takes_unique_prefixes(ledger_db: Ledger) -> None:
    ids = build_chain(ledger_db)
    full = ids["b"]
    assert resolve_sample_id(ledger_db, full) == full
    assert resolve_sample_id(ledger_db, full[:20]) == full
    assert resolve_sample_id(ledger_db, full[7:20].upper()) == full  # no prefix, any case
    with Recorder(ledger_db) as recorder:
        texts = [f"t{i}" for i in range(17)]  # 17 ids: two share their first hex digit
        for text in texts:
            recorder.imported(text)
    firsts = [text_id(text)[7] for text in texts]
    shared = next(first for first in firsts if firsts.count(first) > 1)
    with pytest.raises(InputError, match="several sample ids"):
        resolve_sample_id(ledger_db, shared)
    with pytest.raises(InputError, match="not a sample id"):
        resolve_sample_id(ledger_db, "sha256:")
    with pytest.raises(InputError, match="no sample"):
        resolve_sample_id(ledger_db, text_id("never recorded"))
    with pytest.raises(InputError, match="not a sample id"):
        resolve_sample_id(ledger_db, "sha256:xyz")


def test_a_payload_that_is_no_record_is_named_not_raised_raw(ledger_db: Ledger, ledger_attacker):
    # A screened-looking payload that is no valid record: the scan that decides quarantines
    # names the entry instead of failing with a validation error.
    with Recorder(ledger_db) as recorder:
        recorder.imported(sample_from_row({"text": "a sample"}))
    attacker = ledger_attacker(ledger_db.url)
    payload = base64.b64encode(b'{"event":"screened","sample_id":7}').decode()
    envelope = json.dumps(
        {"payload": payload, "payloadType": RECORD_TYPE, "signatures": []}
    ).encode()
    attacker.set_envelope(1, envelope, rehash=True)

    with pytest.raises(VerificationError, match="entry 1: the lineage record cannot be read"):
        screening_status(ledger_db)
