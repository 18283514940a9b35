"""`llm`: the built-in retrieval + editing agent, for any OpenAI-compatible chat-completions endpoint.

One instance serves a whole run, so the run-wide parts live here: the semaphore bounding requests in flight, the
run's dollar budget, the price table. Each task gets an Agent of its own (agent.py) and a transcript.json.
Configuration values arrive as strings (SystemSpec.config); the API key never does: only the name of the
environment variable holding it.
"""

from __future__ import annotations

import json
import os
import threading

from ...errors import ResqError
from ...offline import is_local_location, refuse_if_offline
from ...models import SystemOutput, TaskView
from ..base import System, Workspace
from .agent import Agent, AgentSettings
from .client import Budget, ChatClient, ClientSettings, PriceTable
from .prompts import FORMATS

MIN_KEY_CHARACTERS = 8  # a shorter secret would be found inside ordinary words of every log it is redacted from


class LlmSystem(System):
    name = "llm"

    def __init__(self, model: str = "", base_url: str = "", api_key_env: str = "OPENAI_API_KEY",
                 edit_format: str = "search-replace", context_tokens: str = "8000", max_turns: str = "8",
                 max_apply_retries: str = "3", request_timeout_s: str = "120", max_retries: str = "4",
                 backoff_s: str = "1", temperature: str = "0", max_concurrent_requests: str = "4",
                 budget_usd_per_task: str = "", budget_usd_per_run: str = "", price_table: str = "",
                 test_loop: str = "", test_loop_turns: str = "3", test_command: str = "", test_timeout_s: str = "300"):
        if not model or not base_url:
            raise ResqError("the llm system needs --model NAME and --base-url URL (an OpenAI-compatible endpoint)")
        if not is_local_location(base_url):
            refuse_if_offline(f"the model endpoint {base_url}", "serve the model on 127.0.0.1 (a loopback --base-url)")
        if edit_format not in FORMATS:
            raise ResqError(f"unknown --edit-format '{edit_format}' (choose {', '.join(FORMATS)})")
        self.api_key = _key(api_key_env)
        price = PriceTable.load(price_table).price(model, price_table) if price_table else None
        if (budget_usd_per_task or budget_usd_per_run) and price is None:
            raise ResqError("a dollar budget needs prices: pass --price-table FILE with an entry for the model")
        self.client_settings = ClientSettings(
            base_url=base_url, model=model, api_key=self.api_key, timeout_s=_number(request_timeout_s),
            max_retries=int(_number(max_retries)), backoff_s=_number(backoff_s),
            temperature=_number(temperature), price=price)
        self.agent_settings = AgentSettings(
            edit_format=edit_format, context_tokens=int(_number(context_tokens)),
            open_tokens=int(_number(context_tokens)), max_turns=int(_number(max_turns)),
            max_apply_retries=int(_number(max_apply_retries)),
            test_loop_turns=int(_number(test_loop_turns)) if _flag(test_loop) else 0, test_command=test_command,
            test_timeout_s=_number(test_timeout_s))
        self.gate = threading.Semaphore(max(1, int(_number(max_concurrent_requests))))
        self.task_budget_usd = _number(budget_usd_per_task) if budget_usd_per_task else None
        self.run_budget = Budget(_number(budget_usd_per_run) if budget_usd_per_run else None, "per-run")

    def solve(self, task: TaskView, workspace: Workspace) -> SystemOutput:
        client = ChatClient(self.client_settings, self.gate)
        agent = Agent(client, self.agent_settings, [Budget(self.task_budget_usd, "per-task"), self.run_budget],
                      task, workspace)
        try:
            return agent.run()
        finally:
            client.close()
            if workspace.log_dir is not None:
                data = client.redact.values(agent.transcript.model_dump(mode="json"))
                (workspace.log_dir / "transcript.json").write_text(json.dumps(data, indent=1))


def _key(variable: str) -> str:
    """The key's value from the environment; an empty variable name means the endpoint needs no key."""
    if not variable:
        return ""
    value = os.environ.get(variable, "")
    if not value:
        raise ResqError(f"environment variable {variable} is empty or not set: export the API key in it, or name "
                        "another with --api-key-env (or --api-key-env '' for an endpoint without keys)")
    if len(value) < MIN_KEY_CHARACTERS:
        raise ResqError(f"the API key in {variable} has {len(value)} character(s): a secret shorter than "
                        f"{MIN_KEY_CHARACTERS} cannot be redacted from logs without mangling them; use a longer key, "
                        "or --api-key-env '' for an endpoint without keys")
    return value


def _flag(text: str) -> bool:
    return text.strip().lower() in {"1", "true", "yes", "on"}


def _number(text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise ResqError(f"not a number: {text!r} (llm system option)") from None
