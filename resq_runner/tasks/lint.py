"""`resq tasks lint`: every problem of every task folder in a suite, found without Docker.

Unlike loading (which stops at the first error so a run never starts on a broken suite), lint keeps going and lists
all it finds: unreadable or unknown fields, missing files, duplicate ids, a gold patch that is not a unified diff or
does not apply to the snapshot, test ids that name no test of a hidden file or of the snapshot (Python files are
parsed, not run), paths in the test command that neither has, an instruction that quotes the hidden tests. Each
template is rendered (every parameter set, into a hidden folder of the suite) and its instances linted. A test
command that selects tests by expression (-k, -m, --deselect) gets a warning.
"""

from __future__ import annotations

import ast
import re
import shlex
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import AbstractSet, Literal

import yaml
from pydantic import ValidationError

from ..errors import ResqError
from ..models import BundleSnapshot, DirSnapshot, LintProblem, Task, TaskFolder
from . import TASK_FILE, YAML_LOADER, _describe, gold_patch, hidden_files, inside, resolve_suite

HUNK = re.compile(r"^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@")
GIT_EXTENDED = ("old mode", "new mode", "deleted file mode", "new file mode", "similarity index",
                "dissimilarity index", "rename from", "rename to", "copy from", "copy to", "index ", "Binary files")
# Lines this short, or that only import things, are common to any code and say nothing about the hidden tests.
MIN_LEAK_CHARS = 24
BOILERPLATE = re.compile(r"^(import |from \S+ import |const \{?[\w, ]+\}? = require\(|'use strict'|\"use strict\"|"
                         r"#|//|/\*|\*|\"\"\"|''')")


# pytest and node options whose next argument is a value, not a path
VALUE_OPTIONS = {"-k", "-m", "-p", "-c", "-o", "-W", "-r", "--deselect", "--ignore", "--ignore-glob", "--rootdir",
                 "--tb", "--junitxml", "--junit-xml", "--maxfail", "--durations", "--confcutdir", "--basetemp",
                 "--log-level", "--import-mode", "--override-ini", "--config-file", "--test-name-pattern",
                 "--test-reporter", "--test-reporter-destination", "--test-concurrency"}
SELECTING = ("-k", "-m", "--deselect")


def lint_suite(spec: str | Path, only: list[str] | None = None) -> list[LintProblem]:
    """Every problem of the suite's tasks (only those named in `only`, when given)."""
    root = resolve_suite(spec)
    problems: list[LintProblem] = []
    seen: dict[str, Path] = {}
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    if only:
        unknown = sorted(set(only) - {folder.name for folder in folders})
        if unknown:
            raise ResqError(f"{root}: no task named {', '.join(unknown)} (see `resq tasks list {root}`)")
        folders = [folder for folder in folders if folder.name in only]
    if not folders:
        problems.append(LintProblem(task=root.name, file=str(root), message="no task folders in this suite"))
    trees = WorkTrees()
    for folder in folders:
        tf, found = _load(folder, root.name)
        problems += found
        if tf is None:
            continue
        if tf.task.id in seen:
            problems.append(_problem(tf, TASK_FILE, f"duplicate task id '{tf.task.id}' (also {seen[tf.task.id]})"))
        seen[tf.task.id] = folder
        problems += lint_task(tf, trees)
        if tf.task.template is not None:
            problems += lint_template(tf, trees)
    return problems


def lint_template(tf: TaskFolder, trees: WorkTrees | None = None) -> list[LintProblem]:
    """Renders every instance of a template into a hidden folder of its suite (so suite-relative snapshot paths
    resolve) and lints each; problems name the instance and the template's own files."""
    from .templates import _render_folder, instance_id, parameter_sets

    if tf.task.template is None:
        return []
    try:
        sets = parameter_sets(tf.task.template, where=f"{tf.root / TASK_FILE}: ")
    except ResqError as exc:
        return [_problem(tf, TASK_FILE, str(exc))]
    problems = []
    with tempfile.TemporaryDirectory(dir=tf.root.parent, prefix=f".{tf.task.id}-lint-") as tmp:
        for parameters in sets:
            target = Path(tmp) / instance_id(tf.task.id, parameters)
            try:
                _render_folder(tf, parameters, target)
            except ResqError as exc:
                problems.append(_problem(tf, TASK_FILE, f"instance {target.name}: {exc}"))
                continue
            instance, found = _load(target, tf.suite)
            found += lint_task(instance, trees) if instance is not None else []
            problems += [p.model_copy(update={"task": f"{tf.suite}/{target.name}", "message": f"instance "
                                              f"{target.name}: {p.message}", "file": p.file.replace(
                                                  str(target), str(tf.root))}) for p in found]
            shutil.rmtree(target)
    return problems


