"""Task suites on disk: loading, validation errors that name the file and field, and content hashes.

tasks/<suite>/
├── <task>/            one folder per task (see models.TaskFolder for its layout)
└── _<anything>/       folders starting with '_' hold shared data (for example snapshots), not tasks
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
from pathlib import Path

import yaml
from pydantic import ValidationError

from ..errors import TaskError
from ..models import Challenge, OracleFile, Task, TaskFolder, TaskView, TestSpec

TASK_FILE = "task.yaml"
YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml's parser, when present, is ~10x faster
MAX_PATCH_BYTES = 5 * 1024 * 1024


def resolve_suite(spec: str | Path) -> Path:
    """A suite is named by its folder, or by its name under ./tasks/."""
    path = Path(spec)
    if path.is_dir():
        return path.resolve()
    under_tasks = Path("tasks") / path
    if under_tasks.is_dir():
        return under_tasks.resolve()
    raise TaskError(f"{spec}: no such suite folder (give a path, or a name under ./tasks/)")


def load_suite(spec: str | Path, only: list[str] | None = None) -> list[TaskFolder]:
    """The suite's concrete tasks (template instances included, templates themselves not)."""
    root = resolve_suite(spec)
    tasks = [tf for tf in _load_folders(root) if tf.task.template is None]
    if only:
        repeated = sorted({task_id for task_id in only if only.count(task_id) > 1})
        if repeated:
            raise TaskError(f"--task {', '.join(repeated)} given more than once; name each task once")
        known = {t.task.id for t in tasks}
        unknown = [task_id for task_id in only if task_id not in known]
        if unknown:
            raise TaskError(f"{root}: no task named {', '.join(unknown)} (see `resq tasks list {root}`)")
        tasks = [t for t in tasks if t.task.id in only]
    if not tasks:
        hint = " (it has templates: run `resq tasks expand` first)" if load_templates(root) else ""
        raise TaskError(f"{root}: no task folders with a {TASK_FILE} in this suite{hint}")
    return tasks


def load_templates(spec: str | Path) -> list[TaskFolder]:
    return [tf for tf in _load_folders(resolve_suite(spec)) if tf.task.template is not None]


def _load_folders(root: Path) -> list[TaskFolder]:
    folders = sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith((".", "_")))
    loaded = [load_task(folder, suite=root.name) for folder in folders if (folder / TASK_FILE).exists()]
    _check_unique_ids(loaded)
    return loaded


def load_task(folder: Path, suite: str) -> TaskFolder:
    file = folder / TASK_FILE
    try:
        data = yaml.load(file.read_text(encoding="utf-8"), Loader=YAML_LOADER)
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise TaskError(f"{file}: cannot read: {_one_line(exc)}") from exc
    if not isinstance(data, dict):
        raise TaskError(f"{file}: expected a mapping of task fields at the top level")
    data.setdefault("id", folder.name)
    try:
        task = Task.model_validate(data)
    except ValidationError as exc:
        raise TaskError(f"{file}: {_describe(exc)}") from exc
    if task.id != folder.name:
        raise TaskError(f"{file}: id '{task.id}' differs from its folder name '{folder.name}'; make them equal")
    loaded = TaskFolder(task=task, root=folder.resolve(), suite=suite)
    _check_files(loaded, file)
    return loaded


def inside(tf: TaskFolder, relative: str, *, suite_wide: bool = False) -> Path:
    """A path named in task.yaml, refused if it leaves the task folder (or the suite, for shared snapshots)."""
    boundary = tf.root.parent if suite_wide else tf.root
    path = _resolved(tf.root, relative)
    if not path.is_relative_to(boundary):
        raise TaskError(f"{tf.root / TASK_FILE}: path '{relative}' leaves the {'suite' if suite_wide else 'task'} folder")
    return path


@functools.lru_cache(maxsize=4096)
def _resolved(root: Path, relative: str) -> Path:
    """A task's paths are resolved once per process (a run asks for each several times per task)."""
    return (root / relative).resolve()


def hidden_files(tf: TaskFolder) -> dict[str, bytes]:
    """Hidden test files keyed by their path inside the repository."""
    hidden = inside(tf, tf.task.hidden_tests)
    if not hidden.is_dir():
        return {}
    return {name: Path(full).read_bytes() for name, full in _files(hidden)}


