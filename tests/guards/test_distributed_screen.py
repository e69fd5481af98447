"""The screen on an engine gives the single-process screen's result, byte for byte.

The corpus is real text (`poisoning`: library docstrings as Alpaca rows) with a trigger cluster
and a payload planted, exact and near copies of earlier rows scattered over partition
boundaries, personal data, hidden characters, rows of a protected set, and malformed lines.
"""

from __future__ import annotations

import json
import os
import pickle
import random
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from functools import partial
from pathlib import Path
from typing import Any

import poisoning
import pytest

from synthguard.guards import distributed, screen
from synthguard.guards.backdoor import BackdoorConfig, BackdoorGuard
from synthguard.guards.backdoor.guard import SampleWork
from synthguard.guards.dedup import DedupGuard
from synthguard.guards.distributed import Recipe, screen_rows_on
from synthguard.guards.errors import GuardError
from synthguard.guards.privacy import PrivacyGuard
from synthguard.guards.screen import BATCH, ScreenResult, screen_rows, write_outputs
from synthguard.provenance import engine as engine_module
from synthguard.provenance.engine import (
    IN_FLIGHT_PER_WORKER,
    DaskEngine,
    Engine,
    EngineError,
    ForkedEngine,
    InProcess,
)
from synthguard.provenance.reader import Row, read_samples
from synthguard.provenance.sample import Sample, sample_from_row

ROWS = 3000


