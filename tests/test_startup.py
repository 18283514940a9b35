"""Start-up stays light: heavy dependencies are imported only by the commands that use them."""

from __future__ import annotations

import json
import subprocess
import sys

from conftest import PROJECT

HEAVY = {"docker", "requests", "git", "pydantic", "yaml", "rich.progress", "swebench"}


def modules_after(*args: str) -> set[str]:
    """The modules a fresh interpreter holds after running `resq ARGS` in-process."""
    script = ("import sys, json\nfrom resq_runner.cli import main\n"
              f"try:\n    main({list(args)!r})\nexcept SystemExit:\n    pass\n"
              "print(json.dumps(sorted(sys.modules)))")
    proc = subprocess.run([sys.executable, "-c", script], cwd=PROJECT, capture_output=True, text=True, check=True)
    return set(json.loads(proc.stdout.strip().splitlines()[-1]))


def test_help_imports_no_heavy_dependency():
    assert modules_after("--help") & HEAVY == set()


def test_listing_tasks_needs_neither_docker_nor_git():
    loaded = modules_after("tasks", "list", "demo")
    assert "resq_runner.tasks" in loaded  # the command did run
    assert loaded & {"docker", "requests", "git", "rich.progress", "swebench"} == set()
