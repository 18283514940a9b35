"""Images, layered base → environment → task, each tagged by a hash of its inputs so nothing unchanged rebuilds.

- base (`resq-base:<hash>`): `docker pull` of environments/base.yaml's image plus its packages where a registry
  answers; otherwise bootstrapped with no registry: mmdebstrap from the host's apt sources, piped into
  `docker import`.
- environment (`resq-env-<name>:<hash>`): environments/<name>/environment.yaml; Python wheels are downloaded on the
  host and installed offline inside the build.
- task (`resq-task:<hash>`): the environment plus the task's repository at /workspace and its setup commands.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Sequence

import docker
import docker.errors
import yaml
from pydantic import ValidationError

from ..errors import InfraError, SetupError
from ..models import BaseDefinition, EnvironmentDefinition, ImageRef
from ..offline import enabled as offline, refuse_if_offline
from ..resources import builtin_environments


class BuildStepFailed(SetupError):
    """A step of an image build (a RUN command) failed: the definition's or the task's error, not the engine's."""


IMAGE_LABEL = "resq.image"
VENV = "/opt/resq-venv"


def definitions_dir() -> Path:
    """RESQ_ENVIRONMENTS (a folder of the user's own definitions) when set, else the ones shipped with resq."""
    own = os.environ.get("RESQ_ENVIRONMENTS")
    return Path(own) if own else builtin_environments()


