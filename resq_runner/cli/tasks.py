"""`resq tasks ...`."""

from __future__ import annotations


import click

from .common import ResqError, friendly_errors, main, show


@main.group()
def tasks() -> None:
    """Look at task suites."""


@tasks.command("list")
@click.argument("suite")
@friendly_errors
def tasks_list(suite: str) -> None:
    """List the tasks of SUITE."""
    from rich.table import Table

    from ..tasks import load_suite

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
    from ..tasks import gold_patch, hidden_files, load_suite

    suite, _, task_id = ref.rstrip("/").rpartition("/")
    if not suite:
        raise ResqError(f"{ref}: give the task as SUITE/TASK, for example demo/{ref}")
    (tf,) = load_suite(suite, [task_id])
    hidden_fields: dict[str, bool | set[str]] = {"instruction": True}
    if not reveal:
        hidden_fields["challenge"] = {"expected"}
    data = tf.task.model_dump(mode="json", exclude=hidden_fields)
    show.print(f"[bold]{tf.ref}[/]  ({tf.root})")
    show.print(tf.task.instruction.strip(), highlight=False)
    show.print(data)
    hidden = hidden_files(tf)
    if not reveal:
        show.print(f"hidden tests: {len(hidden)} file(s), not shown (use --reveal)")
        return
    for name, content in hidden.items():
        show.print(f"── hidden: {name} ──", highlight=False, markup=False)
        show.print(content.decode("utf-8", "replace"), highlight=False, markup=False)
    show.print("── gold.patch ──", highlight=False)
    show.print(gold_patch(tf), highlight=False, markup=False)
