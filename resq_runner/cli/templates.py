"""`resq tasks expand`: write the concrete instances of a suite's templates."""

from __future__ import annotations

import click

from .common import friendly_errors, show
from .tasks import tasks


@tasks.command("expand")
@click.argument("suite")
@click.option("--max", "limit", type=int, help="At most N instances per template (a seeded sample).")
@click.option("--seed", default=0, show_default=True, help="Seed for the sample; the same seed gives the same instances.")
@friendly_errors
def tasks_expand(suite: str, limit: int | None, seed: int) -> None:
    """Render every template of SUITE into instance folders named TEMPLATE@p1=v1,p2=v2 (earlier ones replaced)."""
    from ..errors import ResqError
    from ..tasks import load_templates
    from ..tasks.templates import expand

    templates = load_templates(suite)
    if not templates:
        raise ResqError(f"{suite}: no templates (task.yaml files with a `template:` section) in this suite")
    for tf in templates:
        ids = expand(tf, seed=seed, limit=limit)
        show.print(f"{tf.task.id}: {len(ids)} instance(s)", highlight=False)
        for task_id in ids:
            show.print(f"  {task_id}", highlight=False)
