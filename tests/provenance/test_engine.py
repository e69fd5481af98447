"""The engine seam: in order, bounded, the same answer on one process and on a real local Dask
cluster (worker processes), and a clean error when a part fails or keeps killing its worker, when
`--scheduler` names something that is not a Dask scheduler (real sockets, Redis), and when a real
scheduler is killed mid-map."""

from __future__ import annotations

import os
import random
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from synthguard.provenance import engine
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
distributed = pytest.importorskip(
    "distributed", reason="the dask extra is not installed (Dask distributed)"
)

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


def slow_square(n: int) -> int:
    time.sleep(0.05)
    return n * n


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


REDIS = ("127.0.0.1", 6379)
SCHEDULER_LOST = "the connection to the Dask scheduler was lost"


@pytest.fixture
def short_deadline(monkeypatch: pytest.MonkeyPatch) -> int:
    """1 s to connect (and for Dask to reconnect), 1 s more for the handshake: the deadline."""
    monkeypatch.setattr(engine, "CONNECT_SECONDS", 1)
    monkeypatch.setattr(engine, "HANDSHAKE_SECONDS", 1)
    return 2


def no_handshake(address: str, seconds: int) -> str:
    return re.escape(
        f"cannot reach the Dask scheduler at {address}: no Dask handshake within {seconds} s "
        "(is it a Dask scheduler?)"
    )


def within(seconds: float, call: Callable[[], Any]) -> Any:
    """What `call()` returns or raises, on a daemon thread; TimeoutError after `seconds`."""
    outcome: Future[Any] = Future()

    def run() -> None:
        try:
            outcome.set_result(call())
        except BaseException as exc:
            outcome.set_exception(exc)

    threading.Thread(target=run, daemon=True).start()
    return outcome.result(timeout=seconds)


def test_a_silent_service_is_one_input_error_at_the_deadline(
    tcp_service: Callable[[bytes | None], str], short_deadline: int
) -> None:
    address = tcp_service(None)
    started = time.monotonic()
    with pytest.raises(InputError, match=no_handshake(address, short_deadline)):
        DaskEngine.connect(address)
    assert time.monotonic() - started < short_deadline + 1


def test_redis_is_not_a_dask_scheduler(short_deadline: int) -> None:
    try:
        socket.create_connection(REDIS, timeout=2).close()
    except OSError as exc:
        pytest.skip(f"Redis at {REDIS[0]}:{REDIS[1]} is not available: {exc}")
    address = f"tcp://{REDIS[0]}:{REDIS[1]}"
    with pytest.raises(InputError, match=no_handshake(address, short_deadline)):
        DaskEngine.connect(address)


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n",
        random.Random(7).randbytes(64),
        (16).to_bytes(8, "little") + b"x" * 64,  # a plausible count of frames, then junk
    ],
    ids=["http", "random bytes", "frame count"],
)
def test_a_service_answering_other_bytes_is_one_input_error(
    tcp_service: Callable[[bytes | None], str], short_deadline: int, answer: bytes
) -> None:
    address = tcp_service(answer)
    started = time.monotonic()
    with pytest.raises(InputError) as raised:
        DaskEngine.connect(address)
    assert str(raised.value) == (
        f"cannot reach the Dask scheduler at {address}: its answer is not a Dask handshake "
        "(is it a Dask scheduler?)"
    )
    assert time.monotonic() - started < short_deadline


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("ucx://127.0.0.1:8786", ""),  # Dask's words vary: with distributed-ucxx or without
        ("tls://127.0.0.1:8786", "Dask cannot connect to such an address here (TLS expects"),
        ("foo://127.0.0.1:8786", "not an address Dask can connect to (unknown address scheme"),
    ],
)
def test_an_address_dask_cannot_use_is_one_input_error(
    short_deadline: int, address: str, reason: str
) -> None:
    started = time.monotonic()
    with pytest.raises(InputError, match=re.escape(f"at {address}: {reason}")):
        DaskEngine.connect(address)
    assert time.monotonic() - started < short_deadline + 1


def test_a_hung_handshake_does_not_keep_the_process_alive(
    tcp_service: Callable[[bytes | None], str],
) -> None:
    """A handshake left hanging cannot keep the command alive: it says so and ends."""
    script = (
        "import sys\n"
        "from synthguard.provenance import engine\n"
        "engine.CONNECT_SECONDS = engine.HANDSHAKE_SECONDS = 1\n"
        "try:\n"
        "    engine.DaskEngine.connect(sys.argv[1])\n"
        "except engine.InputError as exc:\n"
        "    print(exc)\n"
    )
    address = tcp_service(None)
    ended = subprocess.run(
        [sys.executable, "-c", script, address], capture_output=True, text=True, timeout=60
    )
    assert ended.returncode == 0, ended.stderr
    assert re.fullmatch(no_handshake(address, 2), ended.stdout.strip())
    assert ended.stderr == ""


def test_a_dask_workers_address_is_one_input_error(
    dask_scheduler: tuple[str, subprocess.Popen[bytes]],
) -> None:
    address, _ = dask_scheduler
    with distributed.Client(address) as client:
        worker = next(iter(client.scheduler_info()["workers"]))
    with pytest.raises(InputError, match="answers Dask's handshake, but not as a scheduler"):
        DaskEngine.connect(worker)


def test_a_scheduler_killed_mid_map_ends_the_map_with_one_engine_error(
    dask_scheduler: tuple[str, subprocess.Popen[bytes]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A part done before the scheduler went is still the map's; a part submitted while Dask
    tries to reconnect ends the map when Dask gives up, and so does a map after that."""
    address, scheduler = dask_scheduler
    monkeypatch.setattr(engine, "CONNECT_SECONDS", 1)  # and Dask's time to reconnect
    dask = DaskEngine.connect(address)
    try:
        results = dask.map(slow_square, range(100))
        assert next(results) == 0
        time.sleep(1)  # the next part is done too
        scheduler.kill()
        scheduler.wait()
        time.sleep(0.5)  # Dask has seen its connection close: it is reconnecting
        assert within(10, lambda: next(results)) == 1  # the part submitted with it waits
        with pytest.raises(EngineError, match=SCHEDULER_LOST):
            within(10, lambda: next(results))
        with pytest.raises(EngineError, match=SCHEDULER_LOST):  # a map once Dask gave up
            within(10, lambda: list(dask.map(squares, [[1], [2]])))
    finally:
        dask.close()
