"""An agent's install layer: built once per spec content hash, then mounted into every task's workspace container.

    resq-base:<hash> ─▶ resq-agent-<name>:<hash>   the spec's pip requirements installed offline (wheels fetched
                                                  on the host) into a venv of its own at /opt/resq-agents/<name>,
                                                  then its install commands
                     ─▶ <cache>/agents/<name>-<hash>/   that prefix copied out once, mounted read-only at the same
                                                  path in each workspace container (no per-task build or copy)

The venv is made with the base image's python3, which every task image inherits, and never sees the repository's
packages (nor they its). Debian packages a spec needs are installed over the task image instead (`task_image`),
once per task image and spec, since they live outside the prefix.
"""

from __future__ import annotations

import fcntl
import io
import shlex
import shutil
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import docker

from .. import environments
from ..errors import SetupError
from ..models import ImageRef
from ..offline import refuse_if_offline
from . import AgentSpec

READY = ".resq-layer-complete"


@dataclass(frozen=True)
class AgentLayer:
    image: ImageRef
    host_dir: Path  # the prefix on this machine, mounted at `prefix`
    prefix: str
    built: bool  # False when everything came from the cache

    @property
    def mounts(self) -> dict[str, str]:
        return {str(self.host_dir): self.prefix}


def layer_tag(spec: AgentSpec, base_tag: str) -> str:
    return f"resq-agent-{spec.name}:{environments._hash(spec.layer_hash(), base_tag)}"


def ensure_layer(client: docker.DockerClient, spec: AgentSpec, *, log=print) -> AgentLayer:
    """The spec's layer, built and copied out only when this machine has never done it for this content."""
    base = environments.ensure_base(client, log=log)
    tag = layer_tag(spec, base.tag)
    host_dir = environments.cache_dir() / "agents" / tag.removeprefix("resq-agent-").replace(":", "-")
    if (host_dir / READY).exists():
        return AgentLayer(ImageRef(tag=tag, id=""), host_dir, spec.prefix, built=False)
    host_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(host_dir.parent / f".{host_dir.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one build per layer on this machine, whoever else runs
        if (host_dir / READY).exists():
            return AgentLayer(ImageRef(tag=tag, id=""), host_dir, spec.prefix, built=False)
        image = environments._existing(client, tag) or _build(client, spec, base, tag, log)
        _copy_out(client, image, spec.prefix, host_dir)
        return AgentLayer(image, host_dir, spec.prefix, built=True)


def _build(client: docker.DockerClient, spec: AgentSpec, base: ImageRef, tag: str, log) -> ImageRef:
    refuse_if_offline(f"the agent layer {tag}", f"resq run ... --system {spec.name} once without --offline")
    log(f"building {tag} (the {spec.name} agent, installed once)")
    prefix = spec.prefix
    lines = [f"FROM {base.tag}", f"RUN python3 -m venv {prefix}/venv"]
    files: dict = {}
    if spec.install.pip:
        for wheel in environments.download_wheels(spec.install.pip, "3.11"):
            files[f"wheels/{wheel.name}"] = wheel
        requirements = " ".join(shlex.quote(r) for r in spec.install.pip)
        lines += ["COPY wheels /tmp/wheels",
                  f"RUN {prefix}/venv/bin/pip install --no-cache-dir --no-index --find-links /tmp/wheels "
                  f"{requirements} && rm -rf /tmp/wheels"]
    for number, command in enumerate(spec.install.commands):  # a file each: a command may span lines
        files[f"install/{number}.sh"] = command.encode()
        lines += [f"COPY install/{number}.sh /tmp/resq-install.sh",
                  f"RUN RESQ_AGENT_PREFIX={prefix} sh -e /tmp/resq-install.sh && rm /tmp/resq-install.sh"]
    files["Dockerfile"] = ("\n".join(lines) + "\n").encode()
    return environments._build(client, tag, files, log, kind="agent")


def _copy_out(client: docker.DockerClient, image: ImageRef, prefix: str, host_dir: Path) -> None:
    """The prefix of the layer image into host_dir, atomically (a half-copied prefix is never used)."""
    container = client.containers.create(image.tag, command=["true"])
    try:
        with tempfile.TemporaryDirectory(prefix=".copy-", dir=host_dir.parent) as tmp:
            stream, _stat = container.get_archive(prefix)
            with tarfile.open(fileobj=_ChunkReader(stream), mode="r|") as tar:
                # "tar" keeps the venv's absolute python3 link (Pythons before 3.11.4 have no filters)
                if hasattr(tarfile, "tar_filter"):
                    tar.extractall(tmp, filter="tar")
                else:
                    tar.extractall(tmp)
            copied = Path(tmp) / Path(prefix).name
            (copied / READY).touch()
            if host_dir.exists():
                shutil.rmtree(host_dir)
            copied.rename(host_dir)
    except (docker.errors.APIError, OSError, tarfile.TarError) as exc:
        raise SetupError(f"cannot copy {prefix} out of {image.tag}: {exc}") from exc
    finally:
        container.remove(force=True)


def task_image(client: docker.DockerClient, spec: AgentSpec, task: ImageRef, *, log=print) -> ImageRef:
    """The task image with the spec's Debian packages (the task image itself when it lists none)."""
    if not spec.install.apt:
        return task
    tag = f"resq-agent-task:{environments._hash(task.tag, spec.name, *spec.install.apt)}"
    existing = environments._existing(client, tag)
    if existing:
        return existing
    refuse_if_offline(f"Debian packages {', '.join(spec.install.apt)} for the agent {spec.name}",
                      f"resq run ... --system {spec.name} once without --offline")
    dockerfile = (f"FROM {task.tag}\nUSER root\nRUN apt-get update && apt-get install -y --no-install-recommends "
                  f"{' '.join(shlex.quote(p) for p in spec.install.apt)} && rm -rf /var/lib/apt/lists/*\n")
    return environments._build(client, tag, {"Dockerfile": dockerfile.encode()}, log, kind="agent-task")


class _ChunkReader(io.RawIOBase):
    """A file-like reader over the engine's archive chunks, so a large prefix streams instead of being held."""

    def __init__(self, chunks):
        super().__init__()
        self._chunks, self._buffer = iter(chunks), b""

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        while size < 0 or len(self._buffer) < size:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._buffer += chunk
        if size < 0:
            data, self._buffer = self._buffer, b""
        else:
            data, self._buffer = self._buffer[:size], self._buffer[size:]
        return data
