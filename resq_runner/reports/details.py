"""What the HTML report's detail view shows for one task, read from the run folder's rows and log files.

The patch, the per-test verdicts, the files the system read, the task's log files (linked) and any record of what
the system did that it left in the log folder: the `llm` system's transcript.json, an agent's trajectory (any JSON
file holding a list of chat messages) or chat history (`*.md`), and an agent's output. Every text is clipped to a
share of a page budget, so the page of a 10,000-task run stays small enough to open; the whole files stay in the
run folder and are linked from the view.
"""

from __future__ import annotations

import json
import os
import posixpath
from pathlib import Path
from typing import Any, Literal, Mapping
from urllib.parse import quote

from pydantic import Field

from ..models import Outcome, Record, Result, TestStatus
from ..results import RunPaths, log_name
from .records import RunReport, TaskRow

PAGE_BUDGET = 40_000_000  # characters of detail data for the whole page
TASK_BUDGET_MIN, TASK_BUDGET_MAX = 1_000, 1_000_000
TEST_LINE_CHARS = 100  # what one listed test costs, for the budget
MESSAGE_MIN_CHARS = 160  # a message clipped shorter than this says nothing: leave whole messages out instead
META_ITEMS, META_CHARS = 16, 300
TABLE_ROWS, TABLE_CELL_CHARS = 200, 600  # of a transcript's tables (model calls, edits, checks, test runs)
TRAJECTORY_MAX_BYTES = 64 * 1024 * 1024  # larger files are linked, not read
STATUS_ORDER: dict[str, int] = {TestStatus.failed: 0, TestStatus.error: 1, TestStatus.missing: 2,
                                TestStatus.skipped: 3, TestStatus.passed: 4}
TEXT_TITLES = {"agent_output.txt": "Agent output", "system.log": "System log"}
NOT_TRAJECTORIES = ("report", "status")  # test reports and harness status files are JSON too


class Clipped(Record):
    """A text cut to fit: `cut` characters were left out (at the end, the start or the middle, as `where` says)."""

    text: str = ""
    cut: int = 0
    where: Literal["end", "start", "middle"] = "end"


class ReadFile(Record):
    path: str
    lines: str = ""  # "12-40", empty when unknown
    tokens: int = 0
    source: str = ""


class LogFile(Record):
    name: str
    href: str
    size: int


class ToolCall(Record):
    name: str
    arguments: Clipped


class Message(Record):
    role: str
    name: str = ""  # a tool message's tool or call id
    content: Clipped = Clipped()
    tool_calls: list[ToolCall] = []


class Table(Record):
    title: str
    columns: list[str]
    rows: list[list[str]]


class Transcript(Record):
    """One record of what the system did: chat messages (with tool calls) or plain text, with a few facts."""

    title: str  # Transcript, Chat history, Agent output, System log
    file: str
    href: str
    meta: dict[str, str] = {}
    messages: list[Message] = []
    left_out: int = 0  # messages not shown (the budget), between the first and the last ones shown
    text: Clipped | None = None
    tables: list[Table] = []


# A page of 100k tasks lists ~500k tests and 100k samples: as tuples (page.js names their parts) they cost a third
# of a record each to make and to write, and half the characters. Statuses and outcomes are their enums' members,
# typed `str` (what they are too), which the serializer writes as they are instead of asking each for its value.
TestLine = tuple[str, ...]  # (test, status), or (test, status, criterion) for a test the task lists: FAIL_TO_PASS or
# PASS_TO_PASS
SampleLine = tuple[int, int, str, str, float, str]  # sample, attempt, outcome, reason, seconds, href of its log folder
# ("" when there is none)


class FolderDetail(Record):
    """What the task's log folder holds: the patch, the test output, every file (linked) and the transcripts."""

    patch_file: str = ""
    patch: Clipped | None = None
    output_file: str = ""
    output: Clipped | None = None
    logs: list[LogFile] = Field(default_factory=list)
    transcripts: list[Transcript] = Field(default_factory=list)


class TaskDetail(Record):
    """What the detail view shows of one task; `folder` is None when the task has no log folder (a run written
    without logs, a task skipped for the budget). (List defaults are factories: a `[]` default is deep-copied for
    every record, 100k of them in a page.)"""

    task_id: str
    outcome: Outcome
    reason: str = ""
    kind: str = ""
    tags: list[str] = Field(default_factory=list)
    samples: list[SampleLine] = Field(default_factory=list)
    tests: list[TestLine] = Field(default_factory=list)
    tests_left_out: dict[str, int] = Field(default_factory=dict)  # status -> tests not listed (the budget)
    read: list[ReadFile] = Field(default_factory=list)
    folder: FolderDetail | None = None


