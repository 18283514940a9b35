"""`resq report`, `resq compare` and `resq history`: read run folders, print tables, JSON or an HTML page."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from ..memory import keep, reads_journals
from .common import ResqError, console, friendly_errors, main, show

if TYPE_CHECKING:
    from ..reports.records import GroupBy

RUN_FOLDER = click.Path(path_type=Path, file_okay=False)
HTML_OUT = click.Path(path_type=Path, dir_okay=False)


@main.command()
@click.argument("run_dir", metavar="RUN", type=RUN_FOLDER)
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON instead of tables.")
@click.option("--by", type=click.Choice(["tag", "suite", "kind"]), default="tag", show_default=True,
              help="How to group the breakdown table.")
@click.option("--html", "html_out", type=HTML_OUT,
              help="Also write a self-contained HTML report here (it lists every task; the terminal then shows the "
                   "summary tables and the page's path instead of the task table).")
@friendly_errors
@reads_journals
def report(run_dir: Path, as_json: bool, by: GroupBy, html_out: Path | None) -> None:
    """Pass rate with its 95 % interval, outcomes, groups, cost, time per stage and pass@k of one run folder."""
    _check_html_out(html_out)
    from ..reports.report import build_report, load_run, render_report

    run = load_run(run_dir)
    result = build_report(run, by=by)
    _emit(result, as_json, lambda report: render_report(report, page=html_out), html_out,
          lambda html: html.report_page(result, html_out, run.rows_by_task))


@main.command()
@click.argument("run_dirs", metavar="RUN_A RUN_B [RUN ...]", nargs=-1, required=True, type=RUN_FOLDER)
@click.option("--max-regressions", default=0, show_default=True, type=click.IntRange(min=0),
              help="Exit 1 when a later run breaks more tasks that RUN_A passed than this.")
@click.option("--json", "as_json", is_flag=True, help="Print the comparison as JSON instead of tables.")
@click.option("--html", "html_out", type=HTML_OUT, help="Also write a self-contained HTML comparison here.")
@friendly_errors
@reads_journals
def compare(run_dirs: tuple[Path, ...], max_regressions: int, as_json: bool, html_out: Path | None) -> None:
    """Compare RUN_B (and more) against the baseline RUN_A task by task.

    Exit 1 on regressions among the tasks graded in both runs; else 3 when some task ended in system_error or
    infra_error (or has no result) in some run, so a broken run is noticed without being called a regression."""
    _check_html_out(html_out)
    from ..reports.compare import compare_runs, render_comparison
    from ..reports.report import load_run

    if len(run_dirs) < 2:
        raise ResqError(f"compare needs at least two run folders, got {len(run_dirs)}: give RUN_A RUN_B")
    comparison = compare_runs([load_run(folder) for folder in run_dirs], max_regressions)
    _emit(comparison, as_json, render_comparison, html_out, lambda html: html.comparison_page(comparison))
    if comparison.regressed:
        worst = max(pair.broken for pair in comparison.pairs)
        console.print(f"[bold red]regression:[/] {worst} task(s) that RUN_A passed fail now "
                      f"(allowed: {max_regressions})", highlight=False)
        sys.exit(1)
    if comparison.not_comparable:
        console.print(f"[yellow]not comparable:[/] {len(comparison.not_comparable)} task(s) ended in system_error or "
                      "infra_error, or have no result, in some run (no regression among the tasks graded in both): "
                      "look at the run before trusting the comparison", highlight=False, soft_wrap=True)
        sys.exit(3)


@main.command()
@click.argument("folder", metavar="DIR", type=RUN_FOLDER)
@click.option("--json", "as_json", is_flag=True, help="Print the time series as JSON instead of tables.")
@click.option("--html", "html_out", type=HTML_OUT, help="Also write a self-contained HTML trend page here.")
@friendly_errors
@reads_journals
def history(folder: Path, as_json: bool, html_out: Path | None) -> None:
    """Every run folder under DIR as a time series: pass rate per system per suite."""
    _check_html_out(html_out)
    from ..reports.history import build_history, render_history

    result = build_history(folder)
    _emit(result, as_json, render_history, html_out, lambda html: html.history_page(result))


def _check_html_out(html_out: Path | None) -> None:
    """The page goes into an existing folder: a mistyped path must not create folders anywhere."""
    if html_out is not None and not html_out.absolute().parent.is_dir():
        raise ResqError(f"--html {html_out}: the folder {html_out.absolute().parent} does not exist; create it "
                        "first or write the page elsewhere")


def _emit(record, as_json: bool, render, html_out: Path | None, page) -> None:
    """Write the HTML page when asked (`page` gets the html module), then print JSON or the rich tables."""
    keep(record)  # the process ends with the command: its records need not be freed (read_results keeps the rows)
    if html_out:
        from ..reports import html

        try:
            console.print(f"wrote {html.write_page(html_out, page(html))}", highlight=False)
        except OSError as exc:
            raise ResqError(f"--html {html_out}: cannot write the page ({exc.strerror}); give a file in an "
                            "existing folder") from None
    if as_json:  # the serializer's UTF-8 as it is (58 MB for 100k tasks: not decoded and encoded again)
        click.echo(record.__pydantic_serializer__.to_json(record, indent=2))
        return
    for part in render(record):
        show.print(part, highlight=False)
