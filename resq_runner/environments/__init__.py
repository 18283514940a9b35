"""Images, layered base → environment → task, each tagged by a hash of its inputs so nothing unchanged rebuilds.

- base (`resq-base:<hash>`): `docker pull` of environments/base.yaml's image plus its packages where a registry
  answers; otherwise bootstrapped with no registry: mmdebstrap from the host's apt sources, piped into
  `docker import`.
- environment (`resq-env-<name>:<hash>`): environments/<name>/environment.yaml; Python wheels are downloaded on the
  host and installed offline inside the build.
- spec environment (`resq-env-spec:<hash>`): a named environment plus what an imported benchmark row asks for
  (Python version, apt packages, pip requirements), keyed by that content so every row of one spec shares it. A
  Python the host's Debian lacks comes from `python:X.Y-slim` where a registry answers, else from the Debian
  release that ships it, bootstrapped like the base.
- task (`resq-task:<hash>`): the environment plus the task's repository at /workspace and its setup commands (and
  a row's install commands, run offline with build dependencies fetched on the host); for an `image` snapshot, a
  thin layer over the prebuilt instance image with its repository moved to /workspace.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import tarfile
import tempfile
import threading
import tomllib
from pathlib import Path
from typing import Sequence

import docker
import docker.errors
import yaml
from pydantic import ValidationError

from ..errors import InfraError, SetupError
from ..models import (BaseDefinition, EnvironmentDefinition, EnvironmentRef, EnvironmentSpec, ImageRef,
                      ImageSnapshot, Task, TaskFolder)
from ..offline import enabled as offline, refuse_if_offline
from ..resources import builtin_environments


class BuildStepFailed(SetupError):
    """A step of an image build (a RUN command) failed: the definition's or the task's error, not the engine's."""


IMAGE_LABEL = "resq.image"
VENV = "/opt/resq-venv"
# The last step of every task image, a step of its own: the git index takes the stat data of the files as the
# image holds them (the same in every container of it), so an evaluation's `git status` compares stat data instead
# of hashing every file. Run in the step that changed the files (a chown), it took stat data that differ from
# those of the committed layer.
REFRESH_INDEX = "git status --porcelain >/dev/null"
# The Python each Debian release ships as python3: a spec asking for one of these versions, on a machine with no
# registry, gets a base bootstrapped from that release (the host's apt sources with the suite swapped).
DEBIAN_PYTHON = {"bullseye": "3.9", "bookworm": "3.11", "trixie": "3.13"}
DEFAULT_BUILD_REQUIRES = ["setuptools>=40.8.0", "wheel"]  # PEP 517's default for a project without [build-system]
# What build backends ask for only at build time (PEP 660's get_requires_for_build_editable), which the host cannot
# read from pyproject.toml: fetched with the backend so an editable install works offline.
EDITABLE_REQUIRES = {"hatchling": ["editables~=0.3"], "setuptools": ["wheel"]}
_BUILD_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def definitions_dir() -> Path:
    """RESQ_ENVIRONMENTS (a folder of the user's own definitions) when set, else the ones shipped with resq."""
    own = os.environ.get("RESQ_ENVIRONMENTS")
    return Path(own) if own else builtin_environments()


def cache_dir() -> Path:
    path = Path(os.environ.get("RESQ_CACHE") or Path.home() / ".cache" / "resq-runner")  # empty: unset, not "."
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


def suite_sources(suite: str) -> str:
    """The host's apt sources with its release swapped for `suite` (bookworm-security -> trixie-security)."""
    host = host_codename()
    lines = []
    for line in host_apt_sources().splitlines():
        words = line.split()
        if len(words) >= 3 and (words[2] == host or words[2].startswith(host + "-")):
            words[2] = suite + words[2][len(host):]
        lines.append(" ".join(words))
    return "\n".join(lines)


