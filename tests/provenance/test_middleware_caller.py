"""What a caller may do around `track` and the recorder without changing what is signed: change
the row it got back or the parameters it passed before a batched or buffered commit, throw into
a tracked generator, or call a tracked function from a forked worker process."""

from __future__ import annotations

import asyncio
import json
import multiprocessing
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from ledger_support import new_ledger, payloads, verified_size

from synthguard.ledger.log.store import Ledger
from synthguard.provenance import Generator, Recorder, sample_from_row, track
from synthguard.provenance.errors import LedgerError

MODES = ["durable", "buffered"]


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with new_ledger(tmp_path) as handle:
        yield handle


def recorder_for(ledger: Ledger, mode: str) -> Recorder:
    # A long interval: in buffered mode nothing reaches the ledger before the recorder closes.
    return Recorder(ledger, mode=mode, flush_interval=60)  # type: ignore[arg-type]


@pytest.mark.parametrize("mode", MODES)
def test_a_row_changed_after_it_was_handed_back_is_stored_as_it_was_signed(
    ledger: Ledger, mode: str
) -> None:
    with recorder_for(ledger, mode) as recorder:

        @track(recorder, model="m")
        def generate(prompt: str) -> dict[str, Any]:
            return {"messages": [{"role": "user", "content": prompt}], "meta": {"n": 1}}

        with recorder.batch():
            handed = generate("hello")
            signed_id = sample_from_row(handed).id
            # Pipeline bookkeeping on the returned row, before the batch commits.
            handed["id"] = 17
            handed["meta"]["n"] = 2
            handed["messages"].append({"role": "assistant", "content": "changed"})
    (record,) = payloads(ledger, "generated")
    assert record["sample_id"] == signed_id
    assert verified_size(ledger) == 2  # the stored row is the one the record's digest names
    ((_id, stored),) = ledger.contents([signed_id])
    assert json.loads(stored) == {
        "messages": [{"role": "user", "content": "hello"}],
        "meta": {"n": 1},
    }


@pytest.mark.parametrize("mode", MODES)
def test_parameters_changed_by_the_caller_later_are_not_the_ones_signed(
    ledger: Ledger, mode: str
) -> None:
    sampling = {"temperature": 0.2}
    with recorder_for(ledger, mode) as recorder:

        @track(recorder, model="m", params=("sampling",))
        def generate(prompt: str, sampling: dict[str, float], seed: int) -> dict[str, str]:
            return {"text": f"{prompt} at {sampling['temperature']}"}

        generate("a", sampling, seed=1)
        sampling["temperature"] = 1.5  # the caller's config, reused and changed
        generate("b", sampling, seed=2)
        sampling["temperature"] = 0.2
        generate("c", sampling, seed=3)  # the first call's identity, cached: must say 0.2
        sampling["temperature"] = 9.0  # before a buffered commit
    used = [0.2, 1.5, 0.2]
    records = payloads(ledger, "generated")
    assert [r["generator"]["parameters"]["sampling"]["temperature"] for r in records] == used
    assert verified_size(ledger) == 4


def test_a_generator_owns_its_parameters(ledger: Ledger) -> None:
    config = {"stop": ["\n"], "temperature": 0.5}
    generator = Generator(name="step", model="m", parameters=config)
    config["stop"].append("###")
    config["temperature"] = 2.0
    with recorder_for(ledger, "buffered") as recorder:
        recorder.generated({"text": "one"}, generator)
        config["stop"].append("more")
    (record,) = payloads(ledger, "generated")
    assert record["generator"]["parameters"] == {"stop": ["\n"], "temperature": 0.5}


def _one_at_a_time(prompt: str) -> Iterator[dict[str, str]]:
    try:
        yield {"text": f"{prompt} first"}
    except KeyError:
        yield {"text": f"{prompt} recovered"}


def test_an_exception_thrown_into_a_tracked_generator_reaches_the_generator(
    ledger: Ledger,
) -> None:
    recorder = Recorder(ledger)
    values = track(recorder, model="m")(_one_at_a_time)("tracked")
    assert next(values) == {"text": "tracked first"}
    assert values.throw(KeyError("k")) == {"text": "tracked recovered"}
    with pytest.raises(ValueError, match="unhandled"):
        values.throw(ValueError("unhandled"))  # not handled: it goes on up, as untracked
    texts = [r["sample_id"] for r in payloads(ledger, "generated")]
    assert texts == [sample_from_row({"text": f"tracked {w}"}).id for w in ("first", "recovered")]
    assert verified_size(ledger) == 3


def test_an_exception_thrown_into_a_tracked_async_generator_reaches_it(ledger: Ledger) -> None:
    recorder = Recorder(ledger)

    @track(recorder, model="m")
    async def produce(prompt: str) -> AsyncIterator[dict[str, str]]:
        try:
            yield {"text": f"{prompt} first"}
        except KeyError:
            yield {"text": f"{prompt} recovered"}

    async def run() -> list[dict[str, str]]:
        values = produce("async")
        return [await values.__anext__(), await values.athrow(KeyError("k"))]

    assert asyncio.run(run()) == [{"text": "async first"}, {"text": "async recovered"}]
    assert len(payloads(ledger, "generated")) == 2


_FORKED: dict[str, Any] = {}


def _call_in_worker(prompt: str) -> str:
    try:
        _FORKED["generate"](prompt)
    except LedgerError as exc:
        return str(exc)
    return "recorded"


@pytest.mark.parametrize("mode", MODES)
def test_a_forked_worker_cannot_record_through_its_parents_recorder(
    ledger: Ledger, mode: str
) -> None:
    # Buffered, the copy has no writer thread: its records were lost without a word. Durable,
    # it wrote through the parent's SQLite connection, which SQLite forbids after a fork.
    with recorder_for(ledger, mode) as recorder:
        _FORKED["generate"] = track(recorder, model="m")(lambda prompt: {"text": prompt})
        with multiprocessing.get_context("fork").Pool(2) as pool:
            said = pool.map(_call_in_worker, [f"sample {i}" for i in range(6)])
        recorder.generated({"text": "in the parent"}, Generator(name="g", model="m"))
    assert all("a forked worker cannot record through it" in line for line in said), said
    assert len(payloads(ledger, "generated")) == 1
    assert verified_size(ledger) == 2
