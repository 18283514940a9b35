"""The `llm` system end to end: the real CLI, real containers, and a real chat-completions server on 127.0.0.1
replaying scripted answers per task of the demo suite."""

from __future__ import annotations

import json
import secrets
import shutil
from pathlib import Path

import pytest

from conftest import DEMO, containers_of, resq
from llm_server import ScriptedLLM, suite_instructions

KEY = "sk-resq-test-7f3a9c1e5b2d"

# fix-allocate-remainder: a 429 first, then a right edit whose indentation drifted (search/replace block)
ALLOCATE_FIX = """ledgerlite/money.py
<<<<<<< SEARCH
parts = []
for ratio in ratios:
    share = (self.amount * ratio / total).quantize(step, rounding=ROUND_HALF_EVEN)
    parts.append(Money(share, self.currency))
return parts
=======
units = int(self.amount / step)
shares = [units * ratio // total for ratio in ratios]
if units < 0:
    shares = [-(-units * ratio // total) for ratio in ratios]
leftover = units - sum(shares)
direction = 1 if leftover > 0 else -1
for index in range(abs(leftover)):
    shares[index % len(shares)] += direction
return [Money(share * step, self.currency) for share in shares]
>>>>>>> REPLACE
"""

# parse-grouped-amounts: opens a file, sends a diff whose context is wrong, then the right diff (the gold patch)
PARSE_GOLD = (DEMO / "parse-grouped-amounts" / "gold.patch").read_text()
PARSE_WRONG = PARSE_GOLD.replace(' import re\n', ' import regex\n', 1)

SCRIPTS = {
    "fix-allocate-remainder": [
        {"status": 429, "retry_after": "1"},
        {"content": f"The loop rounds each part on its own.\n\n{ALLOCATE_FIX}",
         "usage": {"prompt_tokens": 1200, "completion_tokens": 300}, "delay": 0.5},
    ],
    "parse-grouped-amounts": [
        {"content": "OPEN: ledgerlite/parse.py", "usage": {"prompt_tokens": 1000, "completion_tokens": 10},
         "delay": 0.5},
        {"content": f"```diff\n{PARSE_WRONG}```\n", "usage": {"prompt_tokens": 1500, "completion_tokens": 400}},
        {"content": f"Sorry, here it is again:\n```diff\n{PARSE_GOLD}```\n",
         "usage": {"prompt_tokens": 1800, "completion_tokens": 350}},
    ],
    "add-invoice-discount": [  # never an edit: malformed output until the system gives up
        {"content": "You could add a discount_percent field to Invoice.",
         "usage": {"prompt_tokens": 900, "completion_tokens": 50}, "delay": 0.5},
    ],
    "allocate-hung": [{"hang": 60}],
}
EXPECTED = {  # outcome, prompt tokens, completion tokens, calls
    "fix-allocate-remainder": ("passed", 1200, 300, 1),
    "parse-grouped-amounts": ("passed", 4300, 760, 3),
    "add-invoice-discount": ("failed", 2700, 150, 3),
    "allocate-hung": ("system_error", 0, 0, 0),
}


@pytest.fixture
def demo_with_hung_task(demo_copy: Path) -> Path:
    """The demo suite plus a copy of one task under another id (and a longer instruction, which is how the scripted
    server tells them apart), for the request that never gets an answer."""
    hung = demo_copy / "allocate-hung"
    shutil.copytree(demo_copy / "fix-allocate-remainder", hung)
    task_yaml = hung / "task.yaml"
    task_yaml.write_text(task_yaml.read_text().replace("id: fix-allocate-remainder", "id: allocate-hung")
                         .replace("instruction: |\n", "instruction: |\n  (This copy never gets an answer.)\n", 1))
    return demo_copy


def _llm_run(suite: Path, out: Path, base_url: str, *extra: str):
    return resq("run", str(suite), "--system", "llm", "--model", "scripted-model", "--base-url", base_url,
                "--api-key-env", "RESQ_TEST_LLM_KEY", "--out", str(out), "--request-timeout", "2",
                "--max-retries", "1", "--backoff", "0.2", "--max-apply-retries", "2", *extra)


def _rows(out: Path) -> dict[str, dict]:
    return {row["task_id"]: row for row in map(json.loads, (out / "results.jsonl").read_text().splitlines())}


