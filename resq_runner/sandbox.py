"""Container lifecycle through the Docker SDK. Knows nothing of tasks or systems.

Every container carries the label `resq.run=<run_id>`, so whatever a crash leaves behind can be found and removed.
"""

from __future__ import annotations

import io
import os
import socket
import tarfile
import time
from dataclasses import dataclass

import docker
import docker.errors
import requests.exceptions

from .errors import InfraError, SetupError

RUN_LABEL = "resq.run"
ROLE_LABEL = "resq.role"
IMAGE_LABEL = "resq.image"
OWNER_LABEL = "resq.owner"  # host:pid of the process that created the container
TEMPORARY = "temporary"


def owner_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def connect() -> docker.DockerClient:
    """A client for the local engine, or one clear line saying what to start or fix."""
    try:
        client = docker.from_env(timeout=120)
        if client.api.base_url.startswith("http+docker://"):  # a local socket (or ssh): no proxy, netrc or CA applies
            client.api.trust_env = False  # so requests stops reading them from the environment on every engine call
        client.ping()
        return client
    except docker.errors.DockerException as exc:
        text = str(exc)
        if "Permission denied" in text:
            raise SetupError(
                "permission denied on the Docker socket: run as root or add your user to the 'docker' group"
            ) from exc
        raise SetupError(
            "cannot reach the Docker daemon: start it (for example `service docker start`) or set DOCKER_HOST"
        ) from exc


@dataclass(frozen=True)
class Limits:
    cpus: float = 1.0
    memory: str = "2g"
    pids: int = 512
    network: bool = False
    file_size: str = "1g"  # the largest file a test may write (RLIMIT_FSIZE), so no test fills the disk
    tmp_size: str = "256m"  # /tmp is a tmpfs of this size, charged to the memory limit


def parse_size(text: str) -> int:
    """Bytes from a Docker-style size: 512m, 2g, 100k, 1024."""
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}
    value = str(text).strip().lower().removesuffix("b")
    try:
        if value and value[-1] in units:
            return int(float(value[:-1]) * units[value[-1]])
        return int(value)
    except ValueError as exc:
        raise ValueError(f"'{text}' is not a size (use e.g. 512m, 2g)") from exc


@dataclass
class Exit:
    code: int | None
    timed_out: bool
    oom_killed: bool = False


@dataclass
class Reply:
    sent: float  # time.perf_counter() when the inputs were handed over
    stdout: bytes | None  # up to the awaited line; None when it never came


