"""Third-party agents as systems: the published aider-chat and mini-swe-agent packages installed into their layers
(once per session; later sessions find them in the resq cache), driven through tasks/demo by the scripted
chat-completions server on 127.0.0.1, plus agents from spec files (the documented example, a slow one, a failing
one)."""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path

import pytest

from conftest import DEMO, PROJECT, containers_of, resq
from llm_server import ScriptedLLM
from resq_runner.agents import builtin_spec, load_spec, spec_file_hash
from resq_runner.agents.layer import ensure_layer
from resq_runner.tasks import load_suite

KEY = "sk-resq-agent-test-4e8b1d"
SHELL_AGENT = PROJECT / "examples" / "agents" / "shell-agent.yaml"
TASKS = {tf.task.id: tf for tf in load_suite(str(DEMO))}


@pytest.fixture(scope="session")
def agent_layers(docker_client):
    """Both built-in agents' layers, built at most once per session (and kept in the resq cache)."""
    return {name: ensure_layer(docker_client, builtin_spec(name), log=lambda _m: None)
            for name in ("mini-swe-agent", "aider")}


def _gold(task_id: str) -> str:
    return (DEMO / task_id / "gold.patch").read_text()


def search_replace(patch: str) -> str:
    """The gold patch as aider's SEARCH/REPLACE blocks: per hunk, context and removed lines → context and added."""
    blocks, path, search, replace = [], "", [], []

    def close() -> None:
        if search or replace:
            blocks.append(f"{path}\n```python\n<<<<<<< SEARCH\n{''.join(search)}=======\n{''.join(replace)}"
                          f">>>>>>> REPLACE\n```\n")
        search.clear(), replace.clear()

    for line in patch.splitlines(keepends=True):
        if line.startswith("+++ b/"):
            close()
            path = line[6:].strip()
        elif line.startswith(("--- ", "diff ", "index ")):
            continue
        elif line.startswith("@@"):
            close()
        elif line.startswith(" ") or line == "\n":
            search.append(line[1:] or "\n"), replace.append(line[1:] or "\n")
        elif line.startswith("-"):
            search.append(line[1:])
        elif line.startswith("+"):
            replace.append(line[1:])
    close()
    return "\n".join(blocks)


def mini_script(task_id: str) -> list[dict]:
    apply = f"git apply <<'RESQ_PATCH'\n{_gold(task_id)}RESQ_PATCH"
    return [{"content": "Applying the fix.", "tool_call": {"command": apply},
             "usage": {"prompt_tokens": 1500 + len(task_id), "completion_tokens": 210}},
            {"content": "Done.", "tool_call": {"command": "echo COMPLETE_TASK_AND_SUBMIT_FINAL_OUTPUT"},
             "usage": {"prompt_tokens": 1900, "completion_tokens": 12}}]


def aider_script(task_id: str) -> list[dict]:
    return [{"content": f"Here is the change.\n\n{search_replace(_gold(task_id))}",
             "usage": {"prompt_tokens": 2300 + len(task_id), "completion_tokens": 420}}]


def _rows(out: Path) -> dict[str, dict]:
    return {row["task_id"]: row for row in map(json.loads, (out / "results.jsonl").read_text().splitlines())}


def _no_key_anywhere(out: Path) -> None:
    for file in out.rglob("*"):
        if file.is_file():
            assert KEY.encode() not in file.read_bytes(), file


