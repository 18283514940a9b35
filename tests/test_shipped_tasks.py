"""Every shipped task is sound: `resq tasks validate --runs 1` (gold passes, noop fails, once each) over tasks/demo,
tasks/py, tasks/js and the expanded tasks/templates, so a task broken by a change to it or to the grader cannot land.

tasks/adversarial is left out: its gold patches are attacks that must fail, which tests/test_adversarial.py covers.
"""

from __future__ import annotations

import shutil

import pytest

from conftest import PROJECT, resq

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def validate(suite, tmp_path) -> None:
    proc = resq("tasks", "validate", str(suite), "--runs", "1", "-j", "2", "--out", str(tmp_path / "validate"),
                timeout=3600)
    invalid = [line for line in proc.stdout.splitlines() if ": invalid" in line or ": flaky" in line]
    assert proc.returncode == 0, "\n".join(invalid) or proc.stdout[-3000:] + proc.stderr[-3000:]


@pytest.mark.parametrize("suite", ["demo", "py", "js"])
def test_shipped_suite_validates(suite, tmp_path):
    validate(PROJECT / "tasks" / suite, tmp_path)


def test_shipped_templates_validate_once_expanded(tmp_path):
    suite = tmp_path / "templates"
    shutil.copytree(PROJECT / "tasks" / "templates", suite, ignore=shutil.ignore_patterns("*@*", ".work"))
    resq("tasks", "expand", str(suite), check=True)  # every instance (78): each costs ~3 s of CI
    validate(suite, tmp_path)
