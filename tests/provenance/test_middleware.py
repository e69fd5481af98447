"""`track`: every wrapping style records one `generated` record per sample, read back from a real
ledger, with the generator identity and the parameters picked from the call."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from ledger_support import new_ledger, payloads, verified_size

from synthguard.ledger.log.store import Ledger
from synthguard.provenance import Generator, Recorder, Source, sample_from_row, track
from synthguard.provenance.canonical import digest_json
from synthguard.provenance.errors import InputError
from synthguard.provenance.keys import SigningKey


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    with new_ledger(tmp_path) as handle:
        yield handle


def row(i: int, tag: str = "task") -> dict[str, Any]:
    return {"instruction": f"{tag} {i}", "output": f"answer {i}"}


def test_sync_function_records_one_sample_with_identity_and_picked_parameters(
    ledger: Ledger,
) -> None:
    recorder = Recorder(ledger, run_id="run-1")

    @track(
        recorder,
        name="self-instruct",
        provider="acme",
        model="tiny-lm",
        version="3",
        params=("temperature", "top_p"),
    )
    def generate(
        prompt: str, temperature: float = 0.7, top_p: float = 1.0, seed: int | None = None
    ) -> dict[str, Any]:
        return {"instruction": prompt, "output": prompt[::-1]}

    out = generate("Reverse me", temperature=0.2, seed=11)
    assert out == {"instruction": "Reverse me", "output": "em esreveR"}
    # Committed before the call returned (durable mode), and nothing else.
    (record,) = payloads(ledger, "generated")
    assert record["sample_id"] == sample_from_row(out).id
    assert record["generator"] == {
        "name": "self-instruct",
        "provider": "acme",
        "model": "tiny-lm",
        "version": "3",
        "parameters": {"temperature": 0.2, "top_p": 1.0},  # top_p: the default, applied
        "seed": 11,
    }
    assert record["prompt_digest"] == digest_json("Reverse me")
    assert (record["run_id"], record["depth"], record["origin"]) == ("run-1", 1, "synthetic")
    assert ledger.sample(record["sample_id"]) == out
    assert verified_size(ledger) == 2


def test_the_sample_is_handed_back_unchanged(ledger: Ledger) -> None:
    recorder = Recorder(ledger)
    made = sample_from_row(row(1))
    returned: list[Any] = [made, "plain text", {"text": "a row", "extra": [1, 2]}]

    @track(recorder, model="m")
    def give(i: int) -> Any:
        return returned[i]

    assert [give(i) for i in range(3)] == returned
    assert all(give(i) is returned[i] for i in range(3))
    texts = [p["sample_id"] for p in payloads(ledger, "generated")]
    assert texts[1] == sample_from_row({"text": "plain text"}).id
    assert texts[0] == made.id


def test_async_function(ledger: Ledger) -> None:
    recorder = Recorder(ledger)

    @track(recorder, model_arg="model", params=("temperature",))
    async def generate(prompt: str, model: str, temperature: float = 1.0) -> str:
        await asyncio.sleep(0)
        return f"{model} says {prompt}"

    async def main() -> list[str]:
        return await asyncio.gather(*(generate(f"p{i}", model=f"m{i % 2}") for i in range(6)))

    outputs = asyncio.run(main())
    recorder.close()
    records = payloads(ledger, "generated")
    assert sorted(r["sample_id"] for r in records) == sorted(
        sample_from_row({"text": text}).id for text in outputs
    )
    by_id = {r["sample_id"]: r for r in records}
    for i, text in enumerate(outputs):
        generator = by_id[sample_from_row({"text": text}).id]["generator"]
        assert generator == {
            "name": generate.__qualname__,
            "model": f"m{i % 2}",
            "parameters": {"temperature": 1.0},
        }
    assert verified_size(ledger) == 7


def test_batch_function_is_one_append_with_parents_from_inputs(ledger: Ledger) -> None:
    recorder = Recorder(ledger)
    seeds = [recorder.imported(row(i, "seed")).sample_id for i in range(3)]
    size_before = ledger.size()

    @track(recorder, model="tiny-lm", batch=True, parents_from_inputs=True, params=("n",))
    def expand(items: list[dict[str, Any]], n: int = 1) -> list[dict[str, Any]]:
        return [{"instruction": item["instruction"] + " again", "output": "ok"} for item in items]

    inputs = [row(i, "seed") for i in range(3)]
    outputs = expand(inputs, n=2)
    assert ledger.size() == size_before + 3
    records = payloads(ledger, "generated")
    assert [r["sample_id"] for r in records] == [sample_from_row(o).id for o in outputs]
    assert [r["parents"] for r in records] == [[seed] for seed in seeds]
    assert {r["depth"] for r in records} == {1}
    assert {r["generator"]["parameters"]["n"] for r in records} == {2}
    # One append: consecutive seqs written in one transaction, one timestamp order.
    seqs = [e.seq for e in ledger.entries() if e.event == "generated"]
    assert seqs == list(range(size_before, size_before + 3))


def test_batch_function_appends_in_one_transaction(ledger: Ledger) -> None:
    calls: list[int] = []

    class Counting:
        key_id = ledger.key_id

        def append(self, records: Any, contents: Any = None) -> object:
            calls.append(len(records))
            return ledger.append(records, contents)

    recorder = Recorder(Counting(), batch_size=2)

    @track(recorder, model="m", batch=True)
    def many(n: int) -> list[str]:
        return [f"sample {i}" for i in range(n)]

    many(5)
    assert calls == [5]


def test_sync_generator_records_each_sample_before_it_is_handed_on(ledger: Ledger) -> None:
    recorder = Recorder(ledger)
    seen_when_yielded: list[int] = []

    @track(recorder, model="m", params=("n",))
    def stream(n: int) -> Iterator[dict[str, Any]]:
        for i in range(n):
            yield row(i)

    for i, out in enumerate(stream(4)):
        assert out == row(i)
        seen_when_yielded.append(len(payloads(ledger, "generated")))
    assert seen_when_yielded == [1, 2, 3, 4]
    assert [r["generator"]["parameters"] for r in payloads(ledger, "generated")] == [{"n": 4}] * 4


def test_sync_generator_passes_sent_values_and_its_return_value(ledger: Ledger) -> None:
    recorder = Recorder(ledger)

    @track(recorder, model="m")
    def echo() -> Any:
        received = yield "first sample"
        yield f"got {received}"
        return "done"

    stream = echo()
    assert next(stream) == "first sample"
    assert stream.send("hello") == "got hello"
    with pytest.raises(StopIteration) as stop:
        next(stream)
    assert stop.value.value == "done"
    assert len(payloads(ledger, "generated")) == 2


def test_async_generator(ledger: Ledger) -> None:
    recorder = Recorder(ledger)

    @track(recorder, name="streamer", model="m", params=("temperature",))
    async def stream(n: int, temperature: float = 0.5) -> AsyncIterator[str]:
        for i in range(n):
            await asyncio.sleep(0)
            yield f"streamed {i}"

    async def main() -> list[tuple[str, int]]:
        got = []
        async for out in stream(3, temperature=0.9):
            got.append((out, len(payloads(ledger, "generated"))))
        return got

    assert asyncio.run(main()) == [(f"streamed {i}", i + 1) for i in range(3)]
    records = payloads(ledger, "generated")
    assert [r["generator"]["name"] for r in records] == ["streamer"] * 3
    assert [r["generator"]["parameters"] for r in records] == [{"temperature": 0.9}] * 3
    recorder.close()
    assert verified_size(ledger) == 4


def test_batch_generator_and_async_batch_function(ledger: Ledger) -> None:
    recorder = Recorder(ledger)

    @track(recorder, model="m", batch=True)
    def chunks() -> Iterator[list[str]]:
        yield ["a1", "a2"]
        yield ["b1"]

    @track(recorder, model="m", batch=True)
    async def several(n: int) -> list[str]:
        return [f"async {i}" for i in range(n)]

    assert list(chunks()) == [["a1", "a2"], ["b1"]]
    assert asyncio.run(several(3)) == ["async 0", "async 1", "async 2"]
    recorder.close()
    assert len(payloads(ledger, "generated")) == 6


def test_generator_identity_seed_parents_and_sources_from_arguments(ledger: Ledger) -> None:
    recorder = Recorder(ledger)
    parent = recorder.imported(row(0, "human"))
    identity = Generator(name="g", model="fixed", parameters={"top_k": 40})
    source = {"uri": "https://example.com/doc", "license": "CC-BY-4.0"}

    @track(recorder, generator=identity, params=("temperature",), seed_arg="rng_seed")
    def generate(
        prompt: dict[str, Any],
        temperature: float,
        rng_seed: int,
        parents: list[Any],
        sources: list[Any],
    ) -> str:
        return "derived"

    generate(
        {"template": "x"}, temperature=0.1, rng_seed=7, parents=[parent.sample_id], sources=[source]
    )
    (record,) = payloads(ledger, "generated")
    assert record["generator"] == {
        "name": "g",
        "model": "fixed",
        "parameters": {"top_k": 40, "temperature": 0.1},
        "seed": 7,
    }
    assert record["parents"] == [parent.sample_id]
    assert record["depth"] == 1
    assert record["sources"] == [source]
    assert record["prompt_digest"] == digest_json({"template": "x"})
    assert Source(**source).uri == source["uri"]


def test_a_method_can_be_tracked(ledger: Ledger) -> None:
    recorder = Recorder(ledger)

    class Pipeline:
        @track(recorder, model="m", batch=True, parents_from_inputs=True)
        def run(self, texts: list[str]) -> list[str]:
            return [text.upper() for text in texts]

    for text in ("alpha", "beta"):
        recorder.imported(text)
    assert Pipeline().run(["alpha", "beta"]) == ["ALPHA", "BETA"]
    assert [r["parents"] for r in payloads(ledger, "generated")] == [
        [sample_from_row({"text": "alpha"}).id],
        [sample_from_row({"text": "beta"}).id],
    ]


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({}, "needs model=, model_arg= or generator="),
        ({"model": "m", "params": ("nope",)}, "no argument 'nope'"),
        ({"model_arg": "missing"}, "no argument 'missing'"),
        ({"model": "m", "model_arg": "n"}, "not both"),
        ({"generator": Generator(name="g", model="m"), "model": "x"}, "not both"),
        ({"model": "m", "parents_from_inputs": True}, "needs batch=True"),
        ({"model": "m", "origin": "alien"}, "unknown origin"),
    ],
)
def test_bad_decorations_are_refused_at_once(options: dict[str, Any], message: str) -> None:
    recorder = Recorder(_NoLedger())
    with pytest.raises(InputError, match=message):

        @track(recorder, **options)
        def generate(n: int) -> str:
            return "x"


def test_a_parameter_that_is_not_json_is_named(ledger: Ledger) -> None:
    recorder = Recorder(ledger)

    @track(recorder, model="m", params=("temperature",))
    def generate(temperature: object) -> str:
        return "x"

    with pytest.raises(InputError, match=r"argument 'temperature' .* must be JSON"):
        generate(temperature=object())
    with pytest.raises(InputError, match=r"argument 'temperature'.*JSON"):
        generate(temperature=float("nan"))
    # Nested past Python's recursion limit: named too, not a RecursionError.
    deep: object = "x"
    for _ in range(5000):
        deep = [deep]
    with pytest.raises(InputError, match=r"argument 'temperature'.*nested too deeply"):
        generate(temperature=deep)
    assert payloads(ledger, "generated") == []


def test_a_prompt_nested_too_deeply_is_named(ledger: Ledger) -> None:
    recorder = Recorder(ledger)

    @track(recorder, model="m")
    def generate(prompt: object) -> str:
        return "x"

    deep: object = "x"
    for _ in range(5000):
        deep = {"d": deep}
    with pytest.raises(InputError, match=r"argument 'prompt' of .*generate: .*nested too deeply"):
        generate(prompt=deep)
    assert payloads(ledger, "generated") == []


class _NoLedger:
    key_id = "sha256:" + "00" * 32

    def append(self, records: Any, contents: Any = None) -> None:
        raise AssertionError("nothing should be appended")


def test_sync_tracked_calls_inside_a_batch_commit_together(tmp_path: Path) -> None:
    ledger = Ledger.create(f"sqlite:///{tmp_path}/l.db", SigningKey.generate())
    recorder = Recorder(ledger)

    @track(recorder, name="one", model="m")
    def make(i: int) -> dict[str, str]:
        return {"text": f"batched sample {i}"}

    before = ledger.size()
    with recorder.batch():
        for i in range(5):
            make(i)
        assert ledger.size() == before  # held by the open batch
    assert ledger.size() == before + 5
    ledger.close()
