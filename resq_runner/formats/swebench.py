"""SWE-bench: instances in, predictions and a harness-shaped report out.

Instance row → task:
- repo + base_commit → a git snapshot: `<DIR>/<owner>__<name>` (or `<DIR>/<name>`, `<DIR>/<owner>/<name>`) with
  `--repos DIR`, otherwise https://github.com/<repo>.git.
- test_patch → hidden tests: the files it touches, as they are after applying it to base_commit (worked out at
  import time from the repository); they are laid over the patched repository at grading, as SWE-bench does.
- FAIL_TO_PASS / PASS_TO_PASS (lists, or JSON strings of lists) → success.
- Tests run with pytest and graded from JUnit by default (`python -m pytest -rA <test files>`). A row may say
  otherwise with `test_cmd` (a command to run, test files appended) and `log_parser` (a swebench parser name such
  as parse_log_django, or a repository key): such tasks are graded from the log with the swebench package (the
  optional extra `resq-runner[swebench]`).
- patch → gold.patch; problem_statement → instruction; version, environment_setup_commit, created_at → source.
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from pathlib import Path

from ..errors import ResqError
from ..models import Outcome, Prediction, Record, Result
from .common import (RowError, ImportSummary, TaskFiles, load_rows, make_task, require, row_error,
                     validate_row, write_suite)

DIFF_HEADER = re.compile(r"^diff --git a/(\S+) b/(\S+)$", re.MULTILINE)
PYTEST = "python -m pytest -p no:cacheprovider -rA"
PYTEST_COMMAND = re.compile(r"^\s*(python3? -m )?pytest\b[^\n;&|]*$")
START_MARKER, END_MARKER = ">>>>> Start Test Output", ">>>>> End Test Output"


def import_swebench(file: Path, out: Path, *, repos: Path | None = None, skip_invalid: bool = False,
                    timeout_s: float = 600) -> ImportSummary:
    file = Path(file)
    rows = load_rows(file)
    mirrors = Mirrors(repos)
    try:
        builds = [(f"{file}: row {number}", _builder(row, file, number, mirrors, timeout_s))
                  for number, row in enumerate(rows, start=1)]
        return write_suite(out, builds, skip_invalid=skip_invalid)
    finally:
        mirrors.close()


def _builder(row, file, number, mirrors, timeout_s):
    return lambda: [instance_to_task(row, file, number, mirrors, timeout_s)]


def instance_to_task(row: dict, file: Path, number: int, mirrors: "Mirrors", timeout_s: float) -> TaskFiles:
    fields = {key: require(row, key, file, number) for key in
              ("instance_id", "repo", "base_commit", "problem_statement", "test_patch")}
    patch = row.get("patch") or ""
    if not isinstance(patch, str):
        raise row_error(file, number, "patch", "expected a unified diff as a string")
    fail_to_pass = _test_list(row, "FAIL_TO_PASS", file, number)
    pass_to_pass = _test_list(row, "PASS_TO_PASS", file, number)
    if not fail_to_pass:
        raise row_error(file, number, "FAIL_TO_PASS", "empty: an instance needs at least one test that the fix "
                        "makes pass")
    url, repository = mirrors.locate(fields["repo"], file, number)
    hidden = hidden_from_test_patch(repository, fields["base_commit"], fields["test_patch"], file, number)
    tests = _tests_spec(row, sorted(hidden), file, number)
    source = {"benchmark": "SWE-bench", "repo": fields["repo"], "base_commit": fields["base_commit"]}
    source.update({key: str(row[key]) for key in ("version", "environment_setup_commit", "created_at")
                   if row.get(key)})
    data = {
        "id": fields["instance_id"].replace("/", "__"), "instruction": fields["problem_statement"],
        "snapshot": {"kind": "git", "url": url, "commit": fields["base_commit"]},
        "tests": tests, "success": {"fail_to_pass": fail_to_pass, "pass_to_pass": pass_to_pass},
        "timeout_s": timeout_s, "tags": ["swebench"], "source": source,
    }
    files = {f"hidden/{path}": content for path, content in hidden.items()}
    files["gold.patch"] = patch.encode()
    return TaskFiles(task=make_task(data, file, number), files=files)


def _test_list(row: dict, key: str, file: Path, number: int) -> list[str]:
    value = row.get(key, [])
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else []
        except ValueError as exc:
            raise row_error(file, number, key, f"a string that is not a JSON list ({exc})") from exc
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise row_error(file, number, key, "expected a list of test ids")
    return value


def _tests_spec(row: dict, test_files: list[str], file: Path, number: int) -> dict:
    """How the hidden tests run: the row's own `test_cmd` (test files appended), else the test command of its
    `eval_script` (SWE-bench 5 rows: the lines between the test-output markers), else pytest on the test files.
    pytest commands are graded from JUnit; anything else from the log, with the row's `log_parser`."""
    command, parser = row.get("test_cmd"), row.get("log_parser")
    if command is not None and not isinstance(command, str):
        raise row_error(file, number, "test_cmd", "expected a command string")
    if parser is not None and not isinstance(parser, str):
        raise row_error(file, number, "log_parser", "expected a swebench log parser name")
    files = " ".join(test_files)
    if command:
        command = f"{command} {files}"
    else:
        command = eval_script_tests(row.get("eval_script"))
        if command and not PYTEST_COMMAND.match(command):
            if not parser:
                raise row_error(file, number, "log_parser", "missing: the eval_script's tests are not pytest, so "
                                "their log needs one of swebench's parsers")
            return {"framework": "log", "log_parser": parser, "command": command}
        parser = None
        command = command or f"{PYTEST} {files}"
    if parser:
        return {"framework": "log", "log_parser": parser, "command": command}
    return {"framework": "pytest", "command": command}


