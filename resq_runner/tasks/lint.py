"""`resq tasks lint`: every problem of every task folder in a suite, found without Docker.

Unlike loading (which stops at the first error so a run never starts on a broken suite), lint keeps going and lists
all it finds: unreadable or unknown fields, missing files, duplicate ids, a gold patch that is not a unified diff or
does not apply to the snapshot, test ids whose file is neither a hidden test nor in the snapshot, an instruction
that quotes the hidden tests.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml
from pydantic import ValidationError

from ..errors import ResqError
from ..models import LintProblem, Task, TaskFolder
from . import TASK_FILE, _describe, gold_patch, hidden_files, inside, resolve_suite

HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")
GIT_EXTENDED = ("old mode", "new mode", "deleted file mode", "new file mode", "similarity index",
                "dissimilarity index", "rename from", "rename to", "copy from", "copy to", "index ", "Binary files")
# Lines this short, or that only import things, are common to any code and say nothing about the hidden tests.
MIN_LEAK_CHARS = 24
BOILERPLATE = re.compile(r"^(import |from \S+ import |const \{?[\w, ]+\}? = require\(|'use strict'|\"use strict\"|"
                         r"#|//|/\*|\*|\"\"\"|''')")


def lint_suite(spec: str | Path) -> list[LintProblem]:
    root = resolve_suite(spec)
    problems: list[LintProblem] = []
    seen: dict[str, Path] = {}
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    if not folders:
        problems.append(LintProblem(task=root.name, file=str(root), message="no task folders in this suite"))
    for folder in folders:
        tf, found = _load(folder, root.name)
        problems += found
        if tf is None:
            continue
        if tf.task.id in seen:
            problems.append(_problem(tf, TASK_FILE, f"duplicate task id '{tf.task.id}' (also {seen[tf.task.id]})"))
        seen[tf.task.id] = folder
        problems += lint_task(tf)
    return problems


def lint_task(tf: TaskFolder) -> list[LintProblem]:
    files = _file_problems(tf)
    problems = [_problem(tf, file, message) for file, message in files]
    missing = {file for file, _ in files}
    if tf.task.hidden_tests in missing or tf.task.template is not None:
        return problems  # a template's files are Jinja text: its expanded instances are what gets checked
    if tf.task.snapshot is None:
        return problems + _challenge_problems(tf)
    hidden = hidden_files(tf)
    problems += [_problem(tf, TASK_FILE, m) for m in _environment_problems(tf)]
    problems += [_problem(tf, TASK_FILE, f"instruction quotes the hidden test {name}: {line!r}; describe the "
                          "behaviour instead") for name, line in instruction_leaks(tf.task.instruction, hidden)]
    patch = gold_patch(tf)
    patch_problems = unified_diff_problems(patch) if tf.task.gold_patch not in missing else []
    problems += [_problem(tf, tf.task.gold_patch, m) for m in patch_problems]
    try:
        snapshot_files, applies = _snapshot_checks(tf, patch if not patch_problems else "")
    except ResqError as exc:
        return problems + [_problem(tf, TASK_FILE, f"snapshot: {exc}")]
    if applies:
        problems.append(_problem(tf, tf.task.gold_patch, f"does not apply to the snapshot: {applies}"))
    known = set(hidden) | snapshot_files
    for group in ("fail_to_pass", "pass_to_pass"):
        for test_id in getattr(tf.task.success, group):
            file = test_id.split("::", 1)[0]
            if file not in known:
                problems.append(_problem(tf, TASK_FILE, f"success.{group}: '{test_id}' names {file}, which is "
                                         f"neither in {tf.task.hidden_tests}/ nor in the snapshot"))
    overlap = set(tf.task.success.fail_to_pass) & set(tf.task.success.pass_to_pass)
    if overlap:
        problems.append(_problem(tf, TASK_FILE, f"tests listed as both fail_to_pass and pass_to_pass: "
                                 f"{', '.join(sorted(overlap))}"))
    return problems


def instruction_leaks(instruction: str, hidden: dict[str, bytes]) -> list[tuple[str, str]]:
    """(hidden file, line) for each non-trivial line of a hidden test that the instruction contains."""
    text = _squash(instruction)
    leaks = []
    for name, content in hidden.items():
        for line in content.decode("utf-8", "replace").splitlines():
            squashed = _squash(line)
            if len(squashed) >= MIN_LEAK_CHARS and not BOILERPLATE.match(squashed) and squashed in text:
                leaks.append((name, squashed))
    return leaks


def unified_diff_problems(patch: str) -> list[str]:
    """Why `patch` is not a unified diff git can apply (empty list: it parses)."""
    if not patch.strip():
        return ["is empty: edit the task's .work/ checkout and run `resq tasks gold SUITE/ID`"]
    lines = patch.splitlines()
    problems, files, index = [], 0, 0
    while index < len(lines):
        line = lines[index]
        if line.startswith("--- ") and index + 1 < len(lines) and lines[index + 1].startswith("+++ "):
            files += 1
            index += 2
            continue
        match = HUNK.match(line)
        if match:
            index, problem = _read_hunk(lines, index, match)
            if problem:
                problems.append(problem)
            continue
        if line.startswith("GIT binary patch"):
            files += 1
            index = _skip_binary(lines, index + 1)
            continue
        if not (line.startswith(("diff ", *GIT_EXTENDED)) or not line.strip()):
            problems.append(f"line {index + 1} is not part of a unified diff: {line[:80]!r}")
        index += 1
    if not files and not problems and not any(line.startswith(("new file mode", "deleted file mode"))
                                              for line in lines):
        problems.append("has no file headers (--- a/FILE / +++ b/FILE): it is not a unified diff")
    return problems[:5]


def _read_hunk(lines: list[str], index: int, match: re.Match) -> tuple[int, str]:
    old = int(match.group(1)) if match.group(1) is not None else 1
    new = int(match.group(2)) if match.group(2) is not None else 1
    start = index
    index += 1
    while index < len(lines) and (old > 0 or new > 0):
        line = lines[index]
        if line.startswith("\\"):
            index += 1
            continue
        tag = line[:1] or " "  # an empty line is a context line whose trailing space was stripped
        if tag == " ":
            old, new = old - 1, new - 1
        elif tag == "-":
            old -= 1
        elif tag == "+":
            new -= 1
        else:
            break
        index += 1
    while index < len(lines) and lines[index].startswith("\\"):
        index += 1
    if old != 0 or new != 0:
        return index, f"hunk at line {start + 1} has the wrong number of lines for its header {lines[start]!r}"
    return index, ""


def _skip_binary(lines: list[str], index: int) -> int:
    while index < len(lines) and not lines[index].startswith("diff "):
        index += 1
    return index


def _snapshot_checks(tf: TaskFolder, patch: str) -> tuple[set[str], str]:
    """The snapshot's files, and why the gold patch does not apply to it ('' when it does)."""
    from ..environments import cache_dir
    from .snapshots import materialize

    work = materialize(tf, cache_dir())
    files = set(subprocess.run(["git", "ls-files", "-z"], cwd=work, capture_output=True, text=True)
                .stdout.split("\0")) - {""}
    if not patch.strip():
        return files, ""
    proc = subprocess.run(["git", "apply", "--check", "-"], cwd=work, input=patch, capture_output=True, text=True)
    return files, "" if proc.returncode == 0 else " ".join(proc.stderr.split())[:200]


