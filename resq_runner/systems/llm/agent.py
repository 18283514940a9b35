"""One task's conversation: context in, edits out, apply errors back, until the edits apply or a limit is hit.

    user: task + repository map + BM25 chunks
    model: OPEN: a.py, b.py           ─▶ user: those files, numbered
    model: edits (search/replace or unified diff)
        applied                       ─▶ done; the patch is the workspace diff
        not applied / no edit found   ─▶ user: the error, while retries are left
"""

from __future__ import annotations

import re
import shlex
import time
from dataclasses import dataclass

from ...models import ContextFile, SystemOutput, TaskView, Usage
from ..base import Workspace, safe_path
from .client import Budget, ChatClient, LlmError
from .edits import ApplyError, Edit, apply_edits, parse_edits
from .retrieval import build_context, render_file
from .transcript import CallRecord, EditRecord, ShownFile, Transcript

FORMATS = {
    "search-replace": """Answer with SEARCH/REPLACE blocks, one per change, each preceded by the file's path:

path/to/file.py
<<<<<<< SEARCH
lines copied exactly from the file
=======
the new lines
>>>>>>> REPLACE

To create a file, leave the SEARCH part empty.""",
    "udiff": """Answer with one unified diff in a ```diff fence:

```diff
--- a/path/to/file.py
+++ b/path/to/file.py
@@ @@
 context line
-removed line
+added line
```

Copy context and removed lines exactly from the file. For a new file use `--- /dev/null`.""",
}

SYSTEM_PROMPT = """You are an expert software engineer editing a repository to resolve a task.
You see a map of the repository and the code that looks most relevant. If you need whole files first, reply
with a single line `OPEN: path/one.py, path/two.py` and nothing else. When you are ready, make every change
the task needs in one reply.

{format}"""

_OPEN = re.compile(r"^\s*OPEN:\s*(.+)$", re.M)


@dataclass
class AgentSettings:
    edit_format: str = "search-replace"
    context_tokens: int = 8000
    open_tokens: int = 8000
    max_turns: int = 8
    max_apply_retries: int = 3


class Agent:
    def __init__(self, client: ChatClient, settings: AgentSettings, budgets: list[Budget], task: TaskView,
                 workspace: Workspace):
        self.client, self.settings, self.budgets = client, settings, budgets
        self.task, self.workspace = task, workspace
        self.usage = Usage()
        self.transcript = Transcript(task_id=task.id, model=client.settings.model,
                                     base_url=client.settings.base_url, edit_format=settings.edit_format)

    def run(self) -> SystemOutput:
        started = time.perf_counter()
        error = ""
        try:
            self._converse()
        except LlmError as exc:
            error = self.client.redact(str(exc))
            self.transcript.stopped = f"error: {error}"
        patch = self.workspace.diff() if self.workspace.started else ""
        self.usage.wall_s = time.perf_counter() - started
        self.transcript.patch, self.transcript.usage = patch, self.usage.model_dump()
        return SystemOutput(patch=patch, usage=self.usage, error=error or None, context_files=[
            ContextFile(path=s.path, start=s.start, end=s.end, tokens=s.tokens, source=s.reason)
            for s in self.transcript.files_shown])

    def _converse(self) -> None:
        files = self._text_files()
        context = build_context(self.task.instruction, files, self.settings.context_tokens)
        self.transcript.context_tokens = context.tokens
        self.transcript.files_shown = [ShownFile(**vars(s)) for s in context.shown]
        messages = [
            {"role": "system", "content": SYSTEM_PROMPT.format(format=FORMATS[self.settings.edit_format])},
            {"role": "user", "content": f"Task id: {self.task.id}\n\n# Task\n{self.task.instruction}\n\n"
                                        f"# Repository\n{context.text}"},
        ]
        self.transcript.messages = messages
        failures = 0
        for turn in range(1, self.settings.max_turns + 1):
            reply = self._call(messages, turn)
            messages.append({"role": "assistant", "content": reply})
            feedback, failed = self._act(reply, files, turn)
            if feedback is None:
                self.transcript.stopped = "edits applied"
                return
            failures += failed
            if failures > self.settings.max_apply_retries:
                self.transcript.stopped = f"gave up after {failures} replies without applicable edits"
                return
            messages.append({"role": "user", "content": feedback})
        self.transcript.stopped = f"turn limit ({self.settings.max_turns}) reached"

    def _call(self, messages: list[dict], turn: int) -> str:
        try:
            completion = self.client.complete(messages, self.budgets)
        except LlmError as exc:
            self.transcript.calls.append(CallRecord(turn=turn, error=self.client.redact(str(exc))))
            raise
        self.usage.calls += 1
        self.usage.prompt_tokens += completion.prompt_tokens
        self.usage.completion_tokens += completion.completion_tokens
        self.usage.cost_usd += completion.cost_usd
        self.transcript.calls.append(CallRecord(
            turn=turn, prompt_tokens=completion.prompt_tokens, completion_tokens=completion.completion_tokens,
            cost_usd=completion.cost_usd, seconds=completion.seconds, retries=completion.attempts))
        return completion.content

    def _act(self, reply: str, files: dict[str, str], turn: int) -> tuple[str | None, bool]:
        """(None, False) when the reply's edits were applied; otherwise the message to send back, and whether the
        reply counts against the retries (asking to open files does not)."""
        try:
            edits = parse_edits(reply)
        except ApplyError as exc:
            return f"Your edits could not be read: {exc}\nResend every change in the required format.", True
        if edits:
            error = self._apply(edits, reply, turn)
            return (None, False) if error is None else (error, True)
        wanted = _OPEN.findall(reply)
        if wanted:
            return self._open([p.strip(" `'\"") for p in re.split(r"[,\s]+", wanted[0]) if p], files), False
        return ("Your reply contained no edit I could read. Make the change now, in the required format:\n\n"
                + FORMATS[self.settings.edit_format]), True

    def _apply(self, edits: list[Edit], reply: str, turn: int) -> str | None:
        kind = "search-replace" if "<<<<<<<" in reply else "unified-diff"
        try:
            for edit in edits:
                edit.path = safe_path(edit.path)
            contents = apply_edits(edits, self._read)
        except (ApplyError, ValueError) as exc:
            self.transcript.edits += [EditRecord(turn=turn, path=e.path, format=kind, applied=False, error=str(exc))
                                      for e in edits]
            return f"Nothing was applied:\n{exc}\nResend every change, fixed."
        for path, text in contents.items():
            if text is None:
                self.workspace.run(f"rm -f -- {shlex.quote(path)}")
            else:
                self.workspace.write(path, text.encode())
        self.transcript.edits += [EditRecord(turn=turn, path=e.path, format=kind, applied=True) for e in edits]
        return None

    def _open(self, paths: list[str], files: dict[str, str]) -> str:
        parts, budget = [], self.settings.open_tokens
        for path in paths[:10]:
            if path not in files:
                parts.append(f"{path}: no such text file in the repository")
                continue
            rendered, shown = render_file(path, files[path], budget // max(1, len(paths)))
            parts.append(rendered)
            self.transcript.files_shown.append(ShownFile(**vars(shown)))
        return "\n".join(parts)

    def _read(self, path: str) -> str | None:
        data = self.workspace.read(path)
        return None if data is None else data.decode("utf-8", "replace")

    def _text_files(self) -> dict[str, str]:
        texts = {}
        for path, data in self.workspace.read_tree().items():
            try:
                texts[path] = data.decode("utf-8")
            except UnicodeDecodeError:
                continue
        return texts