class Sandbox:
    """One container: create, copy files in, start, wait (with a deadline), copy files out, remove."""

    def __init__(self, client: docker.DockerClient, image: str, run_id: str, role: str, *, command: list[str],
                 limits: Limits = Limits(), user: str = "root", workdir: str = "/workspace",
                 environment: dict[str, str] | None = None, labels: dict[str, str] | None = None,
                 tmpfs: dict[str, str] | None = None, stdin: bool = False, network_mode: str | None = None,
                 mounts: dict[str, str] | None = None, loopback_only: bool = False):
        """`network_mode` (bridge, host, none) overrides `limits.network`; `mounts` are host folders mounted
        read-only, {host path: container path}.

        `loopback_only`, for a container without network: its network namespace (loopback only, as with `none`) is
        made by the runtime alone, without the engine's network hook (a run of the engine's own binary per
        container: ~0.1 s of CPU and of start time). The engine then writes no /etc/hosts: the image's stays,
        often empty, so the command must write one for `localhost` to resolve (grade.py does, from the spec)."""
        self.client = client
        mode = network_mode or ("bridge" if limits.network else "none")
        try:
            host_config = client.api.create_host_config(
                init=True, network_mode=mode, binds={host: {"bind": path, "mode": "ro"} for host, path in
                                                    (mounts or {}).items()} or None,
                nano_cpus=int(limits.cpus * 1e9), mem_limit=limits.memory, memswap_limit=limits.memory,
                pids_limit=limits.pids, tmpfs=tmpfs or {})
            created = client.api.create_container(  # the low-level call: the models' create inspects it after
                image, command=command, user=user, working_dir=workdir, environment=environment or {},
                labels={**(labels or {}), RUN_LABEL: run_id, ROLE_LABEL: role, OWNER_LABEL: owner_id()},
                stdin_open=stdin, detach=not stdin,  # not detached: stdin closes when the sender is done
                network_disabled=loopback_only and mode == "none", volumes=list((mounts or {}).values()) or None,
                host_config=host_config)
            self.container = client.containers.prepare_model({"Id": created["Id"]})
        except docker.errors.ImageNotFound as exc:
            raise InfraError(f"image {image} is missing: build it with `resq env build`") from exc
        except (docker.errors.APIError, requests.exceptions.RequestException) as exc:
            raise InfraError(f"cannot create a container from {image}: {exc}") from exc
        self.started = False

    def __enter__(self) -> "Sandbox":
        return self

    def __exit__(self, *exc_info) -> None:
        self.remove()

    def put_files(self, files: dict[str, bytes], *, mode: int = 0o644, uid: int = 0) -> None:
        """Write files at absolute paths in the container (parents created as needed)."""
        self._engine(self.container.put_archive, "/", make_tar(files, mode=mode, uid=uid))

    def start(self) -> None:
        self._engine(self.container.start)
        self.started = True

    def converse(self, data: bytes, until: bytes | None = None, timeout_s: float = 0.0) -> Reply:
        """Start (unless started ahead, its command waiting for its stdin), hand `data` to the main process's stdin
        and close it (the sandbox needs stdin=True); then, given `until`, read its stdout from the attached stream
        until `until` has been printed twice (a block's opening and closing line). The reply's stdout is None
        without `until`, or when the stream ended or `timeout_s` passed first: wait() then says how it ended.

        The process may still be running when this returns; removing the container ends it."""
        streams = {"stdin": 1, "stream": 1, **({"stdout": 1} if until is not None else {})}
        sock = self._engine(self.client.api.attach_socket, self.container.id, params=streams)
        try:
            if not self.started:
                self.start()
            raw = getattr(sock, "_sock", sock)
            raw.sendall(data)
            raw.shutdown(socket.SHUT_WR)
            sent = time.perf_counter()
            if until is None:
                return Reply(sent=sent, stdout=None)
            return Reply(sent=sent, stdout=read_stdout_until(raw, until, time.monotonic() + timeout_s))
        except OSError as exc:
            raise InfraError(f"cannot hand the inputs to the container: {exc}") from exc
        finally:
            sock.close()

    def wait(self, timeout_s: float) -> Exit:
        """Wait for the main process; past the deadline the container is killed and the exit says so."""
        try:
            status = self.container.wait(timeout=timeout_s)
            code = status.get("StatusCode")
        except requests.exceptions.ReadTimeout:
            self.kill()
            return Exit(code=None, timed_out=True)
        except requests.exceptions.RequestException as exc:
            if isinstance(exc, requests.exceptions.ConnectionError) and "timed out" in str(exc).lower():
                self.kill()
                return Exit(code=None, timed_out=True)
            raise InfraError(f"lost the container engine while waiting: {' '.join(str(exc).split())}") from exc
        state = self._engine(self._state)
        return Exit(code=code, timed_out=False, oom_killed=bool(state.get("OOMKilled")))

    def exec(self, command: list[str], *, user: str = "", workdir: str | None = None,
             environment: dict[str, str] | None = None) -> tuple[int, str]:
        result = self._engine(self.container.exec_run, command, user=user, workdir=workdir, demux=False,
                              environment=environment)
        return result.exit_code, (result.output or b"").decode("utf-8", "replace")

    def read_file(self, path: str, limit: int = 50 * 1024 * 1024) -> bytes | None:
        """One regular file's bytes, or None if it is missing, not a regular file, or larger than `limit`."""
        try:
            stream, stat = self.container.get_archive(path)
        except docker.errors.NotFound:
            return None
        except (docker.errors.APIError, requests.exceptions.RequestException) as exc:
            raise InfraError(f"cannot copy {path} out of the container: {exc}") from exc
        if (stat or {}).get("size", 0) > limit:
            return None
        with tarfile.open(fileobj=io.BytesIO(b"".join(stream))) as tar:
            member = tar.next()
            if member is None or not member.isfile():
                return None
            return member_bytes(tar, member)

    def read_tree(self, path: str, limit: int = 64 * 1024 * 1024) -> dict[str, bytes]:
        """The regular files directly or deeper under a folder, by path relative to it, in one engine call.

        Links and other special files are left out, and so is a file larger than `limit`; reading stops after
        twice `limit` bytes, keeping the files that arrived whole.
        """
        try:
            stream, _stat = self.container.get_archive(path)
        except docker.errors.NotFound:
            return {}
        except (docker.errors.APIError, requests.exceptions.RequestException) as exc:
            raise InfraError(f"cannot copy {path} out of the container: {exc}") from exc
        data = bytearray()
        for chunk in stream:
            data += chunk
            if len(data) > 2 * limit:
                break
        files: dict[str, bytes] = {}
        try:
            with tarfile.open(fileobj=io.BytesIO(bytes(data))) as tar:
                for member in tar:
                    if member.isfile() and member.size <= limit and "/" in member.name:
                        files[member.name.split("/", 1)[1]] = member_bytes(tar, member)
        except (tarfile.TarError, EOFError):
            pass  # a transfer cut at the limit: keep the files read before the cut
        return files

    def stdout(self) -> str:
        """Everything the container's main process wrote to stdout (stderr left out), read from its log."""
        return self._engine(self.container.logs, stdout=True, stderr=False).decode("utf-8", "replace")

    def logs(self, limit: int = 1024 * 1024) -> str:
        text = self._engine(self.container.logs, stdout=True, stderr=True).decode("utf-8", "replace")
        return text if len(text) <= limit else text[:limit] + "\n[... output cut ...]\n"

    def kill(self) -> None:
        try:
            self.container.kill()
        except (docker.errors.APIError, requests.exceptions.RequestException):
            pass

    def remove(self) -> None:
        try:
            self.container.remove(force=True)
        except docker.errors.NotFound:
            pass
        except (docker.errors.APIError, requests.exceptions.RequestException):
            time.sleep(0.5)
            try:
                self.container.remove(force=True)
            except (docker.errors.APIError, requests.exceptions.RequestException):
                pass  # left for `resq gc` or the end-of-run sweep, which find it by label

    def _state(self) -> dict:
        self.container.reload()
        return self.container.attrs.get("State", {})

    def _engine(self, call, *args, **kwargs):
        try:
            return call(*args, **kwargs)
        except (docker.errors.APIError, requests.exceptions.RequestException) as exc:
            raise InfraError(f"container engine error: {' '.join(str(exc).split())}") from exc


