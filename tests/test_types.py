"""resq_runner/ type-checks clean with mypy in its default mode (configuration in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from conftest import PROJECT


@pytest.mark.slow
def test_mypy_reports_no_error_in_the_package():
    proc = subprocess.run([sys.executable, "-m", "mypy", "--no-error-summary", "resq_runner"], cwd=PROJECT,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
