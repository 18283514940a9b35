"""`resq run`."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from .common import console, friendly_errors, main, show
from .extras import prepare_run, run_extra_options
from .systems import resolve_system, system_config, system_options

# models.Outcome's values, spelled out so `resq --help` does not import the models (a test keeps them equal)
OUTCOMES = ("passed", "failed", "patch_failed", "timed_out", "system_error", "infra_error", "skipped_budget")
if TYPE_CHECKING:
    from rich.progress import Progress, TaskID  # imported when `resq run` runs: `resq --help` stays fast


class ProgressListener:
    def __init__(self, progress: Progress):
        self.progress = progress
        self.task: TaskID | None = None

    def started(self, paths, total: int, skipped: int) -> None:
        console.print(f"run folder: {paths.root}" + (f" (resuming: {skipped} task(s) already done)" if skipped else ""),
                      soft_wrap=True, highlight=False)
        self.task = self.progress.add_task("tasks", total=total, completed=skipped)

    def finished_task(self, result) -> None:
        if result.outcome.is_final and self.task is not None:
            self.progress.advance(self.task)
        reason = result.reason if len(result.reason) <= 100 else result.reason[:100] + "…"  # whole in results.jsonl
        self.message(f"  {result.task_id}: {result.outcome.value}" + (f" ({reason})" if reason else ""))

    def message(self, text: str) -> None:
        self.progress.console.print(text, soft_wrap=True, highlight=False)  # one line per task, also in a CI log


@main.command()
@click.argument("suite")
@click.option("--system", "system_name", required=True,
              help="gold, noop, llm, command, predictions, aider, mini-swe-agent, agent (with --agent-spec), an "
                   "installed system, or a name from resq.yaml.")
@click.option("--config", "config_file", type=click.Path(path_type=Path, dir_okay=False),
              help="The named systems file (default: resq.yaml in the working directory, when it exists).")
@click.option("--out", type=click.Path(path_type=Path), help="Run folder (default runs/<run_id>); an existing one resumes.")
@click.option("-j", "--jobs", default=1, show_default=True, help="Tasks evaluated at once.")
@click.option("--task", "only", multiple=True, help="Only this task id (repeatable).")
@click.option("--retries", default=2, show_default=True, help="Retries of a task that hit an infrastructure error.")
@click.option("--samples", default=1, show_default=True, type=click.IntRange(min=1),
              help="Independent attempts per task (for pass@k in `resq report`).")
@click.option("--oracle-context", is_flag=True, help="Give systems the files the reference solution edits "
              "(RES-Q's modified_files), where a task has them.")
@click.option("--executor", type=click.Choice(["local", "ray"]), default="local", show_default=True,
              help="local: a pool of -j workers here; ray: one Ray task per evaluation on a cluster's Docker nodes.")
@click.option("--address", default="auto", show_default=True, help="--executor ray: the cluster's HOST:PORT or auto.")
@click.option("--ship-images", is_flag=True, help="--executor ray: build task images here and ship them to nodes "
                                                  "(default: each node builds them itself).")
@click.option("--memory", default="2g", show_default=True, help="Memory limit of each eval container (a task's "
              "own limits.memory wins).")
@click.option("--pids", default=512, show_default=True, help="Process limit of each eval container.")
@click.option("--cpus", default=1.0, show_default=True, help="CPUs of each eval container.")
@click.option("--file-size", default="1g", show_default=True, help="Largest file the tests may write.")
@click.option("--redo", multiple=True, type=click.Choice(OUTCOMES),
              help="On resume, run again the tasks whose row ended with this outcome (repeatable).")
@click.option("--grace", default=20.0, show_default=True,
              help="Seconds running evaluations get to finish after Ctrl-C/SIGTERM before they are killed.")
@system_options
@run_extra_options
@friendly_errors
def run(suite: str, system_name: str, config_file: Path | None, out: Path | None, jobs: int, only: tuple[str, ...],
        retries: int, samples: int, oracle_context: bool, executor: str, address: str, ship_images: bool, memory: str,
        pids: int, cpus: float, file_size: str, redo: tuple[str, ...], grace: float,
        system_options: dict, extra_options: dict) -> None:
    """Run every task of SUITE with a system and grade it in fresh containers."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ..models import Outcome, SystemSpec
    from ..reports.summary import results_table, summary_line
    from ..runner import RunOptions, run_suite
    from ..sandbox import Limits

    for flag, value in (("--memory", memory), ("--file-size", file_size)):
        if not _is_size(value):
            raise click.BadParameter(f"'{value}' is not a size (use e.g. 512m or 2g)", param_hint=flag)
    limits = Limits(memory=memory, pids=pids, cpus=cpus, file_size=file_size)
    system_name, system_options, label = resolve_system(system_name, system_options, config_file)
    config = system_config(system_name, system_options)
    options = RunOptions(suite=suite, system=SystemSpec(name=system_name, config=config), out=out, jobs=jobs,
                         only=list(only), retries=retries, samples=samples, oracle_context=oracle_context,
                         executor=executor, address=address, ship_images=ship_images, limits=limits, grace_s=grace,
                         redo=[Outcome(value) for value in redo], label=label)
    prepare_run(options, extra_options)  # offline mode, certificates, budget projection (cli/extras.py)
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        paths, results = run_suite(options, ProgressListener(progress))
    show.print(results_table(results, f"{Path(suite).name} · {label or system_name}"))
    show.print(summary_line(results, label or system_name), highlight=False)
    show.print(f"results: {paths.results}", highlight=False)


def _is_size(value: str) -> bool:
    from pydantic import ValidationError

    from ..models import TaskLimits

    try:
        TaskLimits(memory=value)
        return True
    except ValidationError:
        return False
