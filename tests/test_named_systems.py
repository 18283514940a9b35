"""Named systems (resq.yaml), a refused API key that stops the run, and `--redo` on resume: the real CLI, real
containers and the scripted chat-completions server on 127.0.0.1."""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from conftest import PROJECT, resq
from llm_server import ScriptedLLM
from reports_helpers import make_run
from resq_runner import systems
from resq_runner.cli.run import OUTCOMES
from resq_runner.errors import AuthError
from resq_runner.models import Outcome, SystemSpec, now_utc
from resq_runner.runner import RunOptions, run_suite

KEY = "sk-resq-named-3c9d0e7a51"
NO_EDIT = [{"content": "I would change the code.", "usage": {"prompt_tokens": 10, "completion_tokens": 5}}]
TASKS = ("add-invoice-discount", "fix-allocate-remainder", "parse-grouped-amounts")


def write_config(folder: Path, systems: dict) -> Path:
    (folder / "resq.yaml").write_text(yaml.safe_dump({"systems": systems}))
    return folder / "resq.yaml"


def rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


def error_lines(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("error:")]


def test_redo_takes_every_outcome():
    assert OUTCOMES == tuple(outcome.value for outcome in Outcome)


def test_wrong_key_stops_the_run_and_redo_runs_it_again(demo_copy, tmp_path, cleanup_run):
    out = tmp_path / f"run-{secrets.token_hex(3)}"
    cleanup_run.append(out.name)
    with ScriptedLLM({task: NO_EDIT for task in TASKS}, api_key=KEY) as server:
        write_config(tmp_path, {"scripted": {
            "system": "llm", "model": "scripted-model", "base_url": server.base_url, "api_key_env": "RESQ_NAMED_KEY",
            "max_apply_retries": 0, "max_retries": 1, "backoff": 0.1, "request_timeout": 5}})

        def run(key: str, *extra: str):
            return resq("run", str(demo_copy), "--system", "scripted", "--out", str(out), *extra, cwd=tmp_path,
                        env={"RESQ_NAMED_KEY": key})

        wrong = run("sk-wrong-key-0000")
        assert wrong.returncode == 2, wrong.stdout + wrong.stderr
        (line,) = error_lines(wrong.stderr)
        assert "HTTP 401" in line and "--redo system_error" in line and "Traceback" not in wrong.stderr
        (row,) = rows(out)  # no further task started
        assert row["outcome"] == "system_error" and "HTTP 401" in row["reason"] and row["stops_run"]
        assert {r["task"] for r in server.requests} == {row["task_id"]}
        assert len(server.requests) == 1  # a refused key is not retried
        assert KEY not in (out / "results.jsonl").read_text()

        fixed = run(KEY)  # the refused task is a final row: without --redo it stays
        assert fixed.returncode == 0, fixed.stderr
        assert "1 task(s) already done" in " ".join(fixed.stderr.split())
        assert len(rows(out)) == 3 and len({r["task"] for r in server.requests}) == 3

        redone = run(KEY, "--redo", "system_error")
        assert redone.returncode == 0, redone.stderr
        assert "2 task(s) already done" in " ".join(redone.stderr.split())

    journal = rows(out)
    assert len(journal) == 4 and journal[0]["outcome"] == "system_error"  # append-only: the old row stays
    assert journal[-1]["task_id"] == journal[0]["task_id"] and journal[-1]["outcome"] == "failed"
    report = json.loads(resq("report", str(out), "--json", check=True).stdout)
    assert report["system"] == "scripted"  # the name labels the run
    assert report["outcomes"]["system_error"] == 0 and report["outcomes"]["failed"] == 3
    manifest = json.loads((out / "run.json").read_text())
    assert manifest["label"] == "scripted" and manifest["system"]["name"] == "llm"
    assert manifest["system"]["config"]["model"] == "scripted-model"
    history = resq("history", str(tmp_path), check=True).stdout
    assert "· scripted" in history


