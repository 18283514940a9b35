"""`resq import ...`, `resq export ...`, `resq replay` and `resq pecc-report`."""

from __future__ import annotations

import json
from pathlib import Path

import click

from ..memory import reads_journals
from .common import ResqError, console, friendly_errors, main, show


def _default_out(name: str) -> Path:
    return Path("tasks") / name


def _print_summary(summary) -> None:
    for line in summary.warnings:
        console.print(f"[yellow]warning:[/] {line}", highlight=False, soft_wrap=True)
    for line in summary.skipped:
        console.print(f"[yellow]skipped:[/] {line}", highlight=False, soft_wrap=True)
    show.print(f"imported {summary.imported} task(s) into {summary.out}"
               + (f"; skipped {len(summary.skipped)} invalid row(s)" if summary.skipped else ""), highlight=False,
               soft_wrap=True)


@main.group("import")
def import_() -> None:
    """Turn other benchmarks' files into task suites."""


@import_.command("resq")
@click.argument("dataset", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), help="Suite folder to create (default tasks/<file name>).")
@click.option("--skip-invalid", is_flag=True, help="Leave malformed rows out (and count them) instead of stopping.")
@friendly_errors
def import_resq(dataset: Path, out: Path | None, skip_invalid: bool) -> None:
    """Import a RES-Q dataset (JSON array or JSONL of RES-Q records)."""
    from ..formats.resq import import_resq as run_import

    _print_summary(run_import(dataset, out or _default_out(dataset.stem), skip_invalid=skip_invalid))


@import_.command("swebench")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--repos", type=click.Path(path_type=Path), help="Folder of local repository mirrors "
              "(<owner>__<name>, <name> or <owner>/<name>); default: clone from GitHub.")
@click.option("--out", type=click.Path(path_type=Path), help="Suite folder to create (default tasks/<file name>).")
@click.option("--skip-invalid", is_flag=True, help="Leave malformed rows out (and count them) instead of stopping.")
@click.option("--specs", type=click.Path(path_type=Path), help="SWE-bench environment specs {repo: {version: spec}} "
              "(JSON or YAML, the shape of MAP_REPO_VERSION_TO_SPECS); default: the installed swebench's, if any.")
@click.option("--environment", "environment", help="Run every row in this named environment, whatever it says.")
@click.option("--namespace", help="Use SWE-bench's prebuilt instance images from this registry namespace "
              "(e.g. swebench; `none` for local images named sweb.eval.x86_64.<instance>).")
@click.option("--strict", is_flag=True, help="A row with no spec and no environment fields is an error, not a "
              "warning.")
@friendly_errors
def import_swebench(file: Path, repos: Path | None, out: Path | None, skip_invalid: bool, specs: Path | None,
                    environment: str | None, namespace: str | None, strict: bool) -> None:
    """Import SWE-bench-format instances (SWE-bench, SWE-rebench, SWE-Gym, commit0 rows; JSON, JSONL or parquet)."""
    from ..environments.rows import load_specs_file
    from ..formats.swebench import ImportOptions, import_swebench as run_import

    options = ImportOptions(specs=load_specs_file(specs) if specs else None, environment=environment,
                            namespace=namespace, strict=strict)
    _print_summary(run_import(file, out or _default_out(file.stem), repos=repos, skip_invalid=skip_invalid,
                              options=options))


@import_.command("pecc")
@click.argument("directory", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), help="Suite folder to create (default tasks/pecc).")
@click.option("--skip-invalid", is_flag=True, help="Leave malformed rows out (and count them) instead of stopping.")
@click.option("--timeout", "timeout_s", default=60.0, show_default=True, help="Seconds a program may run.")
@friendly_errors
def import_pecc(directory: Path, out: Path | None, skip_invalid: bool, timeout_s: float) -> None:
    """Import PECC's published layout (euler/*.json, aoc_lite/<year>/day_<d>.json) as challenge tasks."""
    from ..formats.pecc import import_pecc as run_import

    _print_summary(run_import(directory, out or _default_out("pecc"), skip_invalid=skip_invalid,
                              timeout_s=timeout_s))