def _bootstrap(client: docker.DockerClient, tag: str, definition: BaseDefinition, suite: str | None = None
               ) -> ImageRef:
    if not shutil.which("mmdebstrap"):
        raise SetupError("mmdebstrap is not installed: run `apt-get install -y mmdebstrap` (needed to build the "
                         "base image with no container registry)")
    with tempfile.TemporaryDirectory(prefix="resq-rootfs-") as tmp:
        rootfs = Path(tmp) / "rootfs.tar"
        command = [
            "mmdebstrap", "--variant=minbase", "--quiet", f"--include={','.join(definition.packages)}",
            "--customize-hook=rm -f \"$1/etc/resolv.conf\" \"$1/etc/hostname\"",
            f"--customize-hook=chroot \"$1\" sh -c '{_user_setup(definition)}'",
            suite or host_codename(), str(rootfs), suite_sources(suite) if suite else host_apt_sources(),
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


# Linux wheel tags the containers' glibc (Debian bookworm: 2.36) runs; some packages publish manylinux_2_28 only.
MANYLINUX = [flag for minor in range(17, 37) for flag in ("--platform", f"manylinux_2_{minor}_x86_64")] + \
    ["--platform", "manylinux2014_x86_64"]


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
                   *MANYLINUX, "--platform", "any", "-d", str(target), *requirements]
        proc = subprocess.run(command, capture_output=True, text=True)
        if proc.returncode != 0:
            raise SetupError(download_problem(proc.stderr, requirements, python_version, target))
        done.touch()
    return sorted(target.glob("*.whl"))


def download_problem(stderr: str, requirements: list[str], python_version: str, target: Path) -> str:
    """One line naming the package pip could not get, for Python `python_version`."""
    named = re.search(r"No matching distribution found for (\S+)", stderr) or \
        re.search(r"Could not find a version that satisfies the requirement (\S+)", stderr)
    if named:
        return (f"cannot download {named.group(1)} as a wheel for Python {python_version} (pip: no matching "
                "distribution): fix the version, or put its wheel in " + str(target))
    tail = " | ".join(stderr.strip().splitlines()[-2:])
    return (f"cannot download wheels for {', '.join(requirements)} ({tail}): check the package index is "
            "reachable, or put the wheels in " + str(target))


# ---------------------------------------------------------------------------------------------------------------
# Python versions and spec environments


def host_python() -> str:
    """The python3 of the host's Debian release, which the default base image has."""
    return DEBIAN_PYTHON.get(host_codename(), "3.11")


def python_base_tag(version: str | None) -> str:
    """The base image a spec asking for `version` is layered on (the default base for the host's own Python)."""
    definition = load_base_definition()
    if version is None or version == host_python():
        return base_tag(definition)
    return f"resq-base-py{version}:{_hash(definition.model_dump_json(), version, host_codename())}"


def ensure_python_base(client: docker.DockerClient, version: str | None, *, log=print) -> ImageRef:
    """A base whose python3 is `version`: the default base, `python:X.Y-slim` from a registry, or the Debian
    release shipping that version bootstrapped with mmdebstrap. Never another Python."""
    if version is None or version == host_python():
        return ensure_base(client, log=log)
    tag = python_base_tag(version)
    existing = _existing(client, tag)
    if existing:
        return existing
    definition = load_base_definition()
    refuse_if_offline(f"the Python {version} base image {tag}", "resq env build --suite SUITE")
    official = f"python:{version}-slim"
    if _try_pull(client, official, log):
        log(f"building {tag} from the pulled {official}")
        dockerfile = (f"FROM {official}\nRUN apt-get update && apt-get install -y --no-install-recommends "
                      f"{' '.join(definition.packages)} && rm -rf /var/lib/apt/lists/*\n"
                      f"RUN {_user_setup(definition)}\n")
        return _build(client, tag, {"Dockerfile": dockerfile.encode()}, log, kind="base")
    suite = next((s for s, v in DEBIAN_PYTHON.items() if v == version), None)
    if suite is None:
        shipped = ", ".join(f"{s} {v}" for s, v in DEBIAN_PYTHON.items())
        raise SetupError(f"Python {version}: no registry answered for {official} and no Debian release ships it "
                         f"({shipped}); import with --environment NAME to run in a named environment, or use a "
                         "machine where a registry answers")
    log(f"no registry answered: bootstrapping {tag} from Debian {suite} (Python {version}) with mmdebstrap")
    return _bootstrap(client, tag, definition, suite=suite)


def spec_of(ref: EnvironmentRef) -> EnvironmentSpec:
    """The row environment of a reference that has one (the callers are the spec environments' own functions)."""
    if ref.spec is None:
        raise SetupError(f"environment '{ref.name}' describes no row environment (no spec)")
    return ref.spec


