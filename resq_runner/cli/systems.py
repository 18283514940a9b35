"""The options of `resq run` that configure a system; they become SystemSpec.config (strings, never a secret).

`system_options` decorates the run command; `system_config` turns the given options into the config of the chosen
system and refuses options that system does not take.
"""

from __future__ import annotations

import functools
from pathlib import Path

import click

from ..errors import ResqError

AGENTS = {"aider", "mini-swe-agent", "agent"}  # third-party agents from specs (systems/agent.py)

# option (python name) -> (config key, systems that take it, click option declaration, click keyword arguments)
OPTIONS = [
    ("model", "model", {"llm", *AGENTS}, ("--model",),
     dict(help="llm, agents: model name sent to the endpoint (agents: openai/NAME).")),
    ("base_url", "base_url", {"llm", *AGENTS}, ("--base-url",),
     dict(help="llm, agents: OpenAI-compatible endpoint, e.g. http://127.0.0.1:8000/v1.")),
    ("api_key_env", "api_key_env", {"llm", *AGENTS}, ("--api-key-env",),
     dict(help="llm, agents: environment variable holding the API key (default OPENAI_API_KEY; '' for none).")),
    ("agent_spec", "agent_spec", {"agent"}, ("--agent-spec",),
     dict(type=click.Path(exists=True, dir_okay=False), help="agent: the agent's spec file (YAML).")),
    ("agent_network", "agent_network", AGENTS, ("--agent-network",),
     dict(type=click.Choice(["host", "bridge"]), help="agents: the workspace container's network (default: host "
                                                      "for a loopback --base-url, else bridge).")),
    ("edit_format", "edit_format", {"llm"}, ("--edit-format",),
     dict(type=click.Choice(["search-replace", "udiff"]), help="llm: edit format asked of the model.")),
    ("context_tokens", "context_tokens", {"llm"}, ("--context-tokens",),
     dict(type=int, help="llm: token budget of the retrieved context (default 8000).")),
    ("max_turns", "max_turns", {"llm"}, ("--max-turns",), dict(type=int, help="llm: model calls per task (8).")),
    ("max_apply_retries", "max_apply_retries", {"llm"}, ("--max-apply-retries",),
     dict(type=int, help="llm: replies without applicable edits tolerated before giving up (3).")),
    ("request_timeout", "request_timeout_s", {"llm"}, ("--request-timeout",),
     dict(type=float, help="llm: seconds to wait for one answer (120).")),
    ("max_retries", "max_retries", {"llm"}, ("--max-retries",),
     dict(type=int, help="llm: retries of a request after 429/5xx/timeout (4).")),
    ("backoff", "backoff_s", {"llm"}, ("--backoff",),
     dict(type=float, help="llm: first backoff in seconds when no Retry-After is given (1, doubling).")),
    ("max_concurrent_requests", "max_concurrent_requests", {"llm"}, ("--max-concurrent-requests",),
     dict(type=int, help="llm: requests in flight at once across the whole run (4).")),
    ("budget_usd_per_task", "budget_usd_per_task", {"llm"}, ("--budget-usd-per-task",),
     dict(type=float, help="llm: stop a task's calls once it spent this many dollars.")),
    ("budget_usd_per_run", "budget_usd_per_run", {"llm"}, ("--budget-usd-per-run",),
     dict(type=float, help="llm: stop every call once the run spent this many dollars.")),
    ("price_table", "price_table", {"llm"}, ("--price-table",),
     dict(type=click.Path(exists=True, dir_okay=False), help="llm: JSON/YAML {model: {prompt, completion}} "
                                                             "in USD per million tokens.")),
    ("test_loop", "test_loop", {"llm"}, ("--test-loop",),
     dict(is_flag=True, default=None, help="llm: after edits apply, run the repository's visible tests in the "
                                           "workspace and send failures back (never the hidden tests).")),
    ("test_loop_turns", "test_loop_turns", {"llm"}, ("--test-loop-turns",),
     dict(type=int, help="llm --test-loop: test failures sent back at most this many times (3).")),
    ("test_command", "test_command", {"llm"}, ("--test-command",),
     dict(help="llm --test-loop: the visible-test command (default: pytest or node --test, from the files).")),
    ("predictions", "predictions", {"predictions"}, ("--predictions",),
     dict(type=click.Path(exists=True, dir_okay=False), help="predictions: SWE-bench-style JSON or JSONL file.")),
    ("agent_cmd", "agent_cmd", {"command"}, ("--agent-cmd",), dict(help="command: the agent's shell command.")),
    ("on_host", "on_host", {"command"}, ("--on-host",),
     dict(is_flag=True, default=None, help="command: run on this machine against a checkout, not in the container.")),
    ("agent_timeout", "agent_timeout_s", {"command", *AGENTS}, ("--agent-timeout",),
     dict(type=float, help="command, agents: seconds before the agent is killed (1800).")),
    ("agent_dir", "agent_dir", {"command"}, ("--agent-dir",),
     dict(type=click.Path(exists=True, file_okay=False), help="command: files made available to the agent "
                                                              "($RESQ_AGENT_DIR).")),
    ("agent_env", "agent_env", {"command"}, ("--agent-env",),
     dict(multiple=True, help="command: host environment variable passed to the agent by name (repeatable).")),
    ("agent_memory_mb", "agent_memory_mb", {"command"}, ("--agent-memory-mb",),
     dict(type=int, help="command --on-host: address-space limit of the agent in MiB.")),
]


