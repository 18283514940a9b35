"""The adversarial suite: every gold patch of tasks/adversarial is an attack on the grader; none may pass.

A control run gives the same hidden tests an honest fix and must pass, so the attacks fail because the grader
caught them, not because the suite is broken.
"""

from __future__ import annotations

import http.server
import json
import secrets
import shutil
import socketserver
import subprocess
import threading
from pathlib import Path

import pytest

from conftest import PROJECT, containers_of, resq
from faults import run_id_of

SUITE = PROJECT / "tasks" / "adversarial"
HONEST_CORE = '''"""Counting words in text."""

from collections import Counter


def words(text: str) -> list[str]:
    return text.split()


def word_count(text: str) -> int:
    """How many words the text holds."""
    return len(words(text))


def average_word_length(text: str) -> float:
    found = words(text)
    return sum(len(w) for w in found) / len(found) if found else 0.0


def most_common(text: str, n: int = 3) -> list[tuple[str, int]]:
    return Counter(w.lower() for w in words(text)).most_common(n)
'''
# The defence that must be the one to catch each attack, where the reason names it.
CAUGHT_BY = {
    "dotdot-path": "refused: the patch names paths outside the repository",
    "absolute-path": "refused: the patch names paths outside the repository",
    "git-dir-path": "refused: the patch names paths outside the repository or inside .git",
    "symlink-out-of-repo": "symbolic link out of the repository",
    "symlink-hidden-tests": "symbolic link out of the repository",
    "forge-report-file": "canary",
    "monkeypatch-runtest": "canary",
    "monkeypatch-reports": "canary",
    "forge-report-file-listed": "canary",
    "skip-at-import": "missing",
    # the nine families found by the second red-team pass, and variants
    "framework-shadow-pytest-module": "does not let steer the tests: pytest.py",
    "framework-shadow-on-pythonpath": "the witness saw test framework files loaded from the repository: src/pytest.py",
    "framework-shadow-pytest-package": "does not let steer the tests: pytest/__init__.py",
    "framework-shadow-underscore-pytest": "does not let steer the tests: _pytest/__init__.py",
    "framework-shadow-pluggy": "does not let steer the tests: pluggy/__init__.py",
    "plugin-autoload-dist-info": "resq_helper-1.0.dist-info",
    "plugin-autoload-egg-info": "textstats_extra.egg-info",
    "plugin-named-like-the-environments": "pytest_cov-9.9.dist-info",
    "protected-path-newline": "refused: the patch names paths",
    "protected-path-tab": "refused: the patch names paths",
    "git-dir-octal-quoted": "refused: the patch names paths outside the repository or inside .git: .git/hooks",
    "import-time-tampering": "canary",
    "late-report-rewrite": "canary",
    "output-flood": "over the 16777216-byte cap",
    "pth-in-subfolder": "put back as the snapshot had them: textstats/vendor/deep/zz_flip.pth",
    "pycache-planting": "does not let steer the tests: textstats/__pycache__/core.cpython-311.pyc",
    "node-assert-noop": "canary",
    "node-child-stream": "canary",
    "node-module-load-hook": "canary",
    "node-modules-shadow": "does not let steer the tests: node_modules/assert/index.js",
}


def rows(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]


@pytest.fixture
def solution_server():
    """Serves a working core.py on the Docker bridge, for the patch that tries to fetch it during the tests."""

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            self.wfile.write(HONEST_CORE.encode())

        def log_message(self, *args):
            pass

    class Server(socketserver.TCPServer):
        allow_reuse_address = True

    try:
        server = Server(("0.0.0.0", 47613), Handler)
    except OSError:
        yield None  # port taken: the attack then simply finds nothing, which grading must still fail
        return
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def test_no_adversarial_patch_passes(tmp_path, python_env, docker_client, cleanup_run, solution_server):
    out = tmp_path / "adversarial-gold"
    proc = resq("run", str(SUITE), "--system", "gold", "--out", str(out), "-j", "3")
    cleanup_run.append(run_id_of(out))
    assert proc.returncode == 0, proc.stderr

    task_ids = sorted(p.name for p in SUITE.iterdir() if (p / "task.yaml").exists())
    assert len(task_ids) >= 40
    final = {r["task_id"]: r for r in rows(out) if r["outcome"] != "infra_error"}
    assert sorted(final) == task_ids
    for task_id, row in final.items():
        assert row["outcome"] in ("failed", "patch_failed"), (task_id, row["outcome"], row["reason"])
        assert row["reason"], task_id
    for task_id, fragment in CAUGHT_BY.items():
        assert fragment in final[task_id]["reason"], (task_id, final[task_id]["reason"])
    assert not containers_of(docker_client, run_id_of(out))


