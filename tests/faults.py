"""Building blocks for the fault tests: small suites whose hidden tests misbehave, and a TCP proxy to the engine."""

from __future__ import annotations

import json
import os
import select
import shutil
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from conftest import DEMO, PROJECT


def make_suite(root: Path, tasks: dict[str, dict]) -> Path:
    """A suite over the demo's ledgerlite snapshot; each task's hidden test file is given as source text.

    tasks: {task_id: {"test": source, "limits": {...}, "timeout_s": n, "flags": "-s"}}
    """
    root.mkdir(parents=True, exist_ok=True)
    shutil.copytree(DEMO / "_snapshots", root / "_snapshots", dirs_exist_ok=True)
    for task_id, spec in tasks.items():
        folder = root / task_id
        (folder / "hidden" / "tests").mkdir(parents=True)
        (folder / "hidden" / "tests" / "test_fault_hidden.py").write_text(textwrap.dedent(spec["test"]))
        lines = [f"id: {task_id}", "instruction: Nothing to change; the hidden test exercises the harness.",
                 "snapshot: {kind: dir, path: ../_snapshots/ledgerlite}",
                 "tests:",
                 f"  command: python -m pytest -p no:cacheprovider -q {spec.get('flags', '')} "
                 "tests/test_fault_hidden.py",
                 f"timeout_s: {spec.get('timeout_s', 60)}"]
        if spec.get("limits"):
            lines.append(f"limits: {json.dumps(spec['limits'])}")
        (folder / "task.yaml").write_text("\n".join(lines) + "\n")
    return root


def run_id_of(out: Path, timeout: float = 300) -> str:
    """The run id a run folder's manifest names (waiting for it while a run starts)."""
    wait_for(lambda: (out / "run.json").exists(), timeout=timeout, interval=0.05)
    return json.loads((out / "run.json").read_text())["run_id"]


def flat(text: str) -> str:
    """Console output with its line wrapping undone."""
    return " ".join(text.split())


def read_rows(out: Path) -> list[dict]:
    path = out / "results.jsonl"
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def final_rows(out: Path) -> dict[str, list[dict]]:
    """Every final (non infra_error) row per task."""
    final: dict[str, list[dict]] = {}
    for row in read_rows(out):
        if row["outcome"] != "infra_error":
            final.setdefault(row["task_id"], []).append(row)
    return final


def wait_for(predicate, timeout: float, interval: float = 0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"gave up after {timeout} s waiting for {predicate}")


def running_eval(client, run_id: str, task_id: str | None = None):
    labels = [f"resq.run={run_id}", "resq.role=eval"] + ([f"resq.task={task_id}"] if task_id else [])
    found = client.containers.list(filters={"label": labels, "status": "running"})
    return found[0] if found else None


def run_in_background(*args: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "resq_runner", *args], cwd=PROJECT, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})})


def assert_one_final_row_each(out: Path, task_ids) -> dict[str, dict]:
    final = final_rows(out)
    assert sorted(final) == sorted(task_ids)
    assert all(len(rows) == 1 for rows in final.values()), {t: len(r) for t, r in final.items()}
    return {task_id: rows[0] for task_id, rows in final.items()}


class EngineProxy:
    """A TCP port on 127.0.0.1 forwarding to the Docker socket; stop() makes the engine unreachable for a while."""

    def __init__(self, socket_path: str = "/var/run/docker.sock"):
        self.socket_path = socket_path
        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self._listener: socket.socket | None = None
        self._connections: list[socket.socket] = []
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def start(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def stop(self) -> None:
        """Refuse new connections and cut every open one, as a daemon restart would."""
        with self._lock:
            if self._listener is not None:
                self._listener.close()
                self._listener = None
            for conn in self._connections:
                try:
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                conn.close()
            self._connections.clear()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            upstream = socket.socket(socket.AF_UNIX)
            upstream.connect(self.socket_path)
            with self._lock:
                self._connections += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    @staticmethod
    def _pump(a: socket.socket, b: socket.socket) -> None:
        try:
            while True:
                readable, _, _ = select.select([a, b], [], [], 1)
                for source in readable:
                    data = source.recv(65536)
                    if not data:
                        return
                    (b if source is a else a).sendall(data)
        except (OSError, ValueError):
            return
        finally:
            for s in (a, b):
                try:
                    s.close()
                except OSError:
                    pass
