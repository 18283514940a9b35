"""`resq compare`: a baseline run against one or more later runs, task by task, with a paired significance test.

Each run is judged per task on its first sample. Runs over different task sets are compared on the tasks they
share, and the comparison says so loudly; a task whose content changed between the runs is named. A task that ended
in system_error or infra_error in either run, or that a run has not finished, is "not comparable": it is listed
apart and never counted as a regression (the CLI exits 3 when that is all that went wrong).
"""

from __future__ import annotations

from ..models import Outcome
from .records import Change, Comparison, PairStats, RunHeader, TaskComparison
from .report import TABLE_TASKS, LoadedRun, rate_of
from .retrieval import delta as retrieval_delta, fmt
from .stats import mcnemar_exact, paired_bootstrap_ci

BOOTSTRAP_SEED = 0


def header(run: LoadedRun) -> RunHeader:
    return RunHeader(label=f"{run.system} · {run.name}", name=run.name, run_id=run.run_id, root=str(run.root),
                     suite=run.suite, suite_hash=run.suite_hash, system=run.system,
                     started_at=run.manifest.started_at if run.manifest else None, rate=rate_of(run.first_samples))


def outcomes_by_task(run: LoadedRun) -> dict[str, Outcome | None]:
    """The first sample's outcome of every task the run set out to do (None: the run has no row for it yet)."""
    planned = dict.fromkeys(run.manifest.task_ids if run.manifest else [])
    return {**planned, **{row.task_id: row.outcome for row in run.first_samples}}


def comparable(outcome: Outcome | None) -> bool:
    """Says something about the system: an error of the system's endpoint or of the engine does not."""
    return outcome is not None and outcome.is_graded and outcome not in (Outcome.system_error, Outcome.infra_error)


def compare_runs(runs: list[LoadedRun], max_regressions: int = 0) -> Comparison:
    if len(runs) < 2:
        raise ValueError("a comparison needs at least two runs")
    per_run = [outcomes_by_task(run) for run in runs]
    shared = [t for t in per_run[0] if all(t in outcomes for outcomes in per_run)]
    notes = _mismatch_notes(runs, per_run, shared)
    tasks = []
    for task_id in shared:
        baseline = per_run[0][task_id]
        tasks.append(TaskComparison(task_id=task_id, outcomes=[outcomes[task_id] for outcomes in per_run],
                                    changes=[change(baseline, outcomes[task_id]) for outcomes in per_run[1:]]))
    headers = [header(run) for run in runs]
    pairs = [pair_stats(headers[0].label, headers[i].label, [t.changes[i - 1] for t in tasks],
                        [per_run[0][t] for t in shared], [per_run[i][t] for t in shared]) for i in range(1, len(runs))]
    deltas = [retrieval_delta(headers[0].label, headers[i].label, runs[0].first_samples, runs[i].first_samples)
              for i in range(1, len(runs))]
    return Comparison(runs=headers, pairs=pairs, tasks=tasks, notes=notes, max_regressions=max_regressions,
                      retrieval=[d for d in deltas if d.tasks])


def change(before: Outcome | None, after: Outcome | None) -> Change:
    if not (comparable(before) and comparable(after)):
        return "not comparable"
    was, now = before is Outcome.passed, after is Outcome.passed
    if was and now:
        return "still passing"
    if was:
        return "broken"
    return "fixed" if now else "still failing"


def pair_stats(baseline: str, other: str, changes: list[Change], before: list[Outcome | None],
               after: list[Outcome | None]) -> PairStats:
    comparable = [i for i, c in enumerate(changes) if c != "not comparable"]
    a = [int(before[i] is Outcome.passed) for i in comparable]
    b = [int(after[i] is Outcome.passed) for i in comparable]
    counts = {name: changes.count(name) for name in ("fixed", "broken", "still failing", "still passing")}
    difference, low, high = paired_bootstrap_ci(a, b, seed=BOOTSTRAP_SEED)
    return PairStats(baseline=baseline, other=other, tasks=len(comparable), baseline_passed=sum(a),
                     other_passed=sum(b), fixed=counts["fixed"], broken=counts["broken"],
                     still_failing=counts["still failing"], still_passing=counts["still passing"],
                     not_comparable=len(changes) - len(comparable),
                     mcnemar_p=mcnemar_exact(counts["broken"], counts["fixed"]), difference=difference,
                     ci_low=low, ci_high=high)


