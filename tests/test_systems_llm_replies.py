"""The llm agent against scripted imperfect replies (tests/llm_replies.py): a real workspace container of a demo
task, a real scripted chat-completions server, the agent's real loop. Recoverable cases end with the fix in the
patch; no case ever submits code that does not parse; the transcript says what happened."""

from __future__ import annotations

import pytest

from llm_replies import CASES, FIX, INSTRUCTION, Case, case_key, demo_workspace, run_case, run_cases
from llm_server import ScriptedLLM


@pytest.fixture(scope="module")
def workspace(docker_client, python_env):
    workspace = demo_workspace(docker_client, python_env)
    yield workspace
    workspace.close()


@pytest.fixture(scope="module")
def results(workspace):
    return run_cases(CASES, workspace)


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_scripted_reply(results, case):
    result = results[case.name]
    assert "DOES NOT PARSE" not in result.outcome
    assert result.recovered == case.recoverable, result.outcome
    assert all(call.finish_reason for call in result.transcript.calls)


def test_a_syntax_error_goes_back_to_the_model_and_is_recorded(results):
    transcript = results["syntax error, then fixed"].transcript
    assert [c.ok for c in transcript.checks] == [False, True]
    assert transcript.checks[0].tool == "compile" and "SyntaxError" in transcript.checks[0].error
    assert "would not parse" in transcript.messages[3]["content"]


def test_a_cut_off_reply_asks_to_continue_and_records_finish_reason(results):
    transcript = results["unified diff cut off (finish_reason=length), then continued"].transcript
    assert [c.finish_reason for c in transcript.calls] == ["length", "stop"]
    assert "cut off" in transcript.messages[3]["content"] and transcript.edits[0].applied
    never = results["cut off every time"]
    assert never.patch == "" and transcript.stopped == "edits applied"


def test_blocks_that_match_are_applied_and_only_the_others_reported(results):
    transcript = results["two blocks, one fails, then only that one resent"].transcript
    assert [(e.turn, e.applied) for e in transcript.edits] == [(1, True), (1, False), (2, True)]
    feedback = transcript.messages[3]["content"]
    assert feedback.startswith("Applied: edit 1 (ledgerlite/money.py).") and "edit 2 (ledgerlite/money.py)" in feedback
    again = results["two blocks, one fails, then both resent (one already present)"].transcript
    assert [e.note for e in again.edits if e.turn == 2] == ["already present", ""]


def test_lookups_show_lines_and_are_recorded(results):
    opened = results["OPEN a range, then the edit"].transcript
    assert [(s.path, s.start, s.end) for s in opened.files_shown if s.reason == "opened"] == [
        ("ledgerlite/money.py", 50, 69)]  # the file ends at line 69
    assert "def allocate" in opened.messages[3]["content"] and "|" not in opened.messages[3]["content"].split("\n")[2]
    grepped = results["GREP, then the edit"].transcript
    assert [(s.path, s.reason) for s in grepped.files_shown if s.reason == "grep"] == [("ledgerlite/money.py", "grep")]


def test_repairs_are_noted(results):
    assert results["tabs instead of spaces"].transcript.edits[0].note == "tabs re-indented"
    assert results["copied line-number prefixes"].transcript.edits[0].note == "line numbers stripped"


def test_edits_keep_the_file_mode(workspace):
    case = CASES[0]
    key = case_key(case)
    with ScriptedLLM({key: case.replies}, instructions={key: INSTRUCTION.format(name=key)}) as server:
        result = run_case(case, workspace, server.base_url, prepare="chmod 755 ledgerlite/money.py")
    assert FIX in result.patch
    assert workspace.run("stat -c %a ledgerlite/money.py") == (0, "755\n")
    assert "new mode 100755" in result.patch  # the chmod shows against the snapshot; the edit did not undo it


def test_javascript_edits_are_checked_by_tree_sitter_and_by_node_in_the_workspace(docker_client):
    """A broken JavaScript edit is refused before it is written (tree-sitter); one that tree-sitter accepts but node
    rejects (a `let` declared twice) is written, refused by `node --check` in the workspace container, and put back;
    the third reply is right."""
    from conftest import PROJECT
    from resq_runner import environments
    from resq_runner.runner import task_image
    from resq_runner.sandbox import Limits, Sandbox
    from resq_runner.systems.base import Workspace
    from resq_runner.tasks import load_suite

    tf = load_suite(PROJECT / "tasks" / "js", ["ms-compound-durations"])[0]
    image = task_image(docker_client, tf, environments.ensure_environment(docker_client, "node", log=lambda _m: None))

    def start(_setup) -> Sandbox:  # the default workspace: no agent layer, the run's network
        sandbox = Sandbox(docker_client, image.tag, "llm-replies-js", "workspace", command=["sleep", "infinity"],
                          user="1000:1000", limits=Limits())
        sandbox.start()
        return sandbox

    def js_block(replace: str) -> dict:
        return {"content": f"index.js\n```\n<<<<<<< SEARCH\nvar s = 1000;\n=======\n{replace}>>>>>>> REPLACE\n```\n"}

    case = Case("javascript", [js_block("var s = (1000;\n"), js_block("let s = 1000;\nlet s = 1001;\n"),
                               js_block("var s = 1000; // one second\n")], wanted=["// one second"])
    key = case_key(case)
    workspace = Workspace(start)
    try:
        with ScriptedLLM({key: case.replies}, instructions={key: INSTRUCTION.format(name=key)}) as server:
            result = run_case(case, workspace, server.base_url)
    finally:
        workspace.close()
    checks = [(c.turn, c.tool, c.ok) for c in result.transcript.checks]
    assert checks == [(1, "tree-sitter", False), (2, "tree-sitter", True), (2, "node --check", False),
                      (3, "tree-sitter", True), (3, "node --check", True)]
    assert "already been declared" in result.transcript.checks[2].error
    assert "let s = 1001" not in result.patch and "// one second" in result.patch
