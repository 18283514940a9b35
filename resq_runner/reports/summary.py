"""The end-of-run summary: per-task table and pass rate, from Result rows alone."""

from __future__ import annotations

from collections import Counter

from rich.table import Table

from ..models import Outcome, Result, TestStatus

OUTCOME_STYLE = {Outcome.passed: "green", Outcome.failed: "red", Outcome.patch_failed: "magenta",
                 Outcome.timed_out: "yellow", Outcome.system_error: "red", Outcome.infra_error: "bright_black",
                 Outcome.skipped_budget: "cyan"}


def pass_rate(results: list[Result]) -> float:
    graded = [r for r in results if r.outcome.is_graded]
    return sum(r.outcome is Outcome.passed for r in graded) / len(graded) if graded else 0.0


def outcome_counts(results: list[Result]) -> Counter:
    return Counter(r.outcome.value for r in results)


def results_table(results: list[Result], title: str) -> Table:
    table = Table(title=title)
    longest_id = max((len(r.task_id) for r in results), default=4)
    table.add_column("task", no_wrap=True, min_width=min(longest_id, 40))
    table.add_column("outcome", no_wrap=True, min_width=12)
    table.add_column("tests", no_wrap=True, min_width=7, justify="right")
    table.add_column("secs", no_wrap=True, min_width=5, justify="right")
    table.add_column("reason", overflow="ellipsis", no_wrap=True, max_width=48)
    for result in sorted(results, key=lambda r: (r.task_id, r.sample)):
        passed = sum(s is TestStatus.passed for s in result.tests.values())
        seconds = result.timings.total()
        style = OUTCOME_STYLE[result.outcome]
        name = result.task_id + (f" #{result.sample}" if result.sample else "")
        table.add_row(name, f"[{style}]{result.outcome.value}[/]", f"{passed}/{len(result.tests)}",
                      f"{seconds:.1f}", _short(result.reason))
    return table


def summary_line(results: list[Result], system: str) -> str:
    counts = ", ".join(f"{n} {o}" for o, n in sorted(outcome_counts(results).items()))
    graded = [r for r in results if r.outcome.is_graded]
    passed = sum(r.outcome is Outcome.passed for r in graded)
    return (f"{system}: {pass_rate(results):.0%} passed ({passed}/{len(graded)} graded{_uncounted(results)}; "
            f"{counts}) over {len(results)} task(s)")


def _uncounted(results: list[Result]) -> str:
    """Rows left out of the denominator, said beside the rate so a skewed rate cannot hide."""
    infra = sum(r.outcome is Outcome.infra_error for r in results)
    return f", {infra} infra_error not counted" if infra else ""


def _short(text: str, width: int = 48) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
