"""Retrieval accounting: what `llm` and `command` systems read, against the gold patch's files, in result rows,
`resq report` and `resq compare`. Real containers, the real CLI, and a scripted chat-completions server."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from conftest import DEMO, PROJECT, resq
from llm_server import ScriptedLLM
from reports_helpers import page_grid
from resq_runner.grading.retrieval import patch_files, retrieval
from resq_runner.models import ContextFile

AGENTS = PROJECT / "tests" / "agents"
GOLD_ALLOCATE = ["ledgerlite/money.py"]
GOLD_DISCOUNT = ["ledgerlite/invoice.py", "ledgerlite/render.py"]


def test_patch_files_reads_both_sides_and_leaves_out_dev_null():
    patch = ("diff --git a/old.py b/new.py\nsimilarity index 90%\nrename from old.py\nrename to new.py\n"
             "diff --git a/added.py b/added.py\nnew file mode 100644\n--- /dev/null\n+++ b/added.py\n@@ -0,0 +1 @@\n+x\n")
    assert patch_files(patch) == ["added.py", "new.py", "old.py"]
    assert patch_files((DEMO / "add-invoice-discount" / "gold.patch").read_text()) == GOLD_DISCOUNT


def test_recall_precision_and_edited_right_files_by_hand():
    gold = (DEMO / "add-invoice-discount" / "gold.patch").read_text()
    read = [ContextFile(path="ledgerlite/invoice.py", tokens=100), ContextFile(path="ledgerlite/invoice.py", tokens=5),
            ContextFile(path="ledgerlite/money.py", tokens=40), ContextFile(path="README.md", tokens=10)]
    only_invoice = "--- a/ledgerlite/invoice.py\n+++ b/ledgerlite/invoice.py\n@@ -1 +1 @@\n-a\n+b\n"
    stats = retrieval(gold, only_invoice, read)
    assert stats.recall == 0.5 and stats.precision == pytest.approx(1 / 3) and stats.context_tokens == 155
    assert stats.edited_files == ["ledgerlite/invoice.py"] and stats.edit_recall == 0.5
    assert stats.edit_precision == 1.0 and stats.edited_right_files is False
    assert retrieval(gold, gold, []).edited_right_files is True
    empty = retrieval(gold, "", [])
    assert empty.recall == 0.0 and empty.precision is None and empty.edit_precision is None


ALLOCATE_FIX = (Path(__file__).parent / "test_systems_llm.py").read_text().split('ALLOCATE_FIX = """', 1)[1] \
    .split('"""', 1)[0]


def scripts(allocate_opens_and_fixes: bool) -> dict:
    allocate = [{"content": "OPEN: ledgerlite/money.py", "usage": {"prompt_tokens": 100, "completion_tokens": 5}},
                {"content": ALLOCATE_FIX, "usage": {"prompt_tokens": 900, "completion_tokens": 200}}] \
        if allocate_opens_and_fixes else [{"content": "No idea.", "usage": {"prompt_tokens": 50, "completion_tokens": 3}}]
    return {"fix-allocate-remainder": allocate,
            "add-invoice-discount": [{"content": "Add a field.", "usage": {"prompt_tokens": 90, "completion_tokens": 4}}]}


def llm_run(out: Path, good: bool):
    with ScriptedLLM(scripts(good)) as server:
        proc = resq("run", str(DEMO), "--system", "llm", "--model", "scripted", "--base-url", server.base_url,
                    "--api-key-env", "", "--out", str(out), "--task", "fix-allocate-remainder", "--task",
                    "add-invoice-discount", "--max-apply-retries", "0", "--max-retries", "0", "-j", "2")
    assert proc.returncode == 0, proc.stderr
    return {row["task_id"]: row for row in map(json.loads, (out / "results.jsonl").read_text().splitlines())}


@pytest.fixture(scope="module")
def llm_runs(tmp_path_factory, python_env):
    root = tmp_path_factory.mktemp("retrieval")
    good, poor = root / f"good-{secrets.token_hex(3)}", root / f"poor-{secrets.token_hex(3)}"
    return (good, llm_run(good, True)), (poor, llm_run(poor, False))


def test_llm_rows_record_shown_files_and_retrieval_against_the_gold_patch(llm_runs):
    (good, rows), _ = llm_runs
    allocate = rows["fix-allocate-remainder"]
    assert allocate["outcome"] == "passed"
    transcript = json.loads((good / "logs" / "fix-allocate-remainder" / "transcript.json").read_text())
    shown = [(s["path"], s["start"], s["end"], s["tokens"], s["reason"]) for s in transcript["files_shown"]]
    assert [(c["path"], c["start"], c["end"], c["tokens"], c["source"]) for c in allocate["context_files"]] == shown
    opened = [c for c in allocate["context_files"] if c["source"] == "opened"]
    assert [c["path"] for c in opened] == ["ledgerlite/money.py"] and opened[0]["tokens"] > 0
    accounting = allocate["retrieval"]
    assert accounting["gold_files"] == GOLD_ALLOCATE and accounting["recall"] == 1.0
    assert accounting["precision"] == pytest.approx(1 / len({c["path"] for c in allocate["context_files"]}))
    assert accounting["context_tokens"] == sum(c["tokens"] for c in allocate["context_files"])
    assert accounting["edited_files"] == GOLD_ALLOCATE and accounting["edited_right_files"] is True
    discount = rows["add-invoice-discount"]["retrieval"]
    assert discount["gold_files"] == GOLD_DISCOUNT and discount["edited_files"] == []
    assert discount["edited_right_files"] is False and discount["edit_recall"] == 0.0


def test_report_shows_retrieval_per_task_and_in_aggregate(llm_runs, tmp_path):
    (good, rows), _ = llm_runs
    report = json.loads(resq("report", str(good), "--json", check=True).stdout)
    tasks = {t["task_id"]: t for t in report["tasks"]}
    for task_id, row in rows.items():
        assert tasks[task_id]["retrieval_recall"] == row["retrieval"]["recall"]
        assert tasks[task_id]["context_tokens"] == row["retrieval"]["context_tokens"]
    assert tasks["fix-allocate-remainder"]["edited_right_files"] is True
    summary = report["retrieval"]
    assert summary["tasks"] == 2 and summary["edited_right_files"] == 0.5
    assert summary["recall"] == pytest.approx(sum(r["retrieval"]["recall"] for r in rows.values()) / 2)
    text = " ".join(resq("report", str(good), check=True).stdout.split())
    assert "retrieval" in text and "recall" in text
    page = tmp_path / "report.html"
    resq("report", str(good), "--html", str(page), check=True)
    table = page.read_text().split('<table id="retrieval">', 1)[1].split("</table>", 1)[0]
    assert "<td>all (2 tasks)</td>" in table  # the run's means; each task's figures are task table columns
    grid = page_grid(page)
    recall = [column["label"] for column in grid["columns"]].index("recall")
    assert {cells[0]: cells[recall] for cells, _ in grid["rows"]} == {
        task_id: tasks[task_id]["retrieval_recall"] for task_id in rows}


def test_compare_shows_retrieval_deltas(llm_runs):
    (good, good_rows), (poor, poor_rows) = llm_runs
    proc = resq("compare", str(good), str(poor), "--json", "--max-regressions", "5")
    assert proc.returncode == 0, proc.stderr
    (delta,) = json.loads(proc.stdout)["retrieval"]
    assert delta["tasks"] == 2 and delta["edited_right_files"] == -0.5

    def mean_tokens(rows):
        return sum(r["retrieval"]["context_tokens"] for r in rows.values()) / 2

    assert delta["context_tokens"] == pytest.approx(mean_tokens(poor_rows) - mean_tokens(good_rows))
    assert delta["context_tokens"] < 0  # the poor run never opened money.py
    text = " ".join(resq("compare", str(good), str(poor), "--max-regressions", "5").stdout.split())
    assert "Δ recall" in text and "-50%" in text


def command_run(out: Path, *agent_args: str) -> dict:
    proc = resq("run", str(DEMO), "--system", "command", "--task", "fix-allocate-remainder", "--out", str(out),
                "--agent-dir", str(AGENTS), "--agent-cmd", f'python3 "$RESQ_AGENT_DIR/reading_agent.py" {" ".join(agent_args)}')
    assert proc.returncode == 0, proc.stderr
    (row,) = map(json.loads, (out / "results.jsonl").read_text().splitlines())
    return row


def test_command_agent_reads_are_observed_in_the_workspace_container(tmp_path, python_env):
    row = command_run(tmp_path / f"observed-{secrets.token_hex(3)}")
    files = {c["path"]: c for c in row["context_files"]}
    assert set(files) == {"ledgerlite/money.py", "ledgerlite/parse.py"}
    assert all(c["source"] == "inotify" and c["start"] is None and c["tokens"] > 0 for c in files.values())
    accounting = row["retrieval"]
    assert accounting["recall"] == 1.0 and accounting["precision"] == 0.5
    assert accounting["edited_files"] == GOLD_ALLOCATE and accounting["edited_right_files"] is True


def test_command_agent_transcript_is_preferred_and_keeps_line_ranges(tmp_path, python_env):
    row = command_run(tmp_path / f"logged-{secrets.token_hex(3)}", "--log")
    assert [(c["path"], c["start"], c["end"], c["tokens"], c["source"]) for c in row["context_files"]] == [
        ("ledgerlite/money.py", 1, 20, 123, "transcript"), ("ledgerlite/parse.py", 5, 9, 0, "transcript")]
    assert row["retrieval"]["context_tokens"] == 123


def test_gold_and_noop_rows_carry_no_retrieval_accounting(tmp_path, python_env):
    out = tmp_path / f"gold-{secrets.token_hex(3)}"
    resq("run", str(DEMO), "--system", "gold", "--task", "parse-grouped-amounts", "--out", str(out), check=True)
    (row,) = map(json.loads, (out / "results.jsonl").read_text().splitlines())
    assert row["context_files"] is None and row["retrieval"] is None


def _atime_moves_on_read(folder: Path) -> bool:
    import os

    probe = folder / "probe.txt"
    probe.write_text("x")
    os.utime(probe, (0, probe.stat().st_mtime))
    probe.read_text()
    return probe.stat().st_atime > 0


def test_command_agent_reads_on_the_host_are_observed_by_access_times(tmp_path, python_env):
    if not _atime_moves_on_read(tmp_path):
        pytest.skip("the temporary folder's file system does not record access times (noatime)")
    out = tmp_path / f"host-{secrets.token_hex(3)}"
    proc = resq("run", str(DEMO), "--system", "command", "--task", "fix-allocate-remainder", "--out", str(out),
                "--agent-dir", str(AGENTS), "--agent-cmd", 'python3 "$RESQ_AGENT_DIR/reading_agent.py"', "--on-host")
    assert proc.returncode == 0, proc.stderr
    (row,) = map(json.loads, (out / "results.jsonl").read_text().splitlines())
    assert {(c["path"], c["source"]) for c in row["context_files"]} == {("ledgerlite/money.py", "atime"),
                                                                       ("ledgerlite/parse.py", "atime")}
    assert row["retrieval"]["recall"] == 1.0 and row["retrieval"]["precision"] == 0.5
