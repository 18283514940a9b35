"""Task certificates: `resq tasks certify SUITE` checks each task (lint, gold N times, noop once) in real
containers through the run pipeline and writes tasks/<suite>/<task>/certificate.json.

A certificate is current while the digests it holds still match the task (task files, hidden tests, gold patch,
snapshot, and the task image's content-hash tag). `resq run` warns about tasks without a current certificate and
`--require-certified` refuses them; reports show each task's status.

The checks are gathered into a TaskChecks record first and the certificate is decided from it, so a fuller
validation (e.g. `resq tasks validate`) can supply the checks instead of `run_checks` below.
"""

from __future__ import annotations

import hashlib
import secrets
import subprocess
import tempfile
import threading
from collections import Counter
from pathlib import Path

import docker

from . import __version__, environments
from .errors import ResqError
from .grading import GRADER_VERSION
from .models import (Certificate, CertificateDigests, CertificateRun, ImageRef, Outcome, Record, Result, SystemSpec,
                     TaskFolder, now_utc)
from .results import RunPaths
from .pipeline import Pipeline
from .sandbox import Limits, remove_run_containers
from .scheduling import RetryPolicy
from .systems import make_system
from .tasks import gold_patch, hidden_files, inside, load_suite
from .tasks.snapshots import materialize, snapshot_hash

CERTIFICATE_FILE = "certificate.json"


class TaskChecks(Record):
    lint: list[str] = []
    gold: list[Result] = []
    noop: list[Result] = []
    image_id: str = ""

    def of(self, system: str) -> list[Result]:
        """The results of `gold` or `noop`."""
        return {"gold": self.gold, "noop": self.noop}[system]


# ---------------------------------------------------------------------------------------------------------------
# Digests and status


def digests(tf: TaskFolder, image_id: str = "") -> CertificateDigests:
    return CertificateDigests(task_files=_folder_digest(tf.root), hidden_tests=_files_digest(hidden_files(tf)),
                              gold_patch=hashlib.sha256(gold_patch(tf).encode()).hexdigest(),
                              snapshot=snapshot_hash(tf), image_tag=expected_image_tag(tf), image_id=image_id)


def expected_image_tag(tf: TaskFolder) -> str:
    """The task image's tag from the inputs alone (no engine needed)."""
    environment = ImageRef(tag=environments.environment_tag(tf.task.environment.name), id="")
    return environments.expected_task_tag(tf.task, environment, snapshot_hash(tf))


def read_certificate(tf: TaskFolder) -> Certificate | None:
    file = tf.root / CERTIFICATE_FILE
    if not file.is_file():
        return None
    try:
        return Certificate.model_validate_json(file.read_text())
    except ValueError:
        return None


def certificate_status(tf: TaskFolder) -> str:
    """current | stale (what changed) | not certified (verdict) | none."""
    certificate = read_certificate(tf)
    if certificate is None:
        return "none"
    now = digests(tf).model_dump(exclude={"image_id"})
    then = certificate.digests.model_dump(exclude={"image_id"})
    changed = [name for name in now if now[name] != then[name]]
    if changed:
        return f"stale ({', '.join(changed)} changed)"
    return "current" if certificate.certified else f"not certified ({certificate.verdict})"


def _folder_digest(root: Path) -> str:
    digest = hashlib.sha256()
    files = (p for p in root.rglob("*") if p.is_file() and p.name != CERTIFICATE_FILE)
    for path in sorted(p for p in files if p.relative_to(root).parts[0] != ".work"):  # an author's checkout
        digest.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _files_digest(files: dict[str, bytes]) -> str:
    digest = hashlib.sha256()
    for name, content in sorted(files.items()):
        digest.update(name.encode() + b"\0" + content)
    return digest.hexdigest()


# ---------------------------------------------------------------------------------------------------------------
# Lint (no containers)


def lint(tf: TaskFolder) -> list[str]:
    problems = []
    patch, hidden = gold_patch(tf), hidden_files(tf)
    work = materialize(tf, environments.cache_dir())
    if not patch.strip():
        problems.append("the gold patch is empty")
    else:
        check = subprocess.run(["git", "apply", "--check", "-"], cwd=work, input=patch.encode(), capture_output=True)
        if check.returncode != 0:
            problems.append("the gold patch does not apply to the snapshot: "
                            + " ".join(check.stderr.decode("utf-8", "replace").split())[:200])
    if not hidden:
        problems.append(f"no hidden test files in {inside(tf, tf.task.hidden_tests)}")
    for kind, tests in (("FAIL_TO_PASS", tf.task.success.fail_to_pass), ("PASS_TO_PASS", tf.task.success.pass_to_pass)):
        for test in tests:
            file = test.split("::", 1)[0]
            if file not in hidden and not (work / file).is_file():
                problems.append(f"{kind} test {test}: {file} is neither a hidden test file nor in the snapshot")
    quoted = [line.strip() for content in hidden.values() for line in content.decode("utf-8", "replace").splitlines()
              if len(line.strip()) >= 30 and line.strip() in tf.task.instruction]
    if quoted:
        problems.append(f"the instruction quotes hidden test code: {quoted[0][:80]!r}")
    return problems


