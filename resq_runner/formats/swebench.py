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
- The environment the row describes (SWE-bench's specs for its repo/version, `--specs FILE`, its `install_config`,
  `requirements` + `python`, commit0 `setup`/`test`; see environments/rows.py) → `environment.spec`, built as an
  image shared by every row with the same content; its test_cmd, eval_commands and log_parser shape the tests. A
  row with none of them runs in the generic `python` environment, with a warning (`strict`: an error).
- `namespace` (SWE-bench's word for where its images live; `none` for local images) → an `image` snapshot of the
  published instance image `sweb.eval.x86_64.<instance>` (repository at /testbed, conda env `testbed`).
"""

from __future__ import annotations

import json
import re
import subprocess
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..environments import load_definition
from ..environments.rows import SpecError, row_environment
from ..errors import ResqError
from ..models import Outcome, Prediction, Record, Result
from .common import (RowError, ImportSummary, TaskFiles, load_rows, make_task, require, row_error,
                     validate_row, write_suite)

DIFF_HEADER = re.compile(r"^diff --git a/(\S+) b/(\S+)$", re.MULTILINE)
PYTEST = "python -m pytest -p no:cacheprovider -rA"
PYTEST_COMMAND = re.compile(r"^\s*(python3? -m )?pytest\b[^\n;&|]*$")
START_MARKER, END_MARKER = ">>>>> Start Test Output", ">>>>> End Test Output"
CONDA_ACTIVATE = ". /opt/miniconda3/bin/activate && conda activate testbed"  # SWE-bench images: conda env testbed


@dataclass
class ImportOptions:
    """How rows become tasks beyond their own fields."""

    timeout_s: float = 600
    specs: dict | None = None  # {repo: {version: spec}}; None: swebench's MAP_REPO_VERSION_TO_SPECS if it has one
    environment: str | None = None  # a named environment for every row, whatever the rows say
    namespace: str | None = None  # tasks on SWE-bench's published instance images ("none": local image names)
    strict: bool = False  # a row with no environment fields is an error instead of a warning
    warnings: list[str] = field(default_factory=list)


def import_swebench(file: Path, out: Path, *, repos: Path | None = None, skip_invalid: bool = False,
                    timeout_s: float = 600, options: ImportOptions | None = None) -> ImportSummary:
    file = Path(file)
    options = options or ImportOptions(timeout_s=timeout_s)
    if options.environment:
        load_definition(options.environment)  # an unknown name is one error line before any row is read
    rows = load_rows(file)
    mirrors = Mirrors(repos)
    try:
        builds = [(f"{file}: row {number}", _builder(row, file, number, mirrors, options))
                  for number, row in enumerate(rows, start=1)]
        summary = write_suite(out, builds, skip_invalid=skip_invalid)
    finally:
        mirrors.close()
    summary.warnings = options.warnings
    return summary


def _builder(row, file, number, mirrors, options):
    return lambda: [instance_to_task(row, file, number, mirrors, options)]


def instance_to_task(row: dict, file: Path, number: int, mirrors: "Mirrors", options: "ImportOptions | float"
                     ) -> TaskFiles:
    if not isinstance(options, ImportOptions):
        options = ImportOptions(timeout_s=options)
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
    environment, described = _environment(row, fields, repository, file, number, options)
    tests = _tests_spec(row, sorted(hidden), file, number, described)
    source = {"benchmark": "SWE-bench", "repo": fields["repo"], "base_commit": fields["base_commit"]}
    source.update({key: str(row[key]) for key in ("version", "environment_setup_commit", "created_at")
                   if row.get(key)})
    snapshot = {"kind": "git", "url": url, "commit": fields["base_commit"]}
    if options.namespace:
        snapshot = {"kind": "image", "image": instance_image(fields["instance_id"], options.namespace),
                    "workdir": "/testbed", "activate": CONDA_ACTIVATE}
    data = {
        "id": fields["instance_id"].replace("/", "__"), "instruction": fields["problem_statement"],
        "snapshot": snapshot, "environment": environment,
        "tests": tests, "success": {"fail_to_pass": fail_to_pass, "pass_to_pass": pass_to_pass},
        "timeout_s": options.timeout_s, "tags": ["swebench"], "source": source,
    }
    files = {f"hidden/{path}": content for path, content in hidden.items()}
    files["gold.patch"] = patch.encode()
    return TaskFiles(task=make_task(data, file, number), files=files)


def instance_image(instance_id: str, namespace: str) -> str:
    """SWE-bench's name for an instance's image (image_spec.ImageSpec.name): local, or under a registry namespace
    (where Docker Hub's ban on `__` makes it `_1776_`)."""
    key = f"sweb.eval.x86_64.{instance_id}:latest"
    if namespace.lower() != "none":
        key = f"{namespace}/{key}".replace("__", "_1776_")
    return key.lower()


def _environment(row: dict, fields: dict, repository: Path, file: Path, number: int, options: ImportOptions
                 ) -> tuple[dict, object]:
    """(task.yaml's environment, what the row describes or None), first match wins (environments/rows.py)."""
    if options.environment:
        return {"name": options.environment}, None
    commit = row.get("environment_setup_commit") or fields["base_commit"]

    def read(path: str) -> str | None:
        shown = _git(repository, "show", f"{commit}:{path}")
        return shown.stdout.decode("utf-8", "replace") if shown.returncode == 0 else None

    try:
        described = row_environment(row, read, options.specs)
    except SpecError as exc:
        raise RowError(f"{file}: row {number}: {exc}") from exc
    if described is None:
        if options.namespace:
            return {"name": "python"}, None  # the instance image carries its environment
        message = (f"{file}: row {number} ({fields['instance_id']}): no spec and no environment fields "
                   "(install_config, requirements, python, setup); it runs in the generic 'python' environment")
        if options.strict:
            raise RowError(message + " and --strict refuses that; give --specs FILE or --environment NAME")
        options.warnings.append(message)
        return {"name": "python"}, None
    if options.namespace:
        return {"name": "python"}, described  # test command and parser still come from the spec
    return {"name": "python", "spec": described.spec.model_dump(exclude_defaults=True)}, described


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


def _tests_spec(row: dict, test_files: list[str], file: Path, number: int, described=None) -> dict:
    """How the hidden tests run: the row's own `test_cmd` (test files appended), else the test command of its
    `eval_script` (SWE-bench 5 rows: the lines between the test-output markers), else the spec's `test_cmd` (test
    files appended), else pytest on the test files. pytest commands are graded from JUnit; anything else from the
    log, with the row's (or the spec's) `log_parser`. The spec's eval_commands run first."""
    command, parser = row.get("test_cmd"), row.get("log_parser")
    if command is not None and not isinstance(command, str):
        raise row_error(file, number, "test_cmd", "expected a command string")
    if parser is not None and not isinstance(parser, str):
        raise row_error(file, number, "log_parser", "expected a swebench log parser name")
    parser = parser or (described.log_parser if described else None)
    prefix = "".join(f"{line} && " for line in (described.eval_commands if described else []))
    files = " ".join(test_files)
    if command:
        command = f"{command} {files}"
    else:
        command = eval_script_tests(row.get("eval_script"))
        if not command and described and described.test_cmd:
            command = f"{described.test_cmd} {files}"
        if command and not PYTEST_COMMAND.match(command):
            if not parser:
                raise row_error(file, number, "log_parser", "missing: the tests are not run by pytest, so their "
                                "log needs one of swebench's parsers")
            return {"framework": "log", "log_parser": parser, "command": prefix + command}
        parser = None  # a pytest command is graded from JUnit, whatever parser the row names
        command = command or f"{PYTEST} {files}"
    if parser:
        return {"framework": "log", "log_parser": parser, "command": prefix + command}
    return {"framework": "pytest", "command": prefix + command}


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
    unresolved = {i for i in by_id if i not in empty | errors | resolved}
    completed, submitted = resolved | unresolved, set(by_id)
    return Report(
        total_instances=len(set(task_ids) | submitted), submitted_instances=len(submitted),
        completed_instances=len(completed), resolved_instances=len(resolved),
        unresolved_instances=len(unresolved), empty_patch_instances=len(empty), error_instances=len(errors),
        completed_ids=sorted(completed), incomplete_ids=sorted(set(task_ids) - submitted),
        empty_patch_ids=sorted(empty), submitted_ids=sorted(submitted), resolved_ids=sorted(resolved),
        unresolved_ids=sorted(unresolved), error_ids=sorted(errors)).model_dump()


# ---------------------------------------------------------------------------------------------------------------
# Verdict parity with the SWE-bench harness


class SwebenchGrade(Record):
    """swebench's own grading of one test output: per-test statuses of the listed tests and the verdict."""

    resolved: bool
    statuses: dict[str, str]  # listed test id -> PASSED / FAILED / ERROR / SKIPPED / XFAIL / missing


def swebench_grade(task, test_output: str) -> SwebenchGrade:
    """Run swebench's get_eval_report (get_logs_eval inside it) over a test output, as its harness would grade it:
    the output between its start and end markers, parsed with the task's log parser (pytest's for JUnit-graded
    tasks, whose command runs pytest with -rA)."""
    from swebench.harness.constants import EvalType
    from swebench.harness.grading import get_eval_report
    from swebench.types import TestSpec

    from ..grading.logs import log_parser
    from swebench.harness.log_parsers import PARSER_REGISTRY

    parser = log_parser(task.tests.log_parser or "parse_log_pytest")
    name = next(key for key, value in PARSER_REGISTRY.items() if value is parser)
    spec = TestSpec(instance_id=task.id, image="", eval_script_list=[], repo=task.source.get("repo", ""),
                    version=task.source.get("version", ""), FAIL_TO_PASS=task.success.fail_to_pass,
                    PASS_TO_PASS=task.success.pass_to_pass, log_parser=name,
                    eval_type=EvalType.PASS_AND_FAIL.value)
    with tempfile.TemporaryDirectory(prefix="resq-parity-") as tmp:
        log = Path(tmp) / "test_output.txt"
        log.write_text(f"{START_MARKER}\n{test_output}\n{END_MARKER}\n", encoding="utf-8")
        report = get_eval_report(spec, {"instance_id": task.id, "model_patch": "-"}, str(log), True)[task.id]
        status_map = parser(test_output, spec)
    listed = task.success.fail_to_pass + task.success.pass_to_pass
    return SwebenchGrade(resolved=bool(report["resolved"]),
                         statuses={test: status_map.get(test, "missing") for test in listed})


def parity_disagreements(task, result: Result, test_output: str) -> list[str]:
    """Where resq's grade of one evaluation differs from swebench's over the same test output (empty: agreement).
    A resq verdict is compared on passed-or-not; per-test statuses on passing-or-not, as both graders count them."""
    theirs = swebench_grade(task, test_output)
    problems = []
    if theirs.resolved != (result.outcome is Outcome.passed):
        problems.append(f"{task.id}: swebench resolved={theirs.resolved}, resq {result.outcome.value}"
                        f"{f' ({result.reason})' if result.reason else ''}")
    ours = {**result.fail_to_pass, **result.pass_to_pass}
    for test, status in theirs.statuses.items():
        mine = ours.get(test)
        their_pass = status in ("PASSED", "XFAIL")
        my_pass = mine is not None and mine.value == "passed"
        if their_pass != my_pass:
            problems.append(f"{task.id}: {test}: swebench {status}, resq {mine.value if mine else 'absent'}")
    return problems
