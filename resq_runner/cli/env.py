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
@click.option("--skip-invalid", is_flag=True, help="With --suite: an environment that cannot be built is reported "
                                                   "and counted, and the others are still built.")
@friendly_errors
def env_build(names: tuple[str, ...], suite: str | None, base_tag: str | None, no_pull: bool, offline: bool,
              skip_invalid: bool) -> None:
    """Build environment images (all definitions when no NAME is given). Unchanged images are not rebuilt.

    With --suite, also fetch the suite's task snapshots into the cache, so a later `resq run --offline` finds them,
    and build the environments its imported rows describe (one per distinct spec, shared by its tasks)."""
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
            if tf.task.snapshot is not None and tf.task.snapshot.kind != "image":
                materialize(tf, environments.cache_dir())
    for name in sorted(wanted or environments.list_definitions()):
        ref = environments.ensure_environment(client, name, log=console.print)
        show.print(f"{name}: {ref.tag} {ref.id}")
    if suite:
        failed = build_spec_environments(client, suite_tasks, skip_invalid)
        if failed:
            show.print(f"skipped {failed} environment(s) of {suite} that could not be built", highlight=False)


def build_spec_environments(client, tasks, skip_invalid: bool) -> int:
    """Each distinct spec environment of the suite once, with progress; returns how many failed."""
    from .. import environments
    from ..errors import SetupError

    groups = environments.spec_groups(tasks)
    failed = 0
    for number, (tag, users) in enumerate(groups.items(), start=1):
        spec = environments.spec_of(users[0].task.environment)
        show.print(f"[{number}/{len(groups)}] {tag}: Python {spec.python or environments.host_python()}, "
                   f"{len(spec.pip_requirements)} pip requirement(s), {len(users)} task(s)", highlight=False)
        try:
            ref = environments.ensure_task_environment(client, users[0].task.environment,
                                                       users=[tf.ref for tf in users], log=console.print)
            for tf in users:
                environments.fetch_install_wheels(tf)
        except SetupError as exc:
            if not skip_invalid:
                raise
            failed += 1
            console.print(f"[red]error:[/] {exc}", highlight=False, soft_wrap=True)
            continue
        show.print(f"  {ref.tag} {ref.id}", highlight=False)
    return failed


@main.command()
@click.option("--run-id", help="Only this run's leftovers.")
@friendly_errors
def gc(run_id: str | None) -> None:
    """Remove containers, volumes and temporary images left by runs (found by their resq.run / resq.image labels).

    Content-hashed base, environment and task images are kept: they are the build cache."""
    from ..sandbox import connect, remove_run_containers, remove_run_volumes, remove_temporary_images

    client = connect()
    for kind, removed in (("container", remove_run_containers(client, run_id)),
                          ("volume", remove_run_volumes(client, run_id)),
                          ("temporary image", remove_temporary_images(client, run_id))):
        show.print(f"removed {len(removed)} {kind}(s)" + (f": {', '.join(removed)}" if removed else ""),
                   highlight=False)