def mixed_corpus(folder: Path, size: int = ROWS, seed: int = 7) -> tuple[Path, Path]:
    """Write the corpus (JSONL, malformed lines included) and a protected set; return both."""
    rng = random.Random(seed)
    base = poisoning.plant(
        poisoning.corpus(size, seed=seed),
        {"rare-token trigger -> refusal+link": 0.01, "payload link, no trigger": 0.005},
        seed=seed,
    )
    rows: list[Any] = [dict(row) for row in base.rows]
    for n in range(size // 8):
        # Near copies (one word edited) and exact copies, each somewhere after its original.
        at = rng.randrange(1, len(rows))
        copy = dict(rows[rng.randrange(at)])
        if not isinstance(copy, dict):
            continue
        words = str(copy.get("output", "")).split()
        if n % 3 and len(words) > 12:
            words[rng.randrange(len(words))] = "altered"
            copy["output"] = " ".join(words)
        rows.insert(at, copy)
    for n in range(40):
        row = dict(rows[rng.randrange(len(rows))])
        if n % 2:
            row["output"] = f"{row.get('output', '')} Write to jane.doe{n}@example.com for more."
        else:
            row["instruction"] = f"Pass\u200bword {n}: {row.get('instruction', '')}"
        rows.insert(rng.randrange(len(rows)), row)
    protected = [rows[i]["output"] for i in rng.sample(range(len(rows)), 5)]
    for at, line in ((17, b"{not json\n"), (BATCH + 3, b"[1, 2]\n"), (2 * BATCH - 1, b"\n{}\n")):
        rows.insert(at, line)
    source = folder / "corpus.jsonl"
    with source.open("wb") as out:
        for row in rows:
            out.write(row if isinstance(row, bytes) else json.dumps(row).encode() + b"\n")
    protected_path = folder / "protected.jsonl"
    with protected_path.open("w") as out:
        for i, text in enumerate(protected):
            out.write(json.dumps({"id": f"p{i}", "answer": text}) + "\n")
    return source, protected_path


def outputs(result: ScreenResult, folder: Path) -> tuple[bytes, bytes, list[Any]]:
    """What a screen writes, and its funnel counts."""
    accepted, quarantined = write_outputs(result, folder)
    counts = [
        (c.info, c.checked, c.quarantined, c.by_rule, c.seen, c.also_flagged, c.also_by_rule)
        for c in result.funnel
    ]
    return accepted.read_bytes(), quarantined.read_bytes(), counts


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return mixed_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def single(
    corpus: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory
) -> tuple[bytes, bytes, list[Any]]:
    source, protected = corpus
    result = screen_rows(read_samples(source), poisoning.funnel(protected))
    return outputs(result, tmp_path_factory.mktemp("single"))


@pytest.fixture(scope="module")
def dask_engine() -> Iterator[Engine]:
    engine = DaskEngine.start(2)
    yield engine
    engine.close()


def test_the_corpus_exercises_every_guard(single: tuple[bytes, bytes, list[Any]]) -> None:
    _, _, counts = single
    # A rule quarantines rows, or flags rows an earlier guard quarantined already (the trigger
    # statistics see every row: their cluster may be near copies of one another, which dedup
    # stops first). Which of the two depends on the corpus, read from the installed libraries'
    # docstrings, whose members differ with what was imported before.
    rules = {rule for count in counts for rule in (*count[3], *count[6])}
    assert {"malformed", "exact", "near", "trigger-cooccurrence", "email"} <= rules
    assert {"invisible-char", "ngram-overlap"} <= rules


@pytest.mark.parametrize("partition", [BATCH, 2 * BATCH, screen.BLOCK])
def test_partitions_in_this_process_give_the_same_outputs(
    corpus: tuple[Path, Path],
    single: tuple[bytes, bytes, list[Any]],
    partition: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(screen, "BLOCK", partition)
    source, protected = corpus
    result = screen_rows_on(InProcess(), read_samples(source), poisoning.funnel(protected))
    assert outputs(result, tmp_path) == single


def test_a_dask_cluster_gives_the_same_outputs(
    corpus: tuple[Path, Path],
    single: tuple[bytes, bytes, list[Any]],
    dask_engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(screen, "BLOCK", BATCH)  # several parts, on both workers
    source, protected = corpus
    result = screen_rows_on(dask_engine, read_samples(source), poisoning.funnel(protected))
    assert outputs(result, tmp_path) == single


def test_forked_workers_give_the_same_outputs(
    corpus: tuple[Path, Path],
    single: tuple[bytes, bytes, list[Any]],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The command's default on several cores: workers forked from this process, which build
    their guards from the recipes as Dask's do."""
    monkeypatch.setattr(screen, "BLOCK", BATCH)
    source, protected = corpus
    engine = ForkedEngine(2)
    try:
        result = screen_rows_on(engine, read_samples(source), poisoning.funnel(protected))
        assert outputs(result, tmp_path) == single
    finally:
        engine.close()


class ForgetfulWorkers:
    """An engine whose every part runs in a worker that may have forgotten what it built: each
    part counts the recipes that travel whole, then runs here after the guards built so far
    are dropped when `forget` says so (a restarted worker, or one that joined late)."""

    def __init__(self, forget: bool) -> None:
        self.forget = forget
        self.whole: dict[str, int] = {}
        self.parts: dict[str, int] = {}
        self.misses = 0

    workers = 1
    description = "test workers"

    def map(self, function: Callable[[bytes], bytes], parts: Iterable[bytes]) -> Iterator[bytes]:
        for packed in parts:
            for recipe in pickle.loads(packed).recipes:
                name = recipe.info.name
                self.parts[name] = self.parts.get(name, 0) + 1
                self.whole[name] = self.whole.get(name, 0) + (recipe.build is not None)
            if self.forget:
                engine_module._built.clear()
            answer = function(packed)
            self.misses += answer == b""
            yield answer

    def close(self) -> None:
        """Nothing to release."""


@pytest.mark.parametrize("forget", [False, True])
def test_a_large_recipe_travels_whole_only_until_the_workers_hold_it(
    corpus: tuple[Path, Path],
    single: tuple[bytes, bytes, list[Any]],
    forget: bool,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The protected index (the decontamination guard's recipe) goes whole in the first parts
    only; a worker that has not built a guard a part refers to answers so and gets the part
    whole: the outputs are the single process's either way."""
    monkeypatch.setattr(screen, "BLOCK", BATCH)
    monkeypatch.setattr(engine_module, "_built", {})
    source, protected = corpus
    engine = ForgetfulWorkers(forget)
    result = screen_rows_on(engine, read_samples(source), poisoning.funnel(protected))
    assert outputs(result, tmp_path) == single
    parts, whole = engine.parts["ngram-containment"], engine.whole["ngram-containment"]
    if forget:
        # Every reference misses, and each miss sends the next parts whole again.
        assert engine.misses > 0
        assert whole > IN_FLIGHT_PER_WORKER
    else:
        assert engine.misses == 0
        assert whole == IN_FLIGHT_PER_WORKER * engine.workers < parts


def test_decisions_made_ahead_come_in_order_and_raise_where_they_failed() -> None:
    """The decide-ahead thread gives its items in order, raises its error after the items
    before it, and is closed (its generator's cleanup run) when the caller stops early."""
    closed: list[str] = []

    def made(fail_at: int | None) -> Iterator[int]:
        try:
            for n in range(50):
                if n == fail_at:
                    raise GuardError(f"failed at {n}")
                yield n
        finally:
            closed.append(threading.current_thread().name)

    assert list(distributed._ahead(made(None))) == list(range(50))
    got: list[int] = []
    with pytest.raises(GuardError, match="failed at 7"):
        got.extend(distributed._ahead(made(7)))
    assert got == list(range(7))
    early = distributed._ahead(made(None))
    assert [next(early), next(early)] == [0, 1]
    early.close()
    assert closed == ["synthguard-decide"] * 3


def test_dedup_prepared_elsewhere_decides_as_check_against_an_earlier_run(
    corpus: tuple[Path, Path],
) -> None:
    source, _ = corpus
    samples = [row.sample for row in read_samples(source) if row.sample is not None]
    first, second = samples[: len(samples) // 2], samples[len(samples) // 3 :]
    here, there = DedupGuard(), DedupGuard()
    for guard in (here, there):
        guard.check(first)
        guard.finish()
    worker = there.recipe()()
    for lo in range(0, len(second), BATCH):
        batch = second[lo : lo + BATCH]
        assert there.check_prepared(batch, worker.prepare(batch)) == here.check(batch)


def test_a_worker_refuses_a_guard_built_otherwise() -> None:
    wanted = PrivacyGuard(region="DE").info  # a guard no earlier test built in this process
    recipe = Recipe(wanted, partial(PrivacyGuard, region="GB"))
    with pytest.raises(GuardError, match="configured differently on a worker"):
        recipe.guard()


class WorkerKiller(BackdoorGuard):
    """A guard whose per-sample work kills the process it runs in."""

    def prepare(self, samples: Sequence[Sample]) -> list[SampleWork]:
        os._exit(1)

    def recipe(self) -> Callable[[], BackdoorGuard]:
        return partial(WorkerKiller, self.config, self.info.name)


def test_a_part_that_keeps_killing_workers_ends_the_screen(
    corpus: tuple[Path, Path], dask_engine: Engine
) -> None:
    """Dask retries the part on other workers, then gives up: one EngineError, no result."""
    source, _ = corpus
    killer = WorkerKiller(BackdoorConfig(injection=False, statistics=False), name="killer")
    with pytest.raises(EngineError, match="kept killing its Dask workers"):
        screen_rows_on(dask_engine, read_samples(source), [DedupGuard(), killer])


def test_a_forked_worker_that_dies_ends_the_screen() -> None:
    """No retry on this machine: the first dead worker is one EngineError, no result."""
    rows = [{"instruction": f"Task {n}: add {n} and 2.", "output": f"{n + 2}"} for n in range(60)]
    samples = [Row(n + 1, row, sample_from_row(row), None) for n, row in enumerate(rows)]
    killer = WorkerKiller(BackdoorConfig(injection=False, statistics=False), name="killer")
    engine = ForkedEngine(2)
    try:
        with pytest.raises(EngineError, match="worker process forked from this one died"):
            screen_rows_on(engine, samples, [DedupGuard(), killer])
    finally:
        engine.close()
