"""Images: the base is bootstrapped with no registry, tags are content hashes, unchanged inputs never rebuild."""

import io
import os
import secrets
import shutil
import pytest

from conftest import resq
from resq_runner import environments
from resq_runner.errors import SetupError


def test_base_image_bootstraps_from_nothing(docker_client):
    """Builds the base from Debian packages under a throwaway tag, so a broken bootstrap cannot hide behind a
    cached image; then checks it has python3, git and the non-root user."""
    tag = f"resq-base-check:{secrets.token_hex(4)}"
    try:
        proc = resq("env", "build", "--base-tag", tag, "--no-pull", timeout=900)
        assert proc.returncode == 0, proc.stderr
        assert "bootstrapping" in proc.stderr
        out = docker_client.containers.run(tag, ["sh", "-c", "python3 --version; git --version; id resq"],
                                           remove=True, network_mode="none").decode()
        assert "Python 3." in out and "git version" in out and "uid=1000(resq)" in out
    finally:
        if docker_client.images.list(name=tag):
            docker_client.images.remove(tag, force=True)


def test_unchanged_environment_is_not_rebuilt(docker_client, python_env):
    again = environments.ensure_environment(docker_client, "python", log=lambda m: pytest.fail(f"rebuilt: {m}"))
    assert again == python_env
    out = docker_client.containers.run(python_env.tag, ["python", "-m", "pytest", "--version"], remove=True,
                                       network_mode="none").decode()
    assert "pytest 8.4.2" in out


def test_changed_definition_changes_the_tag(tmp_path, monkeypatch):
    defs = tmp_path / "environments"
    shutil.copytree(environments.definitions_dir(), defs)
    monkeypatch.setenv("RESQ_ENVIRONMENTS", str(defs))
    before = environments.environment_tag("python")
    file = defs / "python" / "environment.yaml"
    file.write_text(file.read_text().replace("pytest==8.4.2", "pytest==8.4.1"))
    assert environments.environment_tag("python") != before


def test_missing_mmdebstrap_is_one_clear_line(docker_client, tmp_path, monkeypatch):
    bare = tmp_path / "bin"
    bare.mkdir()
    os.symlink(shutil.which("apt-get"), bare / "apt-get")
    monkeypatch.setenv("PATH", str(bare))
    with pytest.raises(SetupError, match=r"mmdebstrap is not installed: run `apt-get install -y mmdebstrap`"):
        environments.ensure_base(docker_client, tag=f"resq-base-check:{secrets.token_hex(4)}", allow_pull=False,
                                 log=lambda _m: None)


def test_unreachable_daemon_is_one_clear_line(tmp_path):
    proc = resq("env", "build", "python", cwd=tmp_path, env={"DOCKER_HOST": "tcp://127.0.0.1:9"}, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "error: cannot reach the Docker daemon: start it (for example `service docker start`) or set DOCKER_HOST"]


@pytest.mark.parametrize("setup", ["", "setup: [\"true\"]\n"], ids=["no-setup", "setup"])
def test_task_images_hold_an_index_current_for_their_files(tmp_path, docker_client, python_env, setup):
    """A task image's git index has the stat data of the files as the image holds them, so an eval container's
    `git status` compares stat data instead of reading and hashing every file of the repository again."""
    from resq_runner.tasks import load_suite
    from resq_runner.tasks.snapshots import materialize, snapshot_hash

    suite = tmp_path / "suite"
    (suite / "_snapshots" / "repo" / "pkg").mkdir(parents=True)
    for n in range(20):
        (suite / "_snapshots" / "repo" / "pkg" / f"m{n}.py").write_text(f"VALUE = {n}\n")
    (suite / "_snapshots" / "repo" / "nonce.txt").write_text(secrets.token_hex(8))  # a new image
    (suite / "t" / "hidden").mkdir(parents=True)
    (suite / "t" / "hidden" / "test_x.py").write_text("def test_x():\n    pass\n")
    (suite / "t" / "task.yaml").write_text("id: t\ninstruction: x\nsnapshot: {kind: dir, path: ../_snapshots/repo}\n"
                                           "tests: {command: python -m pytest -q}\n" + setup)
    (tf,) = load_suite(suite)
    workspace = materialize(tf, tmp_path / "cache")
    image = environments.ensure_task_image(docker_client, python_env, workspace, snapshot_hash(tf), tf.task.setup,
                                           log=lambda _m: None)
    try:
        listing = docker_client.containers.run(image.tag, ["sh", "-c", "git diff-files --name-only; echo end"],
                                               remove=True, network_disabled=True)
        assert listing.decode().split() == ["end"], "stat data differ from the index: " + listing.decode()
    finally:
        docker_client.images.remove(image.tag, force=True)


def test_image_tasks_hold_an_index_current_for_their_files(docker_client, python_env):
    """The same for a task over a prebuilt instance image: moving the repository and handing it to the test user
    changes every file's ctime, which git compares; the layer's last step refreshes the index."""
    from resq_runner.models import ImageSnapshot

    instance = f"resq-test-instance:{secrets.token_hex(4)}"
    repo = ("mkdir -p /testbed/pkg && cd /testbed && for n in 1 2 3 4 5; do echo $n > pkg/m$n.py; done && "
            f"echo {secrets.token_hex(8)} > nonce && git init -q && git add -A && "
            "git -c user.name=t -c user.email=t@t commit -qm snapshot")
    docker_client.images.build(fileobj=io.BytesIO(f"FROM {python_env.tag}\nRUN {repo}\n".encode()), tag=instance,
                               rm=True)
    image = None
    try:
        image = environments.ensure_image_task(docker_client, ImageSnapshot(image=instance), log=lambda _m: None)
        listing = docker_client.containers.run(image.tag, ["sh", "-c", "git diff-files --name-only; echo end"],
                                               remove=True, network_disabled=True)
        assert listing.decode().split() == ["end"], "stat data differ from the index: " + listing.decode()
    finally:
        for tag in ([image.tag] if image else []) + [instance]:
            docker_client.images.remove(tag, force=True)
