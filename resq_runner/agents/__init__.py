"""Agent specs: what a third-party agent needs installed, how to start it, and where it leaves its records.

The built-in agents (aider, mini-swe-agent) are specs shipped beside this module (`<name>.yaml`); a user's agent is
the same kind of file given with `--agent-spec`, so both go through one code path (systems/agent.py). A spec's
content hash names its install layer (layer.py), so an edited spec reinstalls and an unchanged one never does.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError, field_validator

from ..errors import ResqError
from ..models import Record, Usage, sha256_text

BUILTIN_DIR = Path(__file__).resolve().parent
PREFIX_ROOT = "/opt/resq-agents"
# what the command line and `env` values may name; each becomes the shell-quoted value
PLACEHOLDERS = ("instruction_file", "model", "base_url", "output_dir", "prefix", "workspace", "task_id")
# what agents built on LiteLLM / the OpenAI client print when the endpoint refuses the credentials
DEFAULT_AUTH_PATTERNS = [r"AuthenticationError", r"PermissionDeniedError", r"\b(401|403)\b.{0,40}"
                         r"(Unauthorized|Forbidden|invalid api key|Incorrect API key)"]


class AgentInstall(Record):
    """Installed once into the agent's layer, never into a task's repository or its environment."""

    pip: list[str] = []  # requirements, pinned; wheels fetched on the host, installed offline into PREFIX/venv
    apt: list[str] = []  # Debian packages the agent needs in the workspace container (installed over the task image)
    commands: list[str] = []  # run in the layer build after pip, as root, with $RESQ_AGENT_PREFIX set


class UsageReader(Record):
    """Tokens and cost summed over the records of one file the agent wrote in its output folder.

    `records` is a dotted path to the list of records in a JSON file (empty: the whole file is one record); a
    `jsonl` file has one record a line. `where` keeps records whose fields equal the given values. Each count is a
    dotted path inside a record; records without it add nothing, and `calls` counts records with `prompt_tokens`.
    """

    file: str
    format: Literal["json", "jsonl"] = "json"
    records: str = ""
    where: dict[str, str] = {}
    prompt_tokens: str
    completion_tokens: str
    cost_usd: str = ""


class AgentSpec(Record):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9._-]{0,62}$")
    version: str = ""
    install: AgentInstall = AgentInstall()
    command: str  # run with sh -c in /workspace; {placeholders} become shell-quoted values
    env: dict[str, str] = {}  # fixed variables for the agent ({placeholders} allowed)
    api_key_var: str = "OPENAI_API_KEY"  # the variable the agent reads its key from ('' : it takes none)
    pass_env: list[str] = []  # more host variables passed by name (never recorded, redacted from logs)
    exclude: list[str] = []  # git exclude patterns for files the agent leaves in the repository
    trajectory: list[str] = []  # files of {output_dir} copied to logs/<task>/ (the agent's own record)
    usage: UsageReader | None = None
    auth_errors: list[str] = DEFAULT_AUTH_PATTERNS  # output lines matching one of these stop the run
    timeout_s: float = 1800

    @field_validator("command")
    @classmethod
    def _known_placeholders(cls, command: str) -> str:
        unknown = sorted(set(re.findall(r"\{([a-z_]+)\}", command)) - set(PLACEHOLDERS))
        if unknown:
            raise ValueError(f"unknown placeholder(s) {', '.join(unknown)}; known: {', '.join(PLACEHOLDERS)}")
        return command

    @property
    def prefix(self) -> str:
        return f"{PREFIX_ROOT}/{self.name}"

    def layer_hash(self) -> str:
        """What the install layer depends on: the name (its prefix) and what is installed, nothing else."""
        return sha256_text(json.dumps([self.name, self.install.model_dump()], sort_keys=True))[:16]


def builtin_names() -> list[str]:
    return sorted(path.stem for path in BUILTIN_DIR.glob("*.yaml"))


def load_spec(path: str | Path) -> AgentSpec:
    file = Path(path)
    try:
        data = yaml.safe_load(file.read_text())
        return AgentSpec.model_validate(data)
    except OSError as exc:
        raise ResqError(f"{file}: cannot read the agent spec ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise ResqError(f"{file}: not YAML ({' '.join(str(exc).split())[:200]})") from exc
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'spec'}: {e['msg']}" for e in exc.errors())
        raise ResqError(f"{file}: {problems} (see docs/agents.md, 'Bring your own agent')") from exc


def spec_file_hash(path: str | Path) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()[:16]
    except OSError as exc:
        raise ResqError(f"{path}: cannot read the agent spec ({exc.strerror})") from exc


def builtin_spec(name: str) -> AgentSpec:
    if name not in builtin_names():
        raise ResqError(f"no built-in agent '{name}' (built in: {', '.join(builtin_names())})")
    return load_spec(BUILTIN_DIR / f"{name}.yaml")


def fill(template: str, values: dict[str, str], quote: bool = True) -> str:
    """`{name}` placeholders replaced by their values, shell-quoted for a command line; other braces stay."""
    import shlex

    return re.sub(r"\{(" + "|".join(PLACEHOLDERS) + r")\}",
                  lambda m: (shlex.quote if quote else str)(values.get(m.group(1), "")), template)


def read_usage(reader: UsageReader, text: str) -> Usage:
    """Tokens and cost from the text of the reader's file (an unreadable file counts nothing)."""
    records = _records(reader, text)
    kept = [r for r in records if all(str(_field(r, k)) == v for k, v in reader.where.items())]
    prompt = [_number(_field(r, reader.prompt_tokens)) for r in kept]
    completion = [_number(_field(r, reader.completion_tokens)) for r in kept]
    cost = [_number(_field(r, reader.cost_usd)) for r in kept] if reader.cost_usd else []
    return Usage(prompt_tokens=int(sum(p for p in prompt if p is not None)),
                 completion_tokens=int(sum(c for c in completion if c is not None)),
                 calls=sum(1 for p in prompt if p is not None),
                 cost_usd=float(sum(c for c in cost if c is not None)))


def _records(reader: UsageReader, text: str) -> list:
    try:
        if reader.format == "jsonl":
            return [record for line in text.splitlines() if line.strip() for record in _json_line(line)]
        found = _field(json.loads(text), reader.records) if reader.records else json.loads(text)
    except json.JSONDecodeError:
        return []
    return found if isinstance(found, list) else [found]


def _json_line(line: str) -> list:
    try:
        return [json.loads(line)]
    except json.JSONDecodeError:
        return []  # a line torn when the agent was killed


def _field(record, path: str):
    for key in path.split(".") if path else []:
        if not isinstance(record, dict):
            return None
        record = record.get(key)
    return record


def _number(value) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