def test_llm_system_on_the_demo_suite(demo_with_hung_task, tmp_path, monkeypatch, docker_client, cleanup_run):
    monkeypatch.setenv("RESQ_TEST_LLM_KEY", KEY)
    out = tmp_path / f"run-llm-{secrets.token_hex(3)}"
    cleanup_run.append(out.name)
    with ScriptedLLM(SCRIPTS, api_key=KEY, instructions=suite_instructions(demo_with_hung_task)) as server:
        proc = _llm_run(demo_with_hung_task, out, server.base_url, "-j", "2", "--max-concurrent-requests", "1")
    assert proc.returncode == 0, proc.stderr

    rows = _rows(out)
    got = {task: (row["outcome"], row["usage"]["prompt_tokens"], row["usage"]["completion_tokens"],
                  row["usage"]["calls"]) for task, row in rows.items()}
    assert got == EXPECTED
    assert "no answer" in rows["allocate-hung"]["reason"] and "2 attempt(s)" in rows["allocate-hung"]["reason"]
    assert rows["add-invoice-discount"]["reason"].startswith("no applicable edit after 3 replies; ")
    assert server.max_in_flight == 1  # --max-concurrent-requests 1 held across two workers
    assert len(server.calls_for("fix-allocate-remainder")) == 2  # the 429, then the answer
    assert len(server.calls_for("allocate-hung")) == 2  # the first try and one retry, both timed out
    assert all(r["authorization"] == f"Bearer {KEY}" for r in server.requests)

    # the apply error went back to the model, and the opened file was shown and recorded
    parse = json.loads((out / "logs" / "parse-grouped-amounts" / "transcript.json").read_text())
    assert parse["format"] == "resq-llm-transcript/1"
    assert [m["role"] for m in parse["messages"]] == ["system", "user", "assistant", "user", "assistant", "user",
                                                     "assistant"]
    assert "Nothing was applied" in parse["messages"][5]["content"]
    assert "_PLAIN = re.compile" in parse["messages"][3]["content"]  # the file it asked to open
    assert {"path": "ledgerlite/parse.py", "reason": "opened"}.items() <= \
        next(s for s in parse["files_shown"] if s["reason"] == "opened").items()
    assert [e["applied"] for e in parse["edits"]] == [False, True]
    assert parse["stopped"] == "edits applied"
    assert "ledgerlite/parse.py" in {s["path"] for s in parse["files_shown"] if s["reason"] == "bm25"}

    allocate = json.loads((out / "logs" / "fix-allocate-remainder" / "transcript.json").read_text())
    assert "HTTP 429" in allocate["calls"][0]["retries"][0] and "(Retry-After)" in allocate["calls"][0]["retries"][0]
    assert allocate["calls"][0]["finish_reason"] == "stop"
    assert [(c["path"], c["tool"], c["ok"]) for c in allocate["checks"]] == [("ledgerlite/money.py", "compile", True)]
    allocate_patch = (out / "logs" / "fix-allocate-remainder" / "patch.diff").read_text()
    assert "units = int(self.amount / step)" in allocate_patch
    hung = json.loads((out / "logs" / "allocate-hung" / "transcript.json").read_text())
    assert len(hung["calls"][0]["retries"]) == 2 and "no answer within 2s" in hung["calls"][0]["retries"][0]

    # the task id is never in the prompt (hand-written ids can describe the fix)
    assert all("fix-allocate-remainder" not in json.dumps(r["body"]["messages"]) for r in server.requests)

    discount = json.loads((out / "logs" / "add-invoice-discount" / "transcript.json").read_text())
    assert discount["stopped"] == "gave up after 3 replies without applicable edits"
    assert (out / "logs" / "add-invoice-discount" / "patch.diff").read_text() == ""

    # the key is nowhere in the run folder; only the variable's name is recorded
    for file in out.rglob("*"):
        if file.is_file():
            assert KEY.encode() not in file.read_bytes(), file
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["system"]["config"]["api_key_env"] == "RESQ_TEST_LLM_KEY"
    assert containers_of(docker_client, out.name) == []


def test_per_task_budget_stops_the_calls(tmp_path, monkeypatch, cleanup_run):
    monkeypatch.setenv("RESQ_TEST_LLM_KEY", KEY)
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"scripted-model": {"prompt": 1000.0, "completion": 1000.0}}))  # $/Mtok
    out = tmp_path / f"run-budget-{secrets.token_hex(3)}"
    cleanup_run.append(out.name)
    with ScriptedLLM(SCRIPTS, api_key=KEY) as server:
        proc = _llm_run(DEMO, out, server.base_url, "--task", "parse-grouped-amounts", "--price-table", str(prices),
                        "--budget-usd-per-task", "0.5")
    assert proc.returncode == 0, proc.stderr
    row = _rows(out)["parse-grouped-amounts"]
    assert row["outcome"] == "system_error"
    assert "per-task budget of $0.5 reached" in row["reason"]
    assert row["usage"]["calls"] == 1 and row["usage"]["cost_usd"] == pytest.approx(1.01)
    assert len(server.requests) == 1