def gold_patch(tf: TaskFolder) -> str:
    path = inside(tf, tf.task.gold_patch)
    if not path.exists():
        return ""
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise TaskError(f"{path}: not UTF-8 text (byte {exc.object[exc.start]:#x} at offset {exc.start}); "
                        "write the patch as a text diff (`git diff --binary` for binary files)") from exc


def check_gold_patch(tf: TaskFolder) -> None:
    """The gold patch must be a non-empty text diff of reasonable size: one error line otherwise."""
    path = inside(tf, tf.task.gold_patch)
    if not path.exists() or not path.read_bytes().strip():
        raise TaskError(f"{path}: empty or missing, so `gold` has nothing to apply; write the reference solution "
                        f"(for example with `resq tasks gold {tf.ref}`)")
    size = path.stat().st_size
    if size > MAX_PATCH_BYTES:
        raise TaskError(f"{path}: {size} bytes, more than the {MAX_PATCH_BYTES} a patch may have; "
                        "keep generated or data files out of the gold patch")
    data = path.read_bytes()
    if b"\0" in data:
        raise TaskError(f"{path}: holds NUL bytes (a binary file, not a diff); write it with `git diff --binary`")
    text = gold_patch(tf)
    if text.strip() and not any(line.startswith(("diff --git ", "--- ", "+++ ")) for line in text.splitlines()):
        raise TaskError(f"{path}: not a unified diff (no 'diff --git' or '---/+++' header lines)")


def tests_of(tf: TaskFolder) -> TestSpec:
    """The test spec of a repo-edit task (a challenge has none; loading checks every repo-edit task has one)."""
    if tf.task.tests is None:
        raise TaskError(f"{tf.root / 'task.yaml'}: a {tf.task.kind} task has no `tests`")
    return tf.task.tests


def challenge_of(tf: TaskFolder) -> Challenge:
    """The challenge section of a challenge task (loading checks every challenge task has one)."""
    if tf.task.challenge is None:
        raise TaskError(f"{tf.root / 'task.yaml'}: a {tf.task.kind} task has no `challenge`")
    return tf.task.challenge


def gold_program(tf: TaskFolder) -> str | None:
    """A challenge's reference program, if the task has one."""
    if tf.task.challenge is None:
        return None
    path = inside(tf, tf.task.challenge.gold_program)
    return path.read_text(encoding="utf-8") if path.exists() else None


def challenge_input(tf: TaskFolder) -> bytes | None:
    """The input file a challenge program is run on (None when the challenge has none)."""
    challenge = tf.task.challenge
    if challenge is None or challenge.input_file is None:
        return None
    return inside(tf, challenge.input_file).read_bytes()


def task_view(tf: TaskFolder, oracle_context: bool = False) -> TaskView:
    language = tf.task.challenge.language if tf.task.challenge else None
    oracle = None
    if oracle_context and tf.task.oracle_context:
        try:
            oracle = [OracleFile.model_validate(item) for item in
                      json.loads(inside(tf, tf.task.oracle_context).read_text(encoding="utf-8"))]
        except (OSError, ValueError) as exc:
            raise TaskError(f"{tf.root / TASK_FILE}: oracle_context '{tf.task.oracle_context}' is not a JSON list "
                            f"of {{path, content}} ({_one_line(exc)})") from exc
    return TaskView(id=tf.task.id, kind=tf.task.kind, instruction=tf.task.instruction, tags=tf.task.tags,
                    language=language, oracle_context=oracle,
                    visible_test_command=tf.task.tests.visible_command if tf.task.tests else None)


def task_hash(tf: TaskFolder) -> str:
    """Changes whenever anything that can change a grade changes: the record, hidden tests, gold patch, snapshot."""
    digest = hashlib.sha256(tf.task.model_dump_json().encode())
    for name, content in hidden_files(tf).items():
        digest.update(name.encode() + b"\0" + content)
    digest.update(gold_patch(tf).encode())
    snapshot = tf.task.snapshot
    if snapshot is None:
        digest.update(challenge_input(tf) or b"")
        digest.update((gold_program(tf) or "").encode())
    elif snapshot.kind == "git":
        digest.update(f"{snapshot.url}@{snapshot.commit}".encode())
    elif snapshot.kind == "pypi" or snapshot.kind == "deb":
        digest.update(snapshot.sha256.encode())
    elif snapshot.kind == "image":
        digest.update(snapshot.model_dump_json().encode())
    else:
        digest.update(tree_hash(inside(tf, snapshot.path, suite_wide=True)).encode())
    return digest.hexdigest()