@pytest.mark.parametrize("agent,script,records", [
    ("mini-swe-agent", mini_script, ["trajectory.json"]),
    ("aider", aider_script, ["chat.history.md", "analytics.jsonl"]),
])
def test_builtin_agent_passes_the_demo_against_a_loopback_server(agent, script, records, agent_layers, tmp_path,
                                                                 docker_client, cleanup_run):
    for run, tasks in (("first", list(TASKS)), ("second", ["fix-allocate-remainder"])):
        # the layer was built by the fixture (or an earlier session): neither run installs anything
        out = tmp_path / f"run-{agent}-{run}-{secrets.token_hex(2)}"
        cleanup_run.append(out.name)
        only = [option for task_id in tasks for option in ("--task", task_id)]
        with ScriptedLLM({task_id: script(task_id) for task_id in TASKS}, api_key=KEY) as llm:
            proc = resq("run", str(DEMO), "--system", agent, "--model", "openai/m", "--base-url", llm.base_url,
                        "--out", str(out), "-j", "2", *only, env={"OPENAI_API_KEY": KEY})
        assert proc.returncode == 0, proc.stdout + proc.stderr
        printed = proc.stdout + proc.stderr
        assert f"layer resq-agent-{agent}:" in printed and "(cached), network host" in printed
        rows = _rows(out)
        assert {task: row["outcome"] for task, row in rows.items()} == dict.fromkeys(tasks, "passed"), \
            {task: row["reason"] for task, row in rows.items()}
        for task_id, row in rows.items():
            answered = llm.usage_for(task_id)
            assert answered["calls"] > 0
            assert {k: row["usage"][k] for k in answered} == answered  # read from the agent's own records
            assert row["usage"]["wall_s"] > 0
            assert row["context_files"], "what the agent read is accounted for"
            logs = out / "logs" / task_id
            for name in records:
                assert (logs / name).stat().st_size > 0, name
            assert ".aider" not in (logs / "patch.diff").read_text()
        _no_key_anywhere(out)
        assert containers_of(docker_client, out.name) == []


def test_documented_shell_agent_spec_runs(tmp_path, docker_client, cleanup_run):
    """The spec shown in docs/agents.md is the file the test runs."""
    assert SHELL_AGENT.read_text() in (PROJECT / "docs" / "agents.md").read_text()
    task = "fix-allocate-remainder"
    out = tmp_path / f"run-shell-{secrets.token_hex(2)}"
    cleanup_run.append(out.name)
    answer = {"content": f"```diff\n{_gold(task)}```\n", "usage": {"prompt_tokens": 640, "completion_tokens": 99}}
    with ScriptedLLM({task: [answer]}, api_key=KEY) as llm:
        proc = resq("run", str(DEMO), "--system", "agent", "--agent-spec", str(SHELL_AGENT), "--task", task,
                    "--model", "m", "--base-url", llm.base_url, "--out", str(out), "--api-key-env", "MY_KEY",
                    env={"MY_KEY": KEY})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    row = _rows(out)[task]
    assert row["outcome"] == "passed", row["reason"]
    assert row["usage"]["prompt_tokens"] == 640 and row["usage"]["completion_tokens"] == 99
    assert row["usage"]["calls"] == 1
    assert (out / "logs" / task / "calls.jsonl").exists()
    _no_key_anywhere(out)
    config = json.loads((out / "run.json").read_text())["system"]["config"]
    assert config["agent_spec_sha256"] == spec_file_hash(SHELL_AGENT)  # an edited spec does not resume this run


def _spec(tmp_path: Path, name: str, command: str) -> Path:
    """A spec that installs nothing; they all share one name, so one small layer serves them all."""
    file = tmp_path / f"{name}.yaml"
    file.write_text(f"name: tiny-agent\ncommand: {json.dumps(command)}\napi_key_var: ''\n")
    load_spec(file)
    return file


def test_agent_timeout_and_non_zero_exit_are_system_errors(tmp_path, docker_client, cleanup_run):
    task = "fix-allocate-remainder"
    cases = [(_spec(tmp_path, "slow-agent", "echo thinking hard; sleep 60"), ["--agent-timeout", "3"],
              "agent timed out after 3s; last output: thinking hard"),
             (_spec(tmp_path, "broken-agent", "echo loading; echo 'fatal: no model' >&2; exit 3"), [],
              "agent exited 3: fatal: no model")]
    for spec, options, reason in cases:
        out = tmp_path / f"run-{spec.stem}-{secrets.token_hex(2)}"
        cleanup_run.append(out.name)
        proc = resq("run", str(DEMO), "--system", "agent", "--agent-spec", str(spec), "--task", task, "--model",
                    "m", "--base-url", "http://192.0.2.1:9/v1", "--api-key-env", "", "--out", str(out), *options)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        row = _rows(out)[task]
        assert (row["outcome"], row["reason"]) == ("system_error", reason)
        assert "network bridge" in proc.stdout + proc.stderr
        assert containers_of(docker_client, out.name) == []


