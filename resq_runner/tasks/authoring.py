"""Writing a task: scaffold a task folder from a snapshot spec, check the snapshot out for the author, and record
the author's edits as the gold patch.

    resq tasks new SUITE ID --snapshot SPEC   tasks/SUITE/ID/{task.yaml, hidden/, gold.patch} and .work/ (git)
    resq tasks gold SUITE/ID                  .work/'s diff against the snapshot → gold.patch
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import git
import yaml

from ..errors import TaskError
from ..models import BundleSnapshot, DebSnapshot, DirSnapshot, GitSnapshot, PypiSnapshot, TaskFolder
from . import TASK_FILE, hidden_files, inside, load_task

WORK_DIR = ".work"
SPEC_FORMS = "pypi:NAME==VERSION, deb:PACKAGE[=VERSION], git:URL@COMMIT, bundle:PATH[@REF] or dir:PATH"

TEMPLATE = """\
# A resq-runner task. Every field is listed; delete the comments when the task is done.
# Check it with `resq tasks lint {suite}`, then `resq tasks validate {suite} --task {id}` (real containers).

# id: the task's name; must equal the folder name.
id: {id}

# instruction: what a maintainer would write in an issue. Describe the problem or the feature and the expected
# behaviour; never paste the hidden tests.
instruction: |
  TODO: describe the change, as an issue would.

# snapshot: the repository the system starts from (it always sees it as a git work tree with one commit).
#   {{kind: pypi, name, version, sha256}}   a source distribution from the package index
#   {{kind: deb, package, version, sha256}} a Debian package; its /usr/share/nodejs/<name>/ folder (or `path`)
#   {{kind: git, url, commit}}              {{kind: bundle, path, ref}}      {{kind: dir, path}}
snapshot: {snapshot}

# environment: a folder of environments/ (python, node, ...).
environment: {{name: {environment}}}

# setup: commands run in the image after the snapshot is copied in, before any system sees it.
setup: []

# hidden_tests: folder of files laid over the repository at grading time only (paths as in the repository).
hidden_tests: hidden

# tests: how the hidden tests run. framework `pytest` (JUnit report) or `node` (Node's built-in test runner);
# the grader adds the report flags itself.
tests:
  framework: {framework}
  command: {command}

# success: tests that must fail before the change and pass after it (fail_to_pass), and tests that must pass
# both before and after (pass_to_pass). Ids: `file::test` for pytest and `file::suite::test` for node.
# With both lists empty, every reported test must pass.
success:
  fail_to_pass: []
  pass_to_pass: []

# protected: paths restored from the snapshot before grading if the system's patch touches them.
# protected: ["tests/**", "test/**", "**/conftest.py", "conftest.py", "pytest.ini", "tox.ini"]

# gold_patch: the reference solution; write it by editing {id}/.work/ and running `resq tasks gold {suite}/{id}`.
gold_patch: gold.patch

# timeout_s: seconds the hidden tests may take.
timeout_s: 120

# tags: kind (bugfix, feature, refactor), files:N (files the gold patch touches), difficulty (easy, medium, hard).
tags: []