def read_stdout_until(raw: socket.socket, until: bytes, deadline: float) -> bytes | None:
    """The stdout frames of an attached stream (the engine multiplexes it: an 8-byte header per frame, whose first
    byte is 1 for stdout and last four the size) up to the second `until`; None if the stream ends or the
    deadline (time.monotonic()) passes first."""
    pending, out = bytearray(), bytearray()
    seen, search_from = 0, 0
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return None
        raw.settimeout(left)
        try:
            chunk = raw.recv(1 << 16)
        except (socket.timeout, TimeoutError):
            return None
        if not chunk:
            return None
        pending += chunk
        while len(pending) >= 8:
            size = int.from_bytes(pending[4:8], "big")
            if len(pending) < 8 + size:
                break
            if pending[0] == 1:
                out += pending[8:8 + size]
                while (found := out.find(until, search_from)) >= 0:
                    seen, search_from = seen + 1, found + len(until)
                    if seen == 2:
                        return bytes(out[:search_from])
                search_from = max(search_from, len(out) - len(until) + 1)
            del pending[:8 + size]


def make_tar(files: dict[str, bytes], *, mode: int = 0o644, uid: int = 0) -> bytes:
    """A tar of files at absolute paths, all with `mode`."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for path, content in files.items():
            info = tarfile.TarInfo(path.lstrip("/"))
            info.size, info.uid, info.gid, info.mtime = len(content), uid, uid, 0
            info.mode = mode
            tar.addfile(info, io.BytesIO(content))
    return buffer.getvalue()


def remove_run_containers(client: docker.DockerClient, run_id: str | None = None, *,
                          mine_or_orphaned: bool = False) -> list[str]:
    """Remove every container of one run (or of every run); returns their names.

    With `mine_or_orphaned`, only those this process created or whose creator on this host is gone: a run folder
    elsewhere with the same name (hence the same run id) that is running right now keeps its containers."""
    removed = []
    found = client.containers.list(all=True, filters={"label": _run_label(run_id)}, sparse=True, ignore_removed=True)
    for container in found:
        labels = container.attrs.get("Labels") or {}
        if mine_or_orphaned and not _mine_or_orphaned(labels.get(OWNER_LABEL, "")):
            continue
        try:
            container.remove(force=True)
            removed.append((container.attrs.get("Names") or [container.short_id])[0].lstrip("/"))
        except docker.errors.APIError:
            pass  # already gone, or being removed by its own pool right now
    return removed


def remove_run_volumes(client: docker.DockerClient, run_id: str | None = None) -> list[str]:
    """Remove the volumes a run (or every run) labelled; returns their names."""
    removed = []
    for volume in client.volumes.list(filters={"label": _run_label(run_id)}):
        try:
            volume.remove(force=True)
            removed.append(volume.name)
        except docker.errors.NotFound:
            pass
    return removed


def member_bytes(tar: tarfile.TarFile, member: tarfile.TarInfo) -> bytes:
    """A regular file's content from an archive (extractfile gives None only for what is not a file)."""
    handle = tar.extractfile(member)
    return handle.read() if handle is not None else b""


def remove_temporary_images(client: docker.DockerClient, run_id: str | None = None) -> list[str]:
    """Remove images labelled resq.image=temporary (of one run, when given); content-hashed images stay."""
    labels = [f"{IMAGE_LABEL}={TEMPORARY}"] + ([f"{RUN_LABEL}={run_id}"] if run_id else [])
    removed = []
    for image in client.images.list(filters={"label": labels}):
        if image.id is None:
            continue
        try:
            client.images.remove(image.id, force=True)
            removed.append(image.tags[0] if image.tags else image.short_id)
        except docker.errors.NotFound:
            pass
    return removed


def _mine_or_orphaned(owner: str) -> bool:
    host, _, pid = owner.rpartition(":")
    if owner == owner_id() or not pid.isdigit():
        return True
    if host != socket.gethostname():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def _run_label(run_id: str | None) -> str:
    return f"{RUN_LABEL}={run_id}" if run_id else RUN_LABEL
