"""Retrieval accounting in reports: per task (first sample), in aggregate, and as deltas between runs."""

from __future__ import annotations

from ..models import Result
from .records import RetrievalDelta, RetrievalSummary


def summarize(rows: list[Result]) -> RetrievalSummary | None:
    accounted = [row.retrieval for row in rows if row.retrieval is not None]
    if not accounted:
        return None
    return RetrievalSummary(
        tasks=len(accounted), recall=_mean([a.recall for a in accounted]),
        precision=_mean([a.precision for a in accounted]),
        context_tokens=sum(a.context_tokens for a in accounted) / len(accounted),
        edited_right_files=sum(a.edited_right_files for a in accounted) / len(accounted),
        edit_recall=_mean([a.edit_recall for a in accounted]))


def delta(baseline: str, other: str, before: list[Result], after: list[Result]) -> RetrievalDelta:
    """Compared on the tasks both runs have accounting for."""
    first = {row.task_id: row for row in before if row.retrieval is not None}
    second = {row.task_id: row for row in after if row.retrieval is not None}
    shared = [task for task in first if task in second]
    a = summarize([first[t] for t in shared])
    b = summarize([second[t] for t in shared])
    if a is None or b is None:
        return RetrievalDelta(baseline=baseline, other=other, tasks=0)
    return RetrievalDelta(baseline=baseline, other=other, tasks=len(shared), recall=_minus(b.recall, a.recall),
                          precision=_minus(b.precision, a.precision),
                          context_tokens=b.context_tokens - a.context_tokens,
                          edited_right_files=b.edited_right_files - a.edited_right_files)


def _mean(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return sum(known) / len(known) if known else None


def _minus(b: float | None, a: float | None) -> float | None:
    return None if a is None or b is None else b - a


def fmt(value: float | None, pattern: str = "{:.0%}") -> str:
    return "—" if value is None else pattern.format(value)
