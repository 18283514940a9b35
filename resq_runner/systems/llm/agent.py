"""One task's conversation: context in, checked edits out, errors and test failures back, until done or a limit.

    user: task + ranked repository map + chunks
    model: OPEN path | OPEN path:START-END | GREP pattern   ─▶ user: those lines (not counted as a failure)
    model: edits (search/replace blocks or a unified diff)
        cut off (finish_reason=length, unclosed fence/block)  ─▶ user: continue where it stopped (then joined)
        each edit applied on its own; each edited file must still parse (syntax gate) before it is written
        all applied and parsed                                  ─▶ done, or with --test-loop: visible tests run,
                                                                   failures back for up to N turns
        some failed / a syntax error / no edit found            ─▶ user: only what failed, while retries are left
"""

from __future__ import annotations

import re
import shlex
import time
from dataclasses import dataclass, field

from ...models import ContextFile, SystemOutput, TaskView, Usage
from ..base import Workspace, safe_path
from .checks import checker, gate
from .client import Budget, ChatClient, Completion, LlmError
from .edits import Applied, ApplyError, Edit, apply_edits, parse_edits, truncation
from .prompts import FORMATS, SYSTEM_PROMPT
from .retrieval import build_context, file_kind, grep, render_file
from .transcript import CallRecord, CheckRecord, EditRecord, ShownFile, TestRun, Transcript

_ACTION = re.compile(r"^\s*(OPEN|GREP)\b:?[ \t]*(.*?)\s*$", re.M)
_RANGE = re.compile(r"^(.+?):(\d+)(?:-(\d+))?$")
MAX_LOOKUPS = 6  # per reply
TEST_OUTPUT_CHARS = 6000


@dataclass
class AgentSettings:
    edit_format: str = "search-replace"
    context_tokens: int = 8000
    open_tokens: int = 8000
    max_turns: int = 8
    max_apply_retries: int = 3
    test_loop_turns: int = 0  # 0: no test loop
    test_command: str = ""  # empty: detected from the repository
    test_timeout_s: float = 300.0


@dataclass
class Step:
    """What one reply led to: the next user message (None: nothing more to do) and whether it counts as a failed
    reply."""

    feedback: str | None
    failed: bool = False
    applied: bool = False


@dataclass
class _State:
    failures: int = 0
    replies: int = 0
    applied_any: bool = False
    test_turns: int = 0
    cut_off: str = ""  # a truncated reply waiting for its continuation
    parsers: dict = field(default_factory=dict)
    node: bool | None = None  # whether the workspace has node (asked once)


