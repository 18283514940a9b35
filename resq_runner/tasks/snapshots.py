"""Turn a task's snapshot into a git work tree with exactly one commit.

Whatever the source (a directory, a git bundle, a git URL at a commit), the repository a system sees has a single
commit: no later history can leak a solution, and every source looks the same to the rest of the pipeline.
Work trees are cached under the resq cache by the snapshot's content hash.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import TaskError
from ..models import Snapshot, TaskFolder
from ..offline import is_local_location, refuse_if_offline
from . import inside, tree_hash

if TYPE_CHECKING:
    import git  # GitPython is imported where a snapshot is fetched: hashing and cached work trees never need it

COMMIT_ENV = {
    "GIT_AUTHOR_NAME": "resq", "GIT_AUTHOR_EMAIL": "resq@localhost", "GIT_AUTHOR_DATE": "2000-01-01T00:00:00Z",
    "GIT_COMMITTER_NAME": "resq", "GIT_COMMITTER_EMAIL": "resq@localhost",
    "GIT_COMMITTER_DATE": "2000-01-01T00:00:00Z",
}


def repository_snapshot(tf: TaskFolder) -> Snapshot:
    """The snapshot of a task that has a repository (every kind but a challenge)."""
    if tf.task.snapshot is None:
        raise TaskError(f"{tf.root / 'task.yaml'}: a {tf.task.kind} task has no snapshot (no repository to check out)")
    return tf.task.snapshot


def snapshot_hash(tf: TaskFolder) -> str:
    snapshot = repository_snapshot(tf)
    if snapshot.kind == "git":
        return f"git-{snapshot.commit}"
    if snapshot.kind == "pypi":
        return f"pypi-{snapshot.sha256[:24]}"
    if snapshot.kind == "image":
        return f"image-{tree_hash_text(snapshot.model_dump_json())}"
    if snapshot.kind == "deb":
        return f"deb-{snapshot.sha256[:24]}" + (f"-{tree_hash_text(snapshot.path)}" if snapshot.path else "")
    return tree_hash(inside(tf, snapshot.path, suite_wide=True))[:24] + (
        f"-{snapshot.ref}" if snapshot.kind == "bundle" else "")


def materialize(tf: TaskFolder, cache: Path) -> Path:
    """A cached one-commit work tree of the task's snapshot (an `image` snapshot's repository lives in its image)."""
    if tf.task.snapshot is not None and tf.task.snapshot.kind == "image":
        raise TaskError(f"{tf.root / 'task.yaml'}: the repository of an image snapshot lives in "
                        f"{tf.task.snapshot.image}; it has no host checkout")
    key = snapshot_hash(tf).replace("/", "_")
    target = cache / "snapshots" / key
    if (target / ".git").is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent, prefix=".tmp-") as tmp:
        work = Path(tmp) / "repo"
        _fetch(tf, work)
        shutil.rmtree(work / ".git", ignore_errors=True)
        commit_tree(work, "snapshot")
        try:
            work.rename(target)
        except OSError:
            if not (target / ".git").is_dir():  # another worker finished first, otherwise a real failure
                raise
    return target


def commit_tree(work: Path, message: str) -> git.Repo:
    import git

    repo = git.Repo.init(work)
    with repo.git.custom_environment(**COMMIT_ENV):
        repo.git.add("-A", "--force")
        repo.git.commit("-q", "--no-gpg-sign", "--allow-empty", "-m", message)
    return repo


def _fetch(tf: TaskFolder, work: Path) -> None:
    import git

    snapshot = repository_snapshot(tf)
    try:
        if snapshot.kind == "dir":
            shutil.copytree(inside(tf, snapshot.path, suite_wide=True), work, symlinks=True)
        elif snapshot.kind == "bundle":
            repo = git.Repo.clone_from(str(inside(tf, snapshot.path, suite_wide=True)), work)
            repo.git.checkout("-q", "--detach", snapshot.ref)
        elif snapshot.kind == "pypi":
            _unpack(fetch_sdist(snapshot.name, snapshot.version, snapshot.sha256, tf), work)
        elif snapshot.kind == "deb":
            unpack_deb_library(fetch_deb(snapshot.package, snapshot.version, snapshot.sha256, tf), work,
                               snapshot.package, snapshot.path, tf)
        elif snapshot.kind == "image":
            raise TaskError(f"{tf.root / 'task.yaml'}: an image snapshot ({snapshot.image}) has no host checkout; "
                            "the repository lives in the image")
        else:
            if not is_local_location(snapshot.url):
                refuse_if_offline(f"the git snapshot {snapshot.url} at {snapshot.commit[:12]} of task {tf.ref} "
                                  f"({tf.root / 'task.yaml'})", f"resq env build --suite {tf.root.parent}")
            repo = git.Repo.clone_from(snapshot.url, work, no_checkout=True)
            repo.git.checkout("-q", "--detach", snapshot.commit)
    except git.GitCommandError as exc:
        detail = " ".join((exc.stderr or str(exc)).split())[:200]
        raise TaskError(f"{tf.root / 'task.yaml'}: cannot check out the snapshot ({detail}); fix snapshot") from exc


def fetch_sdist(name: str, version: str, sha256: str | None, tf: TaskFolder | None = None) -> Path:
    """The sdist, downloaded once with pip into the cache and checked against its sha256 (None: not checked, for
    `resq tasks new`, which records the hash it finds)."""
    from ..environments import cache_dir

    where = f"{tf.root / 'task.yaml'}: " if tf else ""
    target = cache_dir() / "sdists" / f"{name}-{version}"
    found = [p for p in target.glob("*") if p.suffix in (".gz", ".zip", ".bz2")] if target.exists() else []
    if not found:
        refuse_if_offline(f"{where}the sdist {name}=={version} in {target}",
                          f"resq env build --suite {tf.root.parent}" if tf else
                          f"pip download --no-deps --no-binary :all: -d {target} {name}=={version}")
        target.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary",
                               ":all:", "-d", str(target), f"{name}=={version}"],
                              capture_output=True, text=True)
        found = [p for p in target.glob("*") if p.suffix in (".gz", ".zip", ".bz2")]
        if proc.returncode != 0 and not found:
            tail = " | ".join(proc.stderr.strip().splitlines()[-2:])
            raise TaskError(f"{where}cannot download the sdist {name}=={version} ({tail})")
    sdist = found[0]
    actual = hashlib.sha256(sdist.read_bytes()).hexdigest()
    if sha256 is not None and actual != sha256:
        raise TaskError(f"{where}sdist {sdist.name} has sha256 {actual}, not the {sha256} the task names; "
                        "fix snapshot.sha256 if the new file is trusted")
    return sdist


def _unpack(archive: Path, work: Path) -> None:
    """Unpack an archive whose entries share one top folder, dropping that folder."""
    with tempfile.TemporaryDirectory() as tmp:
        shutil.unpack_archive(str(archive), tmp, filter="data") if sys.version_info >= (3, 12) else \
            shutil.unpack_archive(str(archive), tmp)
        entries = list(Path(tmp).iterdir())
        top = entries[0] if len(entries) == 1 and entries[0].is_dir() else Path(tmp)
        shutil.copytree(top, work, symlinks=True)


def fetch_deb(package: str, version: str, sha256: str | None, tf: TaskFolder | None = None) -> Path:
    """The .deb, downloaded once with `apt-get download` into the cache and checked against its sha256 (None: not
    checked, for `resq tasks new`, which records the hash it finds)."""
    from ..environments import cache_dir

    where = f"{tf.root / 'task.yaml'}: " if tf else ""
    target = cache_dir() / "debs" / f"{package}_{version}".replace("/", "_").replace(":", "%3a")
    found = sorted(target.glob("*.deb")) if target.exists() else []
    if not found:
        if not shutil.which("apt-get"):
            raise TaskError(f"{where}deb snapshots need Debian's apt-get on the host to download {package}")
        target.mkdir(parents=True, exist_ok=True)
        proc = subprocess.run(["apt-get", "download", "-q", f"{package}={version}"], cwd=target,
                              capture_output=True, text=True)
        found = sorted(target.glob("*.deb"))
        if proc.returncode != 0 or not found:
            tail = " | ".join(line for line in proc.stderr.strip().splitlines() if line.startswith("E:"))[-300:]
            raise TaskError(f"{where}cannot download the Debian package {package}={version} ({tail or 'no .deb'}); "
                            "run `apt-get update`, or check the version with `apt-cache policy " + package + "`")
    deb = found[0]
    actual = hashlib.sha256(deb.read_bytes()).hexdigest()
    if sha256 is not None and actual != sha256:
        raise TaskError(f"{where}{deb.name} has sha256 {actual}, not the {sha256} the task names; "
                        "fix snapshot.sha256 if the new file is trusted")
    return deb


def unpack_deb_library(deb: Path, work: Path, package: str, path: str = "", tf: TaskFolder | None = None) -> None:
    """Copy the package's library folder (or `path` inside the package) to `work`."""
    where = f"{tf.root / 'task.yaml'}: " if tf else ""
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(["dpkg-deb", "-x", str(deb), tmp], capture_output=True, text=True)
        if proc.returncode != 0:
            raise TaskError(f"{where}dpkg-deb cannot unpack {deb.name}: {proc.stderr.strip()[:200]}")
        library = Path(tmp) / path.lstrip("/") if path else _node_library(Path(tmp), package)
        if library is None or not library.is_dir() or not library.resolve().is_relative_to(Path(tmp).resolve()):
            raise TaskError(f"{where}{deb.name} has no library folder "
                            f"{path or '/usr/share/nodejs/<name>/'}; set snapshot.path to the folder to use")
        shutil.copytree(library, work, symlinks=True)


def _node_library(root: Path, package: str) -> Path | None:
    """/usr/share/nodejs/<name>/: the package name without `node-`, or the package's only library folder."""
    nodejs = root / "usr" / "share" / "nodejs"
    named = nodejs / package.removeprefix("node-")
    if named.is_dir():
        return named
    folders = [p for p in nodejs.iterdir() if p.is_dir() and not p.name.startswith("@")] if nodejs.is_dir() else []
    return folders[0] if len(folders) == 1 else None


def tree_hash_text(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:8]
