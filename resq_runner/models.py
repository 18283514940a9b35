"""The records that flow between pipeline stages.

Every file resq-runner reads or writes has a model here. This module imports nothing else of the package, so any
stage can depend on it and none depends on another stage's internals.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Annotated, Any, Literal, Self, Union

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_serializer, model_validator

SCHEMA_VERSION = 1


class Record(BaseModel):
    """Base for every record: unknown fields are errors, so a typo in a task file is caught at load time."""

    model_config = ConfigDict(extra="forbid")

    def content_hash(self) -> str:
        return sha256_text(self.model_dump_json())

    @classmethod
    def of_typed(cls, values: dict[str, Any]) -> Self:
        """A record from a value for every field, each already of its field's type (a report builds 100k rows of
        values it has just read from validated rows): what `model_construct` makes, without its per-field default
        look-ups, at a third of its cost. Anything else belongs in the validating constructor.

        The records of a class share one set of the names of the fields they were given (every field): a set of 20
        names is 2 kB, 200 MB for a 100k-task report; pydantic only ever adds to it, a name it holds already."""
        every = _EVERY_FIELD.get(cls)
        if every is None:
            every = _EVERY_FIELD[cls] = set(cls.model_fields)
        record = cls.__new__(cls)
        object.__setattr__(record, "__dict__", values)
        object.__setattr__(record, "__pydantic_fields_set__", every if len(values) == len(every) else set(values))
        object.__setattr__(record, "__pydantic_extra__", None)
        object.__setattr__(record, "__pydantic_private__", None)
        return record


_EVERY_FIELD: dict[type, set[str]] = {}  # Record.of_typed's shared sets


def sha256_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


# ---------------------------------------------------------------------------------------------------------------
# Tasks


class DirSnapshot(Record):
    """A plain directory inside the suite; it becomes a one-commit git repository."""

    kind: Literal["dir"] = "dir"
    path: str


class BundleSnapshot(Record):
    """A git bundle inside the suite; `ref` picks the commit (default: the bundle's HEAD)."""

    kind: Literal["bundle"] = "bundle"
    path: str
    ref: str = "HEAD"


class GitSnapshot(Record):
    """A git repository reachable by URL (or a local path) at a fixed commit."""

    kind: Literal["git"] = "git"
    url: str
    commit: str


class PypiSnapshot(Record):
    """A source distribution from the package index, checked against its sha256 (`pypi:NAME==VERSION`)."""

    kind: Literal["pypi"] = "pypi"
    name: str
    version: str
    sha256: str


class DebSnapshot(Record):
    """A Debian binary package (`deb:PKG=VERSION`), checked by sha256; its library folder
    (/usr/share/nodejs/<name>/ for node-* packages, or `path` inside the package) becomes the repository."""

    kind: Literal["deb"] = "deb"
    package: str
    version: str
    sha256: str
    path: str = ""


class ImageSnapshot(Record):
    """A prebuilt instance image holding the repository and its environment (SWE-bench's
    `sweb.eval.x86_64.<instance>`: the repository at /testbed, a conda env). `activate` is the shell command that
    puts the image's Python on PATH (run before the tests); the task image is a thin layer over it."""

    kind: Literal["image"] = "image"
    image: str
    workdir: str = "/testbed"
    activate: str = ""


Snapshot = Annotated[Union[DirSnapshot, BundleSnapshot, GitSnapshot, PypiSnapshot, DebSnapshot, ImageSnapshot],
                     Field(discriminator="kind")]


class EnvironmentSpec(Record):
    """The environment a benchmark row describes (SWE-bench specs, a row's install_config or requirements, commit0
    setup), mapped onto resq's terms. The image part (python, apt_packages, pip_requirements) is built once per
    content and shared by every task with the same content; `pre_install` and `install` run in the task image with
    the repository (offline, build dependencies fetched on the host); `env` is set for the test run."""

    origin: str  # which field of the row it came from, e.g. "install_config" or "swebench specs psf/requests 2.0"
    python: str | None = None  # "3.11"; None: the base image's python3
    apt_packages: list[str] = []
    pip_requirements: list[str] = []
    pre_install: list[str] = []
    install: list[str] = []
    env: dict[str, str] = {}

    def image_content(self) -> str:
        """What the shared environment image depends on (origin, install steps and variables do not count)."""
        return json.dumps({"python": self.python, "apt": sorted(self.apt_packages),
                           "pip": sorted(self.pip_requirements)})


class EnvironmentRef(Record):
    """Which image definition (a folder of environments/) a task runs in, plus the task's own pip requirements
    (wheels fetched on the host, installed offline into the task image), plus, for imported benchmark rows, the
    environment the row describes (`spec`)."""

    name: str = "python"
    pip_requirements: list[str] = []
    spec: EnvironmentSpec | None = None


class TestSpec(Record):
    """How the hidden tests run. `framework` picks the structured report the grader asks the runner for.

    - pytest: JUnit XML at a random path outside the repository.
    - script: a RES-Q style test script (`script`, a file of the hidden folder, run as `{script}` in `command`);
      the grader inserts a per-run random secret before the script's success exit, and the script passes only if
      it exits 0 and printed that secret. Its test id is `test_script`.
    - log: the test output parsed by one of the swebench package's log parsers (`log_parser`, a repository key of
      its parser map); needs the optional extra `resq-runner[swebench]`. Printed output can be forged, so use it
      only where the tests cannot write JUnit.
    """

    __test__ = False  # not a pytest class

    framework: Literal["pytest", "script", "log", "node"] = "pytest"
    command: str
    canary: bool = True  # must-fail tests planted among the hidden tests; kept selected whatever -k, -m say
    visible_command: str | None = None  # the repository's own tests, which a system may run in its workspace

    @model_serializer(mode="wrap")
    def _leave_out_unset_visible_command(self, handler):
        """Tasks without a visible command dump (and hash) exactly as before the field existed."""
        data = handler(self)
        if self.visible_command is None:
            data.pop("visible_command", None)
        return data
    script: str | None = None
    log_parser: str | None = None

    @model_validator(mode="after")
    def _framework_fields(self) -> "TestSpec":
        if self.framework == "script" and (not self.script or "{script}" not in self.command):
            raise ValueError("framework 'script' needs `script` (a file of the hidden folder) and a command "
                             "containing {script}")
        if self.framework == "log" and not self.log_parser:
            raise ValueError("framework 'log' needs `log_parser` (a repository key of swebench's parser map)")
        return self


class Success(Record):
    """What passing means. With both lists empty, every test in the report must pass (and there must be one)."""

    fail_to_pass: list[str] = []
    pass_to_pass: list[str] = []


class TaskLimits(Record):
    """Resources the eval container gets; unset fields take the run's values (`resq run --memory ...`)."""

    memory: str | None = None  # e.g. "512m", "2g"
    pids: int | None = Field(default=None, gt=0)
    cpus: float | None = Field(default=None, gt=0)
    file_size: str | None = None  # the largest file the tests may write, e.g. "256m"

    @field_validator("memory", "file_size")
    @classmethod
    def _is_a_size(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"\d+(\.\d+)?[kmgKMG]?[bB]?", str(value).strip()):
            raise ValueError(f"'{value}' is not a size (use e.g. 512m or 2g)")
        return value


class Challenge(Record):
    """A challenge task: the system returns a program; its stdout on the input is compared with `expected`.

    The program runs as `python3 solution.py` in a folder holding `input.txt` (a copy of `input_file`, a file of the
    task folder), which is also its standard input. `compare`: exact (byte for byte), strip (surrounding
    whitespace ignored), numeric (the stripped output is one number equal to the expected one). A later part of a
    multi-part problem is its own task naming the earlier ones in `after`: the system sees it only once each of
    them passed in the same run; otherwise it is graded failed with status `blocked`.
    """

    input_file: str | None = None
    expected: str
    compare: Literal["exact", "strip", "numeric"] = "strip"
    language: Literal["python"] = "python"
    part: int = 1
    after: list[str] = []
    gold_program: str = "gold.py"


DEFAULT_PROTECTED = ["tests/**", "test/**", "**/conftest.py", "conftest.py", "pytest.ini", "tox.ini"]


class ValueRange(Record):
    """Integers from `start` to `stop` inclusive, every `step`."""

    start: int
    stop: int
    step: int = 1

    def values(self) -> list[int]:
        return list(range(self.start, self.stop + (1 if self.step > 0 else -1), self.step))


class Template(Record):
    """Makes a task folder a template: its text is Jinja2 over these parameters (see tasks/templates.py)."""

    parameters: dict[str, Union[list[Union[str, int, float, bool]], ValueRange]]
    constraints: list[str] = []


class Task(Record):
    """One task: a repository snapshot, an instruction, and hidden tests the system never sees."""

    schema_version: int = SCHEMA_VERSION
    id: str
    kind: Literal["repo-edit", "challenge"] = "repo-edit"
    instruction: str
    snapshot: Snapshot | None = None
    environment: EnvironmentRef = EnvironmentRef()
    setup: list[str] = []
    hidden_tests: str = "hidden"
    tests: TestSpec | None = None
    challenge: Challenge | None = None
    oracle_context: str | None = None
    success: Success = Success()
    protected: list[str] = Field(default_factory=lambda: list(DEFAULT_PROTECTED))
    gold_patch: str = "gold.patch"
    timeout_s: float = 300
    limits: TaskLimits = TaskLimits()
    tags: list[str] = []
    source: dict[str, str] = {}
    template: Template | None = None

    @field_validator("id")
    @classmethod
    def _id_is_a_name(cls, value: str) -> str:
        if not value or "/" in value or value.startswith((".", "_")):
            raise ValueError("must be a non-empty name without '/' that does not start with '.' or '_'")
        return value

    @model_validator(mode="after")
    def _fields_of_kind(self) -> "Task":
        if self.kind == "repo-edit" and (self.snapshot is None or self.tests is None):
            raise ValueError("a repo-edit task needs `snapshot` and `tests`")
        if self.kind == "challenge" and self.challenge is None:
            raise ValueError("a challenge task needs `challenge` (expected answer, compare mode, input file)")
        if self.kind == "repo-edit" and self.challenge is not None:
            raise ValueError("`challenge` is only for tasks of kind 'challenge'")
        return self


class TaskView(Record):
    """What a system is allowed to see of a task: never hidden tests, never the gold patch, never the expected
    answer of a challenge."""

    id: str
    kind: str
    instruction: str
    tags: list[str] = []
    language: str | None = None
    oracle_context: list[OracleFile] | None = None
    visible_test_command: str | None = None  # tests.visible_command: never the hidden tests


class OracleFile(Record):
    """A file the reference solution edits, as it is before the edit (RES-Q's `modified_files`): given to systems
    only when the run asks for oracle context (`resq run --oracle-context`)."""

    path: str
    content: str


# ---------------------------------------------------------------------------------------------------------------
# Environments


class EnvironmentDefinition(Record):
    """environments/<name>/environment.yaml: one image layered on the bootstrapped base."""

    name: str
    description: str = ""
    apt_packages: list[str] = []
    pip_requirements: list[str] = []
    python_version: str = "3.11"


class ImageRef(Record):
    """A built image: its content-hash tag and the engine's id (the digest recorded in results)."""

    tag: str
    id: str


# ---------------------------------------------------------------------------------------------------------------
# Systems


class Usage(Record):
    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0
    cost_usd: float = 0.0
    wall_s: float = 0.0


class ContextFile(Record):
    """A file a system read or put in its context; lines are 1-based and inclusive, None when unknown."""

    path: str
    start: int | None = None
    end: int | None = None
    tokens: int = 0
    source: str = ""  # how it was observed: bm25 | opened | transcript | atime


class SystemOutput(Record):
    """What a system hands back: a unified diff (possibly empty) or an error. For a challenge task: `program`
    (Python source, run by the grader), or, from systems that only answer, `answer` (compared as is).

    `context_files` is None when the system does not report what it read (gold, noop, predictions). `note` is what
    the system says happened when it is graded anyway (e.g. "no applicable edit after 4 replies"); it leads the
    row's reason unless the task passed."""

    patch: str = ""
    program: str | None = None
    answer: str | None = None
    usage: Usage = Usage()
    log: str | None = None
    error: str | None = None
    note: str | None = None
    context_files: list[ContextFile] | None = None


class Prediction(BaseModel):
    """One SWE-bench-style prediction row; other fields a predictions file carries are ignored."""

    model_config = ConfigDict(extra="ignore")

    instance_id: str
    model_name_or_path: str = ""
    model_patch: str | None = None


class SystemSpec(Record):
    """Names a system and its configuration; the config hash tells two configurations of one system apart."""

    name: str
    config: dict[str, str] = Field(default_factory=dict)  # a factory: a `{}` default is deep-copied per row

    @property
    def config_hash(self) -> str:
        return sha256_text(json.dumps(self.config, sort_keys=True))[:12]


# ---------------------------------------------------------------------------------------------------------------
# Grading and results


class Outcome(str, Enum):
    passed = "passed"
    failed = "failed"
    patch_failed = "patch_failed"
    timed_out = "timed_out"
    system_error = "system_error"
    infra_error = "infra_error"
    skipped_budget = "skipped_budget"

    @property
    def is_final(self) -> bool:
        """infra_error says nothing about the system under test, so it is retried rather than kept; a task skipped
        for the run's budget runs when the run is resumed with more budget."""
        return self is not _INFRA_ERROR and self is not _SKIPPED_BUDGET  # `is`: asked once per row of 100k

    @property
    def is_graded(self) -> bool:
        """Counts in a pass rate (as a pass or as a failure)."""
        return self.is_final


_INFRA_ERROR, _SKIPPED_BUDGET = Outcome.infra_error, Outcome.skipped_budget


class TestStatus(str, Enum):
    __test__ = False

    passed = "passed"
    failed = "failed"
    error = "error"
    skipped = "skipped"
    missing = "missing"


ChallengeStatus = Literal["correct", "wrong_output", "runtime_error", "syntax_error", "timeout", "blocked"]


class ChallengeVerdict(Record):
    """How a challenge program fared; `status` tells the failure kinds apart (the outcome only says failed)."""

    status: ChallengeStatus
    expected: str = ""
    got: str = ""
    exit_code: int | None = None
    stderr_tail: str = ""


class ChallengeRun(Record):
    """status.json written by harness/challenge.py inside the eval container."""

    syntax_error: str = ""
    exit_code: int | None = None
    timed_out: bool = False
    stdout_cut: bool = False


class Verdict(Record):
    """The grader's decision for one evaluation."""

    outcome: Outcome
    reason: str = ""
    tests: dict[str, TestStatus] = {}
    fail_to_pass: dict[str, TestStatus] = Field(default_factory=dict)
    pass_to_pass: dict[str, TestStatus] = Field(default_factory=dict)
    challenge: ChallengeVerdict | None = None

    def with_note(self, note: str | None) -> "Verdict":
        """The system's own account first in the reason ("no applicable edit after 4 replies; 4 test(s) ..."),
        unless the task passed."""
        if not note or self.outcome == Outcome.passed:
            return self
        return self.model_copy(update={"reason": f"{note}; {self.reason}" if self.reason else note})


class Timings(Record):
    """Seconds per stage of one task."""

    image: float = 0.0
    system: float = 0.0
    eval_start: float = 0.0
    eval_run: float = 0.0
    eval_collect: float = 0.0
    teardown: float = 0.0
    eval_apply: float = 0.0  # inside eval_run: applying the patch, restoring protected files, adding hidden tests
    eval_tests: float = 0.0  # inside eval_run: the test command alone

    def total(self) -> float:
        """Wall seconds of the task (eval_apply and eval_tests are parts of eval_run, not added again)."""
        return self.image + self.system + self.eval_start + self.eval_run + self.eval_collect + self.teardown


class Retrieval(Record):
    """What a system read against what the gold patch touches (files; computed by grading, never shown to it)."""

    gold_files: list[str] = []
    context_files: list[str] = []
    edited_files: list[str] = []
    recall: float | None = None  # gold files read / gold files
    precision: float | None = None  # gold files read / files read
    context_tokens: int = 0
    edit_recall: float | None = None  # gold files edited / gold files
    edit_precision: float | None = None  # gold files edited / files edited
    edited_right_files: bool = False  # edited exactly the files the gold patch edits


class Result(Record):
    """One row of results.jsonl."""

    schema_version: int = SCHEMA_VERSION
    run_id: str
    task_id: str
    task_hash: str
    system: SystemSpec
    sample: int = 0
    attempt: int = 1
    outcome: Outcome
    reason: str = ""
    tests: dict[str, TestStatus] = {}
    fail_to_pass: dict[str, TestStatus] = Field(default_factory=dict)
    pass_to_pass: dict[str, TestStatus] = Field(default_factory=dict)
    challenge: ChallengeVerdict | None = None
    usage: Usage = Usage()
    timings: Timings = Timings()
    image_digest: str = ""
    cache_key: str = ""
    started_at: datetime
    finished_at: datetime
    log_dir: str = ""
    context_files: list[ContextFile] | None = None
    retrieval: Retrieval | None = None
    node: str = ""  # the Ray node that graded it (--executor ray); empty for a local run
    stops_run: bool = False  # the endpoint refused the credentials (errors.AuthError): the run ends after this row


class RunManifest(Record):
    """run.json: what produced a results file."""

    schema_version: int = SCHEMA_VERSION
    run_id: str
    suite: str
    suite_hash: str
    suite_path: str = ""  # the suite folder as resolved at run time, so reports find tags from anywhere
    system: SystemSpec
    resq_version: str
    grader_version: str
    started_at: datetime
    machine: dict[str, str] = {}
    task_ids: list[str] = []
    label: str = ""  # the named system (resq.yaml) that made the run; reports show it instead of the system's name


class TaskFolder(Record):
    """A loaded task and where it lives on disk.

    tasks/<suite>/<task>/
    ├── task.yaml      the Task record
    ├── hidden/        files laid over the repository at grading time only (paths as in the repository)
    ├── gold.patch     the reference solution (unified diff)
    └── snapshot/      the repository as a plain directory (or a .bundle file, or none for a git URL)
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    task: Task
    root: Path
    suite: str

    @property
    def ref(self) -> str:
        return f"{self.suite}/{self.task.id}"


class BaseDefinition(Record):
    """environments/base.yaml: the base image every environment is layered on."""

    pull: str
    packages: list[str]
    user: str = "resq"
    uid: int = 1000


class HarnessStatus(Record):
    """status.json, written inside the eval container by harness/grade.py where the tests cannot reach it."""

    applied: bool
    apply_log: str = ""
    restored: list[str] = []
    test_exit: int | None = None
    timed_out: bool = False
    report_found: bool = False
    note: str = ""
    killed_by: str | None = None  # the signal that ended the test command, e.g. SIGKILL
    apply_s: float = 0.0
    tests_s: float = 0.0
    inert_files: list[str] = []  # framework-shaped files the patch added (a dist-info, pytest.py, ...): never used
    oom_kills: int | None = None  # processes the kernel killed for the memory limit; None: the cgroup was unreadable
    sites: list[str] | None = None  # pytest: the environment's site-packages folders the harness used


class CanarySpec(Record):
    """The canaries planted among the hidden tests (grading/canaries.py): node ids to add to the command, and salted
    hashes the harness's pytest plugin uses to keep them selected without naming them."""

    arguments: list[str]
    salt: str
    keep: list[str]


class ScriptSpec(Record):
    """A RES-Q style test script: copied in under `name` only for the run; it must print `secret` to pass."""

    source: str
    name: str
    secret: str


class HarnessSpec(Record):
    """spec.json: what harness/grade.py is asked to do in the eval container. harness/spec.schema.json is this
    model's JSON schema (a test keeps them equal); grade.py, standard library only, checks the spec it receives
    against that file before it does anything. Every field is always written."""

    workspace: str
    patch: str
    hidden: str
    protected: list[str]
    command: str
    env: dict[str, str]  # the task's own variables for the test run (a benchmark spec's env_vars_test)
    activate: str  # a prebuilt image's activation, run before the tests ("" for none)
    framework: str
    report_flag: str
    report_flag_after: str
    report_suffix: str
    report_dir: str
    report_is_output: bool
    nonce: str
    mark: str  # a secret that ends the lines around the result block boot.py prints (the tests cannot know it)
    uid: int
    timeout_s: float
    private: str
    output_limit: int
    report_limit: int
    file_size: int
    canary: CanarySpec
    script: ScriptSpec | None
    sites: list[str] | None  # pytest: the image's site-packages folders, known from an earlier evaluation; None: probe
    hosts: str  # /etc/hosts to write first ("": keep the image's): the engine wrote none (Sandbox's loopback_only)


class Evaluation(Record):
    """What grading hands back to the runner: the verdict and the seconds each eval stage took."""

    verdict: Verdict
    eval_start: float = 0.0
    eval_run: float = 0.0
    eval_collect: float = 0.0
    teardown: float = 0.0
    eval_apply: float = 0.0
    eval_tests: float = 0.0


# ---------------------------------------------------------------------------------------------------------------
# Task certificates


class CertificateDigests(Record):
    """What a certificate vouches for; any change makes it stale."""

    task_files: str  # every file of the task folder but certificate.json
    hidden_tests: str
    gold_patch: str
    snapshot: str
    image_tag: str  # content-hash tag of the task image (its inputs)
    image_id: str = ""  # the engine's id of that image when certified (informative: rebuilds change it)


class CertificateRun(Record):
    system: str  # gold | noop
    outcome: Outcome
    reason: str = ""
    tests_s: float = 0.0


class Certificate(Record):
    """tasks/<suite>/<task>/certificate.json, written by `resq tasks certify`."""

    schema_version: int = SCHEMA_VERSION
    task_id: str
    certified: bool
    verdict: str  # certified | invalid: REASON | flaky: K of N
    digests: CertificateDigests
    lint: list[str] = []
    runs: list[CertificateRun] = []
    gold_runs: int = 0
    gold_passed: int = 0
    flake_rate: float = 0.0  # gold runs whose outcome differs from the most common one, over all gold runs
    flaky_tests: list[str] = []  # tests whose status differed between gold runs
    gold_test_runtime_s: float = 0.0  # mean seconds of the test command over the gold runs
    date: datetime
    runner_version: str
    grader_version: str


# ---------------------------------------------------------------------------------------------------------------
# Authoring: lint and validate


class LintProblem(Record):
    """One thing wrong with a task folder, found without Docker."""

    task: str
    file: str
    message: str
    severity: Literal["error", "warning"] = "error"  # a warning informs; only errors fail `resq tasks lint`


class TaskValidity(Record):
    """`resq tasks validate`'s finding for one task over `runs` evaluations of `gold` and of `noop`."""

    task: str
    runs: int
    gold_passed: int = 0
    noop_failed: int = 0
    fail_to_pass_ok: int = 0
    pass_to_pass_ok: int = 0
    problems: list[str] = []  # found without evaluating: leaked hidden tests, an image that cannot be built
    verdict: Literal["valid", "invalid", "flaky"]
    reason: str = ""