def _mismatch_notes(runs: list[LoadedRun], per_run: list[dict[str, Outcome | None]],
                    shared: list[str]) -> list[str]:
    notes = []
    if any(set(outcomes) != set(per_run[0]) for outcomes in per_run[1:]):
        dropped = sorted(set().union(*per_run) - set(shared))
        notes.append(f"DIFFERENT TASK SETS: compared on the {len(shared)} task(s) every run has; left out "
                     f"{len(dropped)}: {', '.join(dropped[:8])}{', ...' if len(dropped) > 8 else ''}")
    if len({run.suite for run in runs}) > 1:
        notes.append(f"DIFFERENT SUITES: {', '.join(sorted({run.suite for run in runs}))}; compared on shared "
                     "task ids only")
    else:
        changed = _changed_tasks(runs, shared)
        if changed:
            notes.append(f"DIFFERENT SUITE VERSIONS of '{runs[0].suite}': {len(changed)} task(s) changed between "
                         f"the runs ({', '.join(changed[:8])}{', ...' if len(changed) > 8 else ''})")
    if any(row.sample > 0 for run in runs for row in run.rows):
        notes.append("some runs have several samples per task: each task is compared on its first sample")
    return notes


def _changed_tasks(runs: list[LoadedRun], shared: list[str]) -> list[str]:
    """Shared tasks whose content differs between the runs (each row records its task's hash), so a run of a few
    tasks of a suite (`--task`) is the same suite as a run of all of them."""
    hashes = [{row.task_id: row.task_hash for row in run.first_samples} for run in runs]
    return [task for task in shared if len({h[task] for h in hashes if task in h}) > 1]


# ---------------------------------------------------------------------------------------------------------------
# Terminal rendering


def render_comparison(comparison: Comparison) -> list:
    from rich.table import Table

    parts: list = [f"[bold red]note:[/] {note}" for note in comparison.notes]
    runs = Table(title="runs")
    for column in ("", "run", "suite", "pass rate", "95 % CI"):
        runs.add_column(column)
    for index, run in enumerate(comparison.runs):
        runs.add_row("A" if index == 0 else f"B{index}" if len(comparison.runs) > 2 else "B", run.label,
                     run.suite, f"{run.rate.rate:.1%} ({run.rate.passed}/{run.rate.graded})",
                     f"{run.rate.ci_low:.1%} – {run.rate.ci_high:.1%}")
    parts.append(runs)
    stats = Table(title="paired comparison against A (shared tasks)")
    for column in ("run", "tasks", "fixed", "broken", "still failing", "still passing", "McNemar exact p",
                   "difference (95 % bootstrap CI)"):
        stats.add_column(column)
    for pair in comparison.pairs:
        stats.add_row(pair.other, str(pair.tasks), str(pair.fixed), _red_if(pair.broken, comparison.max_regressions),
                      str(pair.still_failing), str(pair.still_passing), f"{pair.mcnemar_p:.4g}",
                      f"{pair.difference:+.1%} ({pair.ci_low:+.1%} – {pair.ci_high:+.1%})")
    parts.append(stats)
    flips = Table(title="tasks that changed")
    flips.add_column("task")
    for index in range(1, len(comparison.runs)):
        flips.add_column(f"B{index}" if len(comparison.runs) > 2 else "A → B")
    changed = [task for task in comparison.tasks if any(c in ("fixed", "broken") for c in task.changes)]
    for task in changed[:TABLE_TASKS]:
        flips.add_row(task.task_id, *[_styled(c) for c in task.changes])
    parts.append(flips)
    if len(changed) > TABLE_TASKS:
        parts.append(f"[yellow]note:[/] the table shows the first {TABLE_TASKS} of {len(changed)} changed tasks; "
                     "`--json` or `--html` has every task")
    unsettled = set(comparison.not_comparable)  # a set: looked up once per task
    if unsettled:
        apart = Table(title="not comparable (an error or no result in some run: never counted as a regression)")
        apart.add_column("task")
        for index in range(len(comparison.runs)):
            apart.add_column("A" if index == 0 else f"B{index}" if len(comparison.runs) > 2 else "B")
        for task in comparison.tasks:
            if task.task_id in unsettled:
                apart.add_row(task.task_id, *[o.value if o else "no result" for o in task.outcomes])
        parts.append(apart)
    if comparison.retrieval:
        deltas = Table(title="retrieval against A (shared tasks with accounting; later minus A)")
        for column in ("run", "tasks", "Δ recall", "Δ precision", "Δ context tokens", "Δ right files edited"):
            deltas.add_column(column)
        for d in comparison.retrieval:
            deltas.add_row(d.other, str(d.tasks), fmt(d.recall, "{:+.0%}"), fmt(d.precision, "{:+.0%}"),
                           fmt(d.context_tokens, "{:+.0f}"), fmt(d.edited_right_files, "{:+.0%}"))
        parts.append(deltas)
    return parts


def _styled(change_name: str) -> str:
    style = {"fixed": "green", "broken": "red"}.get(change_name)
    return f"[{style}]{change_name}[/]" if style else change_name


def _red_if(broken: int, allowed: int) -> str:
    return f"[bold red]{broken}[/]" if broken > allowed else str(broken)