def spec_environment_tag(ref: EnvironmentRef) -> str:
    """Content-hash tag of the image a spec environment builds: rows with the same content share it."""
    definition = load_definition(ref.name)
    own = spec_of(ref)
    spec = own.model_copy(update={"python": own.python or host_python()})  # unset = the base's own
    return f"resq-env-spec:{_hash(definition.model_dump_json(), spec.image_content(), python_base_tag(spec.python))}"


def spec_definition(ref: EnvironmentRef) -> EnvironmentDefinition:
    """The named environment with the spec's Python, apt packages and pip requirements laid over it (the spec's
    pin of a package wins over the named environment's, e.g. its own pytest)."""
    definition = load_definition(ref.name)
    spec = spec_of(ref)
    own = {_requirement_name(r) for r in spec.pip_requirements}
    pip = [r for r in definition.pip_requirements if _requirement_name(r) not in own] + spec.pip_requirements
    return EnvironmentDefinition(name=f"{ref.name}-spec", apt_packages=definition.apt_packages + spec.apt_packages,
                                 pip_requirements=pip, python_version=spec.python or host_python())


def task_python(ref: EnvironmentRef) -> str:
    """The Python version a task's wheels are fetched for."""
    if ref.spec is not None:
        return ref.spec.python or host_python()
    return load_definition(ref.name).python_version


def install_commands(ref: EnvironmentRef) -> list[str]:
    return ref.spec.pre_install + ref.spec.install if ref.spec else []


def expected_task_tag(task: Task, named: ImageRef, snapshot_hash: str) -> str:
    """The task image's tag, computed without building anything (what the container pool prepares for)."""
    ref = task.environment
    environment = ImageRef(tag=spec_environment_tag(ref), id="") if ref.spec else named
    return task_image_tag(environment, snapshot_hash, task.setup, ref.pip_requirements, install_commands(ref))


def ensure_task_environment(client: docker.DockerClient, ref: EnvironmentRef, named: ImageRef | None = None, *,
                            users: Sequence[str] = (), log=print) -> ImageRef:
    """The image a task's repository is layered on: its named environment, or the shared image of its spec.
    `users` (task names) are named in an error, so a failed download says which instances it stops."""
    if ref.spec is None:
        return named or ensure_environment(client, ref.name, log=log)
    tag = spec_environment_tag(ref)
    with _build_lock(tag):
        existing = _existing(client, tag)
        if existing:
            return existing
        try:
            return _build_spec_environment(client, ref, tag, log)
        except SetupError as exc:
            who = ", ".join(users[:3]) + (f" and {len(users) - 3} more" if len(users) > 3 else "")
            raise SetupError(f"{who}: {exc}" if who else str(exc)) from exc


def spec_groups(tasks: list[TaskFolder]) -> dict[str, list[TaskFolder]]:
    """The suite's spec environments by content-hash tag, each with the tasks that share it."""
    groups: dict[str, list[TaskFolder]] = {}
    for tf in tasks:
        if tf.task.environment.spec is not None and (tf.task.snapshot is None or tf.task.snapshot.kind != "image"):
            groups.setdefault(spec_environment_tag(tf.task.environment), []).append(tf)
    return dict(sorted(groups.items()))


def ensure_spec_environments(client: docker.DockerClient, tasks: list[TaskFolder], *, log=print) -> None:
    """Every spec environment a run needs, and the wheels its install commands need, before any task runs: a
    Python or package that cannot be had stops the run with one line naming the tasks, instead of failing each of
    them later."""
    for tag, users in spec_groups(tasks).items():
        ensure_task_environment(client, users[0].task.environment, users=[tf.ref for tf in users], log=log)
        for tf in users:
            fetch_install_wheels(tf)


def fetch_install_wheels(tf: TaskFolder) -> None:
    """The wheels a task's install commands need offline (its repository's build backend and static
    dependencies), fetched on the host now; one that cannot be downloaded is an error naming the task."""
    ref = tf.task.environment
    if not install_commands(ref):
        return
    from ..tasks.snapshots import materialize  # tasks never import environments at module level either

    try:
        download_wheels(build_requirements(materialize(tf, cache_dir())), task_python(ref))
    except SetupError as exc:
        raise SetupError(f"{tf.ref}: {exc} (a build dependency of its install commands)") from exc


