"""Where parallel work runs: this process, or a Dask cluster (the engine seam).

The seam is one call, `Engine.map(function, parts)`: `function` applied to every part, the
results yielded in the parts' order, never more than a few parts per worker in flight (memory
stays set by the parts in flight, not by their number). A caller cuts its work into parts
(partitions of rows, batches of records), keeps everything order-dependent (the ledger's one
writer, the dedup index's "earlier" rule) on its own side, and gives the engine only pure
functions of a part. So any engine gives the same answer as one process, bit for bit, and
another backend (Ray) needs only `map` and `close`.

- `InProcess`: runs the function here, part after part (the default, no extra needed).
- `ForkedEngine`: processes forked from this one, one per core (a screen's default on a
  machine of several cores): they start with what this process has imported, and parts and
  results travel between them as pickles. `Forked` runs one function on them that was
  inherited at the fork, not pickled, for work that must stay on this machine (signing with
  the ledger's key): only its parts and results travel.
- `DaskEngine`: Dask distributed (the `dask` extra). `DaskEngine.start(n)` starts a local
  cluster of n worker processes, one thread each; `DaskEngine.connect(address)` uses a running
  scheduler (`dask scheduler` on one machine, `dask worker ADDRESS` on each of the others).
  Work goes through `Client.get_executor()`, a `concurrent.futures` executor. A part whose worker
  dies is run again elsewhere (Dask's `allowed-failures`, 3 by default); a part that keeps
  killing workers, a function that raises, or a scheduler that goes away ends the map with
  `EngineError`, and the caller has written nothing of that map yet. An address where no
  scheduler answers Dask's handshake within `CONNECT_SECONDS + HANDSHAKE_SECONDS` is an
  `InputError`.

What a part needs that is costly to build (a model, a guard's tables) goes in a picklable
recipe, built once per worker process with `once_per_worker(key, build)`; a caller whose
recipe is large sends it whole only until the workers hold what it built (`built_here`).
"""

from __future__ import annotations

import asyncio
import ctypes
import logging
import os
import signal
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import CancelledError, Executor, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from multiprocessing import get_context
from types import TracebackType
from typing import Any, Generic, Protocol, TypeVar

from synthguard.provenance.errors import InputError, SynthguardError
from synthguard.provenance.gc_pause import collection_paused

T = TypeVar("T")
R = TypeVar("R")

IN_FLIGHT_PER_WORKER = 2
"""Parts handed to the engine ahead of the one being read, per worker: enough to keep every
worker busy while the caller consumes a result, few enough that memory stays bounded."""

CONNECT_SECONDS = 10
"""How long `--scheduler` tries to open a connection to the scheduler (Dask retries one refused),
and how long Dask tries to reconnect to a scheduler it lost."""

HANDSHAKE_SECONDS = 5
"""How much longer `--scheduler` waits for the scheduler's side of Dask's handshake."""


class EngineError(SynthguardError):
    """A part failed on the engine: its function raised, its workers kept dying, or the
    scheduler went away."""


class Engine(Protocol):
    """Runs a pure function over parts, in order (see the module's docstring)."""

    @property
    def workers(self) -> int:
        """How many parts run at once."""

    @property
    def description(self) -> str:
        """One line for the user: what runs the work."""

    def map(self, function: Callable[[T], R], parts: Iterable[T]) -> Iterator[R]:
        """`function(part)` for every part, yielded in the parts' order."""

    def close(self) -> None:
        """Release the workers (and a cluster this engine started)."""


class InProcess:
    """The engine of one process: the parts run here, one after another."""

    workers = 1
    description = "one process"

    def map(self, function: Callable[[T], R], parts: Iterable[T]) -> Iterator[R]:
        """Apply `function` to each part as it is asked for."""
        return map(function, parts)

    def close(self) -> None:
        """Nothing to release."""


