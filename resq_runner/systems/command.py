"""`command`: any agent CLI, run in the workspace container (default) or on the host against a checkout.

The agent gets the instruction in a file and these environment variables:
    RESQ_INSTRUCTION_FILE   the instruction (outside the repository, so it never lands in the patch)
    RESQ_TASK_ID            the task's id
    RESQ_WORKSPACE          the repository to edit (also the working directory)
    RESQ_AGENT_DIR          the files of --agent-dir, when given
    RESQ_CONTEXT_LOG        where the agent may append what it read, one JSON object a line (see observe.py)
plus the host variables named by --agent-env (API keys: passed by name, never written anywhere).
The patch is the git diff of the work tree against the snapshot commit afterwards, new files included, so an
agent that commits its work is graded the same as one that does not.
"""

from __future__ import annotations

import os
import resource
import shlex
import shutil
import signal
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from ..errors import ResqError
from ..offline import OfflineError, enabled as offline_enabled
from ..models import ContextFile, SystemOutput, TaskView, Usage
from .base import WORKSPACE_UID, System, Workspace
from .observe import ContainerReads, parse_context_log, read_since_reset, reset_access_times

IN_CONTAINER = "/tmp/resq"
OUTPUT_CAP = 1024 * 1024


class CommandSystem(System):
    name = "command"

    def __init__(self, agent_cmd: str = "", on_host: str = "", agent_timeout_s: str = "1800", agent_dir: str = "",
                 agent_env: str = "", agent_memory_mb: str = ""):
        if not agent_cmd.strip():
            raise ResqError("the command system needs --agent-cmd 'COMMAND' (run in the task's workspace)")
        self.command = agent_cmd
        self.on_host = on_host.lower() in ("1", "true", "yes")
        if self.on_host and offline_enabled():
            raise OfflineError("offline: --on-host agents run on this machine where --offline cannot take their "
                               "network away; drop --on-host to run the agent in its workspace container (no network)")
        self.timeout_s = float(agent_timeout_s)
        self.agent_dir = Path(agent_dir) if agent_dir else None
        if self.agent_dir is not None and not self.agent_dir.is_dir():
            raise ResqError(f"--agent-dir {agent_dir}: not a directory")
        self.passed_env = [name for name in agent_env.split(",") if name]
        missing = [name for name in self.passed_env if name not in os.environ]
        if missing:
            raise ResqError(f"--agent-env names variables that are not set: {', '.join(missing)}; export them first")
        self.memory_mb = int(agent_memory_mb) if agent_memory_mb else None

    def solve(self, task: TaskView, workspace: Workspace) -> SystemOutput:
        started = time.perf_counter()
        if self.on_host:
            run = self._on_host(task, workspace)
        else:
            agent_files = None if self.agent_dir is None else {
                str(p.relative_to(self.agent_dir)): p.read_bytes() for p in sorted(self.agent_dir.rglob("*"))
                if p.is_file()}
            run = run_in_workspace(workspace, task, self.command, self.timeout_s, self._passed(),
                                   agent_files=agent_files)
        run.output = redact(run.output, self._passed())
        if workspace.log_dir is not None:
            (workspace.log_dir / "agent_output.txt").write_text(run.output)
        return agent_output(run, Usage(wall_s=time.perf_counter() - started), self.timeout_s)

    # --- on the host -----------------------------------------------------------------------------------------

    def _on_host(self, task: TaskView, workspace: Workspace) -> AgentRun:
        with tempfile.TemporaryDirectory(prefix="resq-agent-") as tmp:
            checkout = Path(tmp) / "repo"
            shutil.copytree(workspace.source_dir(), checkout, symlinks=True)
            instruction = Path(tmp) / "instruction.md"
            instruction.write_text(task.instruction)
            context_log = Path(tmp) / "context.jsonl"
            env = {**os.environ, **agent_environment(task, str(instruction), str(checkout),
                                                       str(self.agent_dir.resolve()) if self.agent_dir else "",
                                                       str(context_log)), **self._passed()}
            base = _git(checkout, "rev-parse", "HEAD").strip()
            reset_access_times(checkout)
            proc = subprocess.Popen(["sh", "-c", self.command], cwd=checkout, env=env, stdout=subprocess.PIPE,
                                    stderr=subprocess.STDOUT, start_new_session=True, preexec_fn=self._limits)
            timed_out = False
            try:
                output, _ = proc.communicate(timeout=self.timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                output, _ = proc.communicate()
                timed_out = True
            logged = (parse_context_log(context_log.read_text(errors="replace"), str(checkout))
                      if context_log.exists() else [])
            read = logged or read_since_reset(checkout)
            _git(checkout, "add", "-A")
            patch = _git(checkout, "diff", "--cached", "--binary", base)
            return AgentRun(proc.returncode, _cap(output.decode("utf-8", "replace")), timed_out, patch, read)

    def _limits(self) -> None:
        if self.memory_mb:
            size = self.memory_mb * 1024 * 1024
            resource.setrlimit(resource.RLIMIT_AS, (size, size))

    def _passed(self) -> dict[str, str]:
        return {name: os.environ[name] for name in self.passed_env}


# --- shared with the agent system (systems/agent.py) -------------------------------------------------------------


@dataclass
class AgentRun:
    code: int
    output: str
    timed_out: bool
    patch: str
    read: list[ContextFile]


def run_in_workspace(workspace: Workspace, task: TaskView, command: str, timeout_s: float, passed: dict[str, str],
                     *, agent_files: dict[str, bytes] | None = None, extra_env: dict[str, str] | None = None,
                     prepare: str = "") -> AgentRun:
    """`command` through `sh -c` in the workspace container as the workspace user, under `timeout`, polled (a
    plain exec would hit the engine client's read timeout). `agent_files` land in IN_CONTAINER/agent, `prepare`
    runs first (as the same user), and IN_CONTAINER/out is a folder the agent may write its records to."""
    base = _head(workspace)
    workspace.run(f"mkdir -p {IN_CONTAINER}/agent {IN_CONTAINER}/out {IN_CONTAINER}/observe"
                  + (f" && {prepare}" if prepare else ""))  # as the workspace user, so the agent can write beside
    files = {f"{IN_CONTAINER}/instruction.md": task.instruction.encode()}
    files.update({f"{IN_CONTAINER}/agent/{name}": content for name, content in (agent_files or {}).items()})
    workspace.sandbox.put_files(files, mode=0o755, uid=WORKSPACE_UID)
    env = {**agent_environment(task, f"{IN_CONTAINER}/instruction.md", workspace.root,
                               f"{IN_CONTAINER}/agent" if agent_files is not None else "",
                               f"{IN_CONTAINER}/context.jsonl"),
           "RESQ_AGENT_OUTPUT": f"{IN_CONTAINER}/out", **(extra_env or {}), **passed}
    watcher = ContainerReads(workspace, f"{IN_CONTAINER}/observe")
    watcher.start()
    # `timeout` inside the container: a docker exec has no deadline of its own, and the agent's children die too
    script = (f"timeout -k 10 {timeout_s:g} sh -c {shlex.quote(command)} "
              f"> {IN_CONTAINER}/output.txt 2>&1; echo $? > {IN_CONTAINER}/exit_code")
    exec_id = workspace.start(script, environment=env)
    deadline = time.monotonic() + timeout_s + 30  # `timeout` ends it first; this guards a stuck engine
    while workspace.running(exec_id) and time.monotonic() < deadline:
        time.sleep(0.2)
    code_text = (workspace.sandbox.read_file(f"{IN_CONTAINER}/exit_code") or b"124").decode().strip()
    output = (workspace.sandbox.read_file(f"{IN_CONTAINER}/output.txt", limit=64 * OUTPUT_CAP) or b"")
    code = int(code_text) if code_text.lstrip("-").isdigit() else 1
    logged = parse_context_log((workspace.sandbox.read_file(f"{IN_CONTAINER}/context.jsonl") or b"").decode(
        "utf-8", "replace"), workspace.root)
    read = logged or watcher.collect()  # before the diff: git reads every file to build it
    return AgentRun(code, _cap(output.decode("utf-8", "replace")), code in (124, 137), workspace.diff(base), read)


def agent_environment(task: TaskView, instruction: str, workspace: str, agent_dir: str,
                      context_log: str) -> dict[str, str]:
    env = {"RESQ_INSTRUCTION_FILE": instruction, "RESQ_TASK_ID": task.id, "RESQ_WORKSPACE": workspace,
           "RESQ_CONTEXT_LOG": context_log}
    if agent_dir:
        env["RESQ_AGENT_DIR"] = agent_dir
    return env


def agent_output(run: AgentRun, usage: Usage, timeout_s: float) -> SystemOutput:
    """One policy for every agent: a timeout or a non-zero exit is a system_error naming the agent's last output
    (the patch is still kept in patch.diff); otherwise the patch is graded, an empty one included."""
    if run.timed_out:
        return SystemOutput(patch=run.patch, usage=usage, context_files=run.read,
                            error=f"agent timed out after {timeout_s:g}s; last output: {_last_lines(run.output)}")
    if run.code != 0:
        return SystemOutput(patch=run.patch, usage=usage, context_files=run.read,
                            error=f"agent exited {run.code}: {_last_line(run.output)}")
    return SystemOutput(patch=run.patch, usage=usage, context_files=run.read)


def redact(text: str, values: dict[str, str]) -> str:
    """Each secret value (4+ characters) replaced by the name of its variable."""
    for name, value in values.items():
        if len(value) >= 4:
            text = text.replace(value, f"[{name} redacted]")
    return text


def _head(workspace: Workspace) -> str:
    code, out = workspace.run("git rev-parse HEAD")
    return out.strip() if code == 0 else "HEAD"


def _git(checkout: Path, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=checkout, capture_output=True, text=True, check=True).stdout


def _cap(text: str) -> str:
    return text if len(text) <= OUTPUT_CAP else text[:OUTPUT_CAP // 2] + "\n[... output cut ...]\n" + \
        text[-OUTPUT_CAP // 2:]


def _last_line(text: str) -> str:
    return _last_lines(text, 1)


def _last_lines(text: str, count: int = 3) -> str:
    lines = [line.strip()[:200] for line in text.strip().splitlines() if line.strip()]
    return " | ".join(lines[-count:]) if lines else "(no output)"
