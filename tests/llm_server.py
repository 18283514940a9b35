"""A real HTTP server on 127.0.0.1 speaking the OpenAI chat-completions protocol, replaying scripted answers.

Scripts are keyed by task id. The llm system never names the task in its prompt, so a request is routed by the
task's instruction: the task whose instruction (from `instructions`, by default those of tasks/demo) is in the first
user message, the longest one when several are; a `Task id: X` line (client tests write one) routes directly.
Third-party agents put other user messages first (aider: its examples and the repository map), so when the first
user message names no task, the later ones are searched the same way.
Each step is one of:
    {"content": "...", "usage": {"prompt_tokens": 10, "completion_tokens": 5}}   an answer
    {"content": "...", "finish_reason": "length"}                                  an answer cut at the output limit
    {"status": 429, "retry_after": "1"}                                            an error status (Retry-After optional)
    {"hang": 30}                                                                   no answer for that many seconds
    {"content": ..., "delay": 0.5}                                                 an answer after a pause
    {"tool_call": {"command": "ls"}, "usage": {...}}                               a call of the `bash` tool
                                                      (mini-swe-agent's), with the step's content if any
The last step repeats once a script is used up. Every request is recorded (with its time and the usage answered:
`usage_for(task)` sums it), with the most that were being answered at once (a hung request stops counting when it
starts hanging: its client gives up at its own timeout).
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

_TASK = re.compile(r"Task id: (\S+)")
DEMO = Path(__file__).resolve().parents[1] / "tasks" / "demo"


def suite_instructions(*suites: Path) -> dict[str, str]:
    """{task id: instruction} of the tasks of these suite folders."""
    from resq_runner.tasks import load_suite

    return {tf.task.id: tf.task.instruction for suite in suites for tf in load_suite(suite)}


class ScriptedLLM:
    def __init__(self, scripts: dict[str, list[dict]], api_key: str = "", instructions: dict[str, str] | None = None):
        self.scripts, self.api_key = scripts, api_key
        self.instructions = suite_instructions(DEMO) if instructions is None else instructions
        self.requests: list[dict] = []
        self.positions: dict[str, int] = {}
        self.in_flight = self.max_in_flight = self.hung = self.tool_calls = 0
        self._lock = threading.Lock()
        self._released = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> "ScriptedLLM":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._released.set()  # hung requests end now
        self._server.shutdown()
        self._server.server_close()

    def calls_for(self, task_id: str) -> list[dict]:
        return [r for r in self.requests if r["task"] == task_id]

    def usage_for(self, task_id: str) -> dict[str, int]:
        answered = [r["usage"] for r in self.calls_for(task_id) if r.get("usage")]
        return {"prompt_tokens": sum(u.get("prompt_tokens", 0) for u in answered),
                "completion_tokens": sum(u.get("completion_tokens", 0) for u in answered),
                "calls": len(answered)}

    def route(self, body: dict) -> str:
        users = [_text(m.get("content")) for m in body.get("messages", []) if m.get("role") == "user"]
        first = users[0] if users else ""
        match = _TASK.search(first)
        if match:
            return match.group(1)
        for text in users:
            known = [(len(instruction), task) for task, instruction in self.instructions.items()
                     if instruction.strip() and instruction.strip() in text]
            if known:
                return max(known)[1]
        return ""

    def _next_step(self, task: str) -> dict:
        with self._lock:
            script = self.scripts.get(task) or [{"status": 404}]
            position = self.positions.get(task, 0)
            self.positions[task] = position + 1
            return script[min(position, len(script) - 1)]

    def _handler(self):
        llm = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", 0))) or b"{}")
                task = llm.route(body)
                with llm._lock:
                    llm.in_flight += 1
                    llm.max_in_flight = max(llm.max_in_flight, llm.in_flight)
                    record = {"task": task, "path": self.path, "body": body, "time": time.time(),
                              "authorization": self.headers.get("Authorization", "")}
                    llm.requests.append(record)
                self.counted = True
                try:
                    self._answer(task, body, record)
                finally:
                    self._leave()

            def _leave(self) -> None:
                """No longer in flight: before the answer is written, so a client the answer frees cannot be
                counted beside it."""
                with llm._lock:
                    if self.counted:
                        llm.in_flight -= 1
                        self.counted = False

            def _answer(self, task: str, body: dict, record: dict) -> None:
                if self.path != "/v1/chat/completions":
                    return self._send(404, {"error": {"message": f"no route {self.path}"}})
                if llm.api_key and self.headers.get("Authorization") != f"Bearer {llm.api_key}":
                    return self._send(401, {"error": {"message": "invalid api key"}})
                step = llm._next_step(task)
                if "hang" in step:
                    with llm._lock:  # abandoned by the client at its timeout, so no longer counted in flight
                        llm.in_flight -= 1
                        llm.hung += 1
                    llm._released.wait(step["hang"])
                    with llm._lock:
                        llm.in_flight += 1
                    return
                llm._released.wait(step.get("delay", 0))
                if "status" in step:
                    headers = {"Retry-After": step["retry_after"]} if "retry_after" in step else {}
                    return self._send(step["status"], {"error": {"message": "scripted error"}}, headers)
                usage = dict(step.get("usage", {}))
                usage.setdefault("total_tokens", usage.get("prompt_tokens", 0) + usage.get("completion_tokens", 0))
                record["usage"] = usage
                message = {"role": "assistant", "content": step.get("content", "")}
                finish = step.get("finish_reason", "stop")
                if "tool_call" in step:
                    llm.tool_calls += 1
                    message["tool_calls"] = [{"id": f"call_{llm.tool_calls}", "type": "function", "function": {
                        "name": "bash", "arguments": json.dumps(step["tool_call"])}}]
                    finish = "tool_calls"
                self._send(200, {
                    "id": "chatcmpl-scripted", "object": "chat.completion", "model": body.get("model", ""),
                    "created": 1700000000, "choices": [{"index": 0, "finish_reason": finish, "message": message}],
                    "usage": usage})

            def _send(self, status: int, payload: dict, headers: dict | None = None) -> None:
                data = json.dumps(payload).encode()
                self._leave()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in (headers or {}).items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (its timeout)

        return Handler


def _text(content) -> str:
    """A message's text, whether a string or a list of parts (the multimodal form)."""
    if isinstance(content, list):
        return "\n".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content or ""
