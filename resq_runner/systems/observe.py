"""What an external agent read, for retrieval accounting (approximate; see docs/agents.md).

In order of trust:
1. the agent's own record: JSON lines `{"path": ..., "start": ..., "end": ..., "tokens": ...}` appended to the
   file named by $RESQ_CONTEXT_LOG (start, end and tokens optional);
2. in the workspace container: every repository file opened while the agent ran, seen by an inotify watcher
   (harness/watch_reads.py) started before the agent; opening a file to write it counts as a read too;
3. on the host: access times before and after the agent (every file's atime is first set to the epoch, so even a
   relatime mount records the first read).
Tokens of an observed file are its size / 4 (the whole file is counted).
"""

from __future__ import annotations

import json
import os
import shlex
import time
from pathlib import Path

from ..models import ContextFile
from ..resources import harness_file
from .base import WORKSPACE_UID, Workspace

WATCHER = harness_file("watch_reads.py")
BYTES_PER_TOKEN = 4


def parse_context_log(text: str, root: str = "") -> list[ContextFile]:
    """The agent's own record; lines that are not such objects are skipped (an agent's bug is not the run's)."""
    files = []
    for line in text.splitlines():
        try:
            data = json.loads(line)
            path = str(data["path"])
            path = path[len(root):].lstrip("/") if root and path.startswith(root + "/") else path.removeprefix("./")
            files.append(ContextFile(path=path, start=data.get("start"), end=data.get("end"),
                                     tokens=int(data.get("tokens") or 0), source="transcript"))
        except (ValueError, KeyError, TypeError, AttributeError):
            continue
    return files


class ContainerReads:
    """The inotify watcher in a workspace container: start before the agent, collect after it."""

    def __init__(self, workspace: Workspace, folder: str):
        self.workspace, self.folder = workspace, folder
        self.reads, self.pid_file = f"{folder}/reads.txt", f"{folder}/watch.pid"
        self.ready = False

    def start(self, timeout_s: float = 10.0) -> None:
        self.workspace.sandbox.put_files({f"{self.folder}/watch_reads.py": WATCHER.read_bytes()}, mode=0o644,
                                         uid=WORKSPACE_UID)
        self.workspace.start(f"echo $$ > {self.pid_file}; exec python3 -I {self.folder}/watch_reads.py "
                             f"{self.workspace.root} {self.reads} 2>/dev/null")
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            first = (self.workspace.sandbox.read_file(self.reads) or b"").split(b"\n", 1)[0]
            if first:
                self.ready = first == b"ready"
                return
            time.sleep(0.1)

    def collect(self) -> list[ContextFile]:
        if not self.ready:
            return []
        time.sleep(0.2)  # the watcher writes each event as it comes; let the last ones land
        lines = (self.workspace.sandbox.read_file(self.reads) or b"").decode("utf-8", "replace").splitlines()[1:]
        self.workspace.run(f"kill $(cat {self.pid_file}) 2>/dev/null")
        paths = [line for line in lines if line and not line.startswith(("../", "unavailable: "))]
        return [ContextFile(path=path, tokens=size // BYTES_PER_TOKEN, source="inotify")
                for path, size in self._sizes(paths).items()]

    def _sizes(self, paths: list[str]) -> dict[str, int]:
        if not paths:
            return {}
        code, out = self.workspace.run("stat -c '%s %n' -- " + " ".join(shlex.quote(p) for p in paths)
                                       + " 2>/dev/null")
        sizes = {}
        for line in out.splitlines():
            size, _, name = line.partition(" ")
            if size.isdigit():
                sizes[name] = int(size)
        return {path: sizes.get(path, 0) for path in paths}


def reset_access_times(checkout: Path) -> None:
    for path in _tree(checkout):
        stat = path.stat()
        os.utime(path, (0, stat.st_mtime))


def read_since_reset(checkout: Path) -> list[ContextFile]:
    return [ContextFile(path=path.relative_to(checkout).as_posix(), tokens=path.stat().st_size // BYTES_PER_TOKEN,
                        source="atime")
            for path in _tree(checkout) if path.stat().st_atime > 0]


def _tree(checkout: Path) -> list[Path]:
    return [p for p in sorted(checkout.rglob("*")) if p.is_file() and not p.is_symlink()
            and ".git" not in p.relative_to(checkout).parts]