class ForkedEngine:
    """The engine of this machine's cores: `workers` processes forked from this one (default:
    one per core), all forked when the engine is made, from the thread that makes it.

    A forked worker starts with what this process has imported, in milliseconds. The workers
    ignore Ctrl-C (the caller stops the run and says what it committed) and run at a lower
    priority: the caller's thread, which takes every order-dependent decision and consumes
    the results in order, is the one the run waits on. A worker that dies ends the map with
    `EngineError`; a command that dies (even by SIGKILL) takes its workers with it, so the
    thread that makes the engine must outlive it. `inherit` is a function the workers keep for
    `Forked`.
    """

    def __init__(
        self, workers: int | None = None, *, inherit: Callable[[Any], Any] | None = None
    ) -> None:
        self.workers = workers or cores()
        self._pool = ProcessPoolExecutor(
            self.workers,
            mp_context=get_context("fork"),
            initializer=_inherit,
            initargs=(inherit, os.getpid()),
        )
        # A fork pool forks every worker at its first task: let that be now, on this thread,
        # not on whichever thread submits the first part.
        try:
            _forked_result(self._submit(int, 0))
        except EngineError:
            self.close()
            raise

    @property
    def description(self) -> str:
        """How many processes, and where they come from."""
        return f"{self.workers} worker processes forked from this one"

    def map(self, function: Callable[[T], R], parts: Iterable[T]) -> Iterator[R]:
        """Submit parts a few per worker ahead; yield the results in order (a function's
        error is raised as it raised it; a worker that died ends the map with EngineError)."""
        return _in_order(
            lambda part: self._submit(function, part),
            parts,
            IN_FLIGHT_PER_WORKER * self.workers,
            _forked_result,
        )

    def close(self) -> None:
        """Drop the parts not started, wait for the rest, end the workers."""
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _submit(self, function: Callable[[T], R], part: T) -> Future[R]:
        try:
            return self._pool.submit(function, part)
        except BrokenProcessPool as exc:  # a worker died before this part was handed over
            raise _died() from exc


class Forked(Generic[T, R]):
    """`function` on `workers` processes forked from this one (a `ForkedEngine`).

    The function is inherited at the fork, never pickled, so it may be a closure over what
    must not travel (a ledger handle and its key). Leaving the `with` block drops the parts
    not started and waits for the rest.
    """

    def __init__(self, function: Callable[[T], R], workers: int | None = None) -> None:
        self._engine = ForkedEngine(workers, inherit=function)
        self.workers = self._engine.workers

    def __enter__(self) -> Forked[T, R]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._engine.close()

    def map(self, parts: Iterable[T]) -> Iterator[R]:
        """The inherited function of each part, in order (as `ForkedEngine.map`)."""
        return self._engine.map(_call_inherited, parts)


def _in_order(
    submit: Callable[[T], Future[R]],
    parts: Iterable[T],
    window: int,
    result: Callable[[Future[R]], R],
) -> Iterator[R]:
    """Each part submitted while at most `window` wait ahead of the one whose `result` is
    yielded, in the parts' order; parts are read only as they are submitted, and the ones
    waiting are cancelled when the caller stops early."""
    pending: deque[Future[R]] = deque()
    try:
        for part in parts:
            pending.append(submit(part))
            if len(pending) >= window:
                yield result(pending.popleft())
        while pending:
            yield result(pending.popleft())
    finally:
        for future in pending:
            future.cancel()


def _forked_result(future: Future[R]) -> R:
    try:
        return future.result()
    except BrokenProcessPool as exc:
        raise _died() from exc


def _died() -> EngineError:
    return EngineError(
        "a worker process forked from this one died (killed, or out of memory); the parts it "
        "and the others had in hand were not used"
    )


def cores() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


_inherited: Callable[[Any], Any] | None = None


def _inherit(function: Callable[[Any], Any] | None, parent: int) -> None:
    global _inherited
    _inherited = function
    die_with(parent)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.nice(5)


_PR_SET_PDEATHSIG = 1


def die_with(parent: int) -> None:
    """Have the kernel kill this worker when the command that forked it dies (Linux's
    PR_SET_PDEATHSIG). Without it, a worker of a command killed by SIGKILL waits on its pipe
    forever, holding the ledger and the input open and, for signing, the unlocked key. The
    signal is tied to the thread that forked the worker: the one that made the engine, which
    must outlive it. Elsewhere than Linux there is no such call, and nothing is done."""
    try:
        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return
    prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        # It died before the call: no signal will come.
        os._exit(1)


