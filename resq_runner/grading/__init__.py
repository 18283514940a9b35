"""Grading: apply a patch in a fresh container, inject hidden tests, run them, decide from structured reports."""

from .evaluate import GRADER_VERSION, evaluate
from .reports import decide, parse_junit, parse_node_report

__all__ = ["GRADER_VERSION", "decide", "evaluate", "parse_junit", "parse_node_report"]