def _load(folder: Path, suite: str) -> tuple[TaskFolder | None, list[LintProblem]]:
    file = folder / TASK_FILE

    def problem(message: str) -> LintProblem:
        return LintProblem(task=f"{suite}/{folder.name}", file=str(file), message=message)

    if not file.exists():
        return None, [problem(f"missing {TASK_FILE}: every task folder needs one (or rename the folder to start "
                              "with '_' if it holds shared data)")]
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        return None, [problem(f"cannot read: {' '.join(str(exc).split())}")]
    if not isinstance(data, dict):
        return None, [problem("expected a mapping of task fields at the top level")]
    data.setdefault("id", folder.name)
    try:
        task = Task.model_validate(data)
    except ValidationError as exc:
        return None, [problem(part) for part in _describe(exc).split("; ")]
    found = []
    if task.id != folder.name:
        found.append(problem(f"id '{task.id}' differs from its folder name '{folder.name}'; make them equal"))
    return TaskFolder(task=task, root=folder.resolve(), suite=suite), found


def _file_problems(tf: TaskFolder) -> list[tuple[str, str]]:
    found = []
    try:
        snapshot = tf.task.snapshot
        if snapshot is not None and snapshot.kind in ("dir", "bundle") and \
                not inside(tf, snapshot.path, suite_wide=True).exists():
            found.append((TASK_FILE, f"snapshot.path '{snapshot.path}' does not exist"))
        if not inside(tf, tf.task.hidden_tests).is_dir():
            found.append((tf.task.hidden_tests, "hidden tests folder is missing; create it and put the tests in it"))
        if tf.task.snapshot is not None and not inside(tf, tf.task.gold_patch).is_file():
            found.append((tf.task.gold_patch, "gold patch file is missing"))
    except ResqError as exc:
        found.append((TASK_FILE, str(exc)))
    if "TODO" in tf.task.instruction:
        found.append((TASK_FILE, "instruction still has the scaffold's TODO: write it as an issue would"))
    return found


def _challenge_problems(tf: TaskFolder) -> list[LintProblem]:
    """A task without a repository (a challenge): only its instruction can leak what grades it."""
    return [_problem(tf, TASK_FILE, f"instruction quotes the hidden test {name}: {line!r}; describe the behaviour "
                     "instead") for name, line in instruction_leaks(tf.task.instruction, hidden_files(tf))]


def _environment_problems(tf: TaskFolder) -> list[str]:
    from ..environments import definitions_dir

    found = []
    name = tf.task.environment.name
    if not (definitions_dir() / name / "environment.yaml").exists():
        found.append(f"environment '{name}' has no environments/{name}/environment.yaml")
    tests = tf.task.tests
    if tests is not None and tests.framework == "node" and "--test" not in tests.command.split():
        found.append("tests.command must run Node's test runner (`node --test ...`) for framework node")
    return found


def _problem(tf: TaskFolder, file: str, message: str) -> LintProblem:
    return LintProblem(task=tf.ref, file=str(tf.root / file), message=message)


def _squash(text: str) -> str:
    return " ".join(text.split())
