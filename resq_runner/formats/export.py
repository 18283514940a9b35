"""Writing a finished run in other harnesses' shapes: SWE-bench predictions + report, RES-Q submission + results."""

from __future__ import annotations

import json
from pathlib import Path

from ..errors import ResqError
from ..models import Result, RunManifest
from ..results import RunPaths, final_results, log_name, read_manifest, read_results
from . import resq, swebench


def load_run(run: Path) -> tuple[RunManifest, list[Result], RunPaths]:
    paths = RunPaths(Path(run))
    manifest = read_manifest(paths)
    if manifest is None:
        raise ResqError(f"{run}: not a run folder (no run.json); give the folder `resq run` wrote")
    final = final_results(read_results(paths.results))
    results = [row for (task_id, sample), row in sorted(final.items()) if sample == 0]
    if not results:
        raise ResqError(f"{paths.results}: no finished task in this run yet")
    return manifest, results, paths


def _log_texts(paths: RunPaths, results: list[Result], name: str) -> dict[str, str]:
    """task id → the text of logs/<its folder>/name ("" when missing); logs/ is listed once, and plain string
    paths are used (pathlib was most of the cost per task)."""
    folders = paths.log_folder_names()
    texts = {}
    for result in results:
        folder = log_name(result.task_id, result.attempt)
        path = f"{paths.root}/logs/{folder}/{name}"
        texts[result.task_id] = _read_text(path) if folder in folders else ""
    return texts


def _read_text(path: str) -> str:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            return handle.read()
    except FileNotFoundError:
        return ""


def _json_array(items: list) -> str:
    """A JSON array, one element per line: json's `indent=` takes its pure-Python encoder, 5x slower at 100k rows."""
    return "[\n" + ",\n".join(json.dumps(item) for item in items) + "\n]" if items else "[]"


def export_swebench(run: Path, out: Path | None = None, model: str | None = None) -> list[Path]:
    manifest, results, paths = load_run(run)
    out = Path(out) if out else paths.root / "export-swebench"
    patches = _log_texts(paths, results, "patch.diff")
    model = model or manifest.system.name
    rows = swebench.predictions(results, patches, model)
    report = swebench.report(results, patches, manifest.task_ids)
    out.mkdir(parents=True, exist_ok=True)
    predictions_file = out / "predictions.jsonl"
    report_file = out / f"{model.replace('/', '__')}.{manifest.run_id}.json"  # the harness's own report name
    _write_atomic(predictions_file, "".join(json.dumps(row) + "\n" for row in rows))
    _write_atomic(report_file, json.dumps(report, indent=4))
    return [predictions_file, report_file]


def export_resq(run: Path, out: Path | None = None) -> list[Path]:
    manifest, results, paths = load_run(run)
    out = Path(out) if out else paths.root / "export-resq"
    patches = _log_texts(paths, results, "patch.diff")
    feedback = {task_id: text[-20000:] for task_id, text in _log_texts(paths, results, "test_output.txt").items()}
    out.mkdir(parents=True, exist_ok=True)
    submission_file, results_file = out / "submission.json", out / "results.json"
    _write_atomic(submission_file, _json_array(resq.submission(results, patches)))
    _write_atomic(results_file, _json_array(resq.results_rows(results, feedback)))
    return [submission_file, results_file]


def read_patches(file: Path) -> dict[str, str]:
    """task id → patch from a RES-Q submission (a JSON array of {id, patch}) or SWE-bench predictions."""
    file = Path(file)
    try:
        head = file.read_text(encoding="utf-8")[:65536].lstrip()
    except OSError as exc:
        raise ResqError(f"{file}: cannot read ({exc.strerror})") from exc
    if head.startswith("[") and '"instance_id"' not in head and '"id"' in head:
        return resq.read_submission(file)
    return swebench.read_predictions(file)


def _write_atomic(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text, encoding="utf-8")
    temporary.replace(path)