def _call_inherited(part: Any) -> Any:
    assert _inherited is not None  # set by the pool's initializer
    # A part makes many objects and no cycles: the collector would only walk them.
    with collection_paused():
        return _inherited(part)


class DaskEngine:
    """Dask distributed behind the seam: a local cluster this engine starts, or a scheduler."""

    def __init__(self, client: Any, cluster: Any | None = None) -> None:
        self._client = client
        self._cluster = cluster
        self._executor: Executor = client.get_executor(pure=False)

    @classmethod
    def start(cls, workers: int) -> DaskEngine:
        """Start a local cluster of `workers` processes (one thread each) and connect to it."""
        if workers < 1:
            raise InputError(f"--workers must be at least 1, not {workers}")
        distributed = _distributed()
        cluster = distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",  # any free port: clusters side by side never collide
            silence_logs=40,  # logging.ERROR: a worker's own chatter is not the user's business
        )
        try:
            client = distributed.Client(cluster)
        except Exception:
            cluster.close()
            raise
        return cls(client, cluster)

    @classmethod
    def connect(cls, address: str) -> DaskEngine:
        """Use the cluster whose scheduler listens at `address` (tcp://host:8786)."""
        distributed = _distributed()
        _check_handshake(distributed, address)
        try:
            client = distributed.Client(address, timeout=f"{CONNECT_SECONDS}s")
        except OSError as exc:  # it went away since the handshake
            raise InputError(f"cannot reach the Dask scheduler at {address}: {exc}") from exc
        except Exception as exc:  # a Dask server, but not a scheduler (a worker's address)
            raise InputError(
                f"cannot reach the Dask scheduler at {address}: it answers Dask's handshake, but "
                f"not as a scheduler ({type(exc).__name__}: {exc})"
            ) from exc
        # A scheduler gone for good is one EngineError, without Dask's "failed to reconnect".
        logging.getLogger("distributed.client").setLevel(logging.CRITICAL)
        return cls(client)

    @property
    def workers(self) -> int:
        """The workers the scheduler knows now (at least 1)."""
        return max(1, len(self._client.scheduler_info(n_workers=-1).get("workers", {})))

    @property
    def description(self) -> str:
        """Where the scheduler is and how many workers it has."""
        where = "a local Dask cluster" if self._cluster is not None else "the Dask scheduler at"
        address = "" if self._cluster is not None else f" {self._client.scheduler.address}"
        return f"{where}{address}: {self.workers} worker processes"

    def map(self, function: Callable[[T], R], parts: Iterable[T]) -> Iterator[R]:
        """Submit parts a few per worker ahead; yield the results in order."""
        return _in_order(
            lambda part: self._submit(function, part),
            parts,
            IN_FLIGHT_PER_WORKER * self.workers,
            self._result_while_connected,
        )

    def close(self) -> None:
        """Close the client, then the cluster this engine started."""
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()

    def _submit(self, function: Callable[[T], R], part: T) -> Future[R]:
        try:
            return self._executor.submit(function, part)
        except Exception as exc:
            if type(exc).__name__ == "ClosedClientError":  # Dask closed it: its scheduler left
                raise _scheduler_gone() from exc
            raise

    def _result_while_connected(self, future: Future[R]) -> R:
        # Dask cancels the parts it holds when it loses the scheduler and when it gives up
        # reconnecting, but a part submitted while it closes is dropped: never answered.
        while not future.done():
            if self._client.status == "closed":
                raise _scheduler_gone()
            wait([future], timeout=1)
        return _result(future)