def test_agent_that_changes_nothing_has_its_empty_patch_graded(tmp_path, cleanup_run):
    """Its Debian package is installed over the task image; --agent-network overrides the loopback choice."""
    spec = tmp_path / "idle-agent.yaml"
    spec.write_text(json.dumps({"name": "idle-agent", "install": {"apt": ["jq"]}, "api_key_var": "",
                                "command": """echo '{"verdict": "nothing to do"}' | jq -r .verdict"""}))
    out = tmp_path / f"run-idle-{secrets.token_hex(2)}"
    cleanup_run.append(out.name)
    proc = resq("run", str(DEMO), "--system", "agent", "--agent-spec", str(spec), "--task", "fix-allocate-remainder",
                "--model", "m", "--base-url", "http://127.0.0.1:9/v1", "--api-key-env", "", "--out", str(out),
                "--agent-network", "bridge")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "network bridge" in proc.stdout + proc.stderr
    row = _rows(out)["fix-allocate-remainder"]
    assert row["outcome"] == "failed"  # graded: the hidden tests fail on the untouched repository
    logs = out / "logs" / "fix-allocate-remainder"
    assert (logs / "patch.diff").read_text() == ""
    assert (logs / "agent_output.txt").read_text().strip() == "nothing to do"


def test_bad_agent_spec_is_one_error_line(tmp_path):
    spec = tmp_path / "bad.yaml"
    spec.write_text("name: Bad Name\ncommand: run {nope}\n")
    proc = resq("run", str(DEMO), "--system", "agent", "--agent-spec", str(spec), "--model", "m", "--base-url",
                "http://127.0.0.1:9/v1", "--api-key-env", "")
    assert proc.returncode == 2
    assert re.match(rf"error: {re.escape(str(spec))}: name: .*; command: .*unknown placeholder\(s\) nope",
                    proc.stderr.strip()), proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1

    proc = resq("run", str(DEMO), "--system", "aider", "--model", "openai/m")
    assert (proc.returncode, proc.stderr.strip()) == (2, "error: --system aider needs --model (e.g. openai/NAME) "
                                                         "and --base-url (e.g. http://127.0.0.1:8000/v1)")
    proc = resq("run", str(DEMO), "--system", "mini-swe-agent", "--model", "openai/m", "--base-url",
                "http://127.0.0.1:9/v1", "--api-key-env", "RESQ_NO_SUCH_VARIABLE")
    assert proc.returncode == 2
    assert proc.stderr.strip().startswith("error: --api-key-env RESQ_NO_SUCH_VARIABLE: the variable is not set")


def test_agent_refused_by_the_endpoint_stops_the_run(agent_layers, tmp_path, cleanup_run):
    task = "fix-allocate-remainder"
    out = tmp_path / f"run-auth-{secrets.token_hex(2)}"
    cleanup_run.append(out.name)
    wrong = "sk-wrong-key-for-this-server-0000"
    with ScriptedLLM({task: mini_script(task)}, api_key=KEY) as llm:
        proc = resq("run", str(DEMO), "--system", "mini-swe-agent", "--task", task, "--model", "openai/m",
                    "--base-url", llm.base_url, "--out", str(out), "--retries", "0", env={"OPENAI_API_KEY": wrong})
        assert [r["authorization"] for r in llm.requests][:1] == [f"Bearer {wrong}"]
    row = _rows(out)[task]
    assert (row["outcome"], row["stops_run"]) == ("system_error", True)
    assert row["reason"].startswith(f"the model endpoint {llm.base_url} refused the agent's credentials "
                                    "(--api-key-env OPENAI_API_KEY): "), row["reason"]
    assert "AuthenticationError" in row["reason"]
    assert proc.returncode == 2  # the run stops: every later task would be refused the same way
    assert proc.stderr.strip().splitlines()[-1].startswith(f"error: {task}: the model endpoint")
    for file in out.rglob("*"):
        if file.is_file():
            assert wrong.encode() not in file.read_bytes(), file
