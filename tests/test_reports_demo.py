"""Reports on real runs: the demo suite through the real CLI and Docker engine with `gold` and `noop` (several
samples), and the nightly script against a previous night."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from datetime import timedelta

import pytest

from conftest import PROJECT, resq
from reports_helpers import make_run, page_grid
from resq_runner.models import Outcome, now_utc
from resq_runner.results import final_results, read_results

def flat(text: str) -> str:
    """Console output with rich's line wrapping undone."""
    return " ".join(text.split())


def final_rows(run) -> dict:
    return final_results(read_results(run / "results.jsonl"))


DEMO_TASKS = ["add-invoice-discount", "fix-allocate-remainder", "parse-grouped-amounts"]


@pytest.fixture(scope="module")
def demo_runs(tmp_path_factory, python_env):
    """One real gold run and one real noop run with two samples per task (run once for this module)."""
    root = tmp_path_factory.mktemp("demo-runs")
    tag = secrets.token_hex(3)  # run ids come from folder names: keep them unique on a shared engine
    gold, noop = root / f"gold-{tag}", root / f"noop-{tag}"
    resq("run", "demo", "--system", "gold", "--out", str(gold), "-j", "2", check=True)
    resq("run", "demo", "--system", "noop", "--out", str(noop), "-j", "2", "--samples", "2", check=True)
    return gold, noop


def test_samples_schedule_each_task_n_times_and_resume_by_sample(demo_runs):
    _, noop = demo_runs
    final = final_rows(noop)  # (an infrastructure hiccup on a busy engine adds a retried row, not a final one)
    assert sorted(final) == [(t, s) for t in DEMO_TASKS for s in (0, 1)]
    assert all(r.outcome is Outcome.failed for r in final.values())
    assert (noop / "logs" / "fix-allocate-remainder.sample1" / "test_output.txt").is_file()
    rows_before = len(read_results(noop / "results.jsonl"))
    again = resq("run", "demo", "--system", "noop", "--out", str(noop), "--samples", "2", check=True)
    assert "6 task(s) already done" in flat(again.stderr)
    assert len(read_results(noop / "results.jsonl")) == rows_before
    more = resq("run", "demo", "--system", "noop", "--out", str(noop), "--samples", "3",
                "--task", "fix-allocate-remainder", check=True)
    assert "2 task(s) already done" in flat(more.stderr)
    assert sorted(set(final_rows(noop)) - set(final)) == [("fix-allocate-remainder", 2)]


def test_report_of_real_runs(demo_runs, tmp_path):
    gold, noop = demo_runs
    # from another folder: the manifest's suite path still leads to tasks/demo for the tags
    gold_report = json.loads(resq("report", str(gold), "--json", cwd=tmp_path, check=True).stdout)
    assert gold_report["rate"]["passed"] == 3 and gold_report["rate"]["rate"] == 1.0
    assert gold_report["suite"] == "demo" and gold_report["system"] == "gold"
    assert not any("not loaded" in note for note in gold_report["notes"])  # tags come from tasks/demo
    assert {g["group"] for g in gold_report["groups"]} >= {"bugfix", "feature"}
    for task in gold_report["tasks"]:
        assert task["tests_passed"] == task["tests_total"] > 0
        assert (gold / task["patch_log"]).read_text().startswith("diff --git")
        assert (gold / task["test_log"]).is_file()
    assert next(s for s in gold_report["stages"] if s["stage"] == "eval_run")["total_s"] > 0
    noop_report = json.loads(resq("report", str(noop), "--json", check=True).stdout)
    assert noop_report["samples"] >= 2 and noop_report["outcomes"]["passed"] == 0
    assert [(p["k"], p["value"]) for p in noop_report["pass_at_k"]][:2] == [(1, 0.0), (2, 0.0)]


def test_compare_real_runs_exit_codes(demo_runs, tmp_path):
    gold, noop = demo_runs
    worse = resq("compare", str(gold), str(noop), "--json", "--html", str(tmp_path / "compare.html"))
    assert worse.returncode == 1, worse.stderr
    (pair,) = json.loads(worse.stdout)["pairs"]
    assert (pair["broken"], pair["fixed"], pair["tasks"]) == (3, 0, 3)
    assert pair["mcnemar_p"] == pytest.approx(0.25)  # 2 · (1/2)³
    assert [attrs[1] for _, attrs in page_grid(tmp_path / "compare.html")["rows"]].count("broken") == 3
    better = resq("compare", str(noop), str(gold))
    assert better.returncode == 0, better.stderr
    assert resq("compare", str(gold), str(noop), "--max-regressions", "3").returncode == 0


def nightly(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, RESQ=f"{sys.executable} -m resq_runner")
    return subprocess.run([str(PROJECT / "scripts" / "nightly"), *args], capture_output=True, text=True, env=env,
                          timeout=900)


def test_nightly_compares_with_the_previous_night_and_fails_on_regression(tmp_path, python_env):
    root = tmp_path / "nightly"
    # The previous night, as its run folder would be, had noop passing two tasks (a different system behind the
    # same name, say): tonight's real noop run breaks them.
    make_run(root / "2026-11-26" / "noop", "noop",
             {"add-invoice-discount": Outcome.passed, "fix-allocate-remainder": Outcome.passed,
              "parse-grouped-amounts": Outcome.failed}, suite="demo", started_at=now_utc() - timedelta(days=1))
    first = nightly("--suite", "demo", "--root", str(root), "--date", "2026-11-27", "noop")
    assert first.returncode == 1, first.stderr
    assert "REGRESSION against" in flat(first.stderr) and "2026-11-26/noop" in flat(first.stderr)
    assert "regression: 2 task(s)" in flat(first.stderr)
    assert len(final_rows(root / "2026-11-27" / "noop")) == 3
    assert (root / "2026-11-27" / "noop" / "compare.html").is_file()
    assert (root / "history.html").read_text().count('class="point"') == 2
    # The next night compares with 2026-11-27 (not the older night): nothing breaks, exit 0. Allowing 2
    # regressions on the first night's comparison would also pass, which the flag below checks.
    second = nightly("--suite", "demo", "--root", str(root), "--date", "2026-11-28", "noop")
    assert second.returncode == 0, second.stderr
    assert "no regression against" in flat(second.stderr) and "2026-11-27/noop" in flat(second.stderr)
    rerun = nightly("--suite", "demo", "--root", str(root), "--date", "2026-11-27", "--max-regressions", "2", "noop")
    assert rerun.returncode == 0, rerun.stderr
    assert "already done" in flat(rerun.stderr)  # the dated folder resumed instead of running again
