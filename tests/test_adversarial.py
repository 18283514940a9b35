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
    assert len(task_ids) >= 20
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
    repo = tmp_path / "repo"
    shutil.copytree(SUITE / "_snapshots" / "textstats", repo)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "snapshot"], cwd=repo, check=True)
    (repo / "textstats" / "core.py").write_text(HONEST_CORE)
    honest = subprocess.run(["git", "diff"], cwd=repo, check=True, capture_output=True, text=True).stdout
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
    task = suite / "uses-own-config"
    (task / "hidden" / "tests").mkdir(parents=True)
    (task / "hidden" / "tests" / "test_config_hidden.py").write_text(
        "import pytest\nfrom srclayout import VALUE\n\n\n@pytest.mark.slow\ndef test_value(answer):\n"
        "    assert VALUE == answer\n")
    (task / "task.yaml").write_text("id: uses-own-config\ninstruction: Nothing to change.\n"
                                    "snapshot: {kind: dir, path: ../_snapshots/srclayout}\n"
                                    "tests: {command: python -m pytest -q tests}\ntimeout_s: 60\n")
    out = tmp_path / "own-config-run"
    proc = resq("run", str(suite), "--system", "noop", "--out", str(out))
    cleanup_run.append(run_id_of(out))
    assert proc.returncode == 0, proc.stderr
    (row,) = rows(out)
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