def tree_hash(path: Path) -> str:
    """Hash of a file or of every file under a folder (names and contents).

    Tasks of a suite often share one snapshot folder, and a run asks for its hash several times per task (the suite
    hash, each task's hash, the image tag). So the contents are read and hashed once per process for each listing
    of the folder (every file's name, size and modification time); any change to that listing reads them again.
    A listing with a file modified in the last RACY_S seconds is not kept: a file rewritten within the clock tick
    of its last write keeps its modification time (git's "racy" rule)."""
    files = _files(path)
    listing, newest = hashlib.sha256(str(path.resolve()).encode()), 0
    for name, full in files:
        stat = os.stat(full)
        listing.update(f"\0{name}\0{stat.st_size}\0{stat.st_mtime_ns}".encode())
        newest = max(newest, stat.st_mtime_ns)
    key = listing.hexdigest()
    known = _TREE_HASHES.get(key)
    if known is not None:
        return known
    digest = hashlib.sha256()
    for name, full in files:
        digest.update(name.encode() + b"\0")
        with open(full, "rb") as source:
            digest.update(source.read())
    found = digest.hexdigest()
    if newest < time.time_ns() - RACY_S * 1_000_000_000:
        _TREE_HASHES[key] = found
    return found


_TREE_HASHES: dict[str, str] = {}  # the listing's hash -> the contents' hash (see tree_hash)
RACY_S = 2


def _files(path: Path) -> list[tuple[str, str]]:
    """(name, full path) of a file, or of every file under a folder by its path inside it: links to files are
    followed, links to folders are not, in the order of their path components (as sorted Paths)."""
    if path.is_file():
        return [(path.name, str(path))]
    base, found = str(path), []
    for folder, _folders, names in os.walk(base):
        inner = folder[len(base) + 1:]
        for name in names:
            full = os.path.join(folder, name)
            if os.path.isfile(full):
                found.append((f"{inner}/{name}" if inner else name, full))
    found.sort(key=lambda item: item[0].split("/"))
    return found


def suite_hash(tasks: list[TaskFolder]) -> str:
    return hashlib.sha256("".join(task_hash(t) for t in tasks).encode()).hexdigest()


def _check_files(tf: TaskFolder, file: Path) -> None:
    if tf.task.template is not None:
        return  # paths may name parameters; they are checked on the expanded instances
    snapshot = tf.task.snapshot
    if snapshot is not None and snapshot.kind in ("dir", "bundle") and \
            not inside(tf, snapshot.path, suite_wide=True).exists():
        raise TaskError(f"{file}: snapshot.path '{snapshot.path}' does not exist; add it or fix the path")
    if tf.task.kind == "repo-edit" and not inside(tf, tf.task.hidden_tests).is_dir():
        raise TaskError(f"{file}: hidden_tests folder '{tf.task.hidden_tests}' does not exist; create it")
    tests = tf.task.tests
    if tests is not None and tests.framework == "script" and \
            not (tests.script and (inside(tf, tf.task.hidden_tests) / tests.script).is_file()):
        raise TaskError(f"{file}: tests.script '{tests.script}' is not a file of the hidden folder; add it")
    challenge = tf.task.challenge
    if challenge is not None and challenge.input_file is not None and not inside(tf, challenge.input_file).is_file():
        raise TaskError(f"{file}: challenge.input_file '{challenge.input_file}' does not exist; add it")


def _check_unique_ids(tasks: list[TaskFolder]) -> None:
    seen: set[str] = set()
    for tf in tasks:
        if tf.task.id in seen:
            raise TaskError(f"{tf.root / TASK_FILE}: duplicate task id '{tf.task.id}'")
        seen.add(tf.task.id)


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"]) or "(top level)"
        parts.append(f"field '{where}': {error['msg']}")
    return "; ".join(parts)


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())