def eval_script_tests(script) -> str | None:
    """The test command of a SWE-bench eval script: the lines between its start and end output markers."""
    if not isinstance(script, str) or START_MARKER not in script:
        return None
    lines = script.split("\n")
    start = next(i for i, line in enumerate(lines) if START_MARKER in line)
    end = next((i for i, line in enumerate(lines) if END_MARKER in line and i > start), len(lines))
    body = [line for line in lines[start + 1:end] if line.strip()]
    return "\n".join(body) or None


def hidden_from_test_patch(repository: Path, commit: str, test_patch: str, file: Path, number: int
                           ) -> dict[str, bytes]:
    """The files the test patch touches, as they are after applying it to `commit`."""
    paths = DIFF_HEADER.findall(test_patch)
    if not paths:
        raise row_error(file, number, "test_patch", "not a git diff (no `diff --git` header)")
    if _git(repository, "cat-file", "-e", f"{commit}^{{commit}}").returncode != 0:
        raise row_error(file, number, "base_commit", f"commit {commit} is not in {repository}")
    with tempfile.TemporaryDirectory(prefix="resq-testpatch-") as tmp:
        work = Path(tmp)
        subprocess.run(["git", "init", "-q", str(work)], check=True)  # so `git apply` stays in this folder
        for old, _new in paths:
            shown = _git(repository, "show", f"{commit}:{old}")
            if shown.returncode == 0:
                (work / old).parent.mkdir(parents=True, exist_ok=True)
                (work / old).write_bytes(shown.stdout)
        applied = subprocess.run(["git", "apply", "--whitespace=nowarn", "-"], input=test_patch.encode(), cwd=work,
                                 capture_output=True)
        if applied.returncode != 0:
            detail = " ".join(applied.stderr.decode("utf-8", "replace").split())[:200]
            raise row_error(file, number, "test_patch", f"does not apply to base_commit ({detail})")
        hidden = {}
        for _old, new in paths:
            if not (work / new).is_file():
                raise row_error(file, number, "test_patch", f"deletes {new}; hidden tests can only add or replace "
                                "files")
            hidden[new] = (work / new).read_bytes()
    return hidden


