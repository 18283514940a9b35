"""The syntax gate: an edited file must still parse before it is written to the workspace.

Python (.py, .pyi) is compiled in this process (`compile`, which raises SyntaxError, IndentationError, TabError);
JavaScript is parsed with tree-sitter here, and checked again with `node --check` inside the workspace container
when the image has node (agent.py does that part, since it needs the written file). A file that did not parse
before the edit is not held to it afterwards (a template, a file for another Python version).
"""

from __future__ import annotations

import warnings
from pathlib import PurePosixPath

from .retrieval import language_of, parser_for

PYTHON = {".py", ".pyi"}


def syntax_error(path: str, text: str, parsers: dict) -> str:
    """One line naming the first syntax error of `text` as the file `path`; empty when it parses (or when no
    checker knows the file's language)."""
    suffix = PurePosixPath(path).suffix
    if suffix in PYTHON:
        return _python(path, text)
    if language_of(path) == "javascript":
        return _tree_sitter(path, text, parsers)
    return ""


def gate(path: str, before: str | None, after: str | None, parsers: dict) -> str:
    """The syntax error an edit introduced (empty when the new text parses, or the old one did not)."""
    if after is None:
        return ""
    error = syntax_error(path, after, parsers)
    if error and before is not None and syntax_error(path, before, parsers):
        return ""
    return error


def checker(path: str) -> str:
    """Which tool checks the file here: `compile`, `tree-sitter`, or empty."""
    if PurePosixPath(path).suffix in PYTHON:
        return "compile"
    return "tree-sitter" if language_of(path) == "javascript" else ""


def _python(path: str, text: str) -> str:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escape sequences and the like are warnings, not errors
            compile(text, path, "exec", dont_inherit=True)
    except SyntaxError as exc:
        line = (exc.text or "").strip()
        shown = f": {line[:120]}" if line else ""
        return f"{path}:{exc.lineno}: {type(exc).__name__}: {exc.msg}{shown}"
    except ValueError as exc:  # source code string cannot contain null bytes
        return f"{path}: {exc}"
    return ""


def _tree_sitter(path: str, text: str, parsers: dict) -> str:
    language = language_of(path)
    if language is None:
        return ""  # no grammar for this file: nothing to check
    parser = parsers.setdefault(language, parser_for(language))
    root = parser.parse(text.encode()).root_node
    if not root.has_error:
        return ""
    node = _first_error(root)
    line = node.start_point[0] + 1 if node is not None else 1
    what = f"missing {node.type}" if node is not None and node.is_missing else "syntax error"
    source = text.splitlines()[line - 1].strip() if line - 1 < len(text.splitlines()) else ""
    return f"{path}:{line}: {what}" + (f": {source[:120]}" if source else "")


def _first_error(node):
    if node.type == "ERROR" or node.is_missing:
        return node
    for child in node.children:
        if child.has_error or child.is_missing:
            found = _first_error(child)
            if found is not None:
                return found
    return None