def cache_dir() -> Path:
    path = Path(os.environ.get("RESQ_CACHE", Path.home() / ".cache" / "resq-runner"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def load_base_definition() -> BaseDefinition:
    return _load_yaml(definitions_dir() / "base.yaml", BaseDefinition)


def load_definition(name: str) -> EnvironmentDefinition:
    file = definitions_dir() / name / "environment.yaml"
    if not file.exists():
        known = sorted(p.parent.name for p in definitions_dir().glob("*/environment.yaml"))
        raise SetupError(f"{file}: no environment named '{name}' (known: {', '.join(known) or 'none'})")
    return _load_yaml(file, EnvironmentDefinition)


def list_definitions() -> list[str]:
    return sorted(p.parent.name for p in definitions_dir().glob("*/environment.yaml"))


# ---------------------------------------------------------------------------------------------------------------
# Base image


def base_tag(definition: BaseDefinition) -> str:
    return f"resq-base:{_hash(definition.model_dump_json(), host_codename())}"


def ensure_base(client: docker.DockerClient, *, tag: str | None = None, allow_pull: bool = True,
                log=print) -> ImageRef:
    definition = load_base_definition()
    tag = tag or base_tag(definition)
    existing = _existing(client, tag)
    if existing:
        return existing
    refuse_if_offline(f"the base image {tag}", "resq env build (or resq env build --suite SUITE)")
    if allow_pull and _try_pull(client, definition.pull, log):
        log(f"building {tag} from the pulled {definition.pull}")
        dockerfile = (f"FROM {definition.pull}\nRUN apt-get update && apt-get install -y --no-install-recommends "
                      f"{' '.join(definition.packages)} && rm -rf /var/lib/apt/lists/*\n"
                      f"RUN {_user_setup(definition)}\n")
        return _build(client, tag, {"Dockerfile": dockerfile.encode()}, log, kind="base")
    log(f"no registry answered: bootstrapping {tag} from Debian packages with mmdebstrap (about 30 s)")
    return _bootstrap(client, tag, definition)


def host_codename() -> str:
    try:
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("VERSION_CODENAME="):
                return line.split("=", 1)[1].strip().strip('"')
    except OSError:
        pass
    raise SetupError("cannot tell the host's Debian release from /etc/os-release: the offline bootstrap needs a "
                     "Debian host (or a reachable registry for `docker pull`)")


def host_apt_sources() -> str:
    """The host's Debian apt sources as one-line entries, read at run time (works for .list and deb822 files)."""
    try:
        out = subprocess.run(
            ["apt-get", "indextargets", "--format", "deb $(REPO_URI) $(RELEASE) $(COMPONENT)",
             "Origin: Debian", "Identifier: Packages"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise SetupError(f"cannot read the host's apt sources with apt-get ({exc}): the offline bootstrap needs "
                         "Debian's apt with sources configured and `apt-get update` run once") from exc
    sources = sorted(set(line for line in out.splitlines() if line.strip()))
    if not sources:
        raise SetupError("the host has no Debian apt sources indexed: run `apt-get update` once, then try again")
    return "\n".join(sources)


def _bootstrap(client: docker.DockerClient, tag: str, definition: BaseDefinition) -> ImageRef:
    if not shutil.which("mmdebstrap"):
        raise SetupError("mmdebstrap is not installed: run `apt-get install -y mmdebstrap` (needed to build the "
                         "base image with no container registry)")
    with tempfile.TemporaryDirectory(prefix="resq-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs.tar"
        command = [
            "mmdebstrap", "--variant=minbase", "--quiet", f"--include={','.join(definition.packages)}",
            "--customize-hook=rm -f \"$1/etc/resolv.conf\" \"$1/etc/hostname\"",
            f"--customize-hook=chroot \"$1\" sh -c '{_user_setup(definition)}'",
            host_codename(), str(rootfs), host_apt_sources(),
        ]
        env = {**os.environ, "SOURCE_DATE_EPOCH": "1700000000"}
        proc = subprocess.run(command, capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            tail = " | ".join(proc.stderr.strip().splitlines()[-3:])
            raise SetupError(f"mmdebstrap failed ({tail}): check the host's apt sources and network to them")
        changes = ["ENV LANG=C.UTF-8", "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                   "WORKDIR /", 'CMD ["/bin/sh"]', f"LABEL {IMAGE_LABEL}=base"]
        with open(rootfs, "rb") as stream:
            try:
                client.api.import_image_from_data(stream.read(), repository=tag.split(":")[0],
                                                  tag=tag.split(":")[1], changes=changes)
            except docker.errors.APIError as exc:
                raise SetupError(f"docker import of the bootstrapped rootfs failed: {exc}") from exc
    return _existing(client, tag) or _missing(tag)


def _user_setup(definition: BaseDefinition) -> str:
    user, uid = definition.user, definition.uid
    return (f"echo \"{user}:x:{uid}:{uid}::/home/{user}:/bin/sh\" >> /etc/passwd && "
            f"echo \"{user}:x:{uid}:\" >> /etc/group && mkdir -p /home/{user} && chown {uid}:{uid} /home/{user} && "
            "git config --system safe.directory \"*\"")


def _try_pull(client: docker.DockerClient, image: str, log) -> bool:
    try:
        client.images.pull(image)
        return True
    except docker.errors.DockerException as exc:
        log(f"docker pull {image} failed ({' '.join(str(exc).split())[:120]})")
        return False


# ---------------------------------------------------------------------------------------------------------------
# Environment images


def environment_tag(name: str, base: str | None = None) -> str:
    definition = load_definition(name)
    base = base or base_tag(load_base_definition())
    return f"resq-env-{name}:{_hash(definition.model_dump_json(), base)}"


def ensure_environment(client: docker.DockerClient, name: str, *, log=print) -> ImageRef:
    definition = load_definition(name)
    base = ensure_base(client, log=log)
    tag = environment_tag(name, base.tag)
    existing = _existing(client, tag)
    if existing:
        return existing
    if definition.apt_packages:
        refuse_if_offline(f"apt packages {', '.join(definition.apt_packages)} for the environment image {tag}",
                          f"resq env build {name}")
    log(f"building {tag}")
    files = {"Dockerfile": _environment_dockerfile(base.tag, definition).encode()}
    if definition.pip_requirements:
        for wheel in download_wheels(definition.pip_requirements, definition.python_version):
            files[f"wheels/{wheel.name}"] = wheel.read_bytes()
    return _build(client, tag, files, log, kind="environment")


def _environment_dockerfile(base: str, definition: EnvironmentDefinition) -> str:
    lines = [f"FROM {base}"]
    if definition.apt_packages:
        lines.append("RUN apt-get update && apt-get install -y --no-install-recommends "
                     f"{' '.join(definition.apt_packages)} && rm -rf /var/lib/apt/lists/*")
    lines.append(f"RUN python3 -m venv {VENV}")
    if definition.pip_requirements:
        requirements = " ".join(f"'{r}'" for r in definition.pip_requirements)
        lines += ["COPY wheels /tmp/wheels",
                  f"RUN {VENV}/bin/pip install --no-index --find-links /tmp/wheels {requirements} && rm -rf /tmp/wheels"]
    lines += [f"ENV PATH={VENV}/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
              "ENV PYTHONDONTWRITEBYTECODE=1 PIP_NO_INDEX=1 PIP_DISABLE_PIP_VERSION_CHECK=1"]
    return "\n".join(lines) + "\n"


def download_wheels(requirements: list[str], python_version: str) -> list[Path]:
    """Wheels for the container's Python, fetched on the host (the build itself has no network)."""
    target = cache_dir() / "wheels" / _hash(json.dumps(requirements), python_version)
    done = target / ".complete"
    if not done.exists():
        refuse_if_offline(f"wheels for {', '.join(requirements)} (Python {python_version}) in {target}",
                          "resq env build NAME (for the environment that lists them)")
        target.mkdir(parents=True, exist_ok=True)
        abi = "cp" + python_version.replace(".", "")
        command = ["python3", "-m", "pip", "download", "--quiet", "--only-binary=:all:", "--python-version",
                   python_version, "--implementation", "cp", "--abi", abi, "--abi", "none", "--abi", "abi3",
                   "--platform", "manylinux2014_x86_64", "--platform", "any", "-d", str(target), *requirements]
        proc = subprocess.run(command, capture_output=True, text=True)
        if proc.returncode != 0:
            tail = " | ".join(proc.stderr.strip().splitlines()[-2:])
            raise SetupError(f"cannot download wheels for {', '.join(requirements)} ({tail}): check the package "
                             "index is reachable, or put the wheels in " + str(target))
        done.touch()
    return sorted(target.glob("*.whl"))


# ---------------------------------------------------------------------------------------------------------------
# Task images


def task_image_tag(environment: ImageRef, snapshot_hash: str, setup: list[str],
                   pip_requirements: Sequence[str] = ()) -> str:
    extra = [json.dumps(list(pip_requirements))] if pip_requirements else []
    return f"resq-task:{_hash(environment.tag, snapshot_hash, json.dumps(setup), *extra)}"


def ensure_task_image(client: docker.DockerClient, environment: ImageRef, workspace: Path, snapshot_hash: str,
                      setup: list[str], *, uid: int = 1000, log=print, pip_requirements: Sequence[str] = (),
                      python_version: str = "3.11") -> ImageRef:
    """The environment plus the repository (a git work tree with one commit) at /workspace, the task's own pip
    requirements installed offline from wheels fetched on the host, setup already run."""
    tag = task_image_tag(environment, snapshot_hash, setup, pip_requirements)
    existing = _existing(client, tag)
    if existing:
        return existing
    lines = [f"FROM {environment.tag}"]
    files: dict = {}
    if pip_requirements:
        for wheel in download_wheels(list(pip_requirements), python_version):
            files[f"wheels/{wheel.name}"] = wheel.read_bytes()
        requirements = " ".join(f"'{r}'" for r in pip_requirements)
        lines += ["COPY wheels /tmp/wheels",
                  f"RUN pip install --no-index --find-links /tmp/wheels {requirements} && rm -rf /tmp/wheels"]
    lines += [f"COPY --chown={uid}:{uid} workspace /workspace", "WORKDIR /workspace"]
    lines += [f"RUN {command}" for command in setup]
    if setup:
        lines.append(f"RUN chown -R {uid}:{uid} /workspace && git status --porcelain >/dev/null")
    files["Dockerfile"] = ("\n".join(lines) + "\n").encode()
    for path in sorted(workspace.rglob("*")):
        if path.is_file() or path.is_symlink():
            files[f"workspace/{path.relative_to(workspace).as_posix()}"] = path
    return _build(client, tag, files, log, kind="task")


# ---------------------------------------------------------------------------------------------------------------
# Shared helpers


def _build(client: docker.DockerClient, tag: str, files: dict, log, kind: str) -> ImageRef:
    context = _tar_context(files)
    output: list[str] = []
    try:
        for chunk in client.api.build(fileobj=context, custom_context=True, tag=tag, rm=True, forcerm=True,
                                      labels={IMAGE_LABEL: kind}, decode=True, pull=False,
                                      network_mode="none" if offline() else None):
            if "error" in chunk:
                raise BuildStepFailed(f"building {tag} failed: {' '.join(chunk['error'].split())[:300]}")
            output.append(chunk.get("stream", ""))
    except docker.errors.APIError as exc:
        message = f"building {tag} failed: {' '.join(str(exc).split())[:300]}"
        if kind == "task":  # the engine failing under a task: its row is infra_error, retried
            raise InfraError(message) from exc
        raise SetupError(message) from exc
    return _existing(client, tag) or _missing(tag)


def _tar_context(files: dict) -> io.BytesIO:
    """A build context from {name: bytes | Path}; symlinks are kept as links."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, content in files.items():
            if isinstance(content, Path):
                info = tar.gettarinfo(str(content), arcname=name)
                info.uid = info.gid = 0
                info.uname = info.gname = ""
                info.mtime = 0
                tar.addfile(info, content.open("rb") if info.isfile() else None)
            else:
                info = tarfile.TarInfo(name)
                info.size, info.mtime = len(content), 0
                tar.addfile(info, io.BytesIO(content))
    buffer.seek(0)
    return buffer


def _existing(client: docker.DockerClient, tag: str) -> ImageRef | None:
    try:
        image = client.images.get(tag)
    except docker.errors.ImageNotFound:
        return None
    return ImageRef(tag=tag, id=image.id or "")


def _missing(tag: str) -> ImageRef:
    raise SetupError(f"the build of {tag} reported success but the image is not there")


def _hash(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()[:16]


def _load_yaml(file: Path, model):
    try:
        return model.model_validate(yaml.safe_load(file.read_text()))
    except FileNotFoundError as exc:
        raise SetupError(f"{file}: missing (the environment definitions live in environments/)") from exc
    except (yaml.YAMLError, ValidationError) as exc:
        raise SetupError(f"{file}: {' '.join(str(exc).split())[:300]}") from exc