def test_honest_fix_passes_the_same_hidden_tests(tmp_path, python_env, docker_client, cleanup_run):
    """Control: one task graded with lists, one with 'every test must pass', each given a real fix."""
    suite = tmp_path / "adversarial-honest"
    suite.mkdir()
    shutil.copytree(SUITE / "_snapshots", suite / "_snapshots")
    honest = honest_patch(tmp_path)
    for task_id in ("forge-report-file", "forge-report-file-listed"):
        shutil.copytree(SUITE / task_id, suite / task_id)
        (suite / task_id / "gold.patch").write_text(honest)

    out = tmp_path / "adversarial-honest-run"
    proc = resq("run", str(suite), "--system", "gold", "--out", str(out), "-j", "2")
    cleanup_run.append(run_id_of(out))
    assert proc.returncode == 0, proc.stderr
    outcomes = {r["task_id"]: r["outcome"] for r in rows(out)}
    assert outcomes == {"forge-report-file": "passed", "forge-report-file-listed": "passed"}
    assert not containers_of(docker_client, run_id_of(out))


def noop_run_of_one_task(suite: Path, task_id: str, snapshot: str, hidden: dict[str, str],
                         cleanup_run) -> tuple[dict, Path]:
    """`resq run --system noop` of one task over suite/_snapshots/SNAPSHOT with these hidden files (its pytest run
    as `python -m pytest -q tests`): its single row, and the run folder."""
    task = suite / task_id
    for name, text in hidden.items():
        (task / "hidden" / name).parent.mkdir(parents=True, exist_ok=True)
        (task / "hidden" / name).write_text(text)
    (task / "task.yaml").write_text(f"id: {task_id}\ninstruction: Nothing to change.\n"
                                    f"snapshot: {{kind: dir, path: ../_snapshots/{snapshot}}}\n"
                                    "tests: {command: python -m pytest -q tests}\ntimeout_s: 60\n")
    out = suite.parent / f"{task_id}-run"
    proc = resq("run", str(suite), "--system", "noop", "--out", str(out))
    cleanup_run.append(run_id_of(out))
    assert proc.returncode == 0, proc.stderr
    (row,) = rows(out)
    return row, out


def test_the_repositorys_own_pytest_setup_still_applies(tmp_path, python_env, docker_client, cleanup_run):
    """Config isolation keeps the snapshot's configuration (pythonpath, markers) and its conftest fixtures."""
    suite = tmp_path / "own-config"
    repo = suite / "_snapshots" / "srclayout"
    (repo / "src" / "srclayout").mkdir(parents=True)
    (repo / "src" / "srclayout" / "__init__.py").write_text("VALUE = 42\n")
    (repo / "conftest.py").write_text("import pytest\n\n\n@pytest.fixture\ndef answer():\n    return 42\n")
    (repo / "pyproject.toml").write_text('[project]\nname = "srclayout"\nversion = "1"\n\n'
                                         '[tool.pytest.ini_options]\npythonpath = ["src"]\n'
                                         'markers = ["slow: a slow test"]\naddopts = "--strict-markers"\n')
    row, out = noop_run_of_one_task(suite, "uses-own-config", "srclayout", {"tests/test_config_hidden.py": (
        "import pytest\nfrom srclayout import VALUE\n\n\n@pytest.mark.slow\ndef test_value(answer):\n"
        "    assert VALUE == answer\n")}, cleanup_run)
    assert row["outcome"] == "passed", row["reason"]
    assert row["tests"] == {"tests/test_config_hidden.py::test_value": "passed"}
    assert not containers_of(docker_client, run_id_of(out))


def test_the_network_attack_is_real_with_a_network(docker_client, python_env, solution_server):
    """Control for network-fetch: from a container *with* a network the fix is one request away."""
    if solution_server is None:
        pytest.skip("port 47613 is taken on this machine")
    fetch = "import urllib.request as u; print(u.urlopen('http://172.17.0.1:47613/core.py', timeout=5).read().decode())"
    output = docker_client.containers.run(python_env.tag, ["python3", "-c", fetch], network_mode="bridge",
                                          remove=True, labels={"resq.run": f"network-control-{secrets.token_hex(3)}"})
    assert "text.split()" in output.decode()


LOOPBACK_TESTS = '''import socket


def test_localhost_serves():
    server = socket.socket()
    server.bind(("localhost", 0))
    server.listen()
    client = socket.create_connection(server.getsockname(), timeout=5)
    peer, _ = server.accept()
    client.sendall(b"ping")
    assert peer.recv(4) == b"ping"


def test_loopback_is_the_only_interface():
    lines = open("/proc/net/dev").read().splitlines()[2:]
    assert [line.split(":")[0].strip() for line in lines if line.strip()] == ["lo"]
'''


def test_eval_containers_have_a_working_loopback_and_nothing_else(tmp_path, docker_client, cleanup_run):
    """The eval container's loopback-only network is made by the runtime alone (no engine hook, so no /etc/hosts
    from the engine): `localhost` still resolves and serves, and there is no other interface."""
    suite = tmp_path / "loopback"
    (suite / "_snapshots" / "empty").mkdir(parents=True)
    (suite / "_snapshots" / "empty" / "README").write_text("nothing here\n")
    row, out = noop_run_of_one_task(suite, "loopback", "empty", {"tests/test_loopback_hidden.py": LOOPBACK_TESTS},
                                    cleanup_run)
    assert row["tests"] == {"tests/test_loopback_hidden.py::test_localhost_serves": "passed",
                            "tests/test_loopback_hidden.py::test_loopback_is_the_only_interface": "passed"}, \
        (out / "logs" / "loopback" / "test_output.txt").read_text()


