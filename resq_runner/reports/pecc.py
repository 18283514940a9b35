"""PECC-style figures from Result rows: accuracy per subset (AoC, AoC neutral, Euler, Euler stories) and pass@k.

pass@k comes two ways, because they differ:
- sequential (PECC's own): a task counts as solved if any of its first k samples passed; needs n ≥ k samples.
- unbiased (Chen et al. 2021): 1 - C(n-c, k) / C(n, k) from n samples of which c passed; needs n ≥ k.
The samples of a task are its rows across the runs given (in the order given), then by sample number.
"""

from __future__ import annotations

from collections import defaultdict
from ..models import Outcome, Result
from .stats import pass_at_k

SUBSETS = ("aoc", "aoc-neutral", "euler", "euler-stories")
SUBSET_TAG = "pecc:"


def pass_at_k_unbiased(n: int, c: int, k: int) -> float:
    """The unbiased estimator, shared with `resq report` (reports/stats.py)."""
    return pass_at_k(n, c, k)


def pass_at_k_sequential(outcomes: list[bool], k: int) -> bool:
    if k > len(outcomes):
        raise ValueError(f"pass@{k} needs at least {k} samples, got {len(outcomes)}")
    return any(outcomes[:k])


def subset_of(task_id: str, tags: list[str] | None = None) -> str | None:
    """From the task's `pecc:` tag when known, otherwise from the importer's id pattern."""
    for tag in tags or []:
        if tag.startswith(SUBSET_TAG):
            return tag[len(SUBSET_TAG):]
    if task_id.startswith("euler-"):
        return "euler-stories" if task_id.endswith("-story") else "euler"
    if task_id.startswith("aoc-"):
        return "aoc-neutral" if task_id.endswith("-neutral") else "aoc"
    return None


def samples_by_task(runs: list[list[Result]]) -> dict[str, list[bool]]:
    samples: dict[str, list[bool]] = defaultdict(list)
    for results in runs:
        for result in sorted(results, key=lambda r: (r.task_id, r.sample)):
            if result.outcome is not Outcome.infra_error:
                samples[result.task_id].append(result.outcome is Outcome.passed)
    return dict(samples)


def pecc_report(samples: dict[str, list[bool]], ks: list[int], tags: dict[str, list[str]] | None = None) -> dict:
    """Per subset (and overall): task count, accuracy of the first sample, and pass@k both ways, in percent."""
    groups: dict[str, list[str]] = defaultdict(list)
    for task_id in samples:
        subset = subset_of(task_id, (tags or {}).get(task_id))
        if subset:
            groups[subset].append(task_id)
    groups["all"] = [t for ids in list(groups.values()) for t in ids]
    report: dict[str, dict[str, object]] = {}
    for subset in [*SUBSETS, "all"]:
        ids = groups.get(subset, [])
        if not ids:
            continue
        entry: dict[str, object] = {"tasks": len(ids), "accuracy": _percent([samples[t][0] for t in ids if samples[t]])}
        for k in ks:
            ready = [t for t in ids if len(samples[t]) >= k]
            entry[f"pass@{k}"] = {
                "tasks_with_k_samples": len(ready),
                "sequential": _percent([pass_at_k_sequential(samples[t], k) for t in ready]),
                "unbiased": _percent([pass_at_k_unbiased(len(samples[t]), sum(samples[t]), k) for t in ready]),
            }
        report[subset] = entry
    return report


def _percent(values: list) -> float | None:
    return round(100.0 * sum(values) / len(values), 2) if values else None
