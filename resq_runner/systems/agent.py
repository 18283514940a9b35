"""`aider`, `mini-swe-agent` and `agent --agent-spec FILE`: a third-party agent described by a spec
(resq_runner/agents/), installed once into its layer and run in each task's workspace container.

The layer's prefix is mounted read-only at /opt/resq-agents/<name>; the agent runs as the workspace user in
/workspace with the instruction in a file, its output folder at $RESQ_AGENT_OUTPUT, and its API key under the
spec's variable (read from the host variable --api-key-env names; never recorded, redacted from every file kept).
A model endpoint on this machine's loopback is reached by giving the container the host's network namespace.
"""

from __future__ import annotations

import ipaddress
import os
import re
import sys
import threading
import time
from urllib.parse import urlparse

from ..agents import AgentSpec, builtin_spec, fill, load_spec, read_usage, spec_file_hash
from ..agents import layer as layers
from ..errors import AuthError, ResqError
from ..models import SystemOutput, TaskView, Usage
from ..sandbox import connect
from .base import System, Workspace, WorkspaceSetup
from .command import IN_CONTAINER, AgentRun, agent_output, redact, run_in_workspace

EMPTY = "''"
KEYLESS = "resq-no-key"  # what the agent gets as its key when --api-key-env '' says the server takes none
TRAJECTORY_CAP = 64 * 1024 * 1024


