"""`resq report`: one run folder → a RunReport (pass rate with its interval, outcomes, groups, cost, time, pass@k).

Reads only the run folder (run.json + results.jsonl) and, for tags and kinds, the suite's task.yaml files when the
suite can still be found; without them the report says so and goes on.
"""

from __future__ import annotations

import os
from collections import Counter
from functools import cached_property
from itertools import chain
from operator import attrgetter
from pathlib import Path
from typing import Iterable

from ..errors import ResqError
from ..models import Outcome, Record, Result, RunManifest, TestStatus
from ..results import RunPaths, log_name, read_manifest, read_results
from .phases import PHASES, RowTimes, phases_and_overhead, row_times, timed
from .records import (STAGES, GroupBy, GroupRow, Overhead, PassAtK, Rate, RunReport, StageTime, TaskRow, UsageTotals)
from .retrieval import fmt, summarize as summarize_retrieval
from .robustness import RobustnessSummary, robustness
from .stats import pass_at_k, wilson_interval

PASS_AT_K_CANDIDATES = (1, 2, 3, 5, 10, 20, 50, 100)
TABLE_TASKS = 1000  # a terminal table of more rows is unreadable and costs ~1 ms per row to lay out


class TaskInfo(Record):
    kind: str = "unknown"
    tags: list[str] = []
    certificate: str | None = None


UNKNOWN_TASK = TaskInfo()


class LoadedRun(Record):
    """A run folder read back: the row that counts for each (task, sample), every row, and task metadata."""

    root: Path
    manifest: RunManifest | None
    rows: list[Result]
    all_rows: list[Result]
    task_order: list[str]
    info: dict[str, TaskInfo]
    notes: list[str] = []

    @property
    def run_id(self) -> str:
        return self.manifest.run_id if self.manifest else self.root.name

    @cached_property
    def first_samples(self) -> list[Result]:
        """Each task's first sample (the rows are sorted by task, then sample): what compare and history judge.
        Worked out once: a comparison asks for it eight times."""
        first: dict[str, Result] = {}
        for row in self.rows:
            first.setdefault(row.task_id, row)
        return list(first.values())

    @property
    def suite(self) -> str:
        """The suite's name (its folder's name), however the run was given it."""
        return Path(self.manifest.suite).name if self.manifest else "unknown"

    @property
    def name(self) -> str:
        """The run id, or the folder's last two parts when the id is just the folder name (runs/<date>/<system>)."""
        return "/".join(self.root.parts[-2:]) if self.run_id == self.root.name else self.run_id

    @property
    def suite_hash(self) -> str:
        return self.manifest.suite_hash if self.manifest else ""

    @property
    def system(self) -> str:
        """The named system (resq.yaml) the run was made with, else the system's name and its config's hash."""
        if self.manifest and self.manifest.label:
            return self.manifest.label
        spec = self.manifest.system if self.manifest else (self.all_rows[0].system if self.all_rows else None)
        if spec is None:
            return "unknown"
        return spec.name + (f"[{spec.config_hash}]" if spec.config else "")

    @cached_property
    def rows_by_task(self) -> dict[str, list[Result]]:
        """The counted rows of each task, indexed once: rows_of is asked once per task."""
        index: dict[str, list[Result]] = {}
        for row in self.rows:
            index.setdefault(row.task_id, []).append(row)
        return index

    @cached_property
    def log_folders(self) -> set[str]:
        return RunPaths(self.root).log_folder_names()

    def rows_of(self, task_id: str) -> list[Result]:
        return self.rows_by_task.get(task_id, [])


def load_run(root: Path, with_suite: bool = True) -> LoadedRun:
    """with_suite=False skips loading the suite (tags and kinds), which a history of many runs does not need."""
    paths = RunPaths(Path(root))
    if not paths.results.is_file():
        raise ResqError(f"{root}: not a run folder (no results.jsonl); give a folder written by `resq run`")
    manifest = read_manifest(paths)
    all_rows = read_results(paths.results)
    notes = [] if manifest else [f"{paths.manifest} is missing: suite, system and tags are unknown"]
    rows = counted_rows(all_rows)
    seen = dict.fromkeys(row.task_id for row in rows)
    order = list(manifest.task_ids) if manifest else []
    listed = set(order)
    order += sorted(task_id for task_id in seen if task_id not in listed)
    missing = [task_id for task_id in order if task_id not in seen]
    if missing:
        notes.append(f"{len(missing)} task(s) of the run have no result yet ({', '.join(missing[:5])}"
                     f"{', ...' if len(missing) > 5 else ''}): resume the run to finish them")
    info, suite_notes = suite_info(manifest) if with_suite else ({}, [])
    position = {task_id: index for index, task_id in reversed(list(enumerate(order)))}
    rows.sort(key=lambda r: (position[r.task_id], r.sample))
    return LoadedRun(root=paths.root, manifest=manifest, rows=rows, all_rows=all_rows,
                     task_order=[t for t in order if t in seen], info=info, notes=notes + suite_notes)


