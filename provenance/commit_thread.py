"""How a Recorder's records reach the ledger off the caller's thread.

`BackgroundWriter` is the one thread of a buffered Recorder: it appends every `batch_size`
records or every `interval` seconds, whichever comes first. Callers hand records over and go on;
a caller blocks only while a full batch already waits behind the one being appended, so at most
2 x batch_size records are uncommitted at any time (the crash window), plus the rest of a list
handed over in one piece.

`GroupCommitter` serves async callers of a durable Recorder: each awaits the commit of its own
records, which run on the recorder's single writer thread, in the order they were handed over;
records handed over by concurrent tasks while an append runs share the next transaction.

Either way an error in the append is kept and raised to the caller, never swallowed.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from typing import Generic, TypeVar

T = TypeVar("T")

Append = Callable[[list[T]], None]


class BackgroundWriter(Generic[T]):
    """Appends handed-over items in batches on one daemon thread.

    Batches go out when `batch_size` items wait, when the oldest has waited `interval`
    seconds, or when `flush` or `close` asks. After a failed append the thread stops and every
    later `put`, `flush` and `close` raises that error.
    """

    def __init__(self, append: Append[T], *, batch_size: int, interval: float) -> None:
        self._append = append
        self.batch_size = batch_size
        self.interval = interval
        self._cond = threading.Condition()
        self._waiting: list[T] = []
        # (monotonic time handed over, items of that hand-over still waiting), oldest first.
        self._handovers: deque[list[float]] = deque()
        self._in_flight = 0
        self._handed = 0
        self._committed = 0
        self._flushes = 0
        self._closing = False
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="synthguard-writer", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> int:
        """Items handed over and not yet committed."""
        with self._cond:
            return len(self._waiting) + self._in_flight

    @property
    def error(self) -> BaseException | None:
        """The error that stopped the writer, if any."""
        return self._error

    def put(self, items: Sequence[T], *, block: bool = True) -> bool:
        """Hand items over; return False (taking nothing) when `block` is off and the queue
        is full. Raises the writer's error, if it has failed."""
        if not items:
            return True
        with self._cond:
            while True:
                if self._error is not None:
                    raise self._error
                if self._closing:
                    raise RuntimeError("the writer is closed")
                if len(self._waiting) < self.batch_size:
                    break
                if not block:
                    return False
                self._cond.wait()
            was_empty = not self._waiting
            self._waiting.extend(items)
            self._handovers.append([time.monotonic(), len(items)])
            self._handed += len(items)
            # The writer sleeps until the first item arrives or a batch fills up.
            if was_empty or len(self._waiting) >= self.batch_size:
                self._cond.notify_all()
        return True

    def flush(self) -> None:
        """Wait until everything handed over so far is committed; raise the writer's error."""
        with self._cond:
            target = self._handed
            self._flushes += 1
            self._cond.notify_all()
            try:
                while self._committed < target and self._error is None:
                    self._cond.wait()
            finally:
                self._flushes -= 1
            if self._error is not None:
                raise self._error

    def close(self) -> None:
        """Commit what was handed over, stop the thread; raise the writer's error, if any."""
        with self._cond:
            self._closing = True
            self._cond.notify_all()
        if self._thread is not threading.current_thread():
            self._thread.join()
        if self._error is not None:
            raise self._error

    def _next_batch(self) -> list[T] | None:
        """Wait for a batch to be due and take it; None once closed and drained or failed."""
        with self._cond:
            while True:
                if self._error is not None:
                    return None
                count = len(self._waiting)
                if count == 0:
                    if self._closing:
                        return None
                    self._cond.wait()
                    continue
                due = self._closing or self._flushes > 0 or count >= self.batch_size
                left = self.interval - (time.monotonic() - self._handovers[0][0])
                if due or left <= 0:
                    break
                self._cond.wait(left)
            batch = self._waiting[: self.batch_size]
            del self._waiting[: self.batch_size]
            self._in_flight = taken = len(batch)
            while taken:
                first = self._handovers[0]
                step = min(taken, int(first[1]))
                first[1] -= step
                taken -= step
                if not first[1]:
                    self._handovers.popleft()
            self._cond.notify_all()  # room for blocked callers
            return batch

    def _run(self) -> None:
        while (batch := self._next_batch()) is not None:
            try:
                self._append(batch)
            except BaseException as exc:
                with self._cond:
                    exc.add_note(
                        f"synthguard: the recorder's writer stopped; {self._in_flight} records "
                        f"being appended and {len(self._waiting)} waiting were not recorded"
                    )
                    self._error = exc
                    self._in_flight = 0
                    self._cond.notify_all()
                return
            with self._cond:
                self._committed += len(batch)
                self._in_flight = 0
                self._cond.notify_all()


class GroupCommitter(Generic[T]):
    """Commits for async callers on one executor thread, grouping concurrent callers' items."""

    def __init__(self, executor: Executor, append: Append[T], *, batch_size: int) -> None:
        self._executor = executor
        self._append = append
        self.batch_size = batch_size
        self._lock = threading.Lock()
        self._queue: list[tuple[list[T], asyncio.Future[None], asyncio.AbstractEventLoop]] = []
        self._scheduled = False

    async def commit(self, items: Sequence[T]) -> None:
        """Return once `items` are committed; raise the append's error otherwise."""
        await self.submit(items)

    def submit(self, items: Sequence[T]) -> asyncio.Future[None]:
        """Queue items for commit and return the future that resolves once they are."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        with self._lock:
            self._queue.append((list(items), future, loop))
            if not self._scheduled:
                self._scheduled = True
                self._executor.submit(self._drain)
        return future

    def _drain(self) -> None:
        with self._lock:
            queue, self._queue = self._queue, []
            self._scheduled = False
        # Consecutive submissions share a transaction up to batch_size records; a submission
        # bigger than that is still appended whole, in one transaction of its own.
        group: list[tuple[list[T], asyncio.Future[None], asyncio.AbstractEventLoop]] = []
        size = 0
        for entry in queue:
            if group and size + len(entry[0]) > self.batch_size:
                self._commit_group(group)
                group, size = [], 0
            group.append(entry)
            size += len(entry[0])
        if group:
            self._commit_group(group)

    def _commit_group(
        self, group: list[tuple[list[T], asyncio.Future[None], asyncio.AbstractEventLoop]]
    ) -> None:
        items = [item for entry in group for item in entry[0]]
        error: BaseException | None = None
        try:
            self._append(items)
        except BaseException as exc:
            error = exc
        for _, future, loop in group:
            # A closed loop raises RuntimeError: nobody is waiting there any more.
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_resolve, future, error)


def _resolve(future: asyncio.Future[None], error: BaseException | None) -> None:
    if future.cancelled():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