def task_budget(tasks: int) -> int:
    """Characters of detail data one task may take on a page of `tasks` tasks."""
    return max(TASK_BUDGET_MIN, min(TASK_BUDGET_MAX, PAGE_BUDGET // max(tasks, 1)))


def task_details(report: RunReport, rows_by_task: Mapping[str, list[Result]], out: Path) -> list[TaskDetail]:
    """One detail per task of the report, in its order; `rows_by_task`: each task's counted rows (one per sample),
    in sample order."""
    paths = RunPaths(Path(report.root).resolve())
    links = Links(paths.root, Path(out).resolve().parent)
    budget = task_budget(len(report.tasks))
    log_folders = paths.log_folder_names()  # a task without a folder costs no look-up
    no_rows: list[Result] = []
    return [task_detail(task, rows_by_task.get(task.task_id, no_rows), paths, links, budget, log_folders)
            for task in report.tasks]


def task_detail(task: TaskRow, rows: list[Result], paths: RunPaths, links: Links, budget: int,
                log_folders: set[str]) -> TaskDetail:
    """(of_typed: every value is already of its field's type; a page of 100k tasks makes 100k of these.)"""
    values: dict[str, Any] = {
        "task_id": task.task_id, "outcome": task.outcome, "reason": task.reason, "kind": task.kind, "tags": task.tags,
        "samples": [], "tests": [], "tests_left_out": {}, "read": [], "folder": None}
    if not rows:
        return TaskDetail.of_typed(values)
    first = rows[0]
    # the first sample's seconds are the task's (already added up); no logs/ at all: no folder to link to
    values["samples"] = [(row.sample, row.attempt, row.outcome, row.reason,
                          round(task.seconds if row is first else row.timings.total(), 3),
                          _folder_href(log_name(row.task_id, row.attempt, row.sample), links, log_folders)
                          if log_folders else "")
                         for row in rows]
    values["tests"], values["tests_left_out"] = test_lines(first, max(10, budget // 4 // TEST_LINE_CHARS))
    if first.context_files:
        values["read"] = [ReadFile(path=c.path, lines=f"{c.start}-{c.end}" if c.start and c.end else "",
                                   tokens=c.tokens, source=c.source)
                          for c in first.context_files[:max(10, budget // 400)]]
    name = log_name(first.task_id, first.attempt, first.sample) if log_folders else ""
    if name in log_folders:  # else no log folder (e.g. a task skipped for the budget)
        values["folder"] = folder_detail(paths.root / "logs" / name, f"logs/{name}", links, budget)
    return TaskDetail.of_typed(values)


def _folder_href(name: str, links: Links, log_folders: set[str]) -> str:
    """The link to logs/<name>, or "" when there is no such folder (nothing to link to)."""
    return links.to(f"logs/{name}") if name in log_folders else ""


def folder_detail(folder: Path, logs: str, links: Links, budget: int) -> FolderDetail:
    """The patch, the test output, the files and the transcripts of one log folder (`logs`: its path in the run
    folder), each clipped to its share of the task's `budget`."""
    try:
        entries = sorted((e for e in os.scandir(folder) if e.is_file()), key=lambda e: e.name)
    except OSError:
        entries = []
    files = [folder / e.name for e in entries]
    detail = FolderDetail(logs=[LogFile(name=e.name, href=links.to(f"{logs}/{e.name}"), size=e.stat().st_size)
                                for e in entries])
    names = {p.name: p for p in files}
    patch = names.get("patch.diff") or names.get("solution.py")
    if patch:
        detail.patch_file, detail.patch = patch.name, clip_file(patch, budget // 2, "end")
    output = names.get("test_output.txt") or names.get("stdout.txt")
    if output:
        detail.output_file, detail.output = output.name, clip_file(output, budget // 8, "start")
    records = sorted((p for p in files if _is_transcript(p)), key=lambda p: (p.suffix != ".json", p.suffix != ".md"))
    share = budget * 3 // 8 // max(len(records), 1)
    detail.transcripts = [t for t in (read_transcript(p, links.to(f"{logs}/{p.name}"), share) for p in records) if t]
    return detail


def _by_status(line: TestLine) -> int:
    return STATUS_ORDER[line[1]]


def _by_status_and_criterion(line: TestLine) -> tuple[int, bool, bool]:
    return STATUS_ORDER[line[1]], len(line) < 3, line[2:] != ("FAIL_TO_PASS",)


def test_lines(row: Result, most: int) -> tuple[list[TestLine], dict[str, int]]:
    """The tests of the evaluation, not passed first, the task's listed tests before others; at most `most`."""
    lines: list[TestLine]
    if row.fail_to_pass or row.pass_to_pass:
        criteria = {**{t: "PASS_TO_PASS" for t in row.pass_to_pass}, **{t: "FAIL_TO_PASS" for t in row.fail_to_pass}}
        statuses = {**row.pass_to_pass, **row.fail_to_pass, **row.tests}
        lines = sorted([(test, status, criteria[test]) if test in criteria else (test, status)
                        for test, status in statuses.items()], key=_by_status_and_criterion)
    elif len(set(row.tests.values())) < 2:  # one status (most rows): nothing to sort
        lines = list(row.tests.items())
    else:  # by status alone: the sort is stable
        lines = sorted(row.tests.items(), key=_by_status)
    if len(lines) <= most:
        return lines, {}
    left_out: dict[str, int] = {}
    for line in lines[most:]:
        left_out[line[1]] = left_out.get(line[1], 0) + 1  # TestStatus members, which are their values
    return lines[:most], left_out


def clip(text: str, limit: int, cut_at: Literal["end", "start", "middle"]) -> Clipped:
    """`text` cut to `limit` characters, the cut made at its end, its start or its middle."""
    if len(text) <= limit:
        return Clipped(text=text)
    cut = len(text) - limit
    if cut_at == "end":
        return Clipped(text=text[:limit], cut=cut, where="end")
    if cut_at == "start":
        return Clipped(text=text[-limit:], cut=cut, where="start")
    return Clipped(text=text[:limit // 2] + "\n…\n" + text[len(text) - limit // 2:], cut=cut, where="middle")


def clip_file(path: Path, limit: int, cut_at: Literal["end", "start", "middle"]) -> Clipped:
    """clip() of a file's text, reading only the parts that can be kept when the file is large (a 1 GB test log
    costs no more than a small one); `cut` then counts the bytes left out."""
    size = path.stat().st_size
    window = limit * 4 + 4  # a character is at most 4 bytes of UTF-8
    if size <= 2 * window:
        return clip(path.read_text(encoding="utf-8", errors="replace"), limit, cut_at)
    with path.open("rb") as stream:
        head = stream.read(window) if cut_at != "start" else b""
        stream.seek(size - window)
        tail = stream.read() if cut_at != "end" else b""
    kept = clip((head + tail).decode("utf-8", errors="replace"), limit, cut_at)
    return kept.model_copy(update={"cut": max(kept.cut, size - len(kept.text.encode()))})


# ---------------------------------------------------------------------------------------------------------------
# Transcripts and trajectories


def _is_transcript(path: Path) -> bool:
    if path.name in TEXT_TITLES or path.suffix == ".md":
        return True
    return path.suffix == ".json" and not path.name.startswith(NOT_TRAJECTORIES)


def read_transcript(path: Path, href: str, budget: int) -> Transcript | None:
    """A transcript from a log file; None when a JSON file holds no chat messages (it is still linked)."""
    if path.suffix != ".json":
        title = TEXT_TITLES.get(path.name, "Chat history" if path.suffix == ".md" else "Log")
        return Transcript(title=title, file=path.name, href=href, text=clip_file(path, budget, "middle"))
    if path.stat().st_size > TRAJECTORY_MAX_BYTES:
        return None
    try:
        data = json.loads(path.read_text(encoding="utf-8", errors="replace"))
    except ValueError:
        return None
    messages = data.get("messages") if isinstance(data, dict) else data
    if not (isinstance(messages, list) and any(isinstance(m, dict) and "role" in m for m in messages)):
        return None
    shown, left_out = fit_messages([_message(m) for m in messages if isinstance(m, dict)], budget)
    record = data if isinstance(data, dict) else {}
    return Transcript(title="Transcript", file=path.name, href=href, meta=_meta(record), messages=shown, left_out=left_out,
                      tables=_llm_tables(record) if str(record.get("format", "")).startswith("resq-llm") else [])


def fit_messages(messages: list[Message], budget: int) -> tuple[list[Message], int]:
    """Clip each message's texts to an equal share of `budget`; when a share would be too small to read, keep the
    first and last messages and leave out the middle ones."""
    keep = len(messages)
    if keep and budget // keep < MESSAGE_MIN_CHARS:
        keep = max(2, budget // MESSAGE_MIN_CHARS)
    chosen = messages if keep >= len(messages) else messages[:keep // 2] + messages[len(messages) - (keep - keep // 2):]
    share = max(MESSAGE_MIN_CHARS, budget // max(len(chosen), 1))
    shown = []
    for message in chosen:
        per_call = share // (len(message.tool_calls) + 1)
        calls = [call.model_copy(update={"arguments": clip(call.arguments.text, per_call, "middle")})
                 for call in message.tool_calls]
        shown.append(message.model_copy(update={
            "content": clip(message.content.text, share - per_call * len(calls), "middle"), "tool_calls": calls}))
    return shown, len(messages) - len(chosen)


def _message(data: dict) -> Message:
    """An OpenAI- or Anthropic-style chat message, whole (fit_messages clips it)."""
    texts: list[str] = []
    calls = [_tool_call(call) for call in data.get("tool_calls") or [] if isinstance(call, dict)]
    content = data.get("content")
    for part in content if isinstance(content, list) else [content]:
        if isinstance(part, str):
            texts.append(part)
        elif isinstance(part, dict) and part.get("type") == "tool_use":
            calls.append(ToolCall(name=str(part.get("name", "")), arguments=Clipped(text=_arguments(part.get("input")))))
        elif isinstance(part, dict):
            texts.append(_as_text(part.get("text", part.get("content", part))))
        elif part is not None:
            texts.append(_as_text(part))
    return Message(role=str(data.get("role", "?")), name=str(data.get("name") or data.get("tool_call_id") or ""),
                   content=Clipped(text="\n".join(texts)), tool_calls=calls)


def _tool_call(call: dict) -> ToolCall:
    function: dict = call["function"] if isinstance(call.get("function"), dict) else call
    return ToolCall(name=str(function.get("name", "")),
                    arguments=Clipped(text=_arguments(function.get("arguments", function.get("input", "")))))


def _arguments(value) -> str:
    """A tool call's arguments as a reader wants them: `command: ls -la` rather than a JSON string."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return value
    if isinstance(value, dict):
        return "\n".join(f"{key}: {v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)}"
                         for key, v in value.items())
    return _as_text(value)


def _as_text(value) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, dict) and "text" in v for v in value):
        return "\n".join(str(v["text"]) for v in value)
    return json.dumps(value, indent=1, ensure_ascii=False)


def _meta(record: dict) -> dict[str, str]:
    """The record's plain facts (top level, then `info` and its `model_stats`, as mini-swe-agent writes them)."""
    meta: dict[str, str] = {}
    info: dict = record["info"] if isinstance(record.get("info"), dict) else {}
    stats: dict = info["model_stats"] if isinstance(info.get("model_stats"), dict) else {}
    usage: dict = record["usage"] if isinstance(record.get("usage"), dict) else {}
    for source in (record, info, stats, usage):
        for key, value in source.items():
            if isinstance(value, (str, int, float, bool)) and value != "" and key not in ("patch", "submission") \
                    and len(meta) < META_ITEMS:
                meta.setdefault(str(key), str(value)[:META_CHARS])
    return meta


def _llm_tables(record: dict) -> list[Table]:
    """The `llm` system's model calls, edits, syntax checks and test runs (docs/agents.md, transcript.json)."""
    specs = [
        ("model calls", "calls", ["turn", "prompt tokens", "completion tokens", "cost $", "seconds", "finish",
                                  "retries", "error"],
         lambda c: [c.get("turn"), c.get("prompt_tokens", 0), c.get("completion_tokens", 0),
                    f"{float(c.get('cost_usd') or 0):.4f}", f"{float(c.get('seconds') or 0):.2f}",
                    c.get("finish_reason"), "; ".join(map(str, c.get("retries") or [])), c.get("error")]),
        ("edits", "edits", ["turn", "file", "format", "applied", "note", "error"],
         lambda e: [e.get("turn"), e.get("path"), e.get("format"), "yes" if e.get("applied") else "no", e.get("note"),
                    e.get("error")]),
        ("syntax checks", "checks", ["turn", "file", "tool", "ok", "error"],
         lambda c: [c.get("turn"), c.get("path"), c.get("tool"), "yes" if c.get("ok") else "no", c.get("error")]),
        ("test runs", "test_runs", ["turn", "command", "exit code", "seconds", "end of the output"],
         lambda t: [t.get("turn"), t.get("command"), "timed out" if t.get("exit_code") is None else t.get("exit_code"),
                    f"{float(t.get('seconds') or 0):.2f}", t.get("output")]),
    ]
    tables = []
    for title, key, columns, cells in specs:
        entries = [e for e in record.get(key) or [] if isinstance(e, dict)][:TABLE_ROWS]
        if entries:
            rows = [["" if c is None else clip(str(c), TABLE_CELL_CHARS, "start").text for c in cells(e)]
                    for e in entries]
            tables.append(Table(title=title, columns=columns, rows=rows))
    return tables


# ---------------------------------------------------------------------------------------------------------------


class Links:
    """Links from a page in `page_folder` to files of the run folder, relative so the two can move together (the
    path between them is resolved once: 10,000 tasks make 50,000 links)."""

    def __init__(self, run_root: Path, page_folder: Path):
        self.root = Path(run_root).resolve()
        self.prefix = Path(os.path.relpath(self.root, Path(page_folder).resolve())).as_posix()

    def to(self, relative: str) -> str:
        """`relative`: a path inside the run folder, relative to it (posix)."""
        return quote(posixpath.normpath(f"{self.prefix}/{relative}"))