def counted_rows(rows: list[Result]) -> list[Result]:
    """Per (task, sample): the last final row, or, when every attempt hit the infrastructure, the last row."""
    chosen: dict[tuple[str, int], Result] = {}
    for row in rows:
        key = (row.task_id, row.sample)
        if row.outcome.is_final or key not in chosen or not chosen[key].outcome.is_final:
            chosen[key] = row
    return list(chosen.values())


def suite_info(manifest: RunManifest | None) -> tuple[dict[str, TaskInfo], list[str]]:
    """Tags and kinds from the suite's task.yaml files, with a note when the suite is gone or has changed."""
    if manifest is None:
        return {}, []
    from ..tasks import load_suite, suite_hash

    try:
        tasks = load_suite(manifest.suite_path if manifest.suite_path and Path(manifest.suite_path).is_dir()
                           else manifest.suite)
    except ResqError as exc:
        return {}, [f"suite '{manifest.suite}' not loaded ({exc}); tags and kinds are unknown"]
    ran = [tf for tf in tasks if tf.task.id in set(manifest.task_ids)]
    notes = []
    if ran and suite_hash(ran) != manifest.suite_hash:
        notes.append(f"suite '{manifest.suite}' has changed since this run: tags and kinds are today's")
    return {tf.task.id: TaskInfo(kind=tf.task.kind, tags=tf.task.tags, certificate=_certificate(tf))
            for tf in tasks}, notes


def _certificate(tf) -> str | None:
    from ..certification import certificate_status

    try:
        return certificate_status(tf)
    except ResqError:  # e.g. the environment definitions are not on this machine
        return None


def rate_of(rows: Iterable[Result]) -> Rate:
    """(Outcomes counted in C, then asked once per kind whether they are graded, not once per row.)"""
    counts = Counter(map(_OUTCOME, rows))
    graded, passed = sum(n for outcome, n in counts.items() if outcome.is_graded), counts[Outcome.passed]
    low, high = wilson_interval(passed, graded)
    return Rate(graded=graded, passed=passed, rate=passed / graded if graded else 0.0, ci_low=low, ci_high=high)


_OUTCOME, _SAMPLE = attrgetter("outcome"), attrgetter("sample")


def build_report(run: LoadedRun, by: GroupBy = "tag") -> RunReport:
    outcomes = {outcome.value: count for outcome, count in Counter(map(_OUTCOME, run.rows)).items()}
    notes = list(run.notes)
    if outcomes.get(Outcome.infra_error.value):
        notes.append(f"{outcomes[Outcome.infra_error.value]} evaluation(s) ended in infra_error: they say nothing "
                     "about the system and are left out of the pass rate")
    times = row_times(run.rows)
    pipeline = timed(times)
    return RunReport(
        run_id=run.run_id, root=str(run.root), suite=run.suite, suite_hash=run.suite_hash, system=run.system,
        started_at=run.manifest.started_at if run.manifest else None,
        samples=1 + max(map(_SAMPLE, run.rows), default=0), rate=rate_of(run.rows),
        outcomes={outcome.value: outcomes.get(outcome.value, 0) for outcome in Outcome
                  if outcome is not Outcome.skipped_budget or outcomes.get(outcome.value)}, group_by=by,
        groups=groups(run, by), usage=usage_totals(run), stages=stage_times(run.rows),
        phases=phase_times(pipeline), overhead=overhead(pipeline), retrieval=summarize_retrieval(run.rows),
        pass_at_k=pass_at_k_table(run),
        robustness=robustness([row for row in run.rows if row.sample == 0]),
        tasks=task_rows(run, times), notes=notes)


