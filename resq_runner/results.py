"""The run folder and its append-only results journal.

runs/<run_id>/
├── run.json          RunManifest: what produced these results
├── results.jsonl     one Result per line, appended and fsynced as each task finishes
└── logs/<task>/      patch.diff, apply.log, test_output.txt, report.xml, system.log
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import threading
from pathlib import Path
from typing import TextIO

from pydantic import ValidationError

from .errors import ResqError, RunFolderError
from .memory import keep, without_cycle_collection
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

    @property
    def lock(self) -> Path:
        return self.root / ".lock"

    def task_logs(self, task_id: str, attempt: int = 1, sample: int = 0) -> Path:
        return self.root / "logs" / log_name(task_id, attempt, sample)

    def log_folder_names(self) -> set[str]:
        """The names under logs/, listed once: readers of 100k tasks look a task's folder up here instead of
        asking the file system for every file of every task (empty when there is no logs/)."""
        try:
            return set(os.listdir(self.root / "logs"))
        except OSError:
            return set()


def log_name(task_id: str, attempt: int = 1, sample: int = 0) -> str:
    """The folder under logs/ of one (task, sample, attempt)."""
    return task_id + (f".sample{sample}" if sample else "") + (f".attempt{attempt}" if attempt > 1 else "")


def check_out_folder(path: Path, option: str = "--out") -> None:
    """A folder option must name a folder (new or existing): not a file, and not a path through a file."""
    for part in (Path(path), *Path(path).parents):
        if part.exists():
            if not part.is_dir():
                raise ResqError(f"{option} {path}: {part} is a file, not a folder; give {option} a folder (a new "
                                "one, or an earlier one to resume)")
            return


class RunLock:
    """One writer per run folder: a second `resq run` on the same --out is refused instead of interleaving rows.

    The lock is an flock on DIR/.lock, so the kernel releases it when the holder dies (kill -9 included).
    """

    def __init__(self, paths: RunPaths):
        self.paths = paths
        self._file: TextIO | None = None

    def __enter__(self) -> "RunLock":
        self.paths.root.mkdir(parents=True, exist_ok=True)
        self._file = handle = open(self.paths.lock, "a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            handle.close()
            raise ResqError(f"{self.paths.root}: another `resq run` is writing to this run folder; wait for it "
                            "or choose another --out") from exc
        return self

    def __exit__(self, *exc_info) -> None:
        if self._file is not None:
            self._file.close()


def folder_error(path: Path, exc: OSError) -> RunFolderError:
    reason = "the disk is full" if exc.errno in (errno.ENOSPC, errno.EDQUOT) else (exc.strerror or str(exc))
    return RunFolderError(f"{path}: cannot write ({reason}); rows already in results.jsonl are intact: free space "
                          "(or choose another --out) and run the same command again to resume")


class Journal:
    """Appends one JSON line per result with fsync, so a crash loses at most the row being written."""

    def __init__(self, path: Path):
        self.path = path
        self._lock = threading.Lock()
        path.parent.mkdir(parents=True, exist_ok=True)
        self._repair_torn_tail()

    def append(self, result: Result) -> None:
        line = (result.model_dump_json() + "\n").encode()
        with self._lock:
            size = self.path.stat().st_size if self.path.exists() else 0
            try:
                with open(self.path, "ab") as out:
                    out.write(line)
                    out.flush()
                    os.fsync(out.fileno())
            except OSError as exc:
                self._cut_back(size)
                raise folder_error(self.path, exc) from exc

    def _cut_back(self, size: int) -> None:
        """A row that could not be written whole is taken out again, so the file ends on a complete line."""
        try:
            with open(self.path, "r+b") as out:
                out.truncate(size)
                os.fsync(out.fileno())
        except OSError:
            pass  # the torn tail is then cut when the run resumes

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
    with without_cycle_collection():
        rows = _parse_rows(path, path.read_bytes().split(b"\n"))
    keep(rows)  # a reading command's process ends without freeing them
    return rows


def _parse_rows(path: Path, lines: list[bytes]) -> list[Result]:
    """Each row parsed and validated in one pass by pydantic's JSON parser; a row it refuses, or one without this
    schema version, takes the careful path below, which names what is wrong with it."""
    results = []
    validate = Result.__pydantic_validator__.validate_json  # Result.model_validate_json, called 100k times
    for number, raw in enumerate(lines, start=1):
        try:
            row = validate(raw)
        except ValueError:
            row = None
        if row is not None and row.schema_version == SCHEMA_VERSION and "schema_version" in row.model_fields_set:
            results.append(row)
            continue
        if not raw.strip():
            continue
        is_last = number == len(lines)
        try:
            data = json.loads(raw)
        except ValueError as exc:
            if is_last:
                break  # torn by a crash mid-write; the task will run again
            raise ResqError(f"{path}:{number}: not a JSON line ({exc}); remove or fix that line") from exc
        if not isinstance(data, dict):
            raise ResqError(f"{path}:{number}: not a result row (a JSON {type(data).__name__}); remove that line")
        if data.get("schema_version") != SCHEMA_VERSION:
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
    temporary = paths.manifest.with_suffix(".tmp")
    try:
        paths.root.mkdir(parents=True, exist_ok=True)
        temporary.write_text(manifest.model_dump_json(indent=2))
        temporary.replace(paths.manifest)
    except OSError as exc:
        temporary.unlink(missing_ok=True)
        raise folder_error(paths.manifest, exc) from exc


def read_manifest(paths: RunPaths) -> RunManifest | None:
    if not paths.manifest.exists():
        return None
    try:
        data = json.loads(paths.manifest.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise ResqError(f"{paths.manifest}: not a JSON run manifest ({exc}); fix it or choose another --out") from exc
    if not isinstance(data, dict) or data.get("schema_version", SCHEMA_VERSION) != SCHEMA_VERSION:
        found = data.get("schema_version") if isinstance(data, dict) else None
        raise ResqError(f"{paths.manifest}: run manifest schema version {found} is not {SCHEMA_VERSION}; write "
                        "this run to a new --out folder")
    try:
        return RunManifest.model_validate(data)
    except ValidationError as exc:
        raise ResqError(f"{paths.manifest}: not a run manifest ({exc.error_count()} field errors)") from exc


def cache_key(task_hash: str, patch: str, image_digest: str, grader_version: str) -> str:
    return sha256_text("\0".join((task_hash, sha256_text(patch), image_digest, grader_version)))[:32]
