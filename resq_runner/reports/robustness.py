"""Robustness across template instances: does a system solve every close variant of a problem?

Pure functions over Result rows; instances are recognised by their ids (`<template>@<p>=<v>,...`).
"""

from __future__ import annotations

from collections import defaultdict

from ..models import Outcome, Record, Result
from ..tasks.templates import parse_instance_id


class ParameterValue(Record):
    parameter: str
    value: str
    failed: int
    total: int


class TemplateRobustness(Record):
    template: str
    passed: int
    total: int
    solved_all: bool
    breaking_values: list[ParameterValue]  # values under which at least one instance failed, worst first

    @property
    def pass_rate(self) -> float:
        return self.passed / self.total if self.total else 0.0


class RobustnessSummary(Record):
    templates: list[TemplateRobustness]
    solved_all_rate: float  # fraction of templates whose every instance passed
    instance_pass_rate: float  # mean over templates of the fraction of instances passed


def robustness(results: list[Result]) -> RobustnessSummary | None:
    """None when the results hold no template instances. Infra errors are left out: they grade nothing."""
    by_template: dict[str, list[tuple[dict[str, str], bool]]] = defaultdict(list)
    for result in results:
        parsed = parse_instance_id(result.task_id)
        if parsed and result.outcome.is_graded:
            by_template[parsed[0]].append((parsed[1], result.outcome is Outcome.passed))
    if not by_template:
        return None
    templates = [_one_template(name, rows) for name, rows in sorted(by_template.items())]
    return RobustnessSummary(
        templates=templates,
        solved_all_rate=sum(t.solved_all for t in templates) / len(templates),
        instance_pass_rate=sum(t.pass_rate for t in templates) / len(templates))


def _one_template(name: str, rows: list[tuple[dict[str, str], bool]]) -> TemplateRobustness:
    counts: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    for parameters, passed in rows:
        for parameter, value in parameters.items():
            counts[(parameter, value)][1] += 1
            counts[(parameter, value)][0] += not passed
    breaking = [ParameterValue(parameter=p, value=v, failed=f, total=t) for (p, v), (f, t) in counts.items() if f]
    breaking.sort(key=lambda pv: (-pv.failed / pv.total, pv.parameter, pv.value))
    solved = sum(ok for _, ok in rows)
    return TemplateRobustness(template=name, passed=solved, total=len(rows), solved_all=solved == len(rows),
                              breaking_values=breaking)
