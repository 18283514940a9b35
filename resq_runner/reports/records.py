"""The records reports are made of: what `--json` prints and what the HTML pages are rendered from.

They are built from run folders only (run.json + results.jsonl, plus the suite's task.yaml files for tags when the
suite is still there), so a report can be made on any machine that has the folder.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from ..models import Outcome, Record
from .robustness import RobustnessSummary

STAGES = ("image", "system", "eval_start", "eval_run", "eval_collect", "teardown")


GroupBy = Literal["tag", "suite", "kind"]  # how a report groups its breakdown table


class Rate(Record):
    """A pass rate over graded evaluations with its Wilson 95 % interval."""

    graded: int
    passed: int
    rate: float
    ci_low: float
    ci_high: float


class TaskRow(Record):
    """One task of a run; with several samples, `outcomes` holds each sample's and `outcome` the first's."""

    task_id: str
    kind: str = "unknown"
    tags: list[str] = []
    outcome: Outcome
    outcomes: list[Outcome]
    samples_passed: int
    tests_passed: int
    tests_total: int
    reason: str = ""
    seconds: float = 0.0
    tokens: int = 0
    cost_usd: float = 0.0
    patch_log: str | None = None  # relative to the run folder, when the file exists
    test_log: str | None = None
    overhead_s: float = 0.0  # the harness's seconds for this task: total − system − tests
    retrieval_recall: float | None = None  # retrieval accounting of the first sample, when the system reports it
    retrieval_precision: float | None = None
    context_tokens: int | None = None
    edited_right_files: bool | None = None
    certificate: str | None = None  # current | stale | invalid | none (None: the suite was not loaded)


class GroupRow(Record):
    group: str
    tasks: int
    rate: Rate


class UsageTotals(Record):
    """Spent over every row of the run (retried attempts included): that is what the run cost."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    calls: int = 0
    cost_usd: float = 0.0
    solved: int = 0
    tokens_per_solved: float | None = None
    cost_per_solved: float | None = None


class StageTime(Record):
    stage: str
    total_s: float
    mean_s: float


class RetrievalSummary(Record):
    """Retrieval accounting over the tasks whose system reported what it read (means over those tasks)."""

    tasks: int = 0
    recall: float | None = None
    precision: float | None = None
    context_tokens: float = 0.0  # mean per task
    edited_right_files: float = 0.0  # share of tasks whose patch touched exactly the gold patch's files
    edit_recall: float | None = None


class Overhead(Record):
    """The harness's own time (every phase but system and tests), over the tasks that went through the pipeline."""

    tasks: int = 0
    total_s: float = 0.0
    mean_s: float = 0.0
    share: float = 0.0  # of the run's summed task wall time


class PassAtK(Record):
    """The unbiased pass@k, averaged over the tasks that have at least k samples."""

    k: int
    value: float
    tasks: int


class RunReport(Record):
    run_id: str
    root: str
    suite: str
    suite_hash: str = ""
    system: str
    started_at: datetime | None = None
    samples: int = 1
    rate: Rate
    outcomes: dict[str, int]
    group_by: GroupBy = "tag"
    groups: list[GroupRow] = []
    usage: UsageTotals
    stages: list[StageTime]
    phases: list[StageTime] = []
    overhead: Overhead = Overhead()
    retrieval: RetrievalSummary | None = None
    pass_at_k: list[PassAtK] = []
    robustness: RobustnessSummary | None = None
    tasks: list[TaskRow]
    notes: list[str] = []


Change = Literal["fixed", "broken", "still failing", "still passing", "not comparable"]


class RunHeader(Record):
    """Who a run is, in a comparison or a history."""

    label: str
    name: str  # the run id, or the folder's last two parts when the id is the folder name
    run_id: str
    root: str
    suite: str
    suite_hash: str
    system: str
    started_at: datetime | None = None
    rate: Rate


class PairStats(Record):
    """One later run against the baseline, over the tasks both graded."""

    baseline: str
    other: str
    tasks: int
    baseline_passed: int
    other_passed: int
    fixed: int
    broken: int
    still_failing: int
    still_passing: int
    not_comparable: int
    mcnemar_p: float
    difference: float
    ci_low: float
    ci_high: float


class RetrievalDelta(Record):
    """Later run minus baseline, over the shared tasks both have retrieval accounting for."""

    baseline: str
    other: str
    tasks: int
    recall: float | None = None
    precision: float | None = None
    context_tokens: float | None = None
    edited_right_files: float | None = None


class TaskComparison(Record):
    task_id: str
    outcomes: list[Outcome | None]  # one per run, None when the run has no row for the task
    changes: list[Change]  # one per run after the baseline


class Comparison(Record):
    runs: list[RunHeader]
    pairs: list[PairStats]
    tasks: list[TaskComparison]
    notes: list[str] = []
    max_regressions: int = 0
    retrieval: list[RetrievalDelta] = []

    @property
    def regressed(self) -> bool:
        return any(pair.broken > self.max_regressions for pair in self.pairs)

    @property
    def not_comparable(self) -> list[str]:
        """Tasks that an error (or a missing result) in some run kept out of the comparison."""
        return [task.task_id for task in self.tasks if "not comparable" in task.changes]


class HistoryPoint(Record):
    suite: str
    system: str
    run_id: str
    root: str  # relative to the history folder
    started_at: datetime
    suite_hash: str
    rate: Rate


class History(Record):
    root: str
    points: list[HistoryPoint]  # oldest first
    notes: list[str] = []

    def series(self) -> dict[tuple[str, str], list[HistoryPoint]]:
        """(suite, system) -> its runs, oldest first."""
        grouped: dict[tuple[str, str], list[HistoryPoint]] = {}
        for point in self.points:
            grouped.setdefault((point.suite, point.system), []).append(point)
        return grouped
