"""The indexed and one-pass reading paths give what the row-by-row ones gave: the same rows, the same task order,
the same errors. Speed itself is measured in bench/ (bench/run.py --section scale), never asserted here."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from conftest import resq
from reports_helpers import make_run
from resq_runner.errors import ResqError
from resq_runner.models import Outcome, Result
from resq_runner.reports.report import TABLE_TASKS, build_report, counted_rows, load_run
from resq_runner.results import read_results

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import journals  # noqa: E402

P, F, IE = Outcome.passed, Outcome.failed, Outcome.infra_error


def reference_order(run_dir: Path) -> tuple[list[str], list[tuple[str, int, int]]]:
    """The row-by-row algorithm the index replaced: list scans per task, order.index per row."""
    all_rows = [Result.model_validate(json.loads(line)) for line in (run_dir / "results.jsonl").read_text().splitlines()]
    rows = counted_rows(all_rows)
    manifest = json.loads((run_dir / "run.json").read_text())
    seen = list(dict.fromkeys(row.task_id for row in rows))
    order = list(manifest["task_ids"])
    order += sorted(task_id for task_id in seen if task_id not in order)
    rows.sort(key=lambda r: (order.index(r.task_id), r.sample))
    task_order = [t for t in order if t in seen]
    return task_order, [(r.task_id, r.sample, r.attempt) for t in task_order for r in rows if r.task_id == t]


def test_indexed_report_keeps_the_row_by_row_order_samples_and_retries(tmp_path):
    run_dir = make_run(tmp_path / "run", "llm", {"zeta": [P, F, P], "alpha": F, "mid": [IE, P], "never": P},
                       attempts={"alpha": [IE, IE], "zeta": [IE]})
    manifest = json.loads((run_dir / "run.json").read_text())  # a task the manifest does not list, and one it
    manifest["task_ids"] = ["mid", "never", "zeta", "ghost"]   # lists that never ran
    (run_dir / "run.json").write_text(json.dumps(manifest))
    run = load_run(run_dir, with_suite=False)
    task_order, rows = reference_order(run_dir)
    assert run.task_order == task_order == ["mid", "never", "zeta", "alpha"]
    assert [(r.task_id, r.sample, r.attempt) for t in run.task_order for r in run.rows_of(t)] == rows
    report = build_report(run)
    assert [t.task_id for t in report.tasks] == task_order
    assert [t.outcomes for t in report.tasks][2] == [P, F, P]
    assert report.tasks[3].outcome is F and report.tasks[3].patch_log == "logs/alpha.attempt3/patch.diff"
    assert any("ghost" in note for note in report.notes)
    assert run.rows_of("ghost") == []


def test_one_pass_row_parsing_gives_the_same_rows_as_the_careful_path(tmp_path):
    run_dir = journals.write_run(tmp_path / "run", 300, seed=3)
    lines = (run_dir / "results.jsonl").read_text().splitlines()
    assert read_results(run_dir / "results.jsonl") == [Result.model_validate(json.loads(line)) for line in lines]


def test_a_row_without_a_schema_version_is_still_refused(tmp_path):
    run_dir = journals.write_run(tmp_path / "run", 5, seed=4)
    lines = (run_dir / "results.jsonl").read_text().splitlines()
    row = json.loads(lines[2])
    del row["schema_version"]
    lines[2] = json.dumps(row)
    (run_dir / "results.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(ResqError, match=r"results.jsonl:3: results schema version None"):
        read_results(run_dir / "results.jsonl")


def test_the_terminal_task_table_of_a_large_run_is_capped_and_says_so(tmp_path):
    run_dir = journals.write_run(tmp_path / "run", TABLE_TASKS + 60, seed=5)
    tasks = len(json.loads((run_dir / "run.json").read_text())["task_ids"])
    shown = resq("report", str(run_dir), check=True, env={"COLUMNS": "400"}).stdout
    assert f"the tasks table shows the first {TABLE_TASKS} of {tasks} tasks" in " ".join(shown.split())
    every = json.loads(resq("report", "--json", str(run_dir), check=True).stdout)
    assert len(every["tasks"]) == tasks


def test_mcnemar_with_many_discordant_pairs_matches_the_term_by_term_sum():
    """Exact up to EXACT_PAIRS discordant pairs; above, summed in log space, to float precision."""
    from math import comb

    from resq_runner.reports.stats import EXACT_PAIRS, mcnemar_exact

    for only_a, only_b in ((3, 1), (40, 61), (500, 500), (480, 540), (700, 650), (950, 1150), (30, 2000), (0, 1500)):
        n = only_a + only_b
        expected = min(1.0, 2 * sum(comb(n, i) for i in range(min(only_a, only_b) + 1)) / 2**n)
        if n <= EXACT_PAIRS:
            assert mcnemar_exact(only_a, only_b) == expected
        else:
            assert mcnemar_exact(only_a, only_b) == pytest.approx(expected, rel=1e-9, abs=1e-300)
    assert 0 < mcnemar_exact(25_000, 25_400) < 1


def test_a_very_large_paired_comparison_uses_the_bootstraps_normal_limit():
    from resq_runner.reports.stats import BOOTSTRAP_TASKS, paired_bootstrap_ci

    a = [1, 0, 1, 1] * (BOOTSTRAP_TASKS // 2)
    b = [1, 1, 0, 1] * (BOOTSTRAP_TASKS // 2)
    mean, low, high = paired_bootstrap_ci(a, b)
    assert mean == 0 and low == pytest.approx(-high) and 0 < high < 0.05
    small_mean, small_low, small_high = paired_bootstrap_ci(a[:BOOTSTRAP_TASKS], b[:BOOTSTRAP_TASKS])
    assert small_low == pytest.approx(low * 2 ** 0.5, rel=0.1)  # half the tasks: an interval √2 wider


def test_task_rows_built_from_typed_values_equal_validated_ones(tmp_path):
    """report.task_row skips validation (Record.of_typed): each row must still be the record the validating
    constructor makes from the same values, every field present, with and without retrieval accounting, and the
    overhead per task must be the phases' own sum for new and old-style timings."""
    from resq_runner.models import Retrieval, Timings
    from resq_runner.reports.phases import overhead_seconds, phase_seconds
    from resq_runner.reports.records import TaskRow

    run_dir = make_run(tmp_path / "run", "llm", {"a": P, "b": [F, P], "c": IE},
                       timings=Timings(image=0.1, system=2.0, eval_start=0.2, eval_run=1.5, eval_collect=0.01,
                                       teardown=0.02, eval_apply=0.05, eval_tests=1.1))
    results = run_dir / "results.jsonl"
    lines = results.read_text().splitlines()
    first = Result.model_validate_json(lines[0])
    first.retrieval = Retrieval(recall=0.5, precision=0.25, context_tokens=900, edited_right_files=True)
    results.write_text("\n".join([first.model_dump_json()] + lines[1:]) + "\n")
    report = build_report(load_run(run_dir, with_suite=False))
    assert report.tasks[0].retrieval_recall == 0.5 and report.tasks[1].retrieval_recall is None
    for row in report.tasks:
        assert set(row.__dict__) == set(TaskRow.model_fields)
        assert row == TaskRow(**row.model_dump())
        assert row.model_dump_json() == TaskRow(**row.model_dump()).model_dump_json()
    for timings in (Timings(image=0.1, system=2.0, eval_start=0.2, eval_run=1.5, eval_apply=0.05, eval_tests=1.1),
                    Timings(system=1.0, eval_start=0.3, eval_run=2.0), Timings(eval_run=0.5, eval_tests=0.9)):
        phases = phase_seconds(timings)
        assert overhead_seconds(timings) == pytest.approx(sum(phases.values()) - phases["system"] - phases["tests"])


