"""The `resq` command: parse, call one function, print. Nothing imports this module."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .errors import ResqError

console = Console(stderr=True)
show = Console()


def friendly_errors(command):
    """Bad input and missing tools end with one line and exit code 2, never a traceback."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except ResqError as exc:
            console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            console.print("[yellow]interrupted:[/] containers removed; run the same command again to resume")
            sys.exit(130)

    return wrapper


@click.group()
@click.version_option(package_name="resq-runner")
def main() -> None:
    """resq-runner: evaluate code-editing systems on repository tasks with hidden tests."""


# ---------------------------------------------------------------------------------------------------------------
# run


class ProgressListener:
    def __init__(self, progress: Progress):
        self.progress, self.task = progress, None

    def started(self, paths, total: int, skipped: int) -> None:
        console.print(f"run folder: {paths.root}" + (f" (resuming: {skipped} task(s) already done)" if skipped else ""))
        self.task = self.progress.add_task("tasks", total=total, completed=skipped)

    def finished_task(self, result) -> None:
        if result.outcome.is_final:
            self.progress.advance(self.task)
        self.progress.console.print(f"  {result.task_id}: {result.outcome.value}"
                                    + (f" ({result.reason[:100]})" if result.reason else ""), highlight=False)

    def message(self, text: str) -> None:
        self.progress.console.print(text, highlight=False)


@main.command()
@click.argument("suite")
@click.option("--system", "system_name", required=True, help="gold, noop, or an installed system.")
@click.option("--out", type=click.Path(path_type=Path), help="Run folder (default runs/<run_id>); an existing one resumes.")
@click.option("-j", "--jobs", default=1, show_default=True, help="Tasks evaluated at once.")
@click.option("--task", "only", multiple=True, help="Only this task id (repeatable).")
@click.option("--retries", default=2, show_default=True, help="Retries of a task that hit an infrastructure error.")
@friendly_errors
def run(suite: str, system_name: str, out: Path | None, jobs: int, only: tuple[str, ...], retries: int) -> None:
    """Run every task of SUITE with a system and grade it in fresh containers."""
    from .models import SystemSpec
    from .reports.summary import results_table, summary_line
    from .runner import RunOptions, run_suite

    options = RunOptions(suite=suite, system=SystemSpec(name=system_name), out=out, jobs=jobs, only=list(only),
                         retries=retries)
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        paths, results = run_suite(options, ProgressListener(progress))
    show.print(results_table(results, f"{Path(suite).name} · {system_name}"))
    show.print(summary_line(results, system_name), highlight=False)
    show.print(f"results: {paths.results}", highlight=False)


# ---------------------------------------------------------------------------------------------------------------
# tasks


@main.group()
def tasks() -> None:
    """Look at task suites."""


@tasks.command("list")
@click.argument("suite")
@friendly_errors
def tasks_list(suite: str) -> None:
    """List the tasks of SUITE."""
    from rich.table import Table

    from .tasks import load_suite

    table = Table(title=suite)
    for column in ("id", "kind", "environment", "tags"):
        table.add_column(column)
    for tf in load_suite(suite):
        table.add_row(tf.task.id, tf.task.kind, tf.task.environment.name, ", ".join(tf.task.tags))
    show.print(table)


@tasks.command("show")
@click.argument("ref")
@click.option("--reveal", is_flag=True, help="Also print the hidden tests and the gold patch.")
@friendly_errors
def tasks_show(ref: str, reveal: bool) -> None:
    """Show one task, given as SUITE/TASK; hidden tests stay hidden unless --reveal."""
    from .tasks import gold_patch, hidden_files, load_suite

    suite, _, task_id = ref.rstrip("/").rpartition("/")
    if not suite:
        raise ResqError(f"{ref}: give the task as SUITE/TASK, for example demo/{ref}")
    (tf,) = load_suite(suite, [task_id])
    data = tf.task.model_dump(mode="json", exclude={"instruction"})
    show.print(f"[bold]{tf.ref}[/]  ({tf.root})")
    show.print(tf.task.instruction.strip(), highlight=False)
    show.print(data)
    hidden = hidden_files(tf)
    if not reveal:
        show.print(f"hidden tests: {len(hidden)} file(s), not shown (use --reveal)")
        return
    for name, content in hidden.items():
        show.rule(f"hidden: {name}")
        show.print(content.decode("utf-8", "replace"), highlight=False, markup=False)
    show.rule("gold.patch")
    show.print(gold_patch(tf), highlight=False, markup=False)


# ---------------------------------------------------------------------------------------------------------------
# env and gc


@main.group()
def env() -> None:
    """Build and list environment images."""


@env.command("build")
@click.argument("names", nargs=-1)
@click.option("--suite", help="Build the environments this suite's tasks use.")
@click.option("--base-tag", help="Build only the base image, under this tag (for checking the bootstrap).")
@click.option("--no-pull", is_flag=True, help="Do not try a registry; bootstrap the base from Debian packages.")
@friendly_errors
def env_build(names: tuple[str, ...], suite: str | None, base_tag: str | None, no_pull: bool) -> None:
    """Build environment images (all definitions when no NAME is given). Unchanged images are not rebuilt."""
    from . import environments
    from .sandbox import connect
    from .tasks import load_suite

    client = connect()
    if base_tag:
        ref = environments.ensure_base(client, tag=base_tag, allow_pull=not no_pull, log=console.print)
        show.print(f"{ref.tag} {ref.id}")
        return
    if no_pull:
        environments.ensure_base(client, allow_pull=False, log=console.print)
    wanted = set(names)
    if suite:
        wanted |= {tf.task.environment.name for tf in load_suite(suite)}
    for name in sorted(wanted or environments.list_definitions()):
        ref = environments.ensure_environment(client, name, log=console.print)
        show.print(f"{name}: {ref.tag} {ref.id}")


@main.command()
@click.option("--run-id", help="Only this run's leftovers.")
@friendly_errors
def gc(run_id: str | None) -> None:
    """Remove containers left by runs (found by their resq.run label)."""
    from .sandbox import connect, remove_run_containers

    removed = remove_run_containers(connect(), run_id)
    show.print(f"removed {len(removed)} container(s)" + (f": {', '.join(removed)}" if removed else ""))


if __name__ == "__main__":
    main()
