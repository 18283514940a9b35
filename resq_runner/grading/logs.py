"""Grading from a test log with the swebench package's log parsers, for tests that cannot write JUnit.

The optional extra `resq-runner[swebench]` provides the parsers; they are imported here only, and only when a task
with `tests.framework: log` is graded, so plain `resq` never loads the package.
"""

from __future__ import annotations

from ..errors import SetupError
from ..models import TestStatus

STATUS = {"PASSED": TestStatus.passed, "XFAIL": TestStatus.passed, "FAILED": TestStatus.failed,
          "ERROR": TestStatus.error, "SKIPPED": TestStatus.skipped}


def log_parser(name: str):
    """A parser by its registry name (`parse_log_pytest`) or by the repository it serves (`django/django`)."""
    try:
        from swebench.harness.log_parsers import PARSER_REGISTRY
        from swebench.harness.log_parsers.python import MAP_REPO_TO_PARSER_PY as MAP_REPO_TO_PARSER
    except ImportError as exc:
        raise SetupError("grading a task with tests.framework 'log' needs the swebench package: "
                         "pip install 'resq-runner[swebench]'") from exc
    parser = PARSER_REGISTRY.get(name) or MAP_REPO_TO_PARSER.get(name)
    if parser is None:
        raise SetupError(f"no swebench log parser named '{name}' (use a name like parse_log_pytest or a "
                         "repository key like django/django)")
    return parser


def parse_log(log: str, name: str) -> dict[str, TestStatus]:
    parsed = log_parser(name)(log, None)
    return {test: STATUS.get(str(getattr(status, "value", status)), TestStatus.failed)
            for test, status in parsed.items()}
