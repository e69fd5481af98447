"""The screen on an engine: the guards' costly work done per block by workers, every decision
that depends on order taken here, so the outputs are those of one process, byte for byte.

What runs where (`synthguard.provenance.engine`: the engine maps pure functions of a part):

- Dataset-level guards that can split their work (`Prepares`: dedup, the backdoor guards) see
  every readable row, so their batches are known before the funnel runs. The rows stream to
  the workers in the screen's blocks (`screen.BLOCK` samples, whole `screen.BATCH`es), a few
  blocks ahead of the funnel; a worker runs `prepare` on each batch, a pure function of the
  samples: for dedup the normalised words, exact keys, shingles and MinHash signatures; for
  the backdoor guards the per-sample rules' verdicts and the words, spans and echoes the
  trigger statistics read.
  Here, in input order, `check_prepared` takes the decisions: dedup's exact-key look-ups,
  `index.add` and `index.matches` (a row is a near copy when it is confirmed similar to an
  earlier row, so the earlier rows must all be indexed first); the statistics' numbering and,
  at `finish`, their reduce and the clusters. These run while the workers prepare the next
  blocks, on a thread of their own a block ahead of the funnel (`_ahead`): they need nothing
  of the funnel, and take the time it spends waiting for the per-row guards' checks.
- Per-row guards that are pure functions of a batch (privacy, n-gram decontamination,
  Self-Instruct's filters) get the rows of a block that every earlier guard let through, cut
  into the same batches as in one process, and `check` runs on the workers, a batch a part;
  the funnel then attaches the verdicts here as it always does.
- Everything else runs here as in one process: the ledger's `HeldGuard`, guards whose
  judgement depends on what came before (Self-Instruct's ROUGE-L pool, semantic dedup), and
  the model guards (toxicity, semantic decontamination): a model's scores must not depend on
  where it runs, and a CPU model's floating point does depend on its thread count (one thread
  per Dask worker, every core here), so a score could differ in its last digits.

A worker builds each guard once (`once_per_worker`) from a picklable recipe and checks that it
is the guard described here (the same name, version and configuration digest); one built from
other library versions is refused, as its verdicts could differ. A recipe travels whole in a
screen's first parts and as a reference after (`_Shipping`).

What stays here bounds the speed-up: per row about 25 us of dedup decisions (the LSH look-up
and exact-Jaccard confirmation against every earlier row), 55 us of numbering the trigger
statistics, 15 us of reading the row (its content digest is its id), and the results' transfer
(`benchmarks/scale_bench.py` measures each). LSH bands are not shuffled to workers by band key:
"confirmed similar to an earlier row" needs each row's earlier candidates in input order, and
the decisions are a quarter of the driver's time.
"""

from __future__ import annotations

import pickle
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from queue import Full, Queue
from typing import Any, Protocol, TypeVar, runtime_checkable

from synthguard.guards.errors import GuardError
from synthguard.guards.screen import (
    BATCH,
    Progress,
    ScreenResult,
    blocks_of,
    check_here,
    screen_blocks,
)
from synthguard.guards.verdict import Guard, GuardInfo, Verdict
from synthguard.provenance.engine import (
    IN_FLIGHT_PER_WORKER,
    Engine,
    built_here,
    once_per_worker,
)
from synthguard.provenance.gc_pause import collection_paused
from synthguard.provenance.reader import Row
from synthguard.provenance.sample import Sample

T = TypeVar("T")


@runtime_checkable
class Prepares(Protocol):
    """A dataset-level guard whose per-sample work can run apart from its decisions."""

    info: GuardInfo

    def prepare(self, samples: Sequence[Sample]) -> Any:
        """The per-sample work of a batch, a pure function of its samples."""
        ...

    def check_prepared(self, samples: Sequence[Sample], work: Any) -> list[Verdict]:
        """`check` of a batch, given its prepared work."""
        ...

    def recipe(self) -> Callable[[], Prepares]:
        """A picklable call that builds a guard preparing as this one does."""
        ...

    def finish(self) -> list[Verdict]:
        """The verdicts that needed every batch."""
        ...


@runtime_checkable
class ChecksAnywhere(Protocol):
    """A per-row guard whose `check` is a pure function of its batch (privacy, n-gram
    decontamination, Self-Instruct's filters), so a worker may run it."""

    info: GuardInfo

    def batch_recipe(self) -> Callable[[], Guard]:
        """A picklable call that builds a guard checking as this one does."""
        ...


