"""The `command` system: a real agent-like program run in the workspace container and on the host, graded in a
fresh container; timeouts and failures are counted outcomes."""

from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path

from conftest import DEMO, PROJECT, containers_of, resq

AGENTS = PROJECT / "tests" / "agents"
SECRET = "agent-secret-value-91b2"


def _run(out: Path, *options: str):
    return resq("run", str(DEMO), "--system", "command", "--task", "fix-allocate-remainder", "--out", str(out),
                "--agent-dir", str(AGENTS), *options)


def _row(out: Path) -> dict:
    rows = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    assert len(rows) == 1
    return rows[0]


def test_agent_script_in_the_workspace_container_passes(tmp_path, monkeypatch, docker_client, cleanup_run):
    monkeypatch.setenv("RESQ_TEST_AGENT_SECRET", SECRET)
    out = tmp_path / f"run-command-{secrets.token_hex(3)}"
    cleanup_run.append(out.name)
    proc = _run(out, "--agent-cmd", 'python3 "$RESQ_AGENT_DIR/allocate_agent.py"',
                "--agent-env", "RESQ_TEST_AGENT_SECRET")
    assert proc.returncode == 0, proc.stderr
    row = _row(out)
    assert row["outcome"] == "passed", row["reason"]
    patch = (out / "logs" / "fix-allocate-remainder" / "patch.diff").read_text()
    assert "+        units = int(self.amount / step)" in patch  # committed by the agent, still in the diff
    assert "+++ b/NOTES.md" in patch  # new files are part of the patch
    assert "instruction" not in patch  # the instruction file lives outside the repository
    output = (out / "logs" / "fix-allocate-remainder" / "agent_output.txt").read_text()
    assert "task fix-allocate-remainder: `Money.allocate` loses money" in output
    assert "secret seen: [RESQ_TEST_AGENT_SECRET redacted]" in output  # passed in, never written out
    assert "root folder mode: 0o705" in output  # the image's 755 without the group bits (QUICK_ROOT_LOOKUPS)
    for file in out.rglob("*"):
        if file.is_file():
            assert SECRET.encode() not in file.read_bytes(), file
    assert containers_of(docker_client, out.name) == []


def test_agent_script_on_the_host_passes(tmp_path, cleanup_run):
    out = tmp_path / f"run-host-{secrets.token_hex(3)}"
    cleanup_run.append(out.name)
    proc = _run(out, "--on-host", "--agent-cmd", f'"{sys.executable}" "$RESQ_AGENT_DIR/allocate_agent.py"')
    assert proc.returncode == 0, proc.stderr
    assert _row(out)["outcome"] == "passed"
    assert "+        units = int(self.amount / step)" in \
        (out / "logs" / "fix-allocate-remainder" / "patch.diff").read_text()


def test_agent_timeout_and_failure_are_system_errors(tmp_path, docker_client, cleanup_run):
    out = tmp_path / f"run-timeout-{secrets.token_hex(3)}"
    cleanup_run.append(out.name)
    proc = _run(out, "--agent-cmd", "echo started; sleep 60", "--agent-timeout", "2")
    assert proc.returncode == 0, proc.stderr
    row = _row(out)
    assert (row["outcome"], row["reason"]) == ("system_error", "agent timed out after 2s; last output: started")
    assert containers_of(docker_client, out.name) == []

    out = tmp_path / f"run-missing-{secrets.token_hex(3)}"
    cleanup_run.append(out.name)
    proc = _run(out, "--on-host", "--agent-cmd", "no-such-agent-binary --fix")
    assert proc.returncode == 0, proc.stderr
    row = _row(out)
    assert row["outcome"] == "system_error"
    assert row["reason"].startswith("agent exited 127: ")
    assert "not found" in row["reason"]


def test_host_agent_memory_limit(tmp_path, cleanup_run):
    out = tmp_path / f"run-memory-{secrets.token_hex(3)}"
    cleanup_run.append(out.name)
    hog = f'"{sys.executable}" -c "x = bytearray(1024 * 1024 * 1024)"'
    proc = _run(out, "--on-host", "--agent-memory-mb", "256", "--agent-cmd", hog)
    assert proc.returncode == 0, proc.stderr
    row = _row(out)
    assert row["outcome"] == "system_error"
    assert row["reason"] == "agent exited 1: MemoryError"


def test_options_of_another_system_are_refused(tmp_path):
    proc = resq("run", str(DEMO), "--system", "command", "--agent-cmd", "true", "--model", "x",
                "--out", str(tmp_path / "never"))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1] == \
        "error: system 'command' does not take --model; drop it or choose the system it belongs to"
