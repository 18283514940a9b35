"""Memory policy for commands that read whole journals (standard library only: `resq --help` imports it).

Reading a journal allocates millions of small objects (rows, their fields, report records) and none of them is in
a reference cycle, yet every batch of allocations starts a collector pass over all of them: a third of a 100k-row
report's time. Memory is still freed as usual when the last reference to an object goes, except at the end of a
reading command run as a process of its own (the `resq` command line): freeing a 100k-row run's objects one by
one costs ~0.4 s, for a process that is about to end, so such a process keeps them and ends without freeing them.
"""

from __future__ import annotations

import functools
import gc
import os
import sys
from contextlib import contextmanager
from typing import Any, Callable, Iterator, TypeVar

F = TypeVar("F", bound=Callable)
_kept: list[Any] = []
_ends_at_once = False  # the command runs as the process's own
_keeping = False  # ... and it is a reading command: what it read need not be freed


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


def process_ends_with_command() -> None:
    """Said by the command line's entry point when the command runs as the process's own (not called in by a test
    or a program): a reading command that succeeds then ends the process at once (see reads_journals)."""
    global _ends_at_once
    _ends_at_once = True


def keep(*objects: Any) -> None:
    """Objects of a reading command that need not be freed one by one when its functions return, because the
    process ends with the command (nothing is kept otherwise: in a test, or in `resq run` reading its journal)."""
    if _keeping:
        _kept.extend(objects)


def reads_journals(command: F) -> F:
    """For a command that reads run folders, prints and exits (report, compare, history, export, pecc-report):
    the collector stays off for the whole command; when it returns in a process of its own, its output is flushed
    and the process ends with exit code 0 without freeing what it read."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        global _keeping
        gc.disable()  # and left off: the process ends with the command (a last pass would only cost)
        _keeping = _ends_at_once
        try:
            result = command(*args, **kwargs)
        except SystemExit as ended:  # compare's 1 (regressions) and 3 (not comparable) end as quickly as a 0
            if _ends_at_once and (ended.code is None or isinstance(ended.code, int)):
                _end_process(ended.code or 0)
            raise
        if _ends_at_once:
            _end_process(0)
        return result

    return wrapper  # type: ignore[return-value]


def _end_process(code: int) -> None:
    sys.stdout.flush()  # a closed pipe raises here, for the command's own handling, as at a normal exit
    sys.stderr.flush()
    os._exit(code)
