"""Which hidden test functions a task's test command runs: read from the hidden files' source, never run."""

from __future__ import annotations

import ast
import shlex
import threading

TEST_FILE_PREFIX, TEST_FILE_SUFFIX = "test_", "_test.py"
# CPython 3.11 before 3.11.8 can fail ast.parse run from two threads at once ("AST constructor recursion depth
# mismatch"); evaluations run in worker threads.
PARSE_LOCK = threading.Lock()


def hidden_test_ids(hidden: dict[str, bytes], command: str) -> list[str]:
    """Node ids (without parameters) of the test functions in the hidden files the command selects."""
    arguments = _pytest_arguments(command)
    wanted_nodes = [t for t in arguments if "::" in t]
    paths = [t.rstrip("/") or "." for t in arguments]
    ids = []
    for name, content in sorted(hidden.items()):
        if not _is_test_file(name) or not _selected(name, paths):
            continue
        ids += [i for i in _test_functions(name, content) if not wanted_nodes or i in wanted_nodes]
    return ids


VALUE_OPTIONS = {"-p", "-k", "-m", "-o", "-c", "-W", "--rootdir", "--deselect", "--ignore", "--ignore-glob",
                 "--confcutdir", "--basetemp", "--import-mode", "--tb", "-r", "--maxfail", "--durations"}


def _pytest_arguments(command: str) -> list[str]:
    """The positional arguments given to pytest (paths or node ids); options and their values left out."""
    try:
        tokens = shlex.split(command)
    except ValueError:
        tokens = command.split()
    starts = [i for i, t in enumerate(tokens) if t.rsplit("/", 1)[-1] in ("pytest", "py.test")]
    if not starts:
        return []
    arguments, skip_next = [], False
    for token in tokens[starts[0] + 1:]:
        if token in ("&&", "||", ";", "|"):
            break
        if skip_next:
            skip_next = False
        elif token.startswith("-"):
            skip_next = token in VALUE_OPTIONS
        else:
            arguments.append(token)
    return arguments


def _is_test_file(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return base.endswith(".py") and (base.startswith(TEST_FILE_PREFIX) or base.endswith(TEST_FILE_SUFFIX))


def _selected(name: str, paths: list[str]) -> bool:
    if not paths:
        return True  # no path given: pytest collects from the repository root
    for path in paths:
        path = path.split("::", 1)[0]
        if path in (".", "") or name == path or name.startswith(path + "/"):
            return True
    return False


def _test_functions(name: str, content: bytes) -> list[str]:
    try:
        with PARSE_LOCK:
            tree = ast.parse(content)
    except (SyntaxError, ValueError):
        return []
    ids = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name.startswith("test"):
            ids.append(f"{name}::{node.name}")
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            ids += [f"{name}::{node.name}::{item.name}" for item in node.body
                    if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef)) and item.name.startswith("test")]
    return ids
