"""`ForkedEngine` and `Forked`: processes forked from this one when the engine is made; a function
inherited at the fork (a closure over what must not travel) or pickled by name, its results in
order, its errors as raised, a dead worker one clean error."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator

import psutil
import pytest
from process_support import all_gone

from synthguard.provenance.engine import IN_FLIGHT_PER_WORKER, EngineError, Forked, ForkedEngine
from synthguard.provenance.errors import InputError


def test_a_closure_runs_in_other_processes_and_its_results_come_in_order() -> None:
    # A lock cannot be pickled: the function reaches the workers only by the fork.
    held = threading.Lock()
    here = os.getpid()

    def work(part: int) -> tuple[int, int, bool]:
        return part * part, os.getpid(), isinstance(held, type(threading.Lock()))

    with Forked(work, 2) as pool:
        results = list(pool.map(range(40)))
    assert [square for square, _, _ in results] == [n * n for n in range(40)]
    assert here not in {pid for _, pid, _ in results}
    assert all(inherited for _, _, inherited in results)


def test_parts_are_read_a_few_per_worker_ahead() -> None:
    read: list[int] = []

    def parts() -> Iterator[int]:
        for n in range(100):
            read.append(n)
            yield n

    def same(part: int) -> int:
        return part

    with Forked(same, 2) as pool:
        mapped = pool.map(parts())
        assert next(mapped) == 0
        assert len(read) <= IN_FLIGHT_PER_WORKER * 2 + 1
        assert list(mapped) == list(range(1, 100))


def test_an_error_in_a_part_arrives_as_raised() -> None:
    def work(part: int) -> int:
        if part == 7:
            raise InputError(f"part {part} is bad")
        return part

    with Forked(work, 2) as pool, pytest.raises(InputError, match="part 7 is bad"):
        list(pool.map(range(20)))


def test_a_worker_that_dies_ends_the_map_with_one_clear_error() -> None:
    def work(part: int) -> int:
        if part == 3:
            os.kill(os.getpid(), signal.SIGKILL)
        return part

    with Forked(work, 2) as pool, pytest.raises(EngineError, match=r"worker process .* died"):
        list(pool.map(range(20)))


def test_the_engine_forks_its_workers_when_it_is_made() -> None:
    here = psutil.Process()
    before = {child.pid for child in here.children()}
    engine = ForkedEngine(2)
    try:
        forked = {child.pid for child in here.children()} - before
        assert len(forked) == 2
        assert engine.description == "2 worker processes forked from this one"
        # Parts submitted from another thread run on the workers forked before: no fork there.
        pids: list[int] = []
        thread = threading.Thread(target=lambda: pids.extend(engine.map(_pid, range(20))))
        thread.start()
        thread.join()
        assert len(pids) == 20
        assert set(pids) <= forked
        assert {child.pid for child in here.children()} - before == forked
    finally:
        engine.close()
    assert not {child.pid for child in here.children()} & forked


def _pid(_part: int) -> int:
    return os.getpid()


def test_the_workers_die_with_a_command_killed_by_sigkill() -> None:
    # A worker left behind would wait on its pipe forever, holding the ledger, the input and,
    # for signing, the unlocked key.
    command = (
        "import psutil, time\n"
        "from synthguard.provenance.engine import ForkedEngine\n"
        "engine = ForkedEngine(2)\n"
        "print(' '.join(str(c.pid) for c in psutil.Process().children()), flush=True)\n"
        "time.sleep(120)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", command], stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None
    workers = [psutil.Process(int(pid)) for pid in process.stdout.readline().split()]
    assert len(workers) == 2
    assert all(worker.is_running() for worker in workers)

    process.kill()
    process.wait()

    assert all_gone(workers)