@dataclass(frozen=True, slots=True)
class Recipe:
    """How a worker builds a guard: `build()` makes one whose `info` must equal `info`. A
    recipe without `build` is a reference to the guard a worker built from an earlier part
    (`_Shipping`): a recipe can be large (the decontamination guard's protected index is
    megabytes) and it need not travel with every part."""

    info: GuardInfo
    build: Callable[[], Any] | None

    @property
    def key(self) -> str:
        """The guard's name in a worker's `once_per_worker` (its configuration digest names
        everything a recipe carries, the protected index included)."""
        return f"guard:{self.info.family}:{self.info.name}:{self.info.config_digest}"

    def reference(self) -> Recipe:
        """This recipe without what builds the guard."""
        return Recipe(self.info, None)

    def guard(self) -> Any | None:
        """This process's guard of the recipe, built on first use; None for a reference to a
        guard this process has not built; GuardError if it is not the guard the recipe
        describes."""
        if self.build is None:
            guard = built_here(self.key)
            if guard is None:
                return None
        else:
            guard = once_per_worker(self.key, self.build)
        if guard.info != self.info:
            raise GuardError(
                f"guard {self.info.name} is configured differently on a worker "
                f"({guard.info.config_digest}, here {self.info.config_digest}): give every "
                "machine the same synthguard, library versions and files"
            )
        return guard


def row_recipe(guard: Guard) -> Recipe | None:
    """A recipe for a per-row guard that is a pure function of its batch, or None when the
    guard must run here (see the module docstring)."""
    if not isinstance(guard, ChecksAnywhere):
        return None
    return Recipe(guard.info, guard.batch_recipe())


def screen_rows_on(
    engine: Engine,
    rows: Iterable[Row],
    guards: Sequence[Guard],
    *,
    progress: Progress | None = None,
    spill_dir: Path | None = None,
) -> ScreenResult:
    """`screen.screen_rows` with the guards' costly work on `engine`: the same result."""
    prepared = [g for g in guards if isinstance(g, Prepares) and callable(g.finish)]
    shipping = _Shipping(engine)
    blocks = blocks_of(rows)
    staged = (
        _ahead(_prepare_all(shipping, blocks, prepared)) if prepared else ((b, {}) for b in blocks)
    )
    return screen_blocks(
        ((block, partial(_checks, shipping, done)) for block, done in staged),
        guards,
        progress=progress,
        spill_dir=spill_dir,
    )


Done = dict[int, list[tuple[list[Sample], list[Verdict]]]]
"""Per prepared guard (by `id`): each batch of a block and its verdicts, in order."""


def _checks(
    shipping: _Shipping, done: Done, guard: Guard, batches: list[list[Sample]]
) -> Iterable[list[Verdict]]:
    """A block's `Checks`: a prepared guard's verdicts, decided already; a per-row guard's
    `check` on the workers when it is a pure function of a batch, else here."""
    found = done.pop(id(guard), None)
    if found is not None:
        if [len(b) for b in batches] != [len(v) for v, _ in found]:
            raise GuardError(f"guard {guard.info.name} was prepared for other batches")
        return (verdicts for _, verdicts in found)
    recipe = row_recipe(guard)
    if recipe is None:
        return check_here(guard, batches)
    return _check_on(shipping, recipe, batches)


def _prepare_all(
    shipping: _Shipping, blocks: Iterable[list[Row]], guards: Sequence[Prepares]
) -> Iterator[tuple[list[Row], Done]]:
    """Stream each block's samples to the workers' `prepare` (a few blocks ahead of the
    funnel), and take each guard's decisions here, block after block in input order."""
    recipes = tuple(Recipe(g.info, g.recipe()) for g in guards)
    sent: deque[tuple[list[Row], list[list[Sample]]]] = deque()

    def parts() -> Iterator[_Part]:
        for block in blocks:
            samples = [row.sample for row in block if row.sample is not None]
            batches = [samples[lo : lo + BATCH] for lo in range(0, len(samples), BATCH)]
            sent.append((block, batches))
            yield _Part(recipes, batches)

    for packed in shipping.map(_prepare, parts()):
        works: list[list[Any]] = pickle.loads(packed)
        block, batches = sent.popleft()
        done: Done = {}
        for guard, per_batch in zip(guards, works, strict=True):
            done[id(guard)] = [
                (batch, guard.check_prepared(batch, work))
                for batch, work in zip(batches, per_batch, strict=True)
            ]
        yield block, done


