"""`resq export ctrf` and `resq tasks certify`: per-test verdicts for other tools, and task certificates."""

from __future__ import annotations

from pathlib import Path

import click

from ..errors import ResqError
from ..memory import reads_journals
from .common import console, friendly_errors, show
from .formats import export
from .tasks import tasks as tasks_group


@export.command("ctrf")
@click.argument("run_dir", metavar="RUN", type=click.Path(path_type=Path, file_okay=False))
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False),
              help="Where to write the CTRF JSON (default RUN/ctrf-report.json).")
@friendly_errors
@reads_journals
def export_ctrf(run_dir: Path, out: Path | None) -> None:
    """Write RUN's per-test verdicts as CTRF JSON (https://ctrf.io)."""
    from ..reports.ctrf import ctrf_report, write_ctrf
    from ..reports.report import load_run

    run = load_run(run_dir, with_suite=False)
    target = write_ctrf(run, out or run_dir / "ctrf-report.json")
    summary = ctrf_report(run).results.summary
    console.print(f"wrote {target}", highlight=False)
    show.print(f"{summary.tests} test(s): {summary.passed} passed, {summary.failed} failed, {summary.skipped} "
               f"skipped, {summary.other} other", highlight=False)


@tasks_group.command("certify")
@click.argument("suite")
@click.option("--runs", default=3, show_default=True, type=click.IntRange(min=1), help="Gold runs per task.")
@click.option("--task", "only", multiple=True, help="Only this task id (repeatable).")
@click.option("-j", "--jobs", default=1, show_default=True, help="Tasks certified at once.")
@friendly_errors
def tasks_certify(suite: str, runs: int, only: tuple[str, ...], jobs: int) -> None:
    """Lint each task, run gold RUNS times and noop once in real containers, and write certificate.json per task.

    Exit code 1 when any task is not certified."""
    import sys

    from rich.table import Table

    from ..certification import certify_suite

    results = certify_suite(suite, runs, list(only) or None, jobs, log=lambda text: console.print(text, highlight=False))
    table = Table(title=f"certificates · {suite}")
    for column in ("task", "verdict", "gold passed", "noop", "flake rate", "gold test s"):
        table.add_column(column)
    for tf, certificate in results:
        noop = [run.outcome.value for run in certificate.runs if run.system == "noop"]
        table.add_row(tf.task.id, certificate.verdict, f"{certificate.gold_passed}/{certificate.gold_runs}",
                      ", ".join(noop) or "—", f"{certificate.flake_rate:.0%}", f"{certificate.gold_test_runtime_s:.2f}")
    show.print(table)
    failed = [tf.task.id for tf, certificate in results if not certificate.certified]
    show.print(f"{len(results) - len(failed)} of {len(results)} task(s) certified", highlight=False)
    if failed:
        sys.exit(1)


# ---------------------------------------------------------------------------------------------------------------
# Options `resq run` takes from this module


RUN_OPTIONS = [
    ("offline", ("--offline",), dict(is_flag=True, help="Make every network attempt an error: images, wheels and "
                                                        "snapshots must already be here (see `resq env build`).")),
    ("budget_usd", ("--budget-usd",), dict(type=float, help="Stop starting tasks once the run would spend more "
                                                            "dollars than this; the rest are skipped_budget.")),
    ("budget_tokens", ("--budget-tokens",), dict(type=int, help="The same for tokens (prompt + completion).")),
    ("pilot", ("--pilot",), dict(type=click.IntRange(min=1), help="With a budget and no earlier run to project "
                                                                 "from: run K tasks first and project from them.")),
    ("yes", ("--yes",), dict(is_flag=True, help="Start without asking after the budget projection.")),
    ("require_certified", ("--require-certified",),
     dict(is_flag=True, help="Refuse tasks without a current certificate (`resq tasks certify`).")),
]


def run_extra_options(command):
    """Adds the options above to `resq run`; they arrive in its callback as `extra_options` (a dict)."""
    import functools

    names = [name for name, *_ in RUN_OPTIONS]

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        kwargs["extra_options"] = {name: kwargs.pop(name) for name in names}
        return command(*args, **kwargs)

    for name, declaration, settings in reversed(RUN_OPTIONS):
        wrapper = click.option(*declaration, name, **settings)(wrapper)
    return wrapper


def prepare_run(options, extra: dict) -> None:
    """Before a run starts: offline mode on, certificate warnings or refusals, the budget projection and gate."""
    if extra.get("offline"):
        from ..offline import enable

        enable()
    if not _system_is_usable(options):
        return  # the run itself reports the bad system option as its one error line
    _check_certificates(options, bool(extra.get("require_certified")))
    if extra.get("budget_usd") is None and extra.get("budget_tokens") is None:
        if extra.get("pilot"):
            raise ResqError("--pilot projects a budget: give --budget-usd or --budget-tokens with it")
        return
    _plan_budget(options, extra)


def _system_is_usable(options) -> bool:
    from ..systems import make_system

    try:
        make_system(options.system)
    except ResqError:
        return False
    return True