class Agent:
    def __init__(self, client: ChatClient, settings: AgentSettings, budgets: list[Budget], task: TaskView,
                 workspace: Workspace):
        self.client, self.settings, self.budgets = client, settings, budgets
        self.task, self.workspace = task, workspace
        self.usage = Usage()
        self.state = _State()
        self.files: dict[str, str] = {}
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
        note = None
        if not error and not self.state.applied_any:
            note = f"no applicable edit after {self.state.replies} repl{'y' if self.state.replies == 1 else 'ies'}"
        return SystemOutput(patch=patch, usage=self.usage, error=error or None, note=note, context_files=[
            ContextFile(path=s.path, start=s.start, end=s.end, tokens=s.tokens, source=s.reason)
            for s in self.transcript.files_shown])

    # -- the loop -------------------------------------------------------------------------------------------------

    def _converse(self) -> None:
        self.files = self._text_files()
        context = build_context(self.task.instruction, self.files, self.settings.context_tokens)
        self.transcript.context_tokens = context.tokens
        self.transcript.files_shown = [ShownFile(**vars(s)) for s in context.shown]
        messages = [
            {"role": "system", "content": SYSTEM_PROMPT.format(format=FORMATS[self.settings.edit_format])},
            {"role": "user", "content": f"# Task\n{self.task.instruction}\n\n# Repository\n{context.text}"},
        ]
        self.transcript.messages = messages
        for turn in range(1, self.settings.max_turns + 1):
            completion = self._call(messages, turn)
            messages.append({"role": "assistant", "content": completion.content})
            self.state.replies += 1
            step = self._act(completion, turn)
            if step.applied and step.feedback is None:
                step = self._test_step(turn)
            if step.feedback is None:
                return
            self.state.failures += step.failed
            if self.state.failures > self.settings.max_apply_retries:
                self.transcript.stopped = f"gave up after {self.state.failures} " + (
                    "failed replies (some edits applied)" if self.state.applied_any
                    else "replies without applicable edits")
                return
            messages.append({"role": "user", "content": step.feedback})
        self.transcript.stopped = f"turn limit ({self.settings.max_turns}) reached"

    def _call(self, messages: list[dict], turn: int) -> Completion:
        try:
            completion = self.client.complete(messages, self.budgets)
        except LlmError as exc:
            self.transcript.calls.append(CallRecord(turn=turn, retries=exc.attempts,
                                                    error=self.client.redact(str(exc))))
            raise
        self.usage.calls += 1
        self.usage.prompt_tokens += completion.prompt_tokens
        self.usage.completion_tokens += completion.completion_tokens
        self.usage.cost_usd += completion.cost_usd
        self.transcript.calls.append(CallRecord(
            turn=turn, prompt_tokens=completion.prompt_tokens, completion_tokens=completion.completion_tokens,
            cost_usd=completion.cost_usd, seconds=completion.seconds, retries=completion.attempts,
            finish_reason=completion.finish_reason))
        return completion

    def _act(self, completion: Completion, turn: int) -> Step:
        reply = self._joined(completion.content)
        cut = "the reply hit the output limit (finish_reason=length)" \
            if completion.finish_reason == "length" else truncation(reply)
        if cut:
            self.state.cut_off = reply
            return Step("Your reply was cut off before its end (" + cut + "), so none of it was applied. Continue "
                        "exactly where it stopped: send only the rest, starting with the line that was cut, and "
                        "close every fence and block.", failed=True)
        self.state.cut_off = ""
        try:
            edits = parse_edits(reply)
        except ApplyError as exc:
            return Step(f"Your edits could not be read: {exc}\nResend every change in the required format.", True)
        if edits:
            return self._apply(edits, reply, turn)
        actions = [(verb, argument) for verb, argument in _ACTION.findall(reply) if argument]
        if actions:
            return Step(self._look_up(actions[:MAX_LOOKUPS]))
        return Step("Your reply contained no edit I could read, and no OPEN or GREP line. Make the change now, in "
                    "the required format:\n\n" + FORMATS[self.settings.edit_format], failed=True)

    def _joined(self, content: str) -> str:
        """A continuation after a cut-off reply: on its own when it is complete (the model resent everything),
        else appended to what was cut."""
        if not self.state.cut_off:
            return content
        alone_complete = not truncation(content)
        try:
            alone_has_edits = alone_complete and bool(parse_edits(content))
        except ApplyError:
            alone_has_edits = False
        return content if alone_has_edits else self.state.cut_off + content

    # -- edits ----------------------------------------------------------------------------------------------------

    def _apply(self, edits: list[Edit], reply: str, turn: int) -> Step:
        kind = "search-replace" if "<<<<<<<" in reply else "unified-diff"
        unsafe = []
        for edit in edits:
            try:
                edit.path = safe_path(edit.path)
            except ValueError as exc:
                unsafe.append(Applied(0, edit, error=str(exc)))
        safe = [e for e in edits if not any(u.edit is e for u in unsafe)]
        contents, results = apply_edits(safe, self._read)
        results = unsafe + results
        written, refused = self._write_checked(contents, turn)
        for result in results:
            if result.ok and result.edit.path in refused:
                result.error = f"not written: {refused[result.edit.path]}"
        self.transcript.edits += [EditRecord(turn=turn, path=r.edit.path, format=kind, applied=r.ok,
                                             error=r.error, note=r.note) for r in results]
        self.state.applied_any |= bool(written)
        failed = [r for r in results if not r.ok]
        if not failed:
            return Step(None, applied=True)
        done = [r for r in results if r.ok]
        lines = [f"Applied: {', '.join(f'edit {r.number} ({r.edit.path})' for r in done)}." if done else
                 "Nothing was applied."]
        lines += ["These edits were not applied:"] + [
            f"- edit {r.number} ({r.edit.path}): {r.error}" for r in failed]
        lines.append("Resend only these, fixed" + (" (the applied ones are in the files now)." if done else "."))
        return Step("\n".join(lines), failed=True)

    def _write_checked(self, contents: dict[str, str | None], turn: int) -> tuple[list[str], dict[str, str]]:
        """Writes every new content that still parses; returns the paths written and the refused ones with their
        syntax error."""
        written, refused = [], {}
        previous = {path: self._read(path) for path in contents}
        for path, text in contents.items():
            before = previous[path]
            tool = checker(path)
            error = gate(path, before, text, self.state.parsers)
            if tool and text is not None:
                self.transcript.checks.append(CheckRecord(turn=turn, path=path, tool=tool, ok=not error, error=error))
            if error:
                refused[path] = f"the file would not parse: {error}"
                continue
            if text != before:  # an edit found already present changes nothing
                self._write(path, text)
                written.append(path)
        for path, error in self._node_check([p for p in written if checker(p) == "tree-sitter"], turn).items():
            self._write(path, previous[path])  # back to what it was before this reply
            refused[path] = f"the file would not parse: {error}"
            written.remove(path)
        return written, refused

    def _write(self, path: str, text: str | None) -> None:
        if text is None:
            self.workspace.run(f"rm -f -- {shlex.quote(path)}")
            self.files.pop(path, None)
        else:
            self.workspace.write(path, text.encode())
            self.files[path] = text

    def _node_check(self, paths: list[str], turn: int) -> dict[str, str]:
        """`node --check` of written JavaScript files, when the workspace has node."""
        if not paths:
            return {}
        if self.state.node is None:
            self.state.node = self.workspace.run("command -v node >/dev/null")[0] == 0
        errors = {}
        for path in paths if self.state.node else []:
            code, out = self.workspace.run(f"node --check -- {shlex.quote(path)} 2>&1")
            error = "" if code == 0 else f"{path}: {_error_line(out, code)}"
            self.transcript.checks.append(CheckRecord(turn=turn, path=path, tool="node --check", ok=code == 0,
                                                      error=error))
            if code != 0:
                errors[path] = error
        return errors

    # -- look-ups -------------------------------------------------------------------------------------------------

    def _look_up(self, actions: list[tuple[str, str]]) -> str:
        parts, budget = [], max(500, self.settings.open_tokens // len(actions))
        kinds = {path: file_kind(path) for path in self.files}
        for verb, argument in actions:
            if verb == "GREP":
                text, shown = grep(argument.strip("`'\""), self.files, kinds)
                parts.append(text)
                self.transcript.files_shown += [ShownFile(**vars(s)) for s in shown]
                continue
            paths = [p.strip(" `'\"") for p in re.split(r"[,\s]+", argument) if p.strip(" `'\"")]
            for path in paths[:MAX_LOOKUPS]:
                parts.append(self._open(path, budget // max(1, len(paths))))
        return "\n".join(parts)

    def _open(self, target: str, budget: int) -> str:
        match = _RANGE.match(target)
        path, start, end = (match.group(1), int(match.group(2)), int(match.group(3) or match.group(2))) \
            if match and match.group(1) in self.files else (target, 1, None)
        if path not in self.files:
            return f"{path}: no such text file in the repository"
        rendered, shown = render_file(path, self.files[path], budget, start, end)
        self.transcript.files_shown.append(ShownFile(**vars(shown)))
        return rendered

    # -- the test loop --------------------------------------------------------------------------------------------

    def _test_step(self, turn: int) -> Step:
        """After edits applied: done, or (with --test-loop) the visible tests' failures as the next message."""
        if not self.settings.test_loop_turns:
            self.transcript.stopped = "edits applied"
            return Step(None)
        command = self.settings.test_command or self.task.visible_test_command or visible_test_command(self.files)
        if not command:
            self.transcript.stopped = "edits applied (no visible tests to run)"
            return Step(None)
        run = self._run_tests(command, turn)
        if run.exit_code == 0:
            self.transcript.stopped = "edits applied; visible tests pass"
            return Step(None)
        if self.state.test_turns >= self.settings.test_loop_turns:
            self.transcript.stopped = f"edits applied; visible tests still failing after {self.state.test_turns} " \
                                      "test turn(s)"
            return Step(None)
        self.state.test_turns += 1
        status = "timed out" if run.exit_code is None else f"exited {run.exit_code}"
        return Step(f"Your edits were applied. Then the repository's tests (`{command}`) {status}:\n\n```\n"
                    f"{run.output}\n```\nFix the code (not the tests) with more edits, in the required format.")

    def _run_tests(self, command: str, turn: int) -> TestRun:
        """The command in the workspace, with a deadline; files it leaves behind are removed (only the edits
        belong in the patch)."""
        before = set(self.workspace.files())
        started = time.perf_counter()
        timeout = int(self.settings.test_timeout_s)
        log, status = "/tmp/resq-visible-tests.log", "/tmp/resq-visible-tests.status"
        exec_id = self.workspace.start(
            f"PYTHONDONTWRITEBYTECODE=1 timeout -k 5 {timeout} sh -c {shlex.quote(command)} > {log} 2>&1; "
            f"echo $? > {status}")
        while self.workspace.running(exec_id):
            time.sleep(0.2)
        _code, out = self.workspace.run(f"cat {status}; tail -c {TEST_OUTPUT_CHARS} {log}")
        first, _newline, output = out.partition("\n")
        exit_code = int(first) if first.strip().isdigit() else -1
        leftovers = sorted(set(self.workspace.files()) - before)
        if leftovers:
            self.workspace.run("rm -rf -- " + " ".join(shlex.quote(p) for p in leftovers))
        run = TestRun(turn=turn, command=command, exit_code=None if exit_code == 124 else exit_code,
                      seconds=round(time.perf_counter() - started, 3), output=output)
        self.transcript.test_runs.append(run)
        return run

    # -- the workspace --------------------------------------------------------------------------------------------

    def _read(self, path: str) -> str | None:
        if path in self.files:
            return self.files[path]
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


def _error_line(output: str, code: int) -> str:
    """The line of node's output naming the error (`SyntaxError: ...`), else its last line."""
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    return next((line for line in lines if "Error" in line), lines[-1] if lines else f"node --check exited {code}")


def visible_test_command(files: dict[str, str]) -> str:
    """The repository's own tests: pytest when it has Python test files, node's runner for JavaScript ones."""
    tests = [path for path in files if file_kind(path) == "test"]
    if any(path.endswith(".py") for path in tests):
        return "python -m pytest -q -x -p no:cacheprovider"
    if any(path.endswith((".js", ".mjs", ".cjs")) for path in tests):
        return "node --test"
    return ""