def groups(run: LoadedRun, by: str) -> list[GroupRow]:
    members: dict[str, list[str]] = {}
    for task_id in run.task_order:
        info = run.info.get(task_id)
        if by == "suite":
            keys = [run.suite]
        elif by == "kind":
            keys = [info.kind if info else "unknown"]
        elif by == "tag":
            keys = (info.tags or ["(no tag)"]) if info else ["(unknown)"]
        else:
            raise ResqError(f"--by {by}: choose tag, suite or kind")
        for key in keys:
            members.setdefault(key, []).append(task_id)
    rows_of = run.rows_by_task.__getitem__  # every task of task_order has rows
    return [GroupRow(group=key, tasks=len(ids), rate=rate_of(chain.from_iterable(map(rows_of, ids))))
            for key, ids in sorted(members.items())]


_USAGE, _TIMINGS = attrgetter("usage"), attrgetter("timings")
_COUNTS = attrgetter("prompt_tokens", "completion_tokens", "calls", "cost_usd")


def usage_totals(run: LoadedRun) -> UsageTotals:
    """(Each sum adds the rows in their order, as one sum per field did.)"""
    prompt, completion, calls, cost = _column_sums(list(map(_COUNTS, map(_USAGE, run.all_rows))), 4)
    solved = list(map(_OUTCOME, run.rows)).count(Outcome.passed)
    return UsageTotals(prompt_tokens=prompt, completion_tokens=completion, calls=calls, cost_usd=cost, solved=solved,
                       tokens_per_solved=(prompt + completion) / solved if solved else None,
                       cost_per_solved=cost / solved if solved else None)


def _column_sums(values: list[tuple], width: int) -> list:
    return [sum(column) for column in zip(*values)] or [0] * width


def stage_times(rows: list[Result]) -> list[StageTime]:
    totals = _column_sums(list(map(attrgetter(*STAGES), map(_TIMINGS, rows))), len(STAGES))
    return [StageTime(stage=stage, total_s=total, mean_s=total / len(rows) if rows else 0.0)
            for stage, total in zip(STAGES, totals)]


def phase_times(timed: list[RowTimes]) -> list[StageTime]:
    """`timed`: the times of the counted rows that went through the pipeline (phases.timed)."""
    totals = _column_sums([phases for phases, _overhead, _wall in timed], len(PHASES))
    return [StageTime(stage=phase, total_s=total, mean_s=total / len(timed) if timed else 0.0)
            for phase, total in zip(PHASES, totals)]


def overhead(timed: list[RowTimes]) -> Overhead:
    """`timed`: the times of the counted rows that went through the pipeline (phases.timed)."""
    total = sum([seconds for _phases, seconds, _wall in timed])
    wall = sum([seconds for _phases, _overhead, seconds in timed])
    return Overhead(tasks=len(timed), total_s=total, mean_s=total / len(timed) if timed else 0.0,
                    share=total / wall if wall else 0.0)


def pass_at_k_table(run: LoadedRun) -> list[PassAtK]:
    """pass@k for every k up to the largest sample count; a task counts for k when it has n >= k graded samples."""
    if max(map(len, run.rows_by_task.values()), default=0) < 2:
        return []  # one sample per task: pass@1 is the pass rate
    counts = []
    for task_id in run.task_order:
        graded = [row.outcome for row in run.rows_of(task_id) if row.outcome.is_graded]
        counts.append((len(graded), graded.count(Outcome.passed)))
    most = max((n for n, _ in counts), default=0)
    if most < 2:
        return []
    table = []
    for k in sorted({k for k in PASS_AT_K_CANDIDATES if k <= most} | {most}):
        eligible = [(n, c) for n, c in counts if n >= k]
        value = sum(pass_at_k(n, c, k) for n, c in eligible) / len(eligible)
        table.append(PassAtK(k=k, value=value, tasks=len(eligible)))
    return table


def task_rows(run: LoadedRun, times: list[RowTimes]) -> list[TaskRow]:
    """One row per task, in the run's order (a loop, not a call per task: it runs 100k times). `times`: the
    row_times of run.rows, where each task's rows follow the previous task's (load_run's order)."""
    rows_by_task, info, folders, counted = run.rows_by_task, run.info, run.log_folders, run.rows
    made, index = [], 0
    for task_id in run.task_order:
        rows = rows_by_task[task_id]
        first = rows[0]
        _phases, over, wall = times[index] if counted[index] is first else (*phases_and_overhead(first.timings),
                                                                            first.timings.total())
        made.append(task_row(task_id, rows, info.get(task_id) or UNKNOWN_TASK, run.root, folders, wall, over))
        index += len(rows)
    return made