@main.group()
def export() -> None:
    """Write a run's results in other harnesses' formats."""


@export.command("swebench")
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), help="Folder for the files (default RUN/export-swebench).")
@click.option("--model", help="model_name_or_path to write (default: the run's system name).")
@friendly_errors
@reads_journals
def export_swebench(run: Path, out: Path | None, model: str | None) -> None:
    """Predictions JSONL and a report in the SWE-bench harness's shape."""
    from ..formats.export import export_swebench as run_export

    for path in run_export(run, out, model):
        show.print(str(path), highlight=False)


@export.command("resq")
@click.argument("run", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path), help="Folder for the files (default RUN/export-resq).")
@friendly_errors
@reads_journals
def export_resq(run: Path, out: Path | None) -> None:
    """RES-Q submission (JSON array of {id, patch}) and results ({id, success, message, test_suite_feedback})."""
    from ..formats.export import export_resq as run_export

    for path in run_export(run, out):
        show.print(str(path), highlight=False)


@main.command()
@click.argument("suite")
@click.argument("file", type=click.Path(path_type=Path))
@click.option("--out", type=click.Path(path_type=Path),
              help="Run folder (default runs/<run_id>); an existing one resumes.")
@click.option("-j", "--jobs", default=1, show_default=True, help="Tasks evaluated at once.")
@click.option("--task", "only", multiple=True, help="Only this task id (repeatable).")
@friendly_errors
def replay(suite: str, file: Path, out: Path | None, jobs: int, only: tuple[str, ...]) -> None:
    """Grade recorded patches (a RES-Q submission or SWE-bench predictions) on SUITE."""
    from ..models import SystemSpec
    from ..reports.summary import results_table, summary_line
    from ..runner import RunOptions, run_suite

    spec = SystemSpec(name="replay", config={"file": str(file.resolve())})
    paths, results = run_suite(RunOptions(suite=suite, system=spec, out=out, jobs=jobs, only=list(only)))
    show.print(results_table(results, f"{Path(suite).name} · replay {file.name}"))
    show.print(summary_line(results, "replay"), highlight=False)
    show.print(f"results: {paths.results}", highlight=False)


@main.command("pecc-report")
@click.argument("runs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-k", "ks", multiple=True, type=int, help="pass@k to compute (repeatable; default 1 and 3).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@friendly_errors
@reads_journals
def pecc_report(runs: tuple[Path, ...], ks: tuple[int, ...], as_json: bool) -> None:
    """Accuracy per PECC subset and pass@k (PECC's any-of-k and the unbiased estimator); each RUN is one sample."""
    from rich.table import Table

    from ..formats.export import load_run
    from ..reports.pecc import pecc_report as build
    from ..reports.pecc import samples_by_task

    report = build(samples_by_task([load_run(run)[1] for run in runs]), list(ks or (1, 3)))
    if not report:
        raise ResqError(f"{', '.join(map(str, runs))}: no PECC task in these runs (tasks made by `resq import pecc`)")
    if as_json:
        show.print_json(json.dumps(report))
        return
    table = Table(title=f"PECC · {len(runs)} sample run(s)")
    columns = ["subset", "tasks", "accuracy %"]
    for k in ks or (1, 3):
        columns += [f"pass@{k} any-of-k %", f"pass@{k} unbiased %"]
    for column in columns:
        table.add_column(column)
    for subset, entry in report.items():
        cells = [subset, str(entry["tasks"]), _cell(entry["accuracy"])]
        for k in ks or (1, 3):
            cells += [_cell(entry[f"pass@{k}"]["sequential"]), _cell(entry[f"pass@{k}"]["unbiased"])]
        table.add_row(*cells)
    show.print(table)


def _cell(value) -> str:
    return "n/a" if value is None else f"{value:.1f}"
