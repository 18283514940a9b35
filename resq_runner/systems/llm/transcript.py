"""transcript.json in a task's log folder: everything the `llm` system did for the task (see docs/transcript.md)."""

from __future__ import annotations

from pydantic import BaseModel

TRANSCRIPT_FORMAT = "resq-llm-transcript/1"


class ShownFile(BaseModel):
    path: str
    start: int
    end: int
    reason: str  # bm25 | opened
    tokens: int = 0  # estimated tokens of what was shown


class CallRecord(BaseModel):
    turn: int
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0
    seconds: float = 0.0
    retries: list[str] = []  # one line per failed attempt before the answer (HTTP status, timeout)
    error: str = ""


class EditRecord(BaseModel):
    turn: int
    path: str
    format: str  # search-replace | unified-diff
    applied: bool
    error: str = ""


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
    stopped: str = ""  # why the loop ended
    patch: str = ""
    usage: dict = {}
