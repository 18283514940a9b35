"""The System protocol and the Workspace a system edits."""

from __future__ import annotations

from typing import Callable, Protocol

from ..models import SystemOutput, TaskView
from ..sandbox import Sandbox


class Workspace:
    """The task's repository at /workspace in a container of its own, started on first use.

    The tree is a git repository with one clean commit; the patch a system produces is what `diff()` shows.
    """

    root = "/workspace"

    def __init__(self, start: Callable[[], Sandbox]):
        self._start = start
        self._sandbox: Sandbox | None = None

    @property
    def sandbox(self) -> Sandbox:
        if self._sandbox is None:
            self._sandbox = self._start()
        return self._sandbox

    @property
    def started(self) -> bool:
        return self._sandbox is not None

    def run(self, command: str) -> tuple[int, str]:
        return self.sandbox.exec(["sh", "-c", command], workdir=self.root)

    def read(self, path: str) -> bytes | None:
        return self.sandbox.read_file(f"{self.root}/{path}")

    def diff(self) -> str:
        """Every change against the snapshot, new files included."""
        code, out = self.run("git add -A >/dev/null && git diff --cached --binary HEAD")
        return out if code == 0 else ""

    def close(self) -> None:
        if self._sandbox is not None:
            self._sandbox.remove()
            self._sandbox = None


class System(Protocol):
    name: str

    def solve(self, task: TaskView, workspace: Workspace) -> SystemOutput: ...