def honest_patch(tmp_path: Path) -> str:
    repo = tmp_path / "repo"
    shutil.copytree(SUITE / "_snapshots" / "textstats", repo)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "snapshot"], cwd=repo, check=True)
    (repo / "textstats" / "core.py").write_text(HONEST_CORE)
    return subprocess.run(["git", "diff"], cwd=repo, check=True, capture_output=True, text=True).stdout


def test_canaries_stay_selected_whatever_k_says(tmp_path, python_env, docker_client, cleanup_run):
    """-k naming only the hidden tests deselects the canaries by name: the harness puts them back, so an honest fix
    passes and a blanket flip is still caught by a canary."""
    suite = tmp_path / "deselect"
    suite.mkdir()
    shutil.copytree(SUITE / "_snapshots", suite / "_snapshots")
    only_hidden = ("-k 'test_empty_text_has_no_words or test_runs_of_spaces_and_newlines or "
                   "test_average_ignores_whitespace'")
    for task_id, patch in (("honest", honest_patch(tmp_path)),
                           ("flip", (SUITE / "monkeypatch-runtest" / "gold.patch").read_text())):
        shutil.copytree(SUITE / "monkeypatch-runtest", suite / task_id)
        task_yaml = suite / task_id / "task.yaml"
        task_yaml.write_text(task_yaml.read_text().replace("id: monkeypatch-runtest", f"id: {task_id}")
                             .replace("-q tests", f"-q tests {only_hidden}"))
        (suite / task_id / "gold.patch").write_text(patch)
    out = tmp_path / "deselect-run"
    proc = resq("run", str(suite), "--system", "gold", "--out", str(out), "-j", "2")
    cleanup_run.append(run_id_of(out))
    assert proc.returncode == 0, proc.stderr
    final = {r["task_id"]: r for r in rows(out)}
    assert final["honest"]["outcome"] == "passed", final["honest"]["reason"]
    assert final["flip"]["outcome"] == "failed" and "canary" in final["flip"]["reason"]


def test_tasks_selecting_with_k_pass_with_gold(tmp_path, python_env, docker_client, cleanup_run):
    """Three shipped tasks whose command narrows the run with -k grade their own gold patch `passed`."""
    out = tmp_path / "py-k"
    selected = ["mi-group-size-validation", "mi-split-into-strict", "mi-windowed-incomplete"]
    proc = resq("run", str(PROJECT / "tasks" / "py"), "--system", "gold", "--out", str(out), "-j", "2",
                *[arg for task_id in selected for arg in ("--task", task_id)], timeout=1200)
    cleanup_run.append(run_id_of(out))
    assert proc.returncode == 0, proc.stderr
    final = {r["task_id"]: r for r in rows(out)}
    assert {t: final[t]["outcome"] for t in selected} == {t: "passed" for t in selected}, \
        {t: final[t]["reason"] for t in selected}


def test_the_environments_own_plugins_still_load(tmp_path, docker_client, cleanup_run):
    """Autoload is off, but a plugin installed in the environment is loaded by name: a repository whose addopts
    need pytest-cov runs as before, and coverage really ran."""
    environments_dir = tmp_path / "environments"
    shutil.copytree(PROJECT / "environments", environments_dir)
    (environments_dir / "python-cov").mkdir()
    (environments_dir / "python-cov" / "environment.yaml").write_text(
        "name: python-cov\ndescription: python with pytest-cov\npip_requirements:\n  - pytest==8.4.2\n"
        "  - pytest-cov==6.2.1\n")
    suite = tmp_path / "cov"
    repo = suite / "_snapshots" / "covered"
    (repo / "covered").mkdir(parents=True)
    (repo / "covered" / "__init__.py").write_text("def double(x):\n    return 2 * x\n")
    (repo / "pyproject.toml").write_text('[project]\nname = "covered"\nversion = "1"\n\n'
                                         '[tool.pytest.ini_options]\naddopts = "--cov=covered --cov-report=term"\n')
    task = suite / "uses-cov"
    (task / "hidden" / "tests").mkdir(parents=True)
    (task / "hidden" / "tests" / "test_double.py").write_text(
        "from covered import double\n\n\ndef test_double():\n    assert double(2) == 4\n")
    (task / "task.yaml").write_text("id: uses-cov\ninstruction: Nothing to change.\n"
                                    "snapshot: {kind: dir, path: ../_snapshots/covered}\n"
                                    "environment: {name: python-cov}\n"
                                    "tests: {command: python -m pytest -p no:cacheprovider -q tests}\ntimeout_s: 60\n")
    out = tmp_path / "cov-run"
    proc = resq("run", str(suite), "--system", "noop", "--out", str(out),
                env={"RESQ_ENVIRONMENTS": str(environments_dir)}, timeout=1200)
    cleanup_run.append(run_id_of(out))
    assert proc.returncode == 0, proc.stderr
    (row,) = rows(out)
    assert row["outcome"] == "passed", row["reason"]
    assert "covered/__init__.py" in (out / "logs" / "uses-cov" / "test_output.txt").read_text()
