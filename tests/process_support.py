"""Helpers for tests that kill a command: waiting until the processes it forked are gone."""

from __future__ import annotations

import time
from collections.abc import Sequence

import psutil


def gone(process: psutil.Process) -> bool:
    """Whether a process has ended: reaped, or a zombie where the container's init does not
    reap."""
    try:
        return process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


def all_gone(processes: Sequence[psutil.Process], seconds: float = 30) -> bool:
    """Whether every one of `processes` ends within `seconds`."""
    deadline = time.monotonic() + seconds
    while not all(gone(process) for process in processes) and time.monotonic() < deadline:
        time.sleep(0.1)
    return all(gone(process) for process in processes)
