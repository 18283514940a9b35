"""Systems under test: anything that turns a task view and a workspace into a patch.

A system implements `solve(task, workspace) -> SystemOutput`. It sees a TaskView (never hidden tests, never the
gold patch; `gold` alone is handed its patch when it is made) and a Workspace whose container starts only if the
system touches it. A system may also define `prepare(task_ids) -> list[str]`: messages about its inputs against the
suite, shown and kept before any task runs. Every system subclasses the System protocol (base.py), which declares
these hooks with their defaults. A system whose credentials are refused raises errors.AuthError from `solve`: that
task is its system_error and the run stops. Third-party systems register under the `resq_runner.systems` entry
point.
"""

from __future__ import annotations

from importlib.metadata import EntryPoint, entry_points
from typing import Callable

from ..errors import ResqError
from ..models import SystemSpec
from .base import GoldSolution, System, Workspace
from .builtin import GoldSystem, NoopSystem
from .replay import ReplaySystem

BUILTIN: dict[str, Callable[..., System]] = {"gold": GoldSystem, "noop": NoopSystem, "replay": ReplaySystem}
# Imported only when chosen: the llm system pulls in httpx and tree-sitter.
LAZY = {"llm": "resq_runner.systems.llm:LlmSystem", "command": "resq_runner.systems.command:CommandSystem",
        "predictions": "resq_runner.systems.predictions:PredictionsSystem",
        "agent": "resq_runner.systems.agent:AgentSystem", "aider": "resq_runner.systems.agent:AiderSystem",
        "mini-swe-agent": "resq_runner.systems.agent:MiniSweAgentSystem"}


Factory = Callable[..., System] | str | EntryPoint  # a class, "module:Class" imported when chosen, or a plugin


def available() -> dict[str, Factory]:
    systems: dict[str, Factory] = {**BUILTIN, **LAZY}
    for entry in entry_points(group="resq_runner.systems"):
        systems.setdefault(entry.name, entry)
    return systems


def make_system(spec: SystemSpec) -> System:
    systems = available()
    if spec.name not in systems:
        raise ResqError(f"unknown system '{spec.name}' (available: {', '.join(sorted(systems))})")
    factory = systems[spec.name]
    if isinstance(factory, str):
        import importlib

        module, _, attribute = factory.partition(":")
        factory = getattr(importlib.import_module(module), attribute)
    elif isinstance(factory, EntryPoint):
        factory = factory.load()
    system = factory(**spec.config)
    if not isinstance(system, System):
        raise ResqError(f"system '{spec.name}' ({type(system).__name__}) does not subclass "
                        "resq_runner.systems.System; subclass it so the runner can call every hook")
    return system


__all__ = ["GoldSolution", "System", "Workspace", "available", "make_system"]
