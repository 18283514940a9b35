"""Time per phase of a task, as published with every run: where the seconds went, and the harness's overhead.

    image     building or finding the task image
    start     creating and starting the eval container, copying files in, the harness's own start-up
    system    the system under test producing its patch (its workspace container included)
    apply     applying the patch, restoring protected files, laying the hidden tests over the repository
    tests     the task's test command
    teardown  copying results out and removing the eval container

The phases add up to the task's wall time. Overhead is what the harness spends around the system and the tests:
total − system − tests.
"""

from __future__ import annotations

from operator import attrgetter

from ..models import Result, Timings

PHASES = ("image", "start", "system", "apply", "tests", "teardown")


def _apply_tests_rest(timings: Timings) -> tuple[float, float, float]:
    if timings.eval_apply == 0 and timings.eval_tests == 0:  # rows from before the harness timed its steps
        apply, tests = 0.0, timings.eval_run
    else:
        apply, tests = timings.eval_apply, timings.eval_tests
    return apply, tests, max(0.0, timings.eval_run - apply - tests)


def phases_and_overhead(timings: Timings) -> tuple[tuple[float, ...], float]:
    """Seconds per phase, in PHASES order, and the overhead: the phases other than system and tests, added up."""
    apply, tests, harness_rest = _apply_tests_rest(timings)
    return ((timings.image, timings.eval_start + harness_rest, timings.system, apply, tests,
             timings.eval_collect + timings.teardown),
            timings.image + timings.eval_start + harness_rest + apply + timings.eval_collect + timings.teardown)


def phase_seconds(timings: Timings) -> dict[str, float]:
    return dict(zip(PHASES, phases_and_overhead(timings)[0]))


def overhead_seconds(timings: Timings) -> float:
    """The phases other than system and tests, added up (what phase_seconds gives, without the dict per row)."""
    return phases_and_overhead(timings)[1]


RowTimes = tuple[tuple[float, ...], float, float]  # phase seconds (PHASES order), overhead, wall seconds


def row_times(rows: list[Result]) -> list[RowTimes]:
    """The RowTimes of each row, in order: one pass, each row's eval_run split once."""
    return [(*phases_and_overhead(timings), timings.total()) for timings in map(_TIMINGS, rows)]


def timed(times: list[RowTimes]) -> list[RowTimes]:
    """Those of rows whose task went through the pipeline (a task skipped for the budget spent no time)."""
    return [entry for entry in times if entry[2] > 0]


_TIMINGS = attrgetter("timings")