# source: provenance: the library, its version, where the snapshot came from, who wrote the task.
source: {source}
"""

FRAMEWORKS = {"node": ("node", "node --test test/"),
              "python": ("pytest", "python -m pytest -p no:cacheprovider -q tests")}
# The folders a snapshot's own tests usually live in, most common first; the scaffold uses the snapshot's.
TEST_FOLDERS = {"python": ("tests", "test", "testing"), "node": ("test", "tests", "__tests__")}


AnySnapshot = DirSnapshot | BundleSnapshot | GitSnapshot | PypiSnapshot | DebSnapshot


def parse_snapshot_spec(spec: str, task_dir: Path) -> AnySnapshot:
    """A snapshot record from `KIND:VALUE`; package sources are downloaded once to record their sha256."""
    from .snapshots import fetch_deb, fetch_sdist

    kind, _, value = spec.partition(":")
    if not value:
        raise TaskError(f"--snapshot {spec}: expected one of {SPEC_FORMS}")
    if kind == "pypi":
        name, sep, version = value.partition("==")
        if not sep or not name or not version:
            raise TaskError(f"--snapshot {spec}: give the exact version, as pypi:{name or 'NAME'}==VERSION"
                            + _versions_hint(pypi_versions(name) if name else []))
        try:
            return PypiSnapshot(name=name, version=version, sha256=_sha256(fetch_sdist(name, version, None)))
        except TaskError as exc:
            raise TaskError(f"{exc}{_versions_hint(pypi_versions(name))}") from None
    if kind == "deb":
        package, _, version = value.partition("=")
        version = version or apt_candidate(package)
        try:
            return DebSnapshot(package=package, version=version, sha256=_sha256(fetch_deb(package, version, None)))
        except TaskError as exc:
            raise TaskError(f"{exc}{_versions_hint(apt_versions(package))}") from None
    if kind == "git":
        url, sep, commit = value.rpartition("@")
        if not sep or not re.fullmatch(r"[0-9a-fA-F]{7,40}", commit):
            raise TaskError(f"--snapshot {spec}: give a commit id, as git:URL@COMMIT")
        return GitSnapshot(url=url, commit=commit)
    if kind in ("dir", "bundle"):
        path, _, ref = value.partition("@") if kind == "bundle" else (value, "", "")
        relative = _relative_to_task(Path(path), task_dir, spec)
        return BundleSnapshot(path=relative, ref=ref or "HEAD") if kind == "bundle" else DirSnapshot(path=relative)
    raise TaskError(f"--snapshot {spec}: unknown kind '{kind}'; expected one of {SPEC_FORMS}")


def pypi_versions(name: str) -> list[str]:
    """The versions the package index offers (newest first), as pip sees them; [] when it cannot tell."""
    import sys

    proc = subprocess.run([sys.executable, "-m", "pip", "index", "versions", name, "--disable-pip-version-check"],
                          capture_output=True, text=True)
    match = re.search(r"Available versions: (.+)", proc.stdout)
    return match.group(1).split(", ") if match else []


def apt_versions(package: str) -> list[str]:
    proc = subprocess.run(["apt-cache", "madison", package], capture_output=True, text=True)
    return list(dict.fromkeys(line.split("|")[1].strip() for line in proc.stdout.splitlines() if "|" in line))


def _versions_hint(versions: list[str]) -> str:
    if not versions:
        return ""
    return f"; available: {', '.join(versions[:12])}{', ...' if len(versions) > 12 else ''}"


def apt_candidate(package: str) -> str:
    proc = subprocess.run(["apt-cache", "policy", package], capture_output=True, text=True)
    match = re.search(r"Candidate:\s*(\S+)", proc.stdout)
    if proc.returncode != 0 or not match or match.group(1) == "(none)":
        raise TaskError(f"--snapshot deb:{package}: apt knows no installable version of {package}; run "
                        "`apt-get update`, or name one as deb:PACKAGE=VERSION")
    return match.group(1)


def new_task(suite: str | Path, task_id: str, spec: str) -> TaskFolder:
    """Scaffold tasks/SUITE/ID/ and check its snapshot out in .work/."""
    suite_dir = Path(suite) if Path(suite).is_dir() or "/" in str(suite) else Path("tasks") / suite
    task_dir = suite_dir / task_id
    if (task_dir / TASK_FILE).exists():
        raise TaskError(f"{task_dir / TASK_FILE}: already exists; choose another id or edit that task")
    if not task_id or "/" in task_id or task_id.startswith((".", "_")):
        raise TaskError(f"{task_id!r}: a task id is a name without '/' that does not start with '.' or '_'")
    snapshot = parse_snapshot_spec(spec, task_dir)
    suite_dir.mkdir(parents=True, exist_ok=True)
    environment = "node" if snapshot.kind == "deb" else "python"
    framework, command = FRAMEWORKS[environment]
    task_dir.mkdir(parents=True, exist_ok=True)
    (task_dir / "hidden").mkdir(exist_ok=True)
    (task_dir / "gold.patch").touch()
    fields = {"kind": snapshot.kind} | snapshot.model_dump(exclude_defaults=True, exclude={"kind"})
    (task_dir / TASK_FILE).write_text(TEMPLATE.format(
        id=task_id, suite=suite_dir.name, environment=environment, framework=framework, command=command,
        snapshot=_flow(fields), source=_flow(_provenance(snapshot))))
    tf = load_task(task_dir, suite=suite_dir.name)
    _use_test_layout(tf, checkout(tf), environment, command)
    return load_task(task_dir, suite=suite_dir.name)


def _use_test_layout(tf: TaskFolder, work: Path, environment: str, default_command: str) -> None:
    """Point the scaffold's test command and hidden/ at the folder the snapshot keeps its own tests in."""
    folder = next((name for name in TEST_FOLDERS[environment] if (work / name).is_dir()), None)
    if folder is None:  # e.g. a package that keeps them inside itself: mylib/tests
        nested = sorted(p.relative_to(work).as_posix() for p in work.glob("*/*") if p.is_dir() and
                        p.name in TEST_FOLDERS[environment] and not p.parent.name.startswith("."))
        folder = nested[0] if nested else None
    if folder is None:
        return
    (tf.root / tf.task.hidden_tests / folder).mkdir(parents=True, exist_ok=True)
    runner, _, _default = default_command.rpartition(" ")
    task_file = tf.root / TASK_FILE
    text = task_file.read_text(encoding="utf-8")
    task_file.write_text(text.replace(f"  command: {default_command}\n",
                                      f"  command: {runner} {folder}{'/' if environment == 'node' else ''}\n"),
                         encoding="utf-8")


