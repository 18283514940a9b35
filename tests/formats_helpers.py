"""Helpers the format tests share: uniquely named run folders, graded runs that leave no container, rows by task."""

from __future__ import annotations

import secrets
from pathlib import Path

from conftest import containers_of, resq
from resq_runner.models import Result, RunManifest
from resq_runner.sandbox import connect


def unique_run(tmp_path: Path, name: str) -> Path:
    """A run folder with a name no other run on the engine shares."""
    return tmp_path / f"fmt-{name}-{secrets.token_hex(4)}"


def graded(cleanup_run: list, run: Path, *args: str) -> None:
    """`resq ARGS --out RUN`; its run id goes to the cleanup list, and no container of that run may be left."""
    try:
        resq(*args, "--out", str(run), check=True)
    finally:
        if (run / "run.json").exists():
            cleanup_run.append(RunManifest.model_validate_json((run / "run.json").read_text()).run_id)
    assert cleanup_run and not containers_of(connect(), cleanup_run[-1])


def rows(run: Path) -> dict[str, Result]:
    return {r.task_id: r for r in map(Result.model_validate_json, (run / "results.jsonl").read_text().splitlines())}
