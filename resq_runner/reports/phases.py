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

from ..models import Result, Timings

PHASES = ("image", "start", "system", "apply", "tests", "teardown")


def phase_seconds(timings: Timings) -> dict[str, float]:
    if timings.eval_apply == 0 and timings.eval_tests == 0:  # rows from before the harness timed its steps
        apply, tests = 0.0, timings.eval_run
    else:
        apply, tests = timings.eval_apply, timings.eval_tests
    harness_rest = max(0.0, timings.eval_run - apply - tests)
    return {"image": timings.image, "start": timings.eval_start + harness_rest, "system": timings.system,
            "apply": apply, "tests": tests, "teardown": timings.eval_collect + timings.teardown}


def overhead_seconds(timings: Timings) -> float:
    phases = phase_seconds(timings)
    return sum(phases.values()) - phases["system"] - phases["tests"]


def timed_rows(rows: list[Result]) -> list[Result]:
    """Rows whose task went through the pipeline (a task skipped for the budget spent no time)."""
    return [row for row in rows if row.timings.total() > 0]