def checkout(tf: TaskFolder) -> Path:
    """The snapshot as a one-commit git work tree in the task's .work/ folder (git-ignored), for the author."""
    from ..environments import cache_dir
    from .snapshots import materialize

    work = tf.root / WORK_DIR
    if work.exists():
        raise TaskError(f"{work}: already exists; remove it to check the snapshot out again")
    shutil.copytree(materialize(tf, cache_dir()), work, symlinks=True)
    return work


def record_gold(tf: TaskFolder) -> tuple[Path, list[str]]:
    """Write .work/'s changes (new files included, hidden test files left out) as the gold patch."""
    work = tf.root / WORK_DIR
    if not (work / ".git").is_dir():
        raise TaskError(f"{work}: no checkout to record; run `resq tasks new` first (or restore {WORK_DIR}/)")
    repo = git.Repo(work)
    excluded = [f":(exclude){name}" for name in hidden_files(tf)]
    repo.git.add("-A", "--", ".", *excluded)
    patch = repo.git.diff("--cached", "--binary", "HEAD", "--", ".", *excluded)
    files = repo.git.diff("--cached", "--name-only", "HEAD", "--", ".", *excluded).split()
    if not patch.strip():
        raise TaskError(f"{work}: no changes against the snapshot; edit the files there, then run this again")
    target = inside(tf, tf.task.gold_patch)
    target.write_text(patch + "\n")
    return target, files


def _relative_to_task(path: Path, task_dir: Path, spec: str) -> str:
    if not path.exists():
        raise TaskError(f"--snapshot {spec}: {path} does not exist")
    if not path.resolve().is_relative_to(task_dir.parent.resolve()):
        raise TaskError(f"--snapshot {spec}: {path} is outside the suite; move it under "
                        f"{task_dir.parent}/_snapshots/ so the suite carries it")
    return os.path.relpath(path.resolve(), task_dir.resolve())


def _provenance(snapshot) -> dict[str, str]:
    if snapshot.kind == "pypi":
        return {"library": snapshot.name, "version": snapshot.version,
                "snapshot": f"PyPI sdist {snapshot.name}=={snapshot.version}", "origin": "TODO: who wrote the task"}
    if snapshot.kind == "deb":
        return {"library": snapshot.package.removeprefix("node-"), "version": snapshot.version,
                "snapshot": f"Debian package {snapshot.package}={snapshot.version}",
                "origin": "TODO: who wrote the task"}
    return {"snapshot": snapshot.model_dump_json(), "origin": "TODO: who wrote the task"}


def _flow(mapping: dict) -> str:
    return yaml.safe_dump(mapping, default_flow_style=True, sort_keys=False, width=1000).strip()


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