def _ahead(items: Iterator[T]) -> Iterator[T]:
    """`items`, each made on a thread of its own while the caller uses the one before.

    A block's decisions (dedup's look-ups, the statistics' numbering) are Python work that
    needs no result of the funnel, which meanwhile waits for the workers' per-row checks of the
    block before; waiting frees the interpreter's lock, so the decisions take that time instead
    of following it. One thread makes every item, in order, so they are what the caller would
    have made. Its error is raised here; when the caller stops early, the thread stops after
    the item it is making, and closes `items`.
    """
    handoff: Queue[tuple[bool, Any]] = Queue(maxsize=1)
    stop = threading.Event()

    def give(entry: tuple[bool, Any]) -> bool:
        while not stop.is_set():
            try:
                handoff.put(entry, timeout=0.05)
                return True
            except Full:
                continue
        return False

    def make() -> None:
        try:
            for item in items:
                if not give((True, item)):
                    return
            give((False, None))
        except BaseException as exc:  # the caller's to raise, whatever it is
            give((False, exc))
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()

    thread = threading.Thread(target=make, name="synthguard-decide", daemon=True)
    thread.start()
    try:
        while True:
            more, value = handoff.get()
            if not more:
                if value is not None:
                    raise value
                return
            yield value
    finally:
        stop.set()
        thread.join()


@dataclass(frozen=True, slots=True)
class _Part:
    """One part of the work: recipes and screen batches."""

    recipes: tuple[Recipe, ...]
    batches: list[list[Sample]]


_UNBUILT = b""
"""A worker's answer to a part that refers to a guard it has not built (pickle never writes
empty bytes)."""


class _Shipping:
    """Maps parts on the engine, each recipe sent whole only until the workers are likely to
    have built its guard: in the first `IN_FLIGHT_PER_WORKER` x workers parts that use it,
    then as a reference. A worker that has not built a referenced guard (the scheduler sent it
    none of those parts, or it joined the cluster later) answers `_UNBUILT`: the part runs
    again with its recipes whole, and the next parts carry them whole again for a while. So a
    recipe of megabytes crosses the wire a few times a screen, not once a batch, and any
    worker still gets what it needs."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._whole_left: dict[str, int] = {}

    def map(self, function: Callable[[bytes], bytes], parts: Iterable[_Part]) -> Iterator[bytes]:
        """`function` of each part (packed), the answers in order, none of them `_UNBUILT`."""
        sent: deque[_Part] = deque()

        def packed() -> Iterator[bytes]:
            for part in parts:
                sent.append(part)
                yield _packed(self._shipped(part))

        for answer in self.engine.map(function, packed()):
            part = sent.popleft()
            if answer == _UNBUILT:
                for recipe in part.recipes:
                    self._whole_left.pop(recipe.key, None)
                (answer,) = self.engine.map(function, [_packed(part)])
            yield answer

    def _shipped(self, part: _Part) -> _Part:
        recipes = []
        for recipe in part.recipes:
            left = self._whole_left.get(recipe.key)
            if left is None:
                left = IN_FLIGHT_PER_WORKER * self.engine.workers
            self._whole_left[recipe.key] = left - 1
            recipes.append(recipe if left > 0 else recipe.reference())
        return _Part(tuple(recipes), part.batches)


def _packed(part: _Part) -> bytes:
    """A part as the bytes that travel. Dask's scheduler unpickles a task's arguments and
    pickles them again to pass them on, and its client walks nested results: bytes cross both
    at the speed of a copy, and the work is pickled once, here or on the worker."""
    return pickle.dumps(part, protocol=pickle.HIGHEST_PROTOCOL)


def _guards_of(part: _Part) -> list[Any] | None:
    """The part's guards as this process built them; None if one is a reference to a guard
    this process has not built."""
    guards = [recipe.guard() for recipe in part.recipes]
    return None if any(guard is None for guard in guards) else guards


def _prepare(packed: bytes) -> bytes:
    """On a worker: each guard's `prepare` of each batch (the part and the result pickled;
    the collector paused, as for a block in one process)."""
    with collection_paused():
        part: _Part = pickle.loads(packed)
        guards = _guards_of(part)
        if guards is None:
            return _UNBUILT
        works = [[guard.prepare(batch) for batch in part.batches] for guard in guards]
        return pickle.dumps(works, protocol=pickle.HIGHEST_PROTOCOL)


def _check_on(
    shipping: _Shipping, recipe: Recipe, batches: list[list[Sample]]
) -> Iterator[list[Verdict]]:
    """`check` of each batch on the engine, a part each, in order."""
    parts = (_Part((recipe,), [batch]) for batch in batches)
    for packed in shipping.map(_check, parts):
        found: list[list[Verdict]] = pickle.loads(packed)
        yield from found


def _check(packed: bytes) -> bytes:
    """On a worker: the guard's `check` of each batch (the part and the result pickled; the
    collector paused)."""
    with collection_paused():
        part: _Part = pickle.loads(packed)
        guards = _guards_of(part)
        if guards is None:
            return _UNBUILT
        (guard,) = guards
        verdicts = [guard.check(batch) for batch in part.batches]
        return pickle.dumps(verdicts, pickle.HIGHEST_PROTOCOL)
