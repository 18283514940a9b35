"""What every importer shares: row errors that name file, row and field; task folders written to a temporary
folder and renamed into place only when the whole suite is complete."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import yaml
from pydantic import ValidationError

from ..errors import ResqError
from ..models import Task
from ..tasks import TASK_FILE, load_task


class RowError(ResqError):
    """A malformed input row or file."""


def row_error(file: Path | str, row: int | str, field_name: str, problem: str) -> RowError:
    return RowError(f"{file}: row {row}: field '{field_name}': {problem}")


@dataclass
class TaskFiles:
    """One task folder to write: the record plus the files beside it (paths relative to the task folder)."""

    task: Task
    files: dict[str, bytes] = field(default_factory=dict)


@dataclass
class ImportSummary:
    out: Path
    imported: int = 0
    skipped: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)  # rows imported with a caveat (e.g. the generic environment)


@dataclass
class BadRow:
    """A JSONL line that is not JSON: an error for its row, which --skip-invalid can skip like any other."""

    message: str


def require(row: dict, key: str, file: Path, number: int | str, kind: type | tuple = str):
    if isinstance(row, BadRow):
        raise RowError(row.message)
    if not isinstance(row, dict):
        raise RowError(f"{file}: row {number}: expected an object with fields, got {type(row).__name__}")
    if key not in row or row[key] is None:
        raise row_error(file, number, key, "missing")
    value = row[key]
    if not isinstance(value, kind) or (isinstance(value, str) and kind is str and not value.strip()):
        names = kind.__name__ if isinstance(kind, type) else " or ".join(k.__name__ for k in kind)
        raise row_error(file, number, key, f"expected a non-empty {names}, got {json.dumps(value)[:60]}")
    return value


def make_task(data: dict, file: Path, number: int | str) -> Task:
    return validate_row(Task, data, file, number)


def validate_row(model, row, file: Path, number: int | str):
    """A pydantic record from one input row; the first problem becomes one line naming file, row and field."""
    if isinstance(row, BadRow):
        raise RowError(row.message)
    try:
        return model.model_validate(row)
    except ValidationError as exc:
        error = exc.errors()[0]
        where = ".".join(str(p) for p in error["loc"]) or "(record)"
        raise row_error(file, number, where, error["msg"]) from exc


def write_suite(out: Path, rows: Iterable[tuple[str, Callable[[], list[TaskFiles]]]], *,
                skip_invalid: bool) -> ImportSummary:
    """Build every task in a temporary folder beside `out`, load each back as a check, then rename into place.

    `rows` yields (label, build) pairs; build() raises RowError for a malformed row. With skip_invalid the
    row is counted and left out; otherwise nothing is written at all.
    """
    out = Path(out)
    if out.exists() and any(out.iterdir()):
        raise ResqError(f"{out}: already exists and is not empty; choose another --out or remove it first")
    out.parent.mkdir(parents=True, exist_ok=True)
    summary = ImportSummary(out=out)
    temporary = Path(tempfile.mkdtemp(prefix=f".{out.name}.importing-", dir=out.parent))
    try:
        seen: set[str] = set()
        for label, build in rows:
            try:
                folders = build()
                for folder in folders:
                    if folder.task.id in seen:
                        raise RowError(f"{label}: duplicate task id '{folder.task.id}'")
                for folder in folders:
                    _write_task(temporary, folder, out.name)
                    seen.add(folder.task.id)
            except RowError as exc:
                if not skip_invalid:
                    raise
                summary.skipped.append(str(exc))
        summary.imported = len(seen)
        if not seen:
            raise ResqError(f"nothing imported into {out}" + (f" ({len(summary.skipped)} row(s) skipped)"
                                                                if summary.skipped else ""))
        if out.exists():
            out.rmdir()
        os.rename(temporary, out)
    finally:
        if temporary.exists():
            shutil.rmtree(temporary, ignore_errors=True)
    return summary


def _write_task(suite: Path, folder: TaskFiles, suite_name: str) -> None:
    root = suite / folder.task.id
    root.mkdir()
    data = folder.task.model_dump(mode="json", exclude_unset=True)
    data = {"id": folder.task.id, **data}
    text = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=110)
    (root / TASK_FILE).write_text(text, encoding="utf-8")
    for relative, content in folder.files.items():
        _write(root / relative, content)
    load_task(root, suite=suite_name)  # the folder must load exactly as `resq run` will load it


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (instructions) as readable `|` blocks."""


_Dumper.add_representer(str, lambda dumper, value: dumper.represent_scalar(
    "tag:yaml.org,2002:str", value, style="|" if "\n" in value else None))


def _write(path: Path, content: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)


def load_rows(file: Path) -> list:
    """Rows from a JSON array, a JSON object holding one, JSONL, or parquet (pandas/pyarrow, if installed)."""
    file = Path(file)
    if not file.is_file():
        raise ResqError(f"{file}: no such file")
    if file.suffix == ".parquet":
        return _parquet_rows(file)
    text = file.read_text(encoding="utf-8")
    if file.suffix == ".jsonl":
        return _jsonl_rows(file, text)
    try:
        data = json.loads(text)
    except ValueError as exc:
        if text.lstrip().startswith("{") and "\n" in text.strip():
            return _jsonl_rows(file, text)
        raise ResqError(f"{file}: not valid JSON ({exc}); give a JSON array of records or JSONL") from exc
    if isinstance(data, dict):
        data = next((v for v in data.values() if isinstance(v, list)), [data])
    if not isinstance(data, list):
        raise ResqError(f"{file}: expected a JSON array of records")
    return data


def _jsonl_rows(file: Path, text: str) -> list:
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except ValueError as exc:
            rows.append(BadRow(f"{file}: row {number}: not a JSON line ({exc}); fix or remove that line"))
    return rows


def _parquet_rows(file: Path) -> list:
    try:
        import pandas
    except ImportError as exc:
        raise ResqError(f"{file}: reading parquet needs pandas and pyarrow (pip install pandas pyarrow), or "
                        "convert the file to JSONL") from exc
    frame = pandas.read_parquet(file)
    return json.loads(frame.to_json(orient="records"))