def test_named_system_mistakes_are_one_line(demo_copy, tmp_path):
    config = write_config(tmp_path, {"mini": {"system": "llm", "modle": "gpt-4o-mini"}})
    proc = resq("run", str(demo_copy), "--system", "mini", cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    (line,) = error_lines(proc.stderr)
    assert "resq.yaml" in line and "'mini'" in line and "unknown key" in line and "'modle'" in line

    write_config(tmp_path, {"mini": {"system": "llm", "max_turns": "many"}})
    (line,) = error_lines(resq("run", str(demo_copy), "--system", "mini", cwd=tmp_path).stderr)
    assert "'mini'" in line and "'max_turns'" in line

    write_config(tmp_path, {"mini": {"model": "gpt-4o-mini"}})
    (line,) = error_lines(resq("run", str(demo_copy), "--system", "mini", cwd=tmp_path).stderr)
    assert "'mini'" in line and "'system'" in line

    config.write_text(yaml.safe_dump({"systems": {"gold-ish": {"system": "gold", "model": "x"}}}))
    (line,) = error_lines(resq("run", str(demo_copy), "--system", "gold-ish", cwd=tmp_path).stderr)
    assert "does not take --model" in line

    missing = resq("run", str(demo_copy), "--system", "mini", "--config", str(tmp_path / "nope.yaml"))
    assert missing.returncode == 2 and "nope.yaml" in error_lines(missing.stderr)[0]


def test_nightly_pair_of_named_systems_with_one_wrong_key(demo_copy, tmp_path, cleanup_run):
    """Two named systems side by side: the one whose key is refused stops with exit 2 and its comparison with the
    previous night says "not comparable" (compare exit 3), never a regression; the other is compared normally."""
    root = tmp_path / "nightly"
    for name in ("good", "bad"):
        make_run(root / "2026-11-26" / name, "llm", {task: Outcome.failed for task in TASKS}, suite="demo",
                 started_at=now_utc() - timedelta(days=1))
    cleanup_run += ["good", "bad"]
    with ScriptedLLM({task: NO_EDIT for task in TASKS}, api_key=KEY) as server:
        common = {"system": "llm", "model": "scripted-model", "base_url": server.base_url, "max_apply_retries": 0,
                  "max_retries": 0, "request_timeout": 5}
        write_config(tmp_path, {"good": {**common, "api_key_env": "RESQ_GOOD_KEY"},
                                "bad": {**common, "api_key_env": "RESQ_BAD_KEY"}})
        proc = subprocess.run([str(PROJECT / "scripts" / "nightly"), "--suite", str(demo_copy), "--root", str(root),
                               "--date", "2026-11-27", "good", "bad"], cwd=tmp_path, capture_output=True, text=True,
                              timeout=900, env={**os.environ, "RESQ": f"{sys.executable} -m resq_runner",
                                                "RESQ_GOOD_KEY": KEY, "RESQ_BAD_KEY": "sk-wrong-0000"})
    stderr = " ".join(proc.stderr.split())
    assert proc.returncode == 2, proc.stderr
    assert "good: no regression against" in stderr
    assert "the bad run did not complete (exit 2;" in stderr and "HTTP 401" in stderr
    assert "bad: NOT COMPARABLE" in stderr and "REGRESSION" not in stderr
    assert len(rows(root / "2026-11-27" / "good")) == 3
    bad = rows(root / "2026-11-27" / "bad")  # -j 2: the task running beside the refused one finishes too
    assert len(bad) <= 2 and {row["outcome"] for row in bad} == {"system_error"}, [
        (row["task_id"], row["outcome"], row["reason"]) for row in bad]
    history = (root / "history.html").read_text()
    assert "good" in history and "bad" in history


class RefusedAgent(systems.System):
    """An agent system whose provider refuses its credentials, as an agent reports it: errors.AuthError."""

    name = "refused-agent"

    def solve(self, task, workspace):
        raise AuthError("the agent's provider answered 403 Forbidden")


def test_an_agent_reporting_refused_credentials_stops_the_run(demo_copy, tmp_path, monkeypatch, cleanup_run):
    monkeypatch.setitem(systems.BUILTIN, "refused-agent", RefusedAgent)  # as an installed system would be
    out = tmp_path / "agent-run"
    with pytest.raises(AuthError, match="403 Forbidden.*--redo system_error"):
        run_suite(RunOptions(suite=str(demo_copy), system=SystemSpec(name="refused-agent"), out=out, jobs=2))
    journal = rows(out)
    cleanup_run.append(journal[0]["run_id"])
    assert 1 <= len(journal) <= 2 and all(r["outcome"] == "system_error" and r["stops_run"] for r in journal)