# ---------------------------------------------------------------------------------------------------------------
# Runs through the pipeline


def run_checks(client: docker.DockerClient, tf: TaskFolder, environment: ImageRef, runs: int, work: Path,
               limits: Limits = Limits(), policy: RetryPolicy = RetryPolicy()) -> TaskChecks:
    checks = TaskChecks(lint=lint(tf))
    run_id = f"certify-{tf.task.id[:40]}-{secrets.token_hex(3)}"
    paths = RunPaths(work / tf.task.id)
    stop = threading.Event()
    try:
        for name, count in (("gold", runs), ("noop", 1)):
            spec = SystemSpec(name=name)
            pipeline = Pipeline(client, make_system(spec), spec, run_id, paths, limits)
            for sample in range(count):
                number = sample + (0 if name == "gold" else runs)
                result = policy.run(lambda attempt: pipeline.run_task(tf, environment, attempt, stop, number), stop)
                checks.of(name).append(result)
                checks.image_id = checks.image_id or result.image_digest
    finally:
        remove_run_containers(client, run_id)
    return checks


def decide(tf: TaskFolder, checks: TaskChecks) -> Certificate:
    gold = [row.outcome for row in checks.gold]
    passed = gold.count(Outcome.passed)
    most_common = Counter(gold).most_common(1)[0][1] if gold else 0
    verdict = _verdict(checks, passed)
    statuses: dict[str, set] = {}
    for row in checks.gold:
        for test, status in row.tests.items():
            statuses.setdefault(test, set()).add(status)
    tests_s = [row.timings.eval_tests for row in checks.gold if row.outcome is Outcome.passed]
    return Certificate(
        task_id=tf.task.id, certified=verdict == "certified", verdict=verdict,
        digests=digests(tf, checks.image_id), lint=checks.lint,
        runs=[CertificateRun(system=row.system.name, outcome=row.outcome, reason=row.reason,
                             tests_s=row.timings.eval_tests) for row in checks.gold + checks.noop],
        gold_runs=len(gold), gold_passed=passed, flake_rate=(len(gold) - most_common) / len(gold) if gold else 0.0,
        flaky_tests=sorted(test for test, seen in statuses.items() if len(seen) > 1),
        gold_test_runtime_s=sum(tests_s) / len(tests_s) if tests_s else 0.0, date=now_utc(),
        runner_version=__version__, grader_version=GRADER_VERSION)


def _verdict(checks: TaskChecks, passed: int) -> str:
    runs = len(checks.gold)
    if checks.lint:
        return f"invalid: {checks.lint[0]}"
    broken = [row for row in checks.gold + checks.noop if row.outcome is Outcome.infra_error]
    if broken:
        return f"invalid: infrastructure error ({broken[0].reason[:120]}); certify again"
    if passed == 0:
        return f"invalid: gold fails {runs} of {runs} ({checks.gold[0].outcome.value}: {checks.gold[0].reason[:120]})"
    if passed < runs:
        return f"flaky: gold passes {passed} of {runs}"
    if any(row.outcome is Outcome.passed for row in checks.noop):
        return "invalid: noop passes (the hidden tests do not test the change)"
    return "certified"


def write_certificate(tf: TaskFolder, certificate: Certificate) -> Path:
    file = tf.root / CERTIFICATE_FILE
    temporary = file.with_name(file.name + ".tmp")
    temporary.write_text(certificate.model_dump_json(indent=2) + "\n")
    temporary.replace(file)
    return file


def certify_suite(suite: str, runs: int = 3, only: list[str] | None = None, jobs: int = 1,
                  log=print) -> list[tuple[TaskFolder, Certificate]]:
    from concurrent.futures import ThreadPoolExecutor

    from .sandbox import connect

    if runs < 1:
        raise ResqError(f"--runs {runs}: certify needs at least one gold run")
    tasks = load_suite(suite, only)
    client = connect()
    envs = {name: environments.ensure_environment(client, name, log=log)
            for name in sorted({tf.task.environment.name for tf in tasks})}
    with tempfile.TemporaryDirectory(prefix="resq-certify-") as tmp:
        def certify(tf: TaskFolder) -> tuple[TaskFolder, Certificate]:
            certificate = decide(tf, run_checks(client, tf, envs[tf.task.environment.name], runs, Path(tmp)))
            write_certificate(tf, certificate)
            log(f"{tf.ref}: {certificate.verdict}")
            return tf, certificate

        with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
            return list(pool.map(certify, tasks))
