"""`predictions`: grade patches recorded earlier, read from a SWE-bench-style JSON or JSONL file.

Rows carry instance_id, model_name_or_path and model_patch. A task with no row is a system_error naming the task;
rows naming no task of the suite are reported before the run and kept in the run folder; duplicate rows with the
same patch are harmless, duplicates that disagree are a system_error for that task; an empty patch is graded as is.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import ValidationError

from ..errors import ResqError
from ..models import Prediction, SystemOutput, TaskView
from .base import System, Workspace


class PredictionsSystem(System):
    name = "predictions"

    def __init__(self, predictions: str = "", **_ignored: str):
        if not predictions:
            raise ResqError("the predictions system needs a file: pass --predictions FILE (JSON or JSONL)")
        self.file = Path(predictions)
        self.rows = load_predictions(self.file)
        if not self.rows:
            raise ResqError(f"{self.file}: holds no predictions; give a file with one row (instance_id, "
                            "model_patch) per task")
        self.by_task: dict[str, list[tuple[int, Prediction]]] = {}  # one scan, not one per task
        for line, row in self.rows:
            self.by_task.setdefault(row.instance_id, []).append((line, row))

    def prepare(self, task_ids: list[str]) -> list[str]:
        """Messages about the file against this suite, shown and kept before any task runs."""
        known = set(task_ids)
        if not any(row.instance_id in known for _line, row in self.rows):
            raise ResqError(f"{self.file}: none of its {len(self.rows)} prediction(s) names a task of this suite "
                            f"(e.g. {self.rows[0][1].instance_id}); give the predictions of this suite's tasks")
        notes = []
        unknown = sorted({row.instance_id for _line, row in self.rows if row.instance_id not in known})
        if unknown:
            notes.append(f"{self.file}: {len(unknown)} prediction(s) name no task of this suite and are ignored: "
                         + ", ".join(unknown))
        for task_id in task_ids:
            rows = self._rows_for(task_id)
            if not rows:
                notes.append(f"{self.file}: no prediction for task {task_id} (counted as system_error)")
            elif len({row.model_patch or "" for _line, row in rows}) > 1:
                notes.append(f"{self.file}: {self._conflict(task_id, rows)} (counted as system_error)")
            elif len(rows) > 1:
                notes.append(f"{self.file}: {len(rows)} identical predictions for task {task_id} "
                             f"(lines {', '.join(str(line) for line, _ in rows)}); graded once")
            elif not (rows[0][1].model_patch or "").strip():
                notes.append(f"{self.file}:{rows[0][0]}: empty model_patch for task {task_id}; graded as is")
        return notes

    def solve(self, task: TaskView, workspace: Workspace) -> SystemOutput:
        rows = self._rows_for(task.id)
        if not rows:
            return SystemOutput(error=f"no prediction for task {task.id} in {self.file}")
        if len({row.model_patch or "" for _line, row in rows}) > 1:
            return SystemOutput(error=self._conflict(task.id, rows))
        line, row = rows[0]
        return SystemOutput(patch=row.model_patch or "",
                            log=f"{self.file}:{line} model_name_or_path={row.model_name_or_path}")

    def _rows_for(self, task_id: str) -> list[tuple[int, Prediction]]:
        return self.by_task.get(task_id, [])

    def _conflict(self, task_id: str, rows: list[tuple[int, Prediction]]) -> str:
        lines = ", ".join(str(line) for line, _ in rows)
        return f"{len(rows)} different predictions for task {task_id} in {self.file} (lines {lines}); keep one"


def load_predictions(file: Path) -> list[tuple[int, Prediction]]:
    """(line number, row) pairs from a JSON list, a JSON object keyed by instance_id, or JSON lines."""
    try:
        text = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ResqError(f"{file}: cannot read the predictions file ({exc}); pass a UTF-8 JSON or JSONL file")
    if text.lstrip().startswith("[") or _is_one_json_object(text):
        return _load_json(file, text)
    rows = []
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            try:
                rows.append((number, _row(json.loads(line))))
            except (json.JSONDecodeError, ValidationError, TypeError) as exc:
                raise ResqError(f"{file}:{number}: not a prediction row ({_short(exc)}); each line must be a JSON "
                                "object with instance_id and model_patch") from None
    return rows


def _load_json(file: Path, text: str) -> list[tuple[int, Prediction]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ResqError(f"{file}:{exc.lineno}: bad JSON ({exc.msg}); fix the file or write one JSON row per line")
    if isinstance(data, dict) and "instance_id" in data:
        data = [data]
    if isinstance(data, dict):  # SWE-bench also writes {instance_id: row}
        data = [{"instance_id": key, **value} if isinstance(value, dict) else value for key, value in data.items()]
    rows = []
    for index, item in enumerate(data, start=1):
        try:
            rows.append((index, _row(item)))
        except (ValidationError, TypeError) as exc:
            raise ResqError(f"{file}: row {index}: not a prediction ({_short(exc)}); each row needs instance_id "
                            "and model_patch") from None
    return rows


def _row(item) -> Prediction:
    if not isinstance(item, dict):
        raise TypeError(f"expected an object, got {type(item).__name__}")
    return Prediction.model_validate(item)


def _is_one_json_object(text: str) -> bool:
    """A whole-file JSON object (SWE-bench's {instance_id: row} form) rather than JSON lines."""
    try:
        return isinstance(json.loads(text), dict)
    except json.JSONDecodeError:
        return False


def _short(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        error = exc.errors()[0]
        return f"{'.'.join(str(p) for p in error['loc']) or 'row'}: {error['msg']}"
    return " ".join(str(exc).split())[:120]
