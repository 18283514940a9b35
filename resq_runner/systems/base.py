"""The System protocol and the Workspace a system edits."""

from __future__ import annotations

import io
import posixpath
import re
import shlex
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol, runtime_checkable

import docker.errors
import requests.exceptions

from ..errors import InfraError, ResqError
from ..models import ImageRef, SystemOutput, TaskView
from ..sandbox import Sandbox, member_bytes

WORKSPACE_UID = 1000
# Run as root once the workspace container is up: `/` loses its group bits when the workspace user neither owns it
# nor is in its group. That user's rights come from the other bits, unchanged; its path look-ups get ~50x cheaper
# on a FUSE storage driver (the rule and the reason: harness/grade.py quick_root_lookups). Shell only: any image.
QUICK_ROOT_LOOKUPS = (f'set -- $(ls -ldn /) && [ "$3" != {WORKSPACE_UID} ] && [ "$4" != {WORKSPACE_UID} ] '
                      '&& chmod g-rwx / 2>/dev/null; true')


@dataclass(frozen=True)
class WorkspaceSetup:
    """How the workspace container is made, when a system needs more than the default (an agent's layer):
    `image` gives the image to start from the task image (one built over it), `network` is bridge, host or none
    (default: the run's), `mounts` are host folders mounted read-only, {host path: container path}."""

    image: Callable[[ImageRef], str] | None = None
    network: str | None = None
    mounts: dict[str, str] = field(default_factory=dict)


class Workspace:
    """The task's repository at /workspace in a container of its own, started on first use.

    The tree is a git repository with one clean commit; the patch a system produces is what `diff()` shows.
    `log_dir` is the task's log folder (a system may write its transcript there); `source_dir` is the host's
    read-only copy of the same one-commit tree, for systems that work on the host against a checkout.
    """

    root = "/workspace"

    def __init__(self, start: Callable[[WorkspaceSetup], Sandbox], *, log_dir: Path | None = None,
                 source_dir: Callable[[], Path] | None = None):
        self._start = start
        self._sandbox: Sandbox | None = None
        self._setup = WorkspaceSetup()
        self.log_dir = log_dir
        self._source_dir = source_dir

    @property
    def sandbox(self) -> Sandbox:
        if self._sandbox is None:
            self._sandbox = self._start(self._setup)
        return self._sandbox

    def configure(self, setup: WorkspaceSetup) -> None:
        """Say how the container is to be made; only before it starts (the first use of `sandbox`)."""
        if self._sandbox is not None:
            raise RuntimeError("the workspace container already started")
        self._setup = setup

    @property
    def started(self) -> bool:
        return self._sandbox is not None

    def source_dir(self) -> Path:
        if self._source_dir is None:
            raise ResqError("this workspace has no host checkout")
        return self._source_dir()

    def run(self, command: str, *, environment: dict[str, str] | None = None) -> tuple[int, str]:
        return self.sandbox.exec(["sh", "-c", command], workdir=self.root, environment=environment)

    def read(self, path: str) -> bytes | None:
        return self.sandbox.read_file(f"{self.root}/{safe_path(path)}")

    def files(self) -> list[str]:
        """Every file of the work tree (tracked, or new and not ignored), as repository paths."""
        code, out = self.run("git ls-files -z --cached --others --exclude-standard")
        return sorted({name for name in out.split("\0") if name}) if code == 0 else []

    def read_tree(self, max_file_bytes: int = 256 * 1024) -> dict[str, bytes]:
        """The work tree's files in one copy (regular files up to `max_file_bytes`; .git left out)."""
        wanted = set(self.files())
        stream, _stat = _engine(self.sandbox.container.get_archive, self.root)
        files: dict[str, bytes] = {}
        with tarfile.open(fileobj=io.BytesIO(_engine(b"".join, stream))) as tar:
            for member in tar:
                name = member.name.split("/", 1)[1] if "/" in member.name else ""
                if name in wanted and member.isfile() and member.size <= max_file_bytes:
                    files[name] = member_bytes(tar, member)
        return files

    def write(self, path: str, content: bytes) -> None:
        """Create or replace one file, owned by the workspace user (missing folders are made as that user). A
        replaced file keeps its mode (an executable stays executable); a new one is 0644."""
        relative = safe_path(path)
        parent = posixpath.dirname(relative)
        mkdir = f"mkdir -p {shlex.quote(parent)} && " if parent else ""
        _code, out = self.run(f"{mkdir}stat -c %a -- {shlex.quote(relative)} 2>/dev/null || true")
        mode = out.strip().splitlines()[-1] if out.strip() else ""
        self.sandbox.put_files({f"{self.root}/{relative}": content}, uid=WORKSPACE_UID,
                               mode=int(mode, 8) if re.fullmatch(r"[0-7]{3,4}", mode) else 0o644)

    def start(self, command: str, *, environment: dict[str, str] | None = None) -> str:
        """Start a long command in the background (a plain exec would hit the engine client's read timeout);
        returns an id for `running()`. Its output is whatever the command itself redirects."""
        api, container = self.sandbox.client.api, self.sandbox.container
        exec_id = _engine(api.exec_create, container.id, ["sh", "-c", command], environment=environment,
                          workdir=self.root, user=f"{WORKSPACE_UID}:{WORKSPACE_UID}")["Id"]
        _engine(api.exec_start, exec_id, detach=True)
        return exec_id

    def running(self, exec_id: str) -> bool:
        return bool(_engine(self.sandbox.client.api.exec_inspect, exec_id)["Running"])

    def diff(self, base: str = "HEAD") -> str:
        """Every change against `base` (the snapshot commit by default), new files included."""
        code, out = self.run(f"git add -A >/dev/null && git diff --cached --binary {shlex.quote(base)}")
        return out if code == 0 else ""

    def close(self) -> None:
        if self._sandbox is not None:
            self._sandbox.remove()
            self._sandbox = None


def _engine(call, *args, **kwargs):
    """A container engine failure is the run's problem (infra_error, retried), never the system's."""
    try:
        return call(*args, **kwargs)
    except (docker.errors.APIError, requests.exceptions.RequestException) as exc:
        raise InfraError(f"container engine error: {' '.join(str(exc).split())}") from exc


def safe_path(path: str) -> str:
    """A repository-relative path, refused when it is absolute or climbs out of the repository."""
    cleaned = posixpath.normpath(path.strip().replace("\\", "/"))
    if not path.strip() or cleaned.startswith(("/", "../")) or cleaned in ("..", ".") or "/.git/" in f"/{cleaned}/":
        raise ValueError(f"not a file inside the repository: {path!r}")
    return cleaned


@dataclass(frozen=True)
class GoldSolution:
    """The task's reference solution, handed only to a system that declares `needs_gold` (the `gold` system)."""

    patch: str
    program: str | None = None  # a challenge's reference program


@runtime_checkable
class System(Protocol):
    """A system under test. Implementations subclass it, which gives the optional hooks their defaults; the runner
    calls every hook through this declaration and never asks an object what it happens to have."""

    name: str
    needs_gold: bool = False  # True only for the reference system: solve_with_gold is called instead of solve

    def solve(self, task: TaskView, workspace: Workspace) -> SystemOutput: ...

    def prepare(self, task_ids: list[str]) -> list[str]:
        """Messages about the system's inputs against the suite (shown and kept before any task runs)."""
        return []

    def solve_with_gold(self, task: TaskView, workspace: Workspace, gold: GoldSolution) -> SystemOutput:
        raise NotImplementedError(f"{self.name} does not take the gold solution (needs_gold is False)")