def system_options(command):
    """Adds every system option to a click command; they arrive in its callback as `system_options` (a dict)."""
    names = [name for name, *_ in OPTIONS]

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        kwargs["system_options"] = {name: kwargs.pop(name) for name in names}
        return command(*args, **kwargs)

    for name, _key, _systems, declaration, settings in reversed(OPTIONS):
        wrapper = click.option(*declaration, name, **settings)(wrapper)
    return wrapper


def system_config(system: str, given: dict) -> dict[str, str]:
    config, refused = {}, []
    for name, key, systems, declaration, _settings in OPTIONS:
        value = given.get(name)
        if value is None or value == () or value is False:
            continue
        if system in {"gold", "noop", "llm", "command", "predictions", *AGENTS} and system not in systems:
            refused.append(declaration[0])
            continue
        config[key] = ",".join(value) if isinstance(value, tuple) else str(value)
    if refused:
        raise ResqError(f"system '{system}' does not take {', '.join(refused)}; drop it or choose the system "
                        f"it belongs to")
    if "agent_spec" in config:  # an edited spec is another system: a run folder of the old one is not resumed
        from ..agents import spec_file_hash

        config["agent_spec_sha256"] = spec_file_hash(config["agent_spec"])
    return config


# ---------------------------------------------------------------------------------------------------------------
# Named systems: resq.yaml (or --config FILE) maps names to a system and its options.

CONFIG_FILE = "resq.yaml"


def _option_type(settings: dict):
    if settings.get("is_flag"):
        return bool
    if settings.get("multiple"):
        return list[str]
    kind = settings.get("type")
    return kind if kind in (int, float) else str


def _named_system_model():
    from pydantic import ConfigDict, create_model

    fields = {name: (_option_type(settings) | None, None) for name, _key, _systems, _decl, settings in OPTIONS}
    return create_model("NamedSystem", __config__=ConfigDict(extra="forbid"), system=(str, ...), **fields)


def load_named_systems(file: Path) -> dict[str, dict]:
    """name -> {system, option: value} from a config file; every mistake is one error naming file, system, key."""
    import yaml
    from pydantic import ValidationError

    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ResqError(f"{file}: cannot read ({' '.join(str(exc).split())[:160]}); fix the file") from None
    systems = data.get("systems") if isinstance(data, dict) else None
    if not isinstance(systems, dict) or set(data) != {"systems"}:
        raise ResqError(f"{file}: expected one top-level key `systems:` mapping names to "
                        "{system: ..., model: ..., ...}")
    model, named = _named_system_model(), {}
    for name, entry in systems.items():
        try:
            named[str(name)] = model.model_validate(entry).model_dump(exclude_none=True)
        except ValidationError as exc:
            error = exc.errors()[0]
            key = ".".join(str(part) for part in error["loc"]) or "(the entry)"
            reason = "unknown key" if error["type"] == "extra_forbidden" else error["msg"].lower()
            keys = ", ".join(["system"] + [option for option, *_ in OPTIONS])
            raise ResqError(f"{file}: system '{name}': {reason}: '{key}' (keys are resq run's option names with _ "
                            f"for -: {keys})") from None
    return named


def resolve_system(name: str, given: dict, config: Path | None) -> tuple[str, dict, str]:
    """(system, options, label): a named system from the config file (options given on the command line win),
    or the system called `name` itself with no label."""
    file = config if config is not None else Path(CONFIG_FILE)
    if config is not None and not file.is_file():
        raise ResqError(f"{file}: no such config file; give --config an existing resq.yaml")
    named = load_named_systems(file) if file.is_file() else {}
    if name not in named:
        return name, given, ""
    entry = dict(named[name])
    system = entry.pop("system")
    merged = dict(given)
    for option, value in entry.items():
        if given.get(option) in (None, (), False):
            merged[option] = tuple(value) if isinstance(value, list) else value
    return system, merged, name
