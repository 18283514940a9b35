"""transcript.json in a task's log folder: everything the `llm` system did for the task (see docs/agents.md)."""

from __future__ import annotations

from pydantic import BaseModel

TRANSCRIPT_FORMAT = "resq-llm-transcript/1"


class ShownFile(BaseModel):
    path: str
    start: int
    end: int
    reason: str  # bm25 | opened | grep
    tokens: int = 0  # estimated tokens of what was shown


class CallRecord(BaseModel):
    turn: int
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    seconds: float = 0.0
    retries: list[str] = []  # one line per failed attempt before the answer (HTTP status, timeout)
    finish_reason: str = ""  # as the server said: stop, length, ...
    error: str = ""


class EditRecord(BaseModel):
    turn: int
    path: str
    format: str  # search-replace | unified-diff
    applied: bool
    error: str = ""
    note: str = ""  # already present, line numbers stripped, tabs re-indented


class CheckRecord(BaseModel):
    """One run of the syntax gate on an edited file."""

    turn: int
    path: str
    tool: str  # compile | tree-sitter | node --check
    ok: bool
    error: str = ""


class TestRun(BaseModel):
    """One run of the repository's visible tests in the workspace (`--test-loop`)."""

    turn: int
    command: str
    exit_code: int | None  # None: timed out
    seconds: float
    output: str = ""  # the end of what the command printed


class Transcript(BaseModel):
    format: str = TRANSCRIPT_FORMAT
    task_id: str
    model: str
    base_url: str
    edit_format: str
    context_tokens: int = 0
    files_shown: list[ShownFile] = []
    messages: list[dict] = []
    calls: list[CallRecord] = []
    edits: list[EditRecord] = []
    checks: list[CheckRecord] = []
    test_runs: list[TestRun] = []
    stopped: str = ""  # why the loop ended
    patch: str = ""
    usage: dict = {}