def lint_task(tf: TaskFolder, trees: WorkTrees | None = None) -> list[LintProblem]:
    """Every problem of one task; `trees` shares snapshot work trees across the tasks of one lint."""
    trees = trees if trees is not None else WorkTrees()
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
    in_image = tf.task.snapshot is not None and tf.task.snapshot.kind == "image"  # no host checkout to read
    try:
        snapshot_files, applies = (frozenset(), "") if in_image else \
            _snapshot_checks(trees, tf, patch if not patch_problems else "")
    except ResqError as exc:
        return problems + [_problem(tf, TASK_FILE, f"snapshot: {exc}")]
    if applies:
        problems.append(_problem(tf, tf.task.gold_patch, f"does not apply to the snapshot: {applies}"))
    known = set(hidden) | snapshot_files
    if in_image:  # the repository lives in the image: test ids and command paths cannot be checked on the host
        return problems + _overlap_problems(tf)
    work = trees.of(tf)
    for group in ("fail_to_pass", "pass_to_pass"):
        for test_id in getattr(tf.task.success, group):
            file = test_id.split("::", 1)[0]
            if file not in known:
                problems.append(_problem(tf, TASK_FILE, f"success.{group}: '{test_id}' names {file}, which is "
                                         f"neither in {tf.task.hidden_tests}/ nor in the snapshot"))
                continue
            source = hidden[file] if file in hidden else (work / file).read_bytes()
            why = _missing_test(test_id, source)
            if why:
                problems.append(_problem(tf, TASK_FILE, f"success.{group}: '{test_id}': {why}; copy the id "
                                         "from `pytest --collect-only -q`"))
    problems += [_problem(tf, TASK_FILE, m) for m in command_problems(tf.task.tests, set(hidden), snapshot_files)]
    problems += [_problem(tf, TASK_FILE, m, "warning") for m in command_warnings(tf.task.tests)]
    return problems + _overlap_problems(tf)


def _overlap_problems(tf: TaskFolder) -> list[LintProblem]:
    overlap = set(tf.task.success.fail_to_pass) & set(tf.task.success.pass_to_pass)
    if not overlap:
        return []
    return [_problem(tf, TASK_FILE, f"tests listed as both fail_to_pass and pass_to_pass: "
                     f"{', '.join(sorted(overlap))}")]


class WorkTrees:
    """The snapshots' work trees for one lint, and their files: tasks naming the same snapshot share one, so a
    folder snapshot is hashed and listed once per lint, not once per task."""

    def __init__(self) -> None:
        self._trees: dict[tuple[str, str], Path] = {}
        self._files: dict[Path, frozenset[str]] = {}

    def of(self, tf: TaskFolder) -> Path:
        from ..environments import cache_dir
        from .snapshots import materialize, repository_snapshot

        snapshot = repository_snapshot(tf)
        folder = ""  # the same text may name another folder, from another task folder
        if isinstance(snapshot, (DirSnapshot, BundleSnapshot)):
            folder = str(inside(tf, snapshot.path, suite_wide=True))
        key = (snapshot.model_dump_json(), folder)
        if key not in self._trees:
            self._trees[key] = materialize(tf, cache_dir())
        return self._trees[key]

    def files(self, work: Path) -> frozenset[str]:
        """The files git tracks in a work tree (listed once per lint)."""
        if work not in self._files:
            listed = subprocess.run(["git", "ls-files", "-z"], cwd=work, capture_output=True, text=True).stdout
            self._files[work] = frozenset(listed.split("\0")) - {""}
        return self._files[work]