def _check_certificates(options, required: bool) -> None:
    from ..certification import certificate_status
    from ..tasks import load_suite

    tasks = load_suite(options.suite, options.only or None)
    missing = {tf.task.id: status for tf in tasks if (status := _status(tf, certificate_status)) != "current"}
    if not missing:
        return
    listed = ", ".join(f"{task_id} ({status})" for task_id, status in list(missing.items())[:5])
    more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
    fix = f"certify them with `resq tasks certify {options.suite}`"
    if required:
        raise ResqError(f"--require-certified: {len(missing)} of {len(tasks)} task(s) have no current certificate: "
                        f"{listed}{more}; {fix}")
    console.print(f"[yellow]warning:[/] {len(missing)} of {len(tasks)} task(s) have no current certificate: "
                  f"{listed}{more}; {fix}", highlight=False, soft_wrap=True)


def _status(tf, certificate_status) -> str:
    try:
        return certificate_status(tf)
    except ResqError as exc:  # e.g. an environment definition that is missing: the run itself will say so
        return f"unknown ({exc})"


class NotConfirmed(ResqError):
    """The user (or a missing terminal) said no to the projection: nothing more runs."""

    exit_code = 1


class _PilotListener:
    def started(self, paths, total: int, skipped: int) -> None:
        console.print(f"pilot run folder: {paths.root}", highlight=False)

    def finished_task(self, result) -> None:
        if result.outcome.is_final:
            console.print(f"  pilot {result.task_id}: {result.outcome.value}", highlight=False)

    def message(self, text: str) -> None:
        console.print(text, highlight=False)


def _plan_budget(options, extra: dict) -> None:
    from ..budget import BudgetGate, TaskCost, earlier_runs, project, spent
    from ..results import RunPaths, final_results, read_results
    from ..runner import new_run_id, run_suite
    from ..tasks import load_suite, suite_hash

    usd, tokens, pilot = extra.get("budget_usd"), extra.get("budget_tokens"), extra.get("pilot")
    tasks = load_suite(options.suite, options.only or None)
    if options.out is None:  # the pilot and the run must share one folder
        options.out = Path("runs") / new_run_id(options.system.name)
    done = final_results(read_results(RunPaths(options.out).results))
    todo = [tf.task.id for tf in tasks for sample in range(max(1, options.samples)) if (tf.task.id, sample) not in done]
    history = earlier_runs([options.out.parent, Path("runs")], options.system, suite_hash(tasks), exclude=options.out)
    rows = [row for folder in history for row in read_results(RunPaths(folder).results)]
    projection = project(rows, todo, options.jobs, "earlier runs", [str(folder) for folder in history])
    already = TaskCost()
    if projection is None and pilot:
        console.print(f"budget: no earlier run of this system on this suite; running a pilot of {pilot} task(s) "
                      "to project the rest", highlight=False)
        gate = BudgetGate(usd, tokens, only_first=pilot)
        paths, _ = run_suite(_with(options, budget=gate), _PilotListener())
        pilot_rows = [row for row in read_results(paths.results) if row.outcome.is_final]
        for row in pilot_rows:
            already = TaskCost(cost_usd=already.cost_usd + spent(row).cost_usd,
                               tokens=already.tokens + spent(row).tokens)
        finished = {row.task_id for row in pilot_rows}
        todo = [task_id for task_id in todo if task_id not in finished]
        projection = project(pilot_rows, todo, options.jobs, "pilot", [str(paths.root)])
    if projection is None:
        console.print("budget: no earlier run of this system on this suite to project from (pass --pilot K to "
                      "measure K tasks first): the budget is enforced from the tasks' spending as they finish",
                      highlight=False)
        options.budget = BudgetGate(usd, tokens)
        return
    show.print(_describe(projection, usd, tokens, already), highlight=False)
    _confirm(bool(extra.get("yes")), options.out)
    options.budget = BudgetGate(usd, tokens, estimate=projection.per_task, already=already)


def _with(options, **changes):
    import dataclasses

    return dataclasses.replace(options, **changes)


def _describe(projection, usd: float | None, tokens: int | None, already) -> str:
    where = (f"{len(projection.runs)} earlier run(s) of this system on this suite" if projection.source ==
             "earlier runs" else f"a pilot of {projection.samples} task(s)")
    lines = [f"projection from {where} ({projection.samples} row(s)): {projection.tasks} task(s) to run, about "
             f"${projection.cost_usd:.4f}, {projection.tokens:.0f} tokens and {projection.wall_s:.0f} s of wall time"]
    if already.cost_usd or already.tokens:
        lines.append(f"already spent by the pilot: ${already.cost_usd:.4f}, {already.tokens:.0f} tokens")
    per = projection.per_task
    for name, limit, each, used in (("--budget-usd", usd, per.cost_usd, already.cost_usd),
                                    ("--budget-tokens", tokens, per.tokens, already.tokens)):
        if limit is None:
            continue
        covered = projection.tasks if each <= 0 else min(projection.tasks, int(max(0.0, limit - used) // each))
        lines.append(f"{name} {limit:g} covers about {covered} of {projection.tasks} task(s)"
                     + ("" if covered >= projection.tasks else "; the rest will be skipped_budget"))
    return "\n".join(lines)


def _confirm(yes: bool, out: Path) -> None:
    import sys

    if yes:
        return
    resume = f"results so far are in {out}; " if (out / "results.jsonl").exists() else ""
    if not sys.stdin.isatty():
        raise NotConfirmed(f"not started: there is no terminal to confirm the projection on, which counts as no; "
                           f"{resume}pass --yes to start without asking")
    if not click.confirm("start the run?", default=False, err=True):
        raise NotConfirmed(f"not started: the projection was declined; {resume}run again to resume")