class Mirrors:
    """Where each repository comes from: a local mirror folder, or a bare clone of its GitHub URL (made once)."""

    def __init__(self, root: Path | None):
        self.root = Path(root).resolve() if root else None
        if self.root and not self.root.is_dir():
            raise ResqError(f"{root}: --repos is not a folder of repository mirrors")
        self._clones: dict[str, Path] = {}
        self._tmp: tempfile.TemporaryDirectory | None = None

    def locate(self, repo: str, file: Path, number: int) -> tuple[str, Path]:
        """(URL the task records, a local repository to read base_commit from)."""
        if self.root:
            owner, _, name = repo.partition("/")
            for candidate in (self.root / repo.replace("/", "__"), self.root / name, self.root / owner / name):
                if candidate.is_dir() and _git(candidate, "rev-parse", "--git-dir").returncode == 0:
                    return str(candidate), candidate
            raise row_error(file, number, "repo", f"no mirror of {repo} in {self.root} (looked for "
                            f"{repo.replace('/', '__')}, {name}, {repo})")
        url = f"https://github.com/{repo}.git"
        if repo not in self._clones:
            self._tmp = self._tmp or tempfile.TemporaryDirectory(prefix="resq-swebench-")
            target = Path(self._tmp.name) / repo.replace("/", "__")
            clone = subprocess.run(["git", "clone", "--quiet", "--bare", url, str(target)], capture_output=True)
            if clone.returncode != 0:
                detail = " ".join(clone.stderr.decode("utf-8", "replace").split())[:160]
                raise RowError(f"{file}: row {number}: field 'repo': cannot clone {url} ({detail}); give a "
                                   "folder of local mirrors with --repos")
            self._clones[repo] = target
        return url, self._clones[repo]

    def close(self) -> None:
        if self._tmp:
            self._tmp.cleanup()


def _git(repository: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(repository), *args], capture_output=True)


# ---------------------------------------------------------------------------------------------------------------
# Predictions and report


def read_predictions(file: Path) -> dict[str, str]:
    """instance id → patch from SWE-bench predictions (JSONL, or a JSON array or id-keyed object)."""
    file = Path(file)
    rows = load_rows(file)
    if len(rows) == 1 and isinstance(rows[0], dict) and "instance_id" not in rows[0]:
        rows = list(rows[0].values())  # the {instance_id: prediction} form
    patches: dict[str, str] = {}
    for number, row in enumerate(rows, start=1):
        prediction = validate_row(Prediction, row, file, number)
        task_id = prediction.instance_id.replace("/", "__")
        if task_id in patches:
            raise row_error(file, number, "instance_id", f"duplicate id '{prediction.instance_id}'")
        patches[task_id] = prediction.model_patch or ""
    return patches


def predictions(results: list[Result], patches: dict[str, str], model: str) -> list[dict]:
    rows = [Prediction(instance_id=r.task_id, model_name_or_path=model, model_patch=patches.get(r.task_id, ""))
            for r in sorted(results, key=lambda r: r.task_id)]
    return [row.model_dump() for row in rows]


class Report(Record):
    """The SWE-bench harness's run report (schema_version 2), as its make_run_report writes it."""

    total_instances: int
    submitted_instances: int
    completed_instances: int
    resolved_instances: int
    unresolved_instances: int
    empty_patch_instances: int
    error_instances: int
    completed_ids: list[str]
    incomplete_ids: list[str]
    empty_patch_ids: list[str]
    submitted_ids: list[str]
    resolved_ids: list[str]
    unresolved_ids: list[str]
    error_ids: list[str]
    schema_version: int = 2


def report(results: list[Result], patches: dict[str, str], task_ids: list[str]) -> dict:
    """Resolved / unresolved / error / empty-patch ids in the SWE-bench harness's report shape.

    As in that harness, an empty patch is not evaluated (it counts as empty_patch, not unresolved); a patch that
    does not apply or whose evaluation broke is an error; a graded patch is resolved or unresolved.
    """
    by_id = {r.task_id: r for r in results}
    empty = {i for i, r in by_id.items() if not patches.get(i, "").strip() and r.outcome is not Outcome.system_error}
    errors = {i for i, r in by_id.items() if i not in empty and r.outcome in
              (Outcome.patch_failed, Outcome.system_error, Outcome.infra_error)}
    resolved = {i for i, r in by_id.items() if i not in empty and r.outcome is Outcome.passed}
    decided = empty | errors | resolved  # once: a union per id made this quadratic
    unresolved = {i for i in by_id if i not in decided}
    completed, submitted = resolved | unresolved, set(by_id)
    return Report(
        total_instances=len(set(task_ids) | submitted), submitted_instances=len(submitted),
        completed_instances=len(completed), resolved_instances=len(resolved),
        unresolved_instances=len(unresolved), empty_patch_instances=len(empty), error_instances=len(errors),
        completed_ids=sorted(completed), incomplete_ids=sorted(set(task_ids) - submitted),
        empty_patch_ids=sorted(empty), submitted_ids=sorted(submitted), resolved_ids=sorted(resolved),
        unresolved_ids=sorted(unresolved), error_ids=sorted(errors)).model_dump()