def _check_handshake(distributed: Any, address: str) -> None:
    """Raise InputError unless what listens at `address` completes Dask's handshake within
    CONNECT_SECONDS + HANDSHAKE_SECONDS.

    Dask's client times the TCP connect, not the handshake after it: a service that says nothing
    (Redis) would hold it forever, and one that answers other bytes has Dask read them as a
    frame's length (MemoryError). So the handshake is tried first, on an event loop of its own
    on a daemon thread (one left hanging cannot keep the command alive at exit), and no client
    is made of an address that fails it."""
    try:
        distributed.comm.get_address_host_port(address)
    except ValueError as exc:  # no port, no host, an unknown scheme
        raise InputError(
            f"cannot reach the Dask scheduler at {address}: not an address Dask can connect to "
            f"({exc})"
        ) from exc
    deadline = CONNECT_SECONDS + HANDSHAKE_SECONDS
    security = distributed.Security().get_connection_args("client")  # as the client's

    async def handshake() -> None:
        comm = await distributed.comm.connect(address, timeout=CONNECT_SECONDS, **security)
        await comm.close()

    answered: Future[None] = Future()

    def run() -> None:
        try:
            answered.set_result(asyncio.run(asyncio.wait_for(handshake(), deadline)))
        except Exception as exc:  # everything the attempt raised is about the address
            answered.set_exception(exc)

    threading.Thread(target=run, name="dask-handshake", daemon=True).start()
    # The thread's own deadline comes first; this one only if its loop cannot end.
    ended = wait([answered], timeout=deadline + 1).done
    failure = answered.exception() if ended else TimeoutError()
    if failure is not None:
        raise InputError(
            f"cannot reach the Dask scheduler at {address}: {_handshake_failure(failure, deadline)}"
        ) from failure


def _handshake_failure(exc: BaseException, deadline: int) -> str:
    if isinstance(exc, TimeoutError):
        return f"no Dask handshake within {deadline} s (is it a Dask scheduler?)"
    if isinstance(exc, OSError):  # refused (Dask retried), or closed
        return str(exc) or type(exc).__name__
    if isinstance(exc, TypeError):
        # ucx:// without its package, tls:// without certificates in Dask's configuration.
        return f"Dask cannot connect to such an address here ({exc})"
    # MemoryError, ValueError, struct.error...: another service's bytes read as Dask's frames.
    return "its answer is not a Dask handshake (is it a Dask scheduler?)"


def open_engine(workers: int | None = None, scheduler: str | None = None) -> Engine:
    """The engine the `--workers N` / `--scheduler ADDRESS` options ask for (neither: this
    process). `--workers 1` is a local cluster of one worker process, not this process: the
    byte-for-byte comparisons run the same code path at every size."""
    if workers is not None and scheduler is not None:
        raise InputError(
            "give --workers (a local cluster) or --scheduler (a running one), not both"
        )
    if scheduler is not None:
        return DaskEngine.connect(scheduler)
    if workers is not None:
        return DaskEngine.start(workers)
    return InProcess()


_built: dict[str, Any] = {}
_building = threading.Lock()


def once_per_worker(key: str, build: Callable[[], T]) -> T:
    """What `build` returns, built the first time `key` is asked for in this process."""
    with _building:
        if key not in _built:
            _built[key] = build()
        value: T = _built[key]
        return value


def built_here(key: str) -> Any | None:
    """What `once_per_worker` built for `key` in this process, or None (building nothing)."""
    with _building:
        return _built.get(key)


def _result(future: Future[R]) -> R:
    try:
        return future.result()
    except SynthguardError:
        raise
    except CancelledError as exc:  # Dask cancels every part in flight when its scheduler left
        raise _scheduler_gone() from exc
    except Exception as exc:  # a worker's error arrives as whatever the function raised
        name = type(exc).__name__
        if name == "KilledWorker":
            raise EngineError(
                "a part of the work kept killing its Dask workers (out of memory, or killed); "
                f"nothing of this step was written: {exc}"
            ) from exc
        raise EngineError(f"a part of the work failed on a Dask worker: {name}: {exc}") from exc


def _scheduler_gone() -> EngineError:
    return EngineError(
        "the connection to the Dask scheduler was lost (it stopped, or stayed unreachable while "
        "Dask tried to reconnect); nothing of this step was written"
    )


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise InputError(
            "--workers and --scheduler need Dask distributed: pip install 'synthguard[dask]'"
        ) from exc
    return distributed
