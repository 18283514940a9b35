"""The cycle collector's policy for commands that read whole journals (standard library only: `resq --help`
imports it).

Reading a journal allocates millions of small objects (rows, their fields, report records) and none of them is in
a reference cycle, yet every batch of allocations starts a collector pass over all of them: a third of a 100k-row
report's time. Memory is still freed as usual when the last reference to an object goes.
"""

from __future__ import annotations

import functools
import gc
from contextlib import contextmanager
from typing import Callable, Iterator, TypeVar

F = TypeVar("F", bound=Callable)


@contextmanager
def without_cycle_collection() -> Iterator[None]:
    """The collector is off inside; what was made inside is then frozen, so later passes skip it (when it was off
    already, it stays off and nothing is frozen: freezing millions of objects costs a pass of its own)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()


def reads_journals(command: F) -> F:
    """For a command that reads run folders, prints and exits (report, compare, history, export, pecc-report):
    the collector stays off for the whole command."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        gc.disable()  # and left off: the process ends with the command (a last pass would only cost)
        return command(*args, **kwargs)

    return wrapper  # type: ignore[return-value]
