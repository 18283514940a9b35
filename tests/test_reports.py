"""`resq report`, `resq compare` and `resq history` on run folders written in the test through the project's own
journal (real results.jsonl rows of the Result model), checked against numbers worked out by hand."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from conftest import resq
from reports_helpers import T0, make_run, make_suite
from resq_runner.models import Outcome, Timings, Usage
from resq_runner.reports.stats import wilson_interval
from resq_runner.tasks import load_suite, suite_hash

P, F, PF, TO, SE, IE = (Outcome.passed, Outcome.failed, Outcome.patch_failed, Outcome.timed_out,
                        Outcome.system_error, Outcome.infra_error)

TAGS = {"t1": ["bugfix", "easy"], "t2": ["feature"], "t3": ["bugfix"], "t4": ["bugfix"], "t5": ["feature"],
        "t6": ["feature"], "t7": []}


@pytest.fixture
def suite(tmp_path):
    return make_suite(tmp_path / "unit", TAGS)


@pytest.fixture
def run_dir(tmp_path, suite):
    """t3 passed after an infra retry; t6 exhausted its retries; every row (retries too) spent 100+50 tokens."""
    return make_run(tmp_path / "run", "llm", {"t1": P, "t2": P, "t3": P, "t4": F, "t5": PF, "t6": IE, "t7": TO},
                    suite=str(suite), suite_hash=suite_hash(load_suite(suite)),
                    usage=Usage(prompt_tokens=100, completion_tokens=50, calls=2, cost_usd=0.01),
                    timings=Timings(image=0.5, system=2.0, eval_run=1.0), attempts={"t3": [IE], "t6": [IE, IE]})


def report_json(*args) -> dict:
    return json.loads(resq("report", *args, "--json", check=True).stdout)


def test_report_pass_rate_interval_and_outcome_breakdown(run_dir):
    report = report_json(str(run_dir))
    # graded: t1 t2 t3 t4 t5 t7 (t6 is an infra error, never counted against the system): 3 of 6 passed
    assert report["rate"]["graded"] == 6 and report["rate"]["passed"] == 3
    assert report["rate"]["rate"] == pytest.approx(0.5)
    assert (report["rate"]["ci_low"], report["rate"]["ci_high"]) == pytest.approx(wilson_interval(3, 6))
    assert report["rate"]["ci_low"] == pytest.approx(0.1876, abs=1e-4)  # by hand, Wilson 3/6
    assert report["outcomes"] == {"passed": 3, "failed": 1, "patch_failed": 1, "timed_out": 1, "system_error": 0,
                                  "infra_error": 1}
    assert any("infra_error" in note for note in report["notes"])
    assert [t["task_id"] for t in report["tasks"]] == list(TAGS)
    assert report["tasks"][2]["outcome"] == "passed"  # the retry's row counts, not the infra error before it


def test_report_tokens_cost_and_time_per_stage(run_dir):
    report = report_json(str(run_dir))
    usage = report["usage"]
    # 10 rows in the journal (7 tasks + 1 retry of t3 + 2 retries of t6), each 100 prompt + 50 completion
    assert (usage["prompt_tokens"], usage["completion_tokens"], usage["calls"]) == (1000, 500, 20)
    assert usage["cost_usd"] == pytest.approx(0.10)
    assert usage["solved"] == 3
    assert usage["tokens_per_solved"] == pytest.approx(1500 / 3)
    assert usage["cost_per_solved"] == pytest.approx(0.10 / 3)
    stages = {s["stage"]: s for s in report["stages"]}  # over the 7 counted rows
    assert stages["system"]["total_s"] == pytest.approx(14.0) and stages["system"]["mean_s"] == pytest.approx(2.0)
    assert stages["image"]["total_s"] == pytest.approx(3.5)
    assert stages["teardown"]["total_s"] == 0


def test_report_groups_by_tag_from_the_suite(run_dir):
    groups = {g["group"]: g for g in report_json(str(run_dir), "--by", "tag")["groups"]}
    assert set(groups) == {"bugfix", "easy", "feature", "(no tag)"}
    assert (groups["bugfix"]["tasks"], groups["bugfix"]["rate"]["passed"], groups["bugfix"]["rate"]["graded"]) == \
        (3, 2, 3)
    # feature: t2 passed, t5 patch_failed, t6 infra error (a task, but not graded)
    assert (groups["feature"]["tasks"], groups["feature"]["rate"]["passed"], groups["feature"]["rate"]["graded"]) == \
        (3, 1, 2)
    assert groups["(no tag)"]["rate"]["graded"] == 1
    kinds = report_json(str(run_dir), "--by", "kind")["groups"]
    assert [(g["group"], g["tasks"]) for g in kinds] == [("repo-edit", 7)]
    suites = report_json(str(run_dir), "--by", "suite")["groups"]
    assert len(suites) == 1 and suites[0]["rate"]["passed"] == 3


def test_report_degrades_when_the_suite_is_gone_or_changed(run_dir, suite):
    (suite / "t2" / "task.yaml").write_text((suite / "t2" / "task.yaml").read_text().replace("Do t2.", "Do more."))
    changed = report_json(str(run_dir))
    assert any("has changed since this run" in note for note in changed["notes"])
    for task in TAGS:
        (suite / task / "task.yaml").unlink()
    gone = report_json(str(run_dir))
    assert any("not loaded" in note and "tags and kinds are unknown" in note for note in gone["notes"])
    assert [g["group"] for g in gone["groups"]] == ["(unknown)"]
    assert gone["rate"]["passed"] == 3  # the numbers do not depend on the suite


def test_report_tables_and_links(run_dir):
    proc = resq("report", str(run_dir), check=True)
    assert "50.0%" in proc.stdout and "(3/6, 1 infra_error not counted; 95 % CI 18.8% – 81.2%, Wilson)" in proc.stdout
    task = report_json(str(run_dir))["tasks"][2]
    assert task["patch_log"] == "logs/t3.attempt2/patch.diff"  # the counted attempt's logs
    assert (run_dir / task["test_log"]).read_text() == "t3: passed\n"


def test_pass_at_k_with_several_samples(tmp_path):
    run = make_run(tmp_path / "samples", "llm", {"a": [P, F, P, F, F], "b": [F] * 5, "c": [F, P]})
    report = report_json(str(run))
    assert report["samples"] == 5
    table = {row["k"]: (row["value"], row["tasks"]) for row in report["pass_at_k"]}
    assert sorted(table) == [1, 2, 3, 5]
    # by hand: a has n=5,c=2; b n=5,c=0; c n=2,c=1
    assert table[1] == (pytest.approx((0.4 + 0 + 0.5) / 3), 3)
    assert table[2] == (pytest.approx((0.7 + 0 + 1.0) / 3), 3)
    assert table[3] == (pytest.approx((0.9 + 0) / 2), 2)  # c has only 2 samples
    assert table[5] == (pytest.approx((1.0 + 0) / 2), 2)
    assert report["rate"]["graded"] == 12 and report["rate"]["passed"] == 3
    assert [t["samples_passed"] for t in report["tasks"]] == [2, 0, 1]


def test_report_of_a_folder_that_is_not_a_run_is_one_clear_error(tmp_path):
    proc = resq("report", str(tmp_path))
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "no results.jsonl" in proc.stderr and "error:" in proc.stderr
    bad = make_run(tmp_path / "bad", "noop", {"t1": P})
    with open(bad / "results.jsonl", "a") as out:
        out.write("{not json}\n{\"also\": 1}\n")
    proc = resq("report", str(bad))
    assert proc.returncode == 2 and "results.jsonl:2" in proc.stderr


# ---------------------------------------------------------------------------------------------------------------
# compare


def compare_pair(tmp_path, b_hash="h1"):
    a = make_run(tmp_path / "a", "llm", {"t1": P, "t2": P, "t3": F, "t4": F, "t5": P})
    b = make_run(tmp_path / "b", "llm", {"t1": P, "t2": F, "t3": P, "t4": F, "t5": PF, "t6": P},
                 suite_hash=b_hash, started_at=T0 + timedelta(days=1),
                 task_hashes={"t2": "changed"} if b_hash != "h1" else None)
    return a, b


def test_compare_flips_mcnemar_bootstrap_and_intersection(tmp_path):
    a, b = compare_pair(tmp_path, b_hash="h2")
    proc = resq("compare", str(a), str(b), "--json")
    assert proc.returncode == 1  # two tasks A passed fail in B, none allowed
    comparison = json.loads(proc.stdout)
    changes = {t["task_id"]: t["changes"][0] for t in comparison["tasks"]}
    assert changes == {"t1": "still passing", "t2": "broken", "t3": "fixed", "t4": "still failing",
                       "t5": "broken"}
    (pair,) = comparison["pairs"]
    assert (pair["tasks"], pair["fixed"], pair["broken"], pair["baseline_passed"], pair["other_passed"]) == \
        (5, 1, 2, 3, 2)
    assert pair["mcnemar_p"] == pytest.approx(1.0)  # 2·P(X≤1 | n=3) = 2·4/8
    assert pair["difference"] == pytest.approx(-0.2)
    assert pair["ci_low"] <= -0.2 <= pair["ci_high"]
    notes = " ".join(comparison["notes"])
    assert "DIFFERENT TASK SETS" in notes and "t6" in notes and "DIFFERENT SUITE VERSIONS" in notes
    assert "1 task(s) changed between the runs (t2)" in notes
    assert json.loads(resq("compare", str(a), str(b), "--json").stdout)["pairs"] == comparison["pairs"]  # seeded


def test_compare_exit_code_follows_max_regressions(tmp_path):
    a, b = compare_pair(tmp_path)
    assert resq("compare", str(a), str(b), "--max-regressions", "1").returncode == 1
    allowed = resq("compare", str(a), str(b), "--max-regressions", "2")
    assert allowed.returncode == 0, allowed.stderr
    assert "DIFFERENT TASK SETS" in allowed.stdout and "broken" in allowed.stdout
    assert "DIFFERENT SUITE VERSIONS" not in allowed.stdout  # same hash h1
    improved = resq("compare", str(b), str(a))  # the other way round: t3 broken
    assert improved.returncode == 1 and "regression: 1 task(s)" in " ".join(improved.stderr.split())


def test_compare_three_runs_and_tasks_that_cannot_be_compared(tmp_path):
    a = make_run(tmp_path / "a", "llm", {"t1": P, "t2": F, "t3": P})
    b = make_run(tmp_path / "b", "llm", {"t1": P, "t2": P, "t3": IE})
    c = make_run(tmp_path / "c", "llm", {"t1": P, "t2": P, "t3": P})
    proc = resq("compare", str(a), str(b), str(c), "--json")
    assert proc.returncode == 3, proc.stderr  # nothing regressed, but t3 could not be compared in B1
    comparison = json.loads(proc.stdout)
    assert [t["changes"] for t in comparison["tasks"]] == [["still passing", "still passing"],
                                                          ["fixed", "fixed"], ["not comparable", "still passing"]]
    first, second = comparison["pairs"]
    assert (first["tasks"], first["not_comparable"], second["tasks"]) == (2, 1, 3)
    assert first["mcnemar_p"] == pytest.approx(1.0) and second["difference"] == pytest.approx(1 / 3)


def test_compare_needs_two_runs(tmp_path):
    a = make_run(tmp_path / "a", "llm", {"t1": P})
    proc = resq("compare", str(a))
    assert proc.returncode == 2 and "at least two run folders" in proc.stderr


# ---------------------------------------------------------------------------------------------------------------
# history


def test_history_is_a_time_series_per_suite_and_system(tmp_path):
    nightly = tmp_path / "nightly"
    for day, (gold, llm) in enumerate([([P, P], [P, F]), ([P, P], [F, F]), ([P, P], [P, P])]):
        date = f"2026-11-{20 + day}"
        started = T0 + timedelta(days=day)
        make_run(nightly / date / "gold", "gold", dict(zip(["t1", "t2"], gold)), started_at=started)
        make_run(nightly / date / "llm", "llm", dict(zip(["t1", "t2"], llm)), started_at=started + timedelta(minutes=5))
    (nightly / "2026-11-23" / "llm").mkdir(parents=True)
    (nightly / "2026-11-23" / "llm" / "run.json").write_text("{broken")
    (nightly / "2026-11-23" / "llm" / "results.jsonl").write_text("")
    proc = resq("history", str(nightly), "--json")
    assert proc.returncode == 0, proc.stderr
    history = json.loads(proc.stdout)
    llm = [(p["root"], p["rate"]["rate"]) for p in history["points"] if p["system"] == "llm"]
    assert llm == [("2026-11-20/llm", 0.5), ("2026-11-21/llm", 0.0), ("2026-11-22/llm", 1.0)]
    assert [p["rate"]["rate"] for p in history["points"] if p["system"] == "gold"] == [1.0, 1.0, 1.0]
    assert any("2026-11-23" in note for note in history["notes"])  # a damaged night is named, not fatal
    table = resq("history", str(nightly), check=True).stdout
    assert "unit · llm" in table and "-50.0%" in table and "+100.0%" in table


def test_history_of_a_missing_folder_is_one_clear_error(tmp_path):
    proc = resq("history", str(tmp_path / "nope"))
    assert proc.returncode == 2 and "no such folder" in proc.stderr