def task_row(task_id: str, rows: list[Result], info: TaskInfo, root: Path, log_folders: set[str], seconds: float,
             overhead_s: float) -> TaskRow:
    """`rows`: the task's counted rows in sample order; `log_folders`: the names under the run's logs/;
    `seconds` and `overhead_s`: the first row's wall and overhead seconds."""
    first = rows[0]
    if len(rows) == 1:  # most tasks: one sample
        outcomes = [first.outcome]
        usage = first.usage
        tokens, cost = usage.prompt_tokens + usage.completion_tokens, usage.cost_usd
    else:
        outcomes = [row.outcome for row in rows]
        usages = [row.usage for row in rows]
        tokens = sum([usage.prompt_tokens + usage.completion_tokens for usage in usages])
        cost = sum([usage.cost_usd for usage in usages])
    patch_log = test_log = None
    logs = log_name(task_id, first.attempt, first.sample) if log_folders else ""
    if logs in log_folders:  # a task whose log folder is not there costs no file look-up
        patch_log, test_log = _if_exists(root, logs, "patch.diff"), _if_exists(root, logs, "test_output.txt")
    retrieval = first.retrieval
    # of_typed: every value below is already of its field's type, and validating 100k rows twice costs. The keys
    # are in the fields' order, which is the order they are written in.
    return TaskRow.of_typed({
        "task_id": task_id, "kind": info.kind, "tags": info.tags, "outcome": first.outcome, "outcomes": outcomes,
        "samples_passed": outcomes.count(_PASSED), "tests_passed": [*first.tests.values()].count(_TEST_PASSED),
        "tests_total": len(first.tests), "reason": first.reason, "seconds": seconds, "tokens": tokens,
        "cost_usd": cost, "patch_log": patch_log, "test_log": test_log, "overhead_s": overhead_s,
        "retrieval_recall": None if retrieval is None else retrieval.recall,
        "retrieval_precision": None if retrieval is None else retrieval.precision,
        "context_tokens": None if retrieval is None else retrieval.context_tokens,
        "edited_right_files": None if retrieval is None else retrieval.edited_right_files,
        "certificate": info.certificate})


_PASSED, _TEST_PASSED = Outcome.passed, TestStatus.passed


def _if_exists(root: Path, logs: str, name: str) -> str | None:
    """`logs/<logs>/<name>` when that file exists in the run folder (plain strings: pathlib is most of the cost
    per task)."""
    relative = f"logs/{logs}/{name}"
    return relative if os.path.isfile(f"{root}/{relative}") else None


# ---------------------------------------------------------------------------------------------------------------
# Terminal rendering


