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
