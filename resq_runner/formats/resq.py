"""RES-Q: its dataset in, its submission and results formats in and out.

Dataset record → task:
- repo_url + base_commit → a git snapshot (a URL, or a local path to a clone).
- test_script → the hidden test (framework `script`): run from the repository root; it passes only if it exits 0
  and prints a per-run random secret that the grader places before its success exit (`sys.exit(0)` or
  `sys.exit(exit_code)`, RES-Q's own convention), so a patch that ends the process early cannot pass.
- testbed_environment ("python3.9") → recorded in `source`; the task runs in the `python` environment (the
  Python of its Debian base), since other interpreters are not available offline.
- requirements_txt → the task's pip requirements (wheels fetched on the host, installed offline in its image).
- solution_patch → gold.patch; modified_files (a list of {path, content}, or in older files a string holding a
  path → content dict) → oracle_context.json, the optional "oracle context" a system may be given.

Submission: a JSON array of {id, patch}. Results: a JSON array of {id, success, message, test_suite_feedback} with
message PASS, FAIL, PATCH FAILED or TIMED OUT.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from ..errors import ResqError
from ..models import Outcome, Record, Result
from .common import (ImportSummary, TaskFiles, load_rows, make_task, require, row_error, validate_row,
                     write_suite)

SCRIPT_NAME = "test_script.py"
ResultMessage = Literal["PASS", "FAIL", "PATCH FAILED", "TIMED OUT"]
MESSAGES: dict[Outcome, ResultMessage] = {Outcome.passed: "PASS", Outcome.patch_failed: "PATCH FAILED",
                                          Outcome.timed_out: "TIMED OUT"}


def import_resq(dataset: Path, out: Path, *, skip_invalid: bool = False, timeout_s: float = 300) -> ImportSummary:
    dataset = Path(dataset)
    rows = load_rows(dataset)
    builds = [(f"{dataset}: row {number}", _builder(row, dataset, number, timeout_s))
              for number, row in enumerate(rows, start=1)]
    return write_suite(out, builds, skip_invalid=skip_invalid)


def _builder(row, dataset, number, timeout_s):
    return lambda: [record_to_task(row, dataset, number, timeout_s)]


def record_to_task(row: dict, file: Path, number: int, timeout_s: float) -> TaskFiles:
    task_id = require(row, "id", file, number, (str, int))
    fields = {key: require(row, key, file, number) for key in
              ("repo_url", "instruction", "base_commit", "test_script")}
    script = fields["test_script"]
    if "sys.exit(0)" not in script and "sys.exit(exit_code)" not in script:
        raise row_error(file, number, "test_script", "has no `sys.exit(0)` (or `sys.exit(exit_code)`) success exit, "
                        "so the grader cannot place its secret")
    language = row.get("language") or "python"
    if str(language).lower() != "python":
        raise row_error(file, number, "language", f"'{language}' is not supported (RES-Q Python tasks only)")
    requirements = _requirements(row.get("requirements_txt") or "", file, number)
    oracle = _modified_files(row.get("modified_files"), file, number)
    patch = row.get("solution_patch") or ""
    if not isinstance(patch, str):
        raise row_error(file, number, "solution_patch", "expected a unified diff as a string")
    source = {"benchmark": "RES-Q", "repo_url": fields["repo_url"], "base_commit": fields["base_commit"],
              "testbed_environment": str(row.get("testbed_environment") or ""),
              "solution_commit": str(row.get("solution_commit") or ""), "language": str(language)}
    data = {
        "id": _task_id(str(task_id)), "instruction": fields["instruction"],
        "snapshot": {"kind": "git", "url": fields["repo_url"], "commit": fields["base_commit"]},
        "environment": {"name": "python", "pip_requirements": requirements},
        "tests": {"framework": "script", "script": SCRIPT_NAME, "command": "python {script}"},
        "timeout_s": timeout_s, "tags": ["resq"], "source": source,
    }
    files = {f"hidden/{SCRIPT_NAME}": script.encode(), "gold.patch": patch.encode()}
    if oracle:
        data["oracle_context"] = "oracle_context.json"
        files["oracle_context.json"] = json.dumps(oracle, indent=1).encode()
    return TaskFiles(task=make_task(data, file, number), files=files)


def _task_id(raw: str) -> str:
    return raw.strip().replace("/", "__")


def _requirements(text: str, file: Path, number: int) -> list[str]:
    if not isinstance(text, str):
        raise row_error(file, number, "requirements_txt", "expected the text of a requirements file")
    lines = [line.split("#", 1)[0].strip() for line in text.splitlines()]
    lines = [line for line in lines if line]
    for line in lines:
        if line.startswith("-"):
            raise row_error(file, number, "requirements_txt", f"pip option '{line}' is not supported; list "
                            "requirements only")
    return lines


def _modified_files(value, file: Path, number: int) -> list[dict]:
    """modified_files as a list of {path, content}; older files hold a JSON string of a path → content dict."""
    if value in (None, "", []):
        return []
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError as exc:
            raise row_error(file, number, "modified_files", f"a string that is not JSON ({exc})") from exc
    if isinstance(value, dict):
        value = [{"path": path, "content": content} for path, content in value.items()]
    if not isinstance(value, list) or not all(isinstance(item, dict) and isinstance(item.get("path"), str)
                                              and isinstance(item.get("content"), str) for item in value):
        raise row_error(file, number, "modified_files", "expected a list of {path, content} (or a path → content "
                        "dict)")
    return [{"path": item["path"], "content": item["content"]} for item in value]


# ---------------------------------------------------------------------------------------------------------------
# Submissions and results


class SubmissionRow(Record):
    """One entry of a RES-Q submission file."""

    id: str
    patch: str


class ResultRow(Record):
    """One entry of a RES-Q results file."""

    id: str
    success: bool
    message: ResultMessage
    test_suite_feedback: str = ""


def _json_array(file: Path, what: str) -> list:
    try:
        data = json.loads(Path(file).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ResqError(f"{file}: not a readable JSON {what} ({exc})") from exc
    if not isinstance(data, list):
        raise ResqError(f"{file}: a RES-Q {what} is a JSON array")
    return data


def read_submission(file: Path) -> dict[str, str]:
    """task id → patch from a RES-Q submission (a JSON array of {id, patch})."""
    patches: dict[str, str] = {}
    for number, row in enumerate(_json_array(file, "submission"), start=1):
        entry = validate_row(SubmissionRow, row, file, number)
        if _task_id(entry.id) in patches:
            raise row_error(file, number, "id", f"duplicate id '{entry.id}'")
        patches[_task_id(entry.id)] = entry.patch
    return patches


def read_results(file: Path) -> list[ResultRow]:
    """A RES-Q results file (ours or RES-Q's own harness's), to compare with published numbers."""
    return [validate_row(ResultRow, row, file, number)
            for number, row in enumerate(_json_array(file, "results file"), start=1)]


def submission(results: list[Result], patches: dict[str, str]) -> list[dict]:
    rows = [SubmissionRow(id=r.task_id, patch=patches.get(r.task_id, "")) for r in sorted(results, key=_by_id)]
    return [row.model_dump() for row in rows]


def results_rows(results: list[Result], feedback: dict[str, str]) -> list[dict]:
    """RES-Q's results shape; feedback (the test output) is kept for failures only, as RES-Q does."""
    rows = []
    for result in sorted(results, key=_by_id):
        message = MESSAGES.get(result.outcome, "FAIL")
        text = "" if message in ("PASS", "TIMED OUT") else (feedback.get(result.task_id) or result.reason)
        rows.append(ResultRow(id=result.task_id, success=result.outcome is Outcome.passed, message=message,
                              test_suite_feedback=text).model_dump())
    return rows


def _by_id(result: Result) -> str:
    return result.task_id