def render_report(report: RunReport, page: Path | None = None) -> list:
    """The report as rich tables; with the `page` just written (--html), its task table stands for the terminal's
    (every task, filtered and sorted there; a terminal table of 1,000 rows costs more than the page)."""
    from rich.markup import escape
    from rich.table import Table

    rate = report.rate
    head = Table(title=f"{report.suite} · {report.system} · {report.run_id}", show_header=False)
    infra = report.outcomes.get(Outcome.infra_error.value, 0)
    uncounted = f", {infra} infra_error not counted" if infra else ""
    head.add_row("pass rate", f"{rate.rate:.1%}  ({rate.passed}/{rate.graded}{uncounted}; "
                              f"95 % CI {rate.ci_low:.1%} – {rate.ci_high:.1%}, Wilson)")
    head.add_row("outcomes", ", ".join(f"{name} {count}" for name, count in report.outcomes.items()))
    usage = report.usage
    head.add_row("tokens", f"{usage.prompt_tokens} prompt + {usage.completion_tokens} completion in {usage.calls} "
                           f"call(s); per solved task: {_maybe(usage.tokens_per_solved, '{:.0f}')}")
    head.add_row("cost", f"${usage.cost_usd:.4f}; per solved task: {_maybe(usage.cost_per_solved, '${:.4f}')}")
    head.add_row("time per stage", ", ".join(f"{s.stage} {s.total_s:.1f}s" for s in report.stages))
    head.add_row("time per phase", ", ".join(f"{s.stage} {s.total_s:.1f}s" for s in report.phases))
    head.add_row("harness overhead", f"{report.overhead.total_s:.1f}s over {report.overhead.tasks} task(s): "
                                     f"{report.overhead.mean_s:.2f}s per task, {report.overhead.share:.0%} of the "
                                     "wall time (total − system − tests)")
    if report.retrieval:
        r = report.retrieval
        head.add_row("retrieval", f"recall {fmt(r.recall)}, precision {fmt(r.precision)}, "
                                  f"{r.context_tokens:.0f} context tokens per task, right files edited in "
                                  f"{r.edited_right_files:.0%} of {r.tasks} task(s)")
    parts = [head, _groups_table(report)]
    if page is not None:
        parts.append(f"tasks: all {len(report.tasks):,} in the page's table ({escape(str(page))})")
    else:
        parts.append(_tasks_table(report))
    if page is None and len(report.tasks) > TABLE_TASKS:
        parts.append(f"[yellow]note:[/] the tasks table shows the first {TABLE_TASKS} of {len(report.tasks)} tasks; "
                     "`--json` or `--html` has every task")
    if report.pass_at_k:
        table = Table(title=f"pass@k (unbiased estimator, up to {report.samples} samples)")
        for column in ("k", "pass@k", "tasks with n ≥ k"):
            table.add_column(column)
        for row in report.pass_at_k:
            table.add_row(str(row.k), f"{row.value:.1%}", str(row.tasks))
        parts.append(table)
    if report.robustness:
        parts.append(_robustness_table(report.robustness))
    parts += [f"[yellow]note:[/] {note}" for note in report.notes]
    return parts


def _robustness_table(summary: RobustnessSummary):
    from rich.table import Table

    table = Table(title=f"robustness across template instances: solved in all instances "
                        f"{summary.solved_all_rate:.0%} of templates, instances passed {summary.instance_pass_rate:.0%}")
    for column in ("template", "instances passed", "all?", "values that broke it (failed/with that value)"):
        table.add_column(column)
    for t in summary.templates:
        broke = ", ".join(f"{v.parameter}={v.value} ({v.failed}/{v.total})" for v in t.breaking_values[:6])
        table.add_row(t.template, f"{t.passed}/{t.total}", "yes" if t.solved_all else "no", broke or "-")
    return table


def _groups_table(report: RunReport):
    from rich.table import Table

    table = Table(title=f"by {report.group_by}")
    for column in (report.group_by, "tasks", "passed", "pass rate", "95 % CI"):
        table.add_column(column)
    for group in report.groups:
        rate = group.rate
        table.add_row(group.group, str(group.tasks), f"{rate.passed}/{rate.graded}", f"{rate.rate:.1%}",
                      f"{rate.ci_low:.1%} – {rate.ci_high:.1%}")
    return table


def _tasks_table(report: RunReport):
    from rich.table import Table

    from .summary import OUTCOME_STYLE

    table = Table(title="tasks")
    retrieval = report.retrieval is not None
    certificates = any(row.certificate for row in report.tasks)
    columns = ["task", "outcome", "samples passed", "tests passed", "seconds", "overhead s", "tokens"]
    columns += ["recall", "precision", "context tokens", "right files"] if retrieval else []
    columns += ["certificate"] if certificates else []
    for column in columns:
        table.add_column(column, no_wrap=True)
    table.add_column("reason", overflow="fold")
    for row in report.tasks[:TABLE_TASKS]:
        cells = [row.task_id, f"[{OUTCOME_STYLE[row.outcome]}]{row.outcome.value}[/]",
                 f"{row.samples_passed}/{len(row.outcomes)}", f"{row.tests_passed}/{row.tests_total}",
                 f"{row.seconds:.1f}", f"{row.overhead_s:.1f}", str(row.tokens)]
        if retrieval:
            cells += [fmt(row.retrieval_recall), fmt(row.retrieval_precision),
                      "—" if row.context_tokens is None else str(row.context_tokens),
                      "—" if row.edited_right_files is None else ("yes" if row.edited_right_files else "no")]
        if certificates:
            cells.append(row.certificate or "—")
        table.add_row(*cells, row.reason[:100])
    return table


def _maybe(value: float | None, fmt: str) -> str:
    return "—" if value is None else fmt.format(value)
