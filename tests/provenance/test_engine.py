"""The engine seam: in order, bounded, the same answer on one process and on a real local Dask
cluster (worker processes), and a clean error when a part fails or keeps killing its worker."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from synthguard.provenance.engine import (
    IN_FLIGHT_PER_WORKER,
    DaskEngine,
    EngineError,
    InProcess,
    once_per_worker,
    open_engine,
)
from synthguard.provenance.errors import InputError

cloudpickle = pytest.importorskip(
    "cloudpickle", reason="the dask extra is not installed (pip install 'synthguard[dask]')"
)
pytest.importorskip("distributed", reason="the dask extra is not installed (Dask distributed)")

# The workers are other processes: they get this module's functions by value, not by import.
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def squares(part: list[int]) -> list[int]:
    return [n * n for n in part]


def worker_pid(_part: int) -> int:
    return os.getpid()


def refuse(part: int) -> int:
    if part == 3:
        raise ValueError("part 3 is bad")
    return part


def refuse_politely(part: int) -> int:
    raise InputError(f"row {part}: not a sample")


def die_once(marker: str) -> str:
    """Kill this worker process the first time; answer on the retry."""
    path = Path(marker)
    if not path.exists():
        path.write_text("died once")
        os._exit(1)
    return "answered"


def die_always(_part: int) -> int:
    os._exit(1)


def built_in_worker(key: str) -> tuple[int, int]:
    """The pid and the id of what `once_per_worker` built for `key` in this process."""
    value = once_per_worker(key, lambda: object())
    return os.getpid(), id(value)


@pytest.fixture(scope="module")
def cluster() -> Iterator[DaskEngine]:
    engine = DaskEngine.start(2)
    yield engine
    engine.close()


def test_in_process_maps_in_order() -> None:
    engine = open_engine()
    assert isinstance(engine, InProcess)
    assert engine.workers == 1
    assert list(engine.map(squares, [[1, 2], [3], []])) == [[1, 4], [9], []]


def test_a_local_cluster_gives_the_answer_of_one_process_in_order(cluster: DaskEngine) -> None:
    parts = [list(range(start, start + 50)) for start in range(0, 5000, 50)]
    assert cluster.workers == 2
    assert "local Dask cluster: 2 worker processes" in cluster.description
    assert list(cluster.map(squares, parts)) == list(InProcess().map(squares, parts))


def test_parts_run_in_other_processes_on_every_worker(cluster: DaskEngine) -> None:
    pids = set(cluster.map(worker_pid, range(40)))
    assert os.getpid() not in pids
    assert len(pids) == 2


def test_the_parts_are_read_lazily_a_few_per_worker_ahead(cluster: DaskEngine) -> None:
    taken: list[int] = []

    def parts() -> Iterator[list[int]]:
        for n in range(100):
            taken.append(n)
            yield [n]

    results = cluster.map(squares, parts())
    assert next(results) == [0]
    # One part more than the window is read before the first result can be handed out.
    assert len(taken) <= IN_FLIGHT_PER_WORKER * cluster.workers + 1
    assert sum(1 for _ in results) == 99


def test_a_failing_part_is_an_engine_error_naming_the_cause(cluster: DaskEngine) -> None:
    with pytest.raises(EngineError, match="ValueError: part 3 is bad"):
        list(cluster.map(refuse, range(6)))


def test_a_synthguard_error_on_a_worker_arrives_as_itself(cluster: DaskEngine) -> None:
    with pytest.raises(InputError, match="row 0: not a sample"):
        list(cluster.map(refuse_politely, range(2)))


def test_once_per_worker_builds_once_in_each_process(cluster: DaskEngine) -> None:
    seen: dict[int, set[int]] = {}
    for pid, built in cluster.map(built_in_worker, ["model"] * 30):
        seen.setdefault(pid, set()).add(built)
    assert all(len(ids) == 1 for ids in seen.values())


def test_a_part_whose_worker_dies_runs_again(cluster: DaskEngine, tmp_path: Path) -> None:
    marker = tmp_path / "died"
    assert list(cluster.map(die_once, [str(marker)])) == ["answered"]
    assert marker.read_text() == "died once"


def test_a_part_that_keeps_killing_workers_ends_the_map_cleanly(tmp_path: Path) -> None:
    engine = DaskEngine.start(1)
    try:
        with pytest.raises(EngineError, match="kept killing its Dask workers"):
            list(engine.map(die_always, [1]))
    finally:
        engine.close()


def test_workers_and_scheduler_are_one_or_the_other() -> None:
    with pytest.raises(InputError, match="not both"):
        open_engine(2, "tcp://127.0.0.1:8786")
    with pytest.raises(InputError, match="at least 1"):
        open_engine(0)


def test_an_unreachable_scheduler_is_one_input_error() -> None:
    with pytest.raises(InputError, match="cannot reach the Dask scheduler"):
        DaskEngine.connect("tcp://127.0.0.1:1")
