"""When a tracked function fails or hands back a bad sample: what was handed back is recorded,
nothing else is, the error names the field, and the ledger verifies. Both durability modes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from ledger_support import new_ledger, payloads, verified_size

from synthguard.ledger.log.store import Ledger
from synthguard.provenance import Recorder, sample_from_row, track
from synthguard.provenance.errors import InputError

MODES = ["durable", "buffered"]


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with new_ledger(tmp_path) as handle:
        yield handle


def recorder_for(ledger: Ledger, mode: str) -> Recorder:
    # A long interval: in buffered mode nothing reaches the ledger unless something flushes.
    return Recorder(ledger, mode=mode, flush_interval=60)  # type: ignore[arg-type]


def drain(values: Iterator[Any], into: list[Any]) -> None:
    for value in values:
        into.append(value)


async def adrain(values: AsyncIterator[Any], into: list[Any]) -> None:
    async for value in values:
        into.append(value)


def ids(texts: list[str]) -> list[str]:
    return [sample_from_row({"text": text}).id for text in texts]


@pytest.mark.parametrize("mode", MODES)
def test_a_generator_that_raises_midway_keeps_what_it_handed_back(
    ledger: Ledger, mode: str
) -> None:
    recorder = recorder_for(ledger, mode)

    @track(recorder, model="m")
    def stream(n: int) -> Iterator[str]:
        for i in range(n):
            if i == 3:
                raise RuntimeError("model server went away")
            yield f"sample {i}"

    received: list[str] = []
    with pytest.raises(RuntimeError, match="went away"):
        drain(stream(10), received)
    # Recorded by the time the error arrives, without closing the recorder.
    assert [p["sample_id"] for p in payloads(ledger, "generated")] == ids(received)
    assert len(received) == 3
    assert verified_size(ledger) == 4
    recorder.close()
    assert verified_size(ledger) == 4


@pytest.mark.parametrize("mode", MODES)
def test_an_async_generator_that_raises_midway(ledger: Ledger, mode: str) -> None:
    recorder = recorder_for(ledger, mode)

    @track(recorder, model="m")
    async def stream() -> AsyncIterator[str]:
        yield "first"
        yield "second"
        raise ValueError("bad token")

    async def consume() -> list[str]:
        got: list[str] = []
        with pytest.raises(ValueError, match="bad token"):
            await adrain(stream(), got)
        return got

    received = asyncio.run(consume())
    assert [p["sample_id"] for p in payloads(ledger, "generated")] == ids(received)
    assert verified_size(ledger) == 3


@pytest.mark.parametrize("mode", MODES)
def test_a_batch_function_that_raises_records_nothing_of_its_call(
    ledger: Ledger, mode: str
) -> None:
    recorder = recorder_for(ledger, mode)

    @track(recorder, model="m", batch=True)
    def many(n: int, fail: bool) -> list[str]:
        made = [f"batch {n} item {i}" for i in range(n)]
        if fail:
            raise RuntimeError("out of memory")
        return made

    earlier = many(2, fail=False)
    with pytest.raises(RuntimeError, match="out of memory"):
        many(3, fail=True)
    # The earlier call's samples were handed back, so they are in (flushed when the error came).
    assert [p["sample_id"] for p in payloads(ledger, "generated")] == ids(earlier)
    recorder.close()
    assert verified_size(ledger) == 3


@pytest.mark.parametrize("mode", MODES)
def test_a_consumer_that_stops_early_keeps_what_it_took(ledger: Ledger, mode: str) -> None:
    recorder = recorder_for(ledger, mode)
    closed = []

    @track(recorder, model="m")
    def endless() -> Iterator[str]:
        try:
            i = 0
            while True:
                yield f"endless {i}"
                i += 1
        finally:
            closed.append(True)

    taken = []
    for text in endless():
        taken.append(text)
        if len(taken) == 4:
            break
    recorder.close()
    assert closed == [True]
    assert [p["sample_id"] for p in payloads(ledger, "generated")] == ids(taken)


BAD_SAMPLES: list[tuple[Any, str]] = [
    (42, "row is not a JSON object but int"),
    (["a", "b"], "row is not a JSON object but array"),
    (None, "row is not a JSON object but null"),
    ({"title": "no content"}, "row has none of the content fields"),
    ({"instruction": "no output here"}, "missing field 'output'"),
    ({"text": "lone \ud800 surrogate"}, "field 'text' contains a lone surrogate"),
    ("lone \udfff surrogate", "field 'text' contains a lone surrogate"),
    ({"text": "ok", "meta": {"note": "\ud83d"}}, "field 'meta.note' contains a lone surrogate"),
    ({"text": b"\xff\xfe bytes"}, "field 'text' must be a string, not bytes"),
    ({"messages": [{"role": "user", "content": 7}]}, "messages[0].content must be a string"),
    ({"text": ""}, "field 'text' is empty"),
]


@pytest.mark.parametrize(("bad", "message"), BAD_SAMPLES)
def test_a_bad_returned_sample_is_an_input_error_naming_the_field(
    ledger: Ledger, bad: Any, message: str
) -> None:
    recorder = Recorder(ledger)

    @track(recorder, model="m")
    def generate() -> Any:
        return bad

    with pytest.raises(InputError) as raised:
        generate()
    assert message in str(raised.value)
    assert str(raised.value).startswith(f"{generate.__qualname__} returned a bad sample: ")
    assert payloads(ledger) == []


@pytest.mark.parametrize("mode", MODES)
def test_a_bad_sample_in_a_batch_records_none_of_the_batch(ledger: Ledger, mode: str) -> None:
    recorder = recorder_for(ledger, mode)

    @track(recorder, model="m", batch=True)
    def many() -> list[Any]:
        return ["fine", {"text": "also fine"}, {"text": "bad \ud800"}]

    with pytest.raises(InputError, match=r"at index 2: field 'text' contains a lone surrogate"):
        many()
    recorder.close()
    assert payloads(ledger) == []


@pytest.mark.parametrize("mode", MODES)
def test_a_bad_yielded_sample_stops_the_generator_after_the_good_ones(
    ledger: Ledger, mode: str
) -> None:
    recorder = recorder_for(ledger, mode)
    closed = []

    @track(recorder, model="m")
    def stream() -> Iterator[Any]:
        try:
            yield "good one"
            yield {"output": 3}
            yield "never reached"
        finally:
            closed.append(True)

    got: list[Any] = []
    with pytest.raises(InputError, match="yielded a bad sample: missing field 'instruction'"):
        drain(stream(), got)
    assert got == ["good one"]
    assert closed == [True]
    assert [p["sample_id"] for p in payloads(ledger, "generated")] == ids(got)


def test_a_batch_must_return_a_list_with_one_output_per_input(ledger: Ledger) -> None:
    recorder = Recorder(ledger)
    recorder.imported("in 1")

    @track(recorder, model="m", batch=True)
    def not_a_list() -> Any:
        return "just text"

    @track(recorder, model="m", batch=True, parents_from_inputs=True)
    def short(texts: list[str]) -> list[str]:
        return texts[:-1]

    with pytest.raises(InputError, match="must return lists of samples; it returned str"):
        not_a_list()
    with pytest.raises(InputError, match="returned 0 samples for 1 inputs"):
        short(["in 1"])
    with pytest.raises(InputError, match=r"argument 'texts' .*item 1: parent .* has no depth"):
        short(["in 1", "never imported", "x"])


def test_bad_arguments_are_named(ledger: Ledger) -> None:
    recorder = Recorder(ledger)

    @track(recorder, model="m")
    def generate(prompt: Any = None, seed: Any = None, parents: Any = None, sources: Any = None):
        return "x"

    with pytest.raises(InputError, match=r"argument 'seed' .* must be an integer seed"):
        generate(seed="7")
    with pytest.raises(InputError, match=r"argument 'parents' .*not a sample id"):
        generate(parents=["abc"])
    with pytest.raises(InputError, match=r"argument 'parents' .*parent sha256:.* has no depth"):
        generate(parents=[sample_from_row({"text": "unknown"})])
    with pytest.raises(InputError, match=r"argument 'sources' .*source 0: uri"):
        generate(sources=[{"license": "MIT"}])
    with pytest.raises(InputError, match=r"argument 'prompt' .*lone surrogate"):
        generate(prompt="\ud800")
    assert payloads(ledger) == []
