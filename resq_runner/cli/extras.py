"""`resq export ctrf` and `resq tasks certify`: per-test verdicts for other tools, and task certificates."""

from __future__ import annotations

from pathlib import Path

import click

from .common import console, friendly_errors, main, show


def _export_group():
    """`resq export` may already be defined by another command module; add to it rather than replace it."""
    existing = main.commands.get("export")
    if existing is not None:
        return existing

    @main.group("export")
    def export() -> None:
        """Write a run's results in other tools' formats."""

    return export


export = _export_group()


@export.command("ctrf")
@click.argument("run_dir", metavar="RUN", type=click.Path(path_type=Path, file_okay=False))
@click.option("--out", type=click.Path(path_type=Path, dir_okay=False),
              help="Where to write the CTRF JSON (default RUN/ctrf-report.json).")
@friendly_errors
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