def _build_spec_environment(client: docker.DockerClient, ref: EnvironmentRef, tag: str, log) -> ImageRef:
    definition, spec = spec_definition(ref), spec_of(ref)
    base = ensure_python_base(client, spec.python, log=log)
    if definition.apt_packages:
        refuse_if_offline(f"apt packages {', '.join(definition.apt_packages)} for {tag}", "resq env build --suite S")
    log(f"building {tag} (Python {definition.python_version}, {len(definition.pip_requirements)} pip "
        f"requirement(s), from {spec.origin})")
    files = {"Dockerfile": _environment_dockerfile(base.tag, definition).encode()}
    if definition.pip_requirements:
        for wheel in download_wheels(definition.pip_requirements, definition.python_version):
            files[f"wheels/{wheel.name}"] = wheel.read_bytes()
    return _build(client, tag, files, log, kind="environment")


def _requirement_name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;@]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _build_lock(tag: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _BUILD_LOCKS.setdefault(tag, threading.Lock())


def build_requirements(workspace: Path) -> list[str]:
    """What `pip install -e .` of the repository needs offline: its build backend ([build-system] requires, or
    setuptools and wheel) and its static [project] dependencies."""
    pyproject = workspace / "pyproject.toml"
    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8")) if pyproject.is_file() else {}
    except (tomllib.TOMLDecodeError, UnicodeDecodeError):
        data = {}
    requires = list(data.get("build-system", {}).get("requires", DEFAULT_BUILD_REQUIRES))
    requires += [extra for r in requires for extra in EDITABLE_REQUIRES.get(_requirement_name(r), [])]
    dependencies = data.get("project", {}).get("dependencies", [])
    return sorted(set(requires + [d for d in dependencies if isinstance(d, str)]))


def test_command(task: Task) -> str:
    """The test command as run: after the prebuilt image's activation, when it has one."""
    snapshot, command = task.snapshot, task.tests.command if task.tests else ""
    if isinstance(snapshot, ImageSnapshot) and snapshot.activate:
        return f"{snapshot.activate} && {command}"
    return command


def test_env(task: Task) -> dict[str, str]:
    """Environment variables of the test run (a spec's env_vars_test)."""
    return dict(task.environment.spec.env) if task.environment.spec else {}


# ---------------------------------------------------------------------------------------------------------------
# Prebuilt instance images


def image_task_tag(client: docker.DockerClient, snapshot: ImageSnapshot) -> str:
    image = client.images.get(snapshot.image)
    return f"resq-task:{_hash(image.id or '', snapshot.model_dump_json())}"


def ensure_image_task(client: docker.DockerClient, snapshot: ImageSnapshot, *, uid: int = 1000,
                      log=print) -> ImageRef:
    """A thin layer over a prebuilt instance image (local, else pulled): its repository moved to /workspace (a link
    stays at the old place, so installs that point there still work), owned by the test user."""
    try:
        client.images.get(snapshot.image)
    except docker.errors.ImageNotFound:
        refuse_if_offline(f"the instance image {snapshot.image}", f"docker pull {snapshot.image}")
        if not _try_pull(client, snapshot.image, log):
            raise SetupError(f"the instance image {snapshot.image} is neither local nor pullable: pull or build it "
                             "(SWE-bench: `python -m swebench.harness.prepare_images`), or import without "
                             "--namespace to build from the repository")
    tag = image_task_tag(client, snapshot)
    existing = _existing(client, tag)
    if existing:
        return existing
    workdir = snapshot.workdir.rstrip("/") or "/"
    move = "true" if workdir == "/workspace" else f"mv {workdir} /workspace && ln -s /workspace {workdir}"
    user = (f"(getent passwd {uid} >/dev/null || echo \"resq:x:{uid}:{uid}::/home/resq:/bin/sh\" >> /etc/passwd) && "
            f"(getent group {uid} >/dev/null || echo \"resq:x:{uid}:\" >> /etc/group) && "
            f"mkdir -p /home/resq && chown {uid}:{uid} /home/resq")
    dockerfile = "\n".join([
        f"FROM {snapshot.image}", "USER root",
        "RUN test -x /usr/bin/python3 && command -v git >/dev/null || "
        "(echo 'the image needs /usr/bin/python3 and git for the grader' >&2; exit 1)",
        f"RUN {user} && git config --system safe.directory '*' && {move} && chown -R {uid}:{uid} /workspace",
        f"RUN cd /workspace && ({REFRESH_INDEX} 2>&1 || true)",  # chown changed every file's ctime (git compares it)
        "WORKDIR /workspace", ""])
    return _build(client, tag, {"Dockerfile": dockerfile.encode()}, log, kind="task")


# ---------------------------------------------------------------------------------------------------------------
# Task images


def task_image_tag(environment: ImageRef, snapshot_hash: str, setup: list[str],
                   pip_requirements: Sequence[str] = (), install: Sequence[str] = ()) -> str:
    extra = [json.dumps(list(pip_requirements))] if pip_requirements else []
    extra += [json.dumps(list(install))] if install else []
    return f"resq-task:{_hash(environment.tag, snapshot_hash, json.dumps(setup), *extra)}"


_TASK_IMAGES: dict[str, ImageRef] = {}  # task images this process found or built, by tag


def ensure_task_image(client: docker.DockerClient, environment: ImageRef, workspace: Path, snapshot_hash: str,
                      setup: list[str], *, uid: int = 1000, log=print, pip_requirements: Sequence[str] = (),
                      python_version: str = "3.11", install: Sequence[str] = ()) -> ImageRef:
    """The environment plus the repository (a git work tree with one commit) at /workspace, the task's own pip
    requirements installed offline from wheels fetched on the host, a row's install commands run offline with the
    repository's build dependencies, setup already run."""
    tag = task_image_tag(environment, snapshot_hash, setup, pip_requirements, install)
    known = _TASK_IMAGES.get(tag)
    if known is not None:  # found or built by this process: the tag is a content hash, so it still fits
        return known
    with _build_lock(tag):  # tasks sharing a snapshot and spec, run by parallel workers, build it once
        image = _existing(client, tag) or _build_task_image(client, tag, environment, workspace, setup, uid, log,
                                                            pip_requirements, python_version, install)
    _TASK_IMAGES[tag] = image
    return image


def forget_task_image(tag: str) -> None:
    """Ask the engine again next time (after the engine failed under a task: the image may have been removed)."""
    _TASK_IMAGES.pop(tag, None)


def _build_task_image(client: docker.DockerClient, tag: str, environment: ImageRef, workspace: Path,
                      setup: list[str], uid: int, log, pip_requirements: Sequence[str], python_version: str,
                      install: Sequence[str]) -> ImageRef:
    lines = [f"FROM {environment.tag}"]
    files: dict = {}
    if pip_requirements:
        for wheel in download_wheels(list(pip_requirements), python_version):
            files[f"wheels/{wheel.name}"] = wheel.read_bytes()
        requirements = " ".join(f"'{r}'" for r in pip_requirements)
        lines += ["COPY wheels /tmp/wheels",
                  f"RUN pip install --no-index --find-links /tmp/wheels {requirements} && rm -rf /tmp/wheels"]
    lines += [f"COPY --chown={uid}:{uid} workspace /workspace", "WORKDIR /workspace"]
    if install:
        for wheel in download_wheels(build_requirements(workspace), python_version):
            files[f"build-wheels/{wheel.name}"] = wheel.read_bytes()
        lines.append("COPY build-wheels /tmp/resq-build-wheels")
        lines += [f"RUN export PIP_FIND_LINKS=/tmp/resq-build-wheels && {command}" for command in install]
        lines.append("RUN rm -rf /tmp/resq-build-wheels")
    lines += [f"RUN {command}" for command in setup]
    if setup or install:
        lines.append(f"RUN chown -R {uid}:{uid} /workspace")
    lines.append(f"RUN {REFRESH_INDEX}")
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
                said = [line for line in "".join(output).splitlines() if line.strip()][-6:]
                detail = " | ".join(" ".join(line.split()) for line in said)[-800:]
                raise BuildStepFailed(f"building {tag} failed: {' '.join(chunk['error'].split())[:300]}"
                                       + (f" (last output: {detail})" if detail else ""))
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
