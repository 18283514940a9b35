"""Run budgets with a projection: the real CLI, real containers and a scripted chat-completions server whose usage
fields make every task cost the same (900 prompt + 100 completion tokens in one call)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import DEMO, PROJECT, resq
from llm_server import ScriptedLLM
from resq_runner.models import Outcome
from resq_runner.results import final_results, read_results

TASKS = ["add-invoice-discount", "fix-allocate-remainder", "parse-grouped-amounts"]
ONE_CALL = [{"content": "I would rather not edit anything.", "usage": {"prompt_tokens": 900, "completion_tokens": 100}}]


@pytest.fixture(scope="module")
def server():
    with ScriptedLLM({task: ONE_CALL for task in TASKS}) as llm:
        yield llm


def llm_args(server, out: Path, *extra: str) -> list[str]:
    return ["run", str(DEMO), "--system", "llm", "--model", "scripted", "--base-url", server.base_url,
            "--api-key-env", "", "--max-apply-retries", "0", "--max-retries", "0", "--out", str(out), *extra]


def rows(out: Path):
    return read_results(out / "results.jsonl")


@pytest.fixture(scope="module")
def runs_dir(tmp_path_factory, server, python_env):
    """A folder of runs holding one earlier run of the same system on the same suite."""
    root = tmp_path_factory.mktemp("budget-runs")
    resq(*llm_args(server, root / "earlier", "-j", "2"), check=True)
    return root


def test_projection_from_an_earlier_run_then_tasks_past_the_budget_are_skipped(runs_dir, server):
    out = runs_dir / "capped"
    proc = resq(*llm_args(server, out, "--budget-tokens", "2500", "--yes"))
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stdout.split())
    assert "projection from 1 earlier run(s) of this system on this suite (3 row(s)): 3 task(s) to run" in text
    assert "3000 tokens" in text and "--budget-tokens 2500 covers about 2 of 3 task(s)" in text
    outcomes = {row.task_id: row for row in rows(out)}
    assert [outcomes[t].outcome for t in TASKS] == [Outcome.failed, Outcome.failed, Outcome.skipped_budget]
    assert "--budget-tokens 2500" in outcomes["parse-grouped-amounts"].reason
    assert outcomes["parse-grouped-amounts"].usage.calls == 0
    assert len(server.calls_for("parse-grouped-amounts")) == 1  # only the earlier run asked about it

    report = json.loads(resq("report", str(out), "--json", check=True).stdout)
    assert report["outcomes"]["skipped_budget"] == 1 and report["outcomes"]["failed"] == 2
    assert report["rate"]["graded"] == 2  # a skipped task is not a failure

    resumed = resq(*llm_args(server, out, "--budget-tokens", "100000", "--yes"))
    assert resumed.returncode == 0, resumed.stderr
    assert "1 task(s) to run" in " ".join(resumed.stdout.split())
    final = final_results(rows(out))
    assert sorted(task for task, _ in final) == TASKS
    assert all(row.outcome is Outcome.failed for row in final.values())
    assert len(rows(out)) == 4  # the skipped row stays in the journal; the resumed run added the task's row


def test_without_a_terminal_and_without_yes_the_run_does_not_start(runs_dir, server):
    out = runs_dir / "unconfirmed"
    proc = subprocess.run([sys.executable, "-m", "resq_runner", *llm_args(server, out, "--budget-tokens", "5000")],
                          cwd=PROJECT, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=300,
                          env=dict(os.environ))
    assert proc.returncode == 1
    assert "no terminal to confirm" in proc.stderr and "--yes" in proc.stderr
    assert "projection from" in proc.stdout
    assert not (out / "results.jsonl").exists()


def test_a_pilot_projects_the_rest_when_no_earlier_run_exists(tmp_path, server, python_env):
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"scripted": {"prompt": 1.0, "completion": 2.0}}))  # $0.0011 a task
    out = tmp_path / "fresh" / "piloted"
    proc = resq(*llm_args(server, out, "--price-table", str(prices), "--budget-usd", "0.0025", "--pilot", "1",
                          "--yes"))
    assert proc.returncode == 0, proc.stderr
    text = " ".join(proc.stdout.split())
    assert "projection from a pilot of 1 task(s)" in text and "2 task(s) to run" in text
    assert "--budget-usd 0.0025 covers about 1 of 2 task(s)" in text
    final = final_results(rows(out))
    assert sorted(task for task, _ in final) == TASKS[:2]
    last = [row for row in rows(out) if row.task_id == TASKS[2]][-1]
    assert last.outcome is Outcome.skipped_budget and "--budget-usd 0.0025" in last.reason
    assert sum(row.usage.cost_usd for row in final.values()) == pytest.approx(0.0022)


def test_pilot_without_a_budget_is_one_clear_error(tmp_path, server):
    proc = resq(*llm_args(server, tmp_path / "x", "--pilot", "2"))
    assert proc.returncode == 2 and "--budget-usd or --budget-tokens" in proc.stderr