def test_task_details_built_from_typed_values_equal_validated_ones(tmp_path):
    """The page's task details skip validation (Record.of_typed) and list tests as tuples straight from the rows:
    each detail must still be the record the validating parser makes of its own JSON, with and without a log
    folder, and the tests must come in the order (and be clipped as) the one-record-a-test lines were."""
    import shutil

    from resq_runner.models import ContextFile, TestStatus
    from resq_runner.reports.details import STATUS_ORDER, TaskDetail, task_details, test_lines

    run_dir = make_run(tmp_path / "run", "llm", {"a": P, "b": [F, P], "c": IE, "d": F})
    results = run_dir / "results.jsonl"
    rows = [Result.model_validate_json(line) for line in results.read_text().splitlines()]
    rows[0].fail_to_pass = {"h.py::f1": TestStatus.failed, "h.py::f2": TestStatus.passed}
    rows[0].pass_to_pass = {"p.py::p1": TestStatus.passed, "p.py::p2": TestStatus.error}
    rows[0].tests = {**rows[0].tests, "x.py::x": TestStatus.skipped, "p.py::p2": TestStatus.error}
    rows[0].context_files = [ContextFile(path="lib.py", start=1, end=9, tokens=40, source="opened")]
    rows[-1].tests = {f"t.py::t{i}": [TestStatus.passed, TestStatus.failed, TestStatus.missing][i % 3]
                      for i in range(7)}
    results.write_text("".join(row.model_dump_json() + "\n" for row in rows))
    shutil.rmtree(run_dir / "logs" / "d")  # a task without a log folder
    run = load_run(run_dir, with_suite=False)
    details = task_details(build_report(run), run.rows_by_task, tmp_path / "page.html")
    assert [d.task_id for d in details] == ["a", "b", "c", "d"]
    assert details[0].folder is not None and details[3].folder is None
    assert [s[5] for s in details[3].samples] == [""]  # no folder to link
    assert details[1].samples[1][5] == "run/logs/b.sample1"
    for detail in details:
        assert set(detail.__dict__) == set(TaskDetail.model_fields)
        validated = TaskDetail.model_validate_json(detail.model_dump_json())
        assert validated == detail and validated.model_dump_json() == detail.model_dump_json()

    def reference(row: Result) -> list[tuple[str, str, str]]:  # the lines as TestLine records sorted them
        criteria = {**{t: "PASS_TO_PASS" for t in row.pass_to_pass}, **{t: "FAIL_TO_PASS" for t in row.fail_to_pass}}
        statuses = {**row.pass_to_pass, **row.fail_to_pass, **row.tests}
        lines = [(test, status.value, criteria.get(test, "")) for test, status in statuses.items()]
        return sorted(lines, key=lambda t: (STATUS_ORDER[t[1]], t[2] == "", t[2] != "FAIL_TO_PASS"))

    for row in run.rows:
        expected = reference(row)
        for most in (2, 3, 100):
            lines, left_out = test_lines(row, most)
            assert [(t[0], t[1], t[2] if len(t) > 2 else "") for t in lines] == expected[:most]
            counts: dict[str, int] = {}
            for _test, status, _criterion in expected[most:]:
                counts[status] = counts.get(status, 0) + 1
            assert left_out == counts
    assert details[0].tests[:2] == [("h.py::f1", "failed", "FAIL_TO_PASS"), ("p.py::p2", "error", "PASS_TO_PASS")]