class AgentSystem(System):
    name = "agent"

    def __init__(self, agent_spec: str = "", model: str = "", base_url: str = "", api_key_env: str = "OPENAI_API_KEY",
                 agent_network: str = "", agent_timeout_s: str = "", agent_spec_sha256: str = ""):
        self.spec = self._spec(agent_spec)
        if agent_spec_sha256 and spec_file_hash(agent_spec) != agent_spec_sha256:
            raise ResqError(f"{agent_spec}: the agent spec changed since this run was configured "
                            f"(sha256 {agent_spec_sha256}); use the same file, or another --out")
        if not model or not base_url:
            raise ResqError(f"--system {self.name} needs --model (e.g. openai/NAME) and --base-url "
                            "(e.g. http://127.0.0.1:8000/v1)")
        self.model, self.base_url = model, base_url.rstrip("/")
        self.key_name = api_key_env
        if self.key_name and not os.environ.get(self.key_name):
            raise ResqError(f"--api-key-env {self.key_name}: the variable is not set (or empty); export the key in "
                            "it, or give --api-key-env '' for a server that takes no key")
        missing = [name for name in self.spec.pass_env if name not in os.environ]
        if missing:
            raise ResqError(f"the agent spec passes variables that are not set: {', '.join(missing)}")
        if agent_network not in ("", "host", "bridge"):
            raise ResqError(f"--agent-network {agent_network}: choose host or bridge")
        self.network = agent_network or ("host" if _is_loopback(self.base_url) else "bridge")
        self.timeout_s = float(agent_timeout_s) if agent_timeout_s else self.spec.timeout_s
        self._layer: layers.AgentLayer | None = None
        self._lock = threading.Lock()

    def _spec(self, agent_spec: str) -> AgentSpec:
        if not agent_spec:
            raise ResqError("--system agent needs --agent-spec FILE (see docs/agents.md, 'Bring your own agent')")
        return load_spec(agent_spec)

    def prepare(self, task_ids: list[str]) -> list[str]:
        """The layer is built (or found) before any task runs, so no task's time includes the install."""
        layer = self._ensure_layer(log=lambda message: print(message, file=sys.stderr, flush=True))
        state = "built" if layer.built else "cached"
        return [f"agent {self.spec.name} {self.spec.version}".rstrip() + f": layer {layer.image.tag} ({state}), "
                f"network {self.network}"]

    def solve(self, task: TaskView, workspace: Workspace) -> SystemOutput:
        started = time.perf_counter()
        layer = self._ensure_layer()
        over = (lambda image: layers.task_image(connect(), self.spec, image, log=lambda _m: None).tag) \
            if self.spec.install.apt else None
        workspace.configure(WorkspaceSetup(image=over, network=self.network, mounts=layer.mounts))
        secrets = self._secrets()
        values = {"instruction_file": f"{IN_CONTAINER}/instruction.md", "model": self.model,
                  "base_url": self.base_url, "output_dir": f"{IN_CONTAINER}/out", "prefix": self.spec.prefix,
                  "workspace": workspace.root, "task_id": task.id}
        env = {name: fill(value, values, quote=False) for name, value in self.spec.env.items()}
        env.update({"RESQ_MODEL": self.model, "RESQ_BASE_URL": self.base_url, "RESQ_AGENT_PREFIX": self.spec.prefix})
        run = run_in_workspace(workspace, task, fill(self.spec.command, values), self.timeout_s, secrets,
                               extra_env=env, prepare=_excludes(self.spec.exclude))
        run.output = redact(run.output, secrets)
        usage = self._keep_records(workspace, run, secrets)
        usage = usage.model_copy(update={"wall_s": time.perf_counter() - started})
        self._raise_on_auth_failure(run)
        return agent_output(run, usage, self.timeout_s)

    def _ensure_layer(self, log=lambda _message: None) -> layers.AgentLayer:
        with self._lock:  # workers share the system: one of them builds, the others wait for it
            if self._layer is None:
                self._layer = layers.ensure_layer(connect(), self.spec, log=log)
            return self._layer

    def _secrets(self) -> dict[str, str]:
        """The variables the agent gets from the host, by the names it reads them under."""
        passed = {name: os.environ[name] for name in self.spec.pass_env}
        if self.spec.api_key_var:
            passed[self.spec.api_key_var] = os.environ[self.key_name] if self.key_name else KEYLESS
        return passed

    def _keep_records(self, workspace: Workspace, run: AgentRun, secrets: dict[str, str]) -> Usage:
        """agent_output.txt and the spec's trajectory files into the task's log folder (redacted); usage from the
        spec's usage file."""
        records: dict[str, str] = {}
        for name in {*self.spec.trajectory, *([self.spec.usage.file] if self.spec.usage else [])}:
            data = workspace.sandbox.read_file(f"{IN_CONTAINER}/out/{name}", limit=TRAJECTORY_CAP)
            if data is not None:
                records[name] = redact(data.decode("utf-8", "replace"), secrets)
        if workspace.log_dir is not None:
            (workspace.log_dir / "agent_output.txt").write_text(run.output)
            for name in self.spec.trajectory:
                if name in records:
                    target = workspace.log_dir / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_text(records[name])
        if self.spec.usage and self.spec.usage.file in records:
            return read_usage(self.spec.usage, records[self.spec.usage.file])
        return Usage()

    def _raise_on_auth_failure(self, run: AgentRun) -> None:
        for pattern in self.spec.auth_errors:
            match = re.search(pattern, run.output)
            if match:
                line = next(line for line in run.output.splitlines() if match.group(0) in line)
                raise AuthError(f"the model endpoint {self.base_url} refused the agent's credentials "
                                f"(--api-key-env {self.key_name or EMPTY}): {line.strip()[:200]}")


class BuiltinAgentSystem(AgentSystem):
    """An agent whose spec ships with resq-runner; `--agent-spec` is not taken."""

    def _spec(self, agent_spec: str) -> AgentSpec:
        if agent_spec:
            raise ResqError(f"--system {self.name} has its spec built in; drop --agent-spec (or use --system agent)")
        return builtin_spec(self.name)


class AiderSystem(BuiltinAgentSystem):
    name = "aider"


class MiniSweAgentSystem(BuiltinAgentSystem):
    name = "mini-swe-agent"


def _is_loopback(url: str) -> bool:
    host = urlparse(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _excludes(patterns: list[str]) -> str:
    """Shell that adds the patterns to the repository's git excludes, so the agent's files stay out of the patch."""
    import shlex

    return " && ".join(["mkdir -p .git/info"] + [f"printf '%s\\n' {shlex.quote(p)} >> .git/info/exclude"
                                                 for p in patterns]) if patterns else ""
