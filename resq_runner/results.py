"""The run folder and its append-only results journal.

runs/<run_id>/
├── run.json          RunManifest: what produced these results
├── results.jsonl     one Result per line, appended and fsynced as each task finishes
└── logs/<task>/      patch.diff, apply.log, test_output.txt, report.xml, system.log
"""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

from pydantic import ValidationError

from .errors import ResqError
from .models import SCHEMA_VERSION, Result, RunManifest, sha256_text


class RunPaths:
    def __init__(self, root: Path):
        self.root = Path(root)

    @property
    def manifest(self) -> Path:
        return self.root / "run.json"

    @property
    def results(self) -> Path:
        return self.root / "results.jsonl"

    def task_logs(self, task_id: str, attempt: int = 1, sample: int = 0) -> Path:
        name = task_id + (f".sample{sample}" if sample else "") + (f".attempt{attempt}" if attempt > 1 else "")
        return self.root / "logs" / name


class Journal:
    """Appends one JSON line per result with fsync, so a crash loses at most the row being written."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._repair_torn_tail()

    def append(self, result: Result) -> None:
        line = result.model_dump_json() + "\n"
        with self._lock:
            try:
                with open(self.path, "a", encoding="utf-8") as out:
                    out.write(line)
                    out.flush()
                    os.fsync(out.fileno())
            except OSError as exc:
                raise ResqError(f"{self.path}: cannot append a result ({exc.strerror}); free space or choose "
                                "another --out, then run again to resume") from exc

    def _repair_torn_tail(self) -> None:
        """A crash mid-write leaves a last line without its newline: cut it off so appends start clean."""
        if not self.path.exists():
            return
        data = self.path.read_bytes()
        if data and not data.endswith(b"\n"):
            with open(self.path, "r+b") as out:
                out.truncate(data.rfind(b"\n") + 1)


def read_results(path: Path) -> list[Result]:
    """Every complete row; a torn last line is ignored, any other bad line is an error naming it."""
    if not path.exists():
        return []
    lines = path.read_bytes().split(b"\n")
    results = []
    for number, raw in enumerate(lines, start=1):
        if not raw.strip():
            continue
        is_last = number == len(lines)
        try:
            data = json.loads(raw)
        except ValueError as exc:
            if is_last:
                break  # torn by a crash mid-write; the task will run again
            raise ResqError(f"{path}:{number}: not a JSON line ({exc}); remove or fix that line") from exc
        if isinstance(data, dict) and data.get("schema_version") != SCHEMA_VERSION:
            raise ResqError(f"{path}:{number}: results schema version {data.get('schema_version')} is not "
                            f"{SCHEMA_VERSION}; write this run to a new --out folder")
        try:
            results.append(Result.model_validate(data))
        except ValidationError as exc:
            raise ResqError(f"{path}:{number}: not a result row ({exc.error_count()} field errors)") from exc
    return results


def final_results(results: list[Result]) -> dict[tuple[str, int], Result]:
    """The last final row for each (task, sample); infra errors do not count, they are retried."""
    final: dict[tuple[str, int], Result] = {}
    for result in results:
        if result.outcome.is_final:
            final[(result.task_id, result.sample)] = result
    return final


def write_manifest(paths: RunPaths, manifest: RunManifest) -> None:
    paths.root.mkdir(parents=True, exist_ok=True)
    temporary = paths.manifest.with_suffix(".tmp")
    temporary.write_text(manifest.model_dump_json(indent=2))
    temporary.replace(paths.manifest)


def read_manifest(paths: RunPaths) -> RunManifest | None:
    if not paths.manifest.exists():
        return None
    try:
        return RunManifest.model_validate_json(paths.manifest.read_text())
    except ValidationError as exc:
        raise ResqError(f"{paths.manifest}: not a run manifest ({exc.error_count()} field errors)") from exc


def cache_key(task_hash: str, patch: str, image_digest: str, grader_version: str) -> str:
    return sha256_text("\0".join((task_hash, sha256_text(patch), image_digest, grader_version)))[:32]
