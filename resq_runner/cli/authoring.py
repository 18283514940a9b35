"""`resq tasks new | gold | lint | validate`: writing tasks and proving them sound."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from .common import ResqError, console, friendly_errors, show
from .tasks import tasks

VERDICT_STYLE = {"valid": "green", "invalid": "red", "flaky": "yellow"}


@tasks.command("new")
@click.argument("suite")
@click.argument("task_id", metavar="ID")
@click.option("--snapshot", "spec", required=True,
              help="pypi:NAME==VERSION, deb:PACKAGE[=VERSION], git:URL@COMMIT, bundle:PATH[@REF] or dir:PATH.")
@friendly_errors
def tasks_new(suite: str, task_id: str, spec: str) -> None:
    """Scaffold tasks/SUITE/ID and check its snapshot out in ID/.work/ for editing with git."""
    from ..tasks.authoring import WORK_DIR, new_task

    tf = new_task(suite, task_id, spec)
    show.print(f"created {tf.root}/ (task.yaml, hidden/, gold.patch)", highlight=False)
    show.print(f"snapshot checked out in {tf.root / WORK_DIR}/: edit it, put the tests in hidden/, then run "
               f"`resq tasks gold {tf.ref}`", highlight=False)


@tasks.command("gold")
@click.argument("ref")
@friendly_errors
def tasks_gold(ref: str) -> None:
    """Record the changes made in SUITE/ID/.work/ as the task's gold.patch."""
    from ..tasks import load_suite
    from ..tasks.authoring import record_gold

    suite, _, task_id = ref.rstrip("/").rpartition("/")
    if not suite:
        raise ResqError(f"{ref}: give the task as SUITE/ID, for example js/{ref}")
    (tf,) = load_suite(suite, [task_id])
    path, files = record_gold(tf)
    show.print(f"wrote {path} ({len(files)} file(s): {', '.join(files)})", highlight=False)


@tasks.command("lint")
@click.argument("suite")
@click.option("--task", "only", multiple=True, help="Only this task id (repeatable).")
@friendly_errors
def tasks_lint(suite: str, only: tuple[str, ...]) -> None:
    """Check every task of SUITE without Docker; list every problem, exit 1 if there is any (warnings inform)."""
    from ..tasks.lint import lint_suite

    found = lint_suite(suite, list(only))
    problems = [p for p in found if p.severity == "error"]
    for problem in found:
        label = "warning: " if problem.severity == "warning" else ""
        show.print(f"{problem.file}: {label}{problem.message}", highlight=False, markup=False, soft_wrap=True)
    tasks_with = len({p.task for p in problems})
    warnings = len(found) - len(problems)
    show.print((f"{len(problems)} problem(s) in {tasks_with} task(s)" if problems else "no problems found")
               + (f", {warnings} warning(s)" if warnings else ""), highlight=False)
    sys.exit(1 if problems else 0)


@tasks.command("validate")
@click.argument("suite")
@click.option("--runs", default=3, show_default=True, help="Evaluations of gold and of noop per task.")
@click.option("-j", "--jobs", default=1, show_default=True, help="Evaluations at once.")
@click.option("--task", "only", multiple=True, help="Only this task id (repeatable).")
@click.option("--out", type=click.Path(path_type=Path), help="Folder for the evaluations' logs (default runs/<id>).")
@friendly_errors
def tasks_validate(suite: str, runs: int, jobs: int, only: tuple[str, ...], out: Path | None) -> None:
    """Prove every task of SUITE sound in real containers; exit 1 if any task is not valid."""
    from rich.table import Table

    from ..validation import ValidateOptions, validate_suite

    options = ValidateOptions(suite=suite, runs=runs, jobs=jobs, only=list(only), out=out)
    root, found = validate_suite(options, progress=lambda text: console.print(text, highlight=False))
    table = Table(title=f"validate {Path(suite).name} · {runs} run(s) of gold and noop",
                  caption="gold: runs passed · noop: runs failed · F2P, P2P: runs where every listed test behaved")
    for column in ("task", "gold", "noop", "F2P", "P2P", "verdict"):
        table.add_column(column, no_wrap=True)
    for item in found:
        style = VERDICT_STYLE[item.verdict]
        table.add_row(item.task, f"{item.gold_passed}/{runs}", f"{item.noop_failed}/{runs}",
                      f"{item.fail_to_pass_ok}/{runs}", f"{item.pass_to_pass_ok}/{runs}",
                      f"[{style}]{item.verdict}[/]")
    show.print(table)
    for item in found:
        show.print(f"{item.task}: {item.verdict}" + (f": {item.reason}" if item.reason else ""), highlight=False,
                   markup=False, soft_wrap=True)
    valid = sum(item.verdict == "valid" for item in found)
    show.print(f"{valid} of {len(found)} task(s) valid; logs: {root}", highlight=False)
    sys.exit(0 if valid == len(found) else 1)
