"""Scripted imperfect model replies for the `llm` agent, run against a real workspace container of the demo task
fix-allocate-remainder and a real scripted chat-completions server (tests/llm_server.py).

Each case is the replies a model sends, in order, and what must end up in the patch. `run_case` drives the
agent's real loop (parse, apply, syntax gate, retry turns, look-ups, continuations) and reports whether it
recovered (the wanted change is in the patch and every edited file parses) and what it submitted. Used by
tests/test_systems_llm_replies.py (behaviour) and bench/llm_agent.py (the robustness table).
"""

from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass, field

from conftest import DEMO
from llm_server import ScriptedLLM
from resq_runner.models import TaskView
from resq_runner.systems.base import Workspace
from resq_runner.systems.llm.agent import Agent, AgentSettings
from resq_runner.systems.llm.checks import syntax_error
from resq_runner.systems.llm.client import ChatClient, ClientSettings
from resq_runner.systems.llm.transcript import Transcript

INSTRUCTION = "Money.allocate loses or invents cents: the parts must always add up to the amount (case {name})."
FIX = "units = int(self.amount / step)"

GOLD = (DEMO / "fix-allocate-remainder" / "gold.patch").read_text().splitlines()
OLD = "".join(line[1:] + "\n" for line in GOLD if line.startswith("-") and not line.startswith("---"))
NEW = "".join(line[1:] + "\n" for line in GOLD if line.startswith("+") and not line.startswith("+++"))
FORMAT_OLD = '        sign = "-" if self.amount < 0 else ""\n'
FORMAT_NEW = '        sign = "-" if self.amount < 0 else "+" if self.amount > 0 else ""\n'


def block(search: str, replace: str, path: str = "ledgerlite/money.py", fence: str = "```") -> str:
    return f"{path}\n{fence}\n<<<<<<< SEARCH\n{search}=======\n{replace}>>>>>>> REPLACE\n```\n"


def udiff(old: str, new: str, header: str = "@@ -58,5 +58,9 @@") -> str:
    context = "        step = quantum(self.currency)\n"
    body = " " + context + "".join(f"-{line}\n" for line in old.splitlines()) + \
        "".join(f"+{line}\n" for line in new.splitlines())
    return f"```diff\n--- a/ledgerlite/money.py\n+++ b/ledgerlite/money.py\n{header}\n{body}```\n"


def numbered(text: str, first: int) -> str:
    return "".join(f"{first + i:5d}| {line}\n" for i, line in enumerate(text.splitlines()))


def tabbed(text: str) -> str:
    return "".join(line.replace("    ", "\t") + "\n" for line in text.splitlines())


FULL = block(OLD, NEW)
BROKEN_SYNTAX = block(OLD, NEW.replace("for index in range(abs(leftover)):", "for index in range(abs(leftover):"))
BAD_INDENT = block(OLD, NEW.replace("        leftover =", "      leftover ="))
WRONG_SEARCH = block(OLD.replace("parts = []", "parts = list()"), NEW)
SECOND = block(FORMAT_OLD, FORMAT_NEW)
WRONG_SECOND = block(FORMAT_OLD.replace("sign", "signum"), FORMAT_NEW)
DIFF = udiff(OLD, NEW)


@dataclass
class Case:
    name: str
    replies: list[dict]  # steps of the scripted server
    wanted: list[str] = field(default_factory=lambda: [FIX])  # texts the patch must add
    recoverable: bool = True  # whether a good agent can recover at all


def reply(content: str, finish_reason: str = "stop") -> dict:
    return {"content": content, "usage": {"prompt_tokens": 100, "completion_tokens": 50},
            "finish_reason": finish_reason}


