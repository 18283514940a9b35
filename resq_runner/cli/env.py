"""`resq env ...` and `resq gc`."""

from __future__ import annotations


import click

from .common import console, friendly_errors, main, show


@main.group()
def env() -> None:
    """Build and list environment images."""


@env.command("build")
@click.argument("names", nargs=-1)
@click.option("--suite", help="Build the environments this suite's tasks use.")
@click.option("--base-tag", help="Build only the base image, under this tag (for checking the bootstrap).")
@click.option("--no-pull", is_flag=True, help="Do not try a registry; bootstrap the base from Debian packages.")
@click.option("--offline", is_flag=True, help="Refuse every network attempt: images must exist or build from the "
                                              "local wheel cache.")
@friendly_errors
def env_build(names: tuple[str, ...], suite: str | None, base_tag: str | None, no_pull: bool, offline: bool) -> None:
    """Build environment images (all definitions when no NAME is given). Unchanged images are not rebuilt.

    With --suite, also fetch the suite's task snapshots into the cache, so a later `resq run --offline` finds them."""
    from .. import environments
    from ..offline import enable
    from ..sandbox import connect
    from ..tasks import load_suite

    if offline:
        enable()

    client = connect()
    if base_tag:
        ref = environments.ensure_base(client, tag=base_tag, allow_pull=not no_pull, log=console.print)
        show.print(f"{ref.tag} {ref.id}")
        return
    if no_pull:
        environments.ensure_base(client, allow_pull=False, log=console.print)
    wanted = set(names)
    if suite:
        from ..tasks.snapshots import materialize

        suite_tasks = load_suite(suite)
        wanted |= {tf.task.environment.name for tf in suite_tasks}
        for tf in suite_tasks:
            materialize(tf, environments.cache_dir())
    for name in sorted(wanted or environments.list_definitions()):
        ref = environments.ensure_environment(client, name, log=console.print)
        show.print(f"{name}: {ref.tag} {ref.id}")


@main.command()
@click.option("--run-id", help="Only this run's leftovers.")
@friendly_errors
def gc(run_id: str | None) -> None:
    """Remove containers left by runs (found by their resq.run label)."""
    from ..sandbox import connect, remove_run_containers

    removed = remove_run_containers(connect(), run_id)
    show.print(f"removed {len(removed)} container(s)" + (f": {', '.join(removed)}" if removed else ""))