def _missing_test(test_id: str, source: bytes) -> str:
    """Why a pytest node id names nothing in the Python file's source ('' when it does, or cannot be told)."""
    file, *names = test_id.split("::")
    if not file.endswith(".py") or not names:
        return ""
    try:
        scope: ast.AST = ast.parse(source)
    except (SyntaxError, ValueError):
        return ""
    for depth, name in enumerate(names):
        name = name.split("[", 1)[0]
        members = _members(scope)
        if name not in members:
            inherited = isinstance(scope, ast.ClassDef) and \
                any(not (isinstance(b, ast.Name) and b.id == "object") for b in scope.bases)
            where = f"class {names[depth - 1]}" if depth else file
            return "" if inherited else f"{where} has no test '{name}'"
        scope = members[name]
        if not isinstance(scope, ast.ClassDef):
            return "" if depth == len(names) - 1 else f"'{name}' in {file} is not a class"
    return ""


def _members(scope: ast.AST) -> dict[str, ast.AST]:
    found: dict[str, ast.AST] = {}
    for node in ast.iter_child_nodes(scope):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            found[node.name] = node
        elif isinstance(node, ast.Assign):  # test_x = make_test(...)
            found.update((target.id, node) for target in node.targets if isinstance(target, ast.Name))
    return found


def _command_arguments(tests) -> list[str] | None:
    """The arguments after the test runner (`pytest` or `node --test`), or None for other frameworks."""
    try:
        words = shlex.split(tests.command)
    except ValueError:
        return None
    runner = {"pytest": ("pytest", "py.test"), "node": ("--test",)}.get(tests.framework)
    if runner is None:
        return None
    for index, word in enumerate(words):
        if word in runner or word.endswith("/pytest"):
            rest = words[index + 1:]
            cut = next((i for i, w in enumerate(rest) if w in ("&&", "||", ";", "|")), len(rest))
            return rest[:cut]
    return None


def command_problems(tests, hidden: set[str], snapshot_files: AbstractSet[str]) -> list[str]:
    """Paths the test command names that neither the hidden tests nor the snapshot have."""
    arguments = _command_arguments(tests)
    if arguments is None:
        return []
    files = hidden | snapshot_files
    problems, skip = [], False
    for word in arguments:
        if skip or word.startswith("-"):
            skip = not skip and word in VALUE_OPTIONS
            continue
        path = word.split("::", 1)[0].rstrip("/")
        if not path or any(c in path for c in "*?[$") or path == ".":
            continue
        if path not in files and not any(f.startswith(path + "/") for f in files):
            problems.append(f"tests.command names '{path}', which is neither in the hidden tests nor in the "
                            "snapshot (the test run would find nothing there)")
    return problems


def command_warnings(tests) -> list[str]:
    arguments = _command_arguments(tests) or []
    used = sorted({option for word in arguments for option in SELECTING
                   if word == option or word.startswith(option + "=") or
                   (option != "--deselect" and word.startswith(option) and len(word) > 2 and word[1] != "-")})
    return [f"tests.command selects tests with {option}, which would also deselect the harness's canary test "
            "(the harness keeps the canary selected); prefer naming test files or node ids" for option in used]


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


def _snapshot_checks(trees: WorkTrees, tf: TaskFolder, patch: str) -> tuple[frozenset[str], str]:
    """The snapshot's files, and why the gold patch does not apply to it ('' when it does)."""
    work = trees.of(tf)
    files = trees.files(work)
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
        data = yaml.load(file.read_text(encoding="utf-8"), Loader=YAML_LOADER)
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
        if tf.task.kind == "repo-edit" and not inside(tf, tf.task.hidden_tests).is_dir():
            found.append((tf.task.hidden_tests, "hidden tests folder is missing; create it and put the tests in it"))
        if tf.task.snapshot is not None and not inside(tf, tf.task.gold_patch).is_file():
            found.append((tf.task.gold_patch, "gold patch file is missing"))
        challenge = tf.task.challenge
        if tf.task.kind == "challenge" and challenge is not None and tf.task.template is None:
            if challenge.input_file and not inside(tf, challenge.input_file).is_file():
                found.append((challenge.input_file, "challenge.input_file is missing"))
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


def _problem(tf: TaskFolder, file: str, message: str, severity: Literal["error", "warning"] = "error") -> LintProblem:
    return LintProblem(task=tf.ref, file=str(tf.root / file), message=message, severity=severity)


def _squash(text: str) -> str:
    return " ".join(text.split())