CASES = [
    Case("exact search/replace block", [reply(FULL)]),
    Case("indentation drift (no indentation at all)",
         [reply(block("".join(l.strip() + "\n" for l in OLD.splitlines()),
                      "".join(l[8:] + "\n" for l in NEW.splitlines())))]),
    Case("tabs instead of spaces", [reply(block(tabbed(OLD), tabbed(NEW)))]),
    Case("tabs in the replacement only", [reply(block(OLD, tabbed(NEW)))]),
    Case("copied line-number prefixes", [reply(block(numbered(OLD, 58), numbered(NEW, 58)))]),
    Case("windows line endings", [reply(FULL.replace("\n", "\r\n"))]),
    Case("fence with a language tag", [reply(block(OLD, NEW, fence="```python"))]),
    Case("prose around the block", [reply("The loop rounds each part on its own.\n\n" + FULL + "\nThat's it.")]),
    Case("unified diff", [reply(DIFF)]),
    Case("unified diff with wrong line numbers", [reply(udiff(OLD, NEW, "@@ -5,2 +5,2 @@"))]),
    Case("unified diff without line numbers", [reply(udiff(OLD, NEW, "@@ @@"))]),
    Case("unified diff with tabs", [reply(udiff(tabbed(OLD), tabbed(NEW)))]),
    Case("unified diff cut off (finish_reason=length), then continued",
         [reply(DIFF[:DIFF.index("+        leftover")], "length"),
          reply(DIFF[DIFF.index("+        leftover"):])]),
    Case("unified diff cut off (finish_reason=length), then resent whole",
         [reply(DIFF[:DIFF.index("+        leftover")], "length"), reply(DIFF)]),
    Case("search/replace cut off (finish_reason=length), then continued",
         [reply(FULL[:FULL.index("        direction")], "length"), reply(FULL[FULL.index("        direction"):])]),
    Case("search/replace block without its closing fence", [reply(FULL.rstrip("`\n") + "\n")]),
    Case("unclosed fence without finish_reason, then resent",
         [reply(FULL[:FULL.index(">>>>>>> REPLACE")]), reply(FULL)]),
    Case("syntax error, then fixed", [reply(BROKEN_SYNTAX), reply(FULL)]),
    Case("bad indentation (IndentationError), then fixed", [reply(BAD_INDENT), reply(FULL)]),
    Case("syntax error every time", [reply(BROKEN_SYNTAX)], recoverable=False),
    Case("cut off every time", [reply(FULL[:FULL.index("        direction")], "length")], recoverable=False),
    Case("search text not in the file, then fixed", [reply(WRONG_SEARCH), reply(FULL)]),
    Case("ambiguous search text, then fixed",
         [reply(block("        self._check(other)\n", "        self._check(other)  # same currency\n")),
          reply(FULL)]),
    Case("two blocks, one fails, then only that one resent",
         [reply(FULL + "\n" + WRONG_SECOND), reply(SECOND)], wanted=[FIX, '"+" if self.amount > 0']),
    Case("two blocks, one fails, then both resent (one already present)",
         [reply(FULL + "\n" + WRONG_SECOND), reply(FULL + "\n" + SECOND)], wanted=[FIX, '"+" if self.amount > 0']),
    Case("no file path before SEARCH, then fixed",
         [reply("Change this:\n<<<<<<< SEARCH\n" + OLD + "=======\n" + NEW + ">>>>>>> REPLACE\n"), reply(FULL)]),
    Case("a file that does not exist, then fixed", [reply(block(OLD, NEW, path="ledgerlite/moneys.py")),
                                                    reply(FULL)]),
    Case("prose only, then the edit", [reply("You should fix the rounding in allocate."), reply(FULL)]),
    Case("OPEN a range, then the edit", [reply("OPEN ledgerlite/money.py:50-70"), reply(FULL)]),
    Case("OPEN a whole file (old form), then the edit", [reply("OPEN: ledgerlite/money.py"), reply(FULL)]),
    Case("GREP, then the edit", [reply("GREP def allocate"), reply(FULL)]),
    Case("new file and an edit", [reply(block("", "def helper():\n    return 1\n", path="ledgerlite/util.py") + "\n"
                                        + FULL)], wanted=[FIX, "def helper():"]),
    Case("prose only, every time", [reply("I am not sure what to change.")], recoverable=False),
]


@dataclass
class CaseResult:
    recovered: bool
    outcome: str
    patch: str
    transcript: Transcript


def case_key(case: Case) -> str:
    return "case-" + "".join(c if c.isalnum() else "-" for c in case.name.lower())


def run_cases(cases: list[Case], workspace: Workspace) -> dict[str, CaseResult]:
    """Every case against one scripted server, the workspace reset to the snapshot before each."""
    scripts = {case_key(case): case.replies for case in cases}
    instructions = {case_key(case): INSTRUCTION.format(name=case_key(case)) for case in cases}
    results = {}
    with ScriptedLLM(scripts, instructions=instructions) as server:
        for case in cases:
            results[case.name] = run_case(case, workspace, server.base_url)
    return results


def run_case(case: Case, workspace: Workspace, base_url: str, prepare: str = "") -> CaseResult:
    """One case, after resetting the workspace to the snapshot and running the shell command `prepare`."""
    workspace.run("git reset -q --hard && git clean -qfdx" + (f" && {prepare}" if prepare else ""))
    client = ChatClient(ClientSettings(base_url=base_url, model="scripted", timeout_s=20, max_retries=0),
                        threading.Semaphore(1))
    task = TaskView(id=case_key(case), kind="repo-edit", instruction=INSTRUCTION.format(name=case_key(case)))
    agent = Agent(client, AgentSettings(max_turns=6, max_apply_retries=3), [], task, workspace)
    try:
        output = agent.run()
    finally:
        client.close()
    return CaseResult(*judge(case, output.patch, workspace), output.patch, agent.transcript)


def judge(case: Case, patch: str, workspace: Workspace) -> tuple[bool, str]:
    added = "\n".join(line[1:] for line in patch.splitlines() if line.startswith("+"))
    edited = sorted({line[6:] for line in patch.splitlines() if line.startswith("+++ b/")})
    broken = [error for path in edited if path.endswith(".py")
              for error in [syntax_error(path, (workspace.read(path) or b"").decode(), {})] if error]
    if broken:
        return False, "SUBMITS CODE THAT DOES NOT PARSE: " + broken[0]
    if not patch:
        return False, "nothing submitted (empty patch)"
    missing = [text for text in case.wanted if text not in added]
    if missing:
        return False, f"submitted, parses, but lacks {missing[0]!r}"
    return True, "submitted, parses, fix present"


def demo_workspace(docker_client, python_env) -> Workspace:
    """A started workspace container of the demo task fix-allocate-remainder (close() removes it)."""
    from resq_runner.runner import task_image
    from resq_runner.sandbox import Limits, Sandbox
    from resq_runner.tasks import load_suite

    tf = load_suite(DEMO, ["fix-allocate-remainder"])[0]
    image = task_image(docker_client, tf, python_env)

    def start(_setup) -> Sandbox:  # the default workspace: no agent layer, the run's network
        sandbox = Sandbox(docker_client, image.tag, f"llm-replies-{secrets.token_hex(3)}", "workspace",
                          command=["sleep", "infinity"], user="1000:1000", limits=Limits())
        sandbox.start()
        return sandbox

    return Workspace(start)