def test_missing_key_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.delenv("RESQ_TEST_LLM_KEY", raising=False)
    proc = _llm_run(DEMO, tmp_path / "never", "http://127.0.0.1:9/v1")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("error: environment variable RESQ_TEST_LLM_KEY")
    assert not (tmp_path / "never").exists()


def test_per_run_budget_stops_every_later_call(tmp_path, monkeypatch, cleanup_run):
    monkeypatch.setenv("RESQ_TEST_LLM_KEY", KEY)
    prices = tmp_path / "prices.yaml"
    prices.write_text("scripted-model: {prompt: 1000, completion: 1000}\n")  # $/Mtok: each call costs about $1
    out = tmp_path / f"run-run-budget-{secrets.token_hex(3)}"
    cleanup_run.append(out.name)
    with ScriptedLLM(SCRIPTS, api_key=KEY) as server:
        proc = _llm_run(DEMO, out, server.base_url, "--price-table", str(prices), "--budget-usd-per-run", "1",
                        "--task", "add-invoice-discount", "--task", "parse-grouped-amounts")
    assert proc.returncode == 0, proc.stderr
    rows = _rows(out)
    spent = sum(row["usage"]["cost_usd"] for row in rows.values())
    assert len(rows) == 2 and spent >= 1 and sum(row["usage"]["calls"] for row in rows.values()) == len(server.requests)
    assert {row["outcome"] for row in rows.values()} == {"system_error"}
    assert all("per-run budget of $1 reached" in row["reason"] for row in rows.values())
    assert sorted(row["usage"]["calls"] for row in rows.values())[0] == 0  # the task after the money ran out


@pytest.mark.parametrize("named", [False, True], ids=["detected", "named-by-the-task"])
def test_test_loop_sends_visible_test_failures_back(demo_copy, tmp_path, cleanup_run, named):
    """--test-loop: a first fix that breaks a visible test gets the failure back; the second one passes. Files the
    test run leaves behind stay out of the patch, and the hidden tests are never run by the agent."""
    wrong = ALLOCATE_FIX.replace("return [Money(share * step, self.currency) for share in shares]",
                                 "return [Money(share * step, self.currency) for share in shares][1:]")
    scripts = {"fix-allocate-remainder": [
        {"content": wrong, "usage": {"prompt_tokens": 1000, "completion_tokens": 200}},
        {"content": "ledgerlite/money.py\n<<<<<<< SEARCH\n"
                    "        return [Money(share * step, self.currency) for share in shares][1:]\n=======\n"
                    "        return [Money(share * step, self.currency) for share in shares]\n>>>>>>> REPLACE\n",
         "usage": {"prompt_tokens": 1500, "completion_tokens": 200}}]}
    out = tmp_path / f"run-test-loop-{secrets.token_hex(3)}"
    cleanup_run.append(out.name)
    command = "python -m pytest -q -x -p no:cacheprovider"
    if named:
        command = "python -m pytest -q -p no:cacheprovider tests/test_money.py"
        task_yaml = demo_copy / "fix-allocate-remainder" / "task.yaml"
        task_yaml.write_text(task_yaml.read_text().replace("tests:\n", f"tests:\n  visible_command: {command}\n", 1))
    with ScriptedLLM(scripts) as server:
        proc = resq("run", str(demo_copy), "--system", "llm", "--model", "scripted", "--base-url", server.base_url,
                    "--api-key-env", "", "--out", str(out), "--task", "fix-allocate-remainder", "--test-loop",
                    "--test-loop-turns", "2")
    assert proc.returncode == 0, proc.stderr
    row = _rows(out)["fix-allocate-remainder"]
    assert row["outcome"] == "passed" and row["usage"]["calls"] == 2
    transcript = json.loads((out / "logs" / "fix-allocate-remainder" / "transcript.json").read_text())
    runs = transcript["test_runs"]
    assert [(r["turn"], r["exit_code"] != 0) for r in runs] == [(1, True), (2, False)]
    assert all(r["command"] == command and r["seconds"] > 0 for r in runs)
    assert "test_allocate_even_split" in runs[0]["output"]
    assert "test_allocate_even_split" in transcript["messages"][3]["content"]
    assert transcript["stopped"] == "edits applied; visible tests pass"
    assert all(c["prompt_tokens"] and c["seconds"] > 0 for c in transcript["calls"])
    patch = (out / "logs" / "fix-allocate-remainder" / "patch.diff").read_text()
    assert patch.count("diff --git") == 1 and "hidden" not in " ".join(r["output"] for r in runs)
