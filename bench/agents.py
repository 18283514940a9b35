"""Per-task start-up cost of the third-party agents (aider, mini-swe-agent) run by resq in the workspace container,
against the same agent run directly on this machine, in the same run.

    .venv/bin/python bench/agents.py [--rounds 3] [--agent aider --agent mini-swe-agent] [--cpus N]

Both sides run the same spec command (the built-in spec, placeholders filled with host paths on the host side),
the same installed packages (the host venv is installed from the same wheelhouse), against the same scripted
chat-completions server on 127.0.0.1 (tests/llm_server.py) answering the gold edit, for the 3 tasks of tasks/demo.
Figures per task, medians over the rounds:

- first call: seconds from the agent's start to its first request to the server (import and set-up time).
  Host: from the process start. resq: from the start of the system stage (row started_at + timings.image), so it
  includes creating and starting the workspace container and copying the instruction in.
- system: the whole agent stage. Host: the agent process. resq: Result.timings.system (container start, the
  agent, the diff, the container's removal).

The workspace container gets `--cpus N` (default: every CPU, as the host run has); `resq run`'s default is 1, and
aider, which loads LiteLLM in a background thread while it starts, is then visibly slower.

Writes bench/out/agents.json. Creates only a venv under the temporary folder and run folders it removes; the agent
layers are the cached ones (built first if missing, and that time is reported).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

BENCH = Path(__file__).resolve().parent
PROJECT = BENCH.parent
sys.path[:0] = [str(PROJECT), str(PROJECT / "tests")]

from llm_server import ScriptedLLM  # noqa: E402
from test_agents import TASKS, aider_script, mini_script  # noqa: E402

from resq_runner import environments  # noqa: E402
from resq_runner.agents import builtin_spec, fill  # noqa: E402
from resq_runner.agents.layer import ensure_layer  # noqa: E402
from resq_runner.sandbox import connect  # noqa: E402
from resq_runner.tasks.snapshots import materialize  # noqa: E402

SCRIPTS = {"mini-swe-agent": mini_script, "aider": aider_script}
KEY = "sk-bench-key-0000"


def host_venv(name: str, root: Path) -> tuple[Path, float]:
    """The agent installed on the host from the same wheels its layer used; returns the prefix and install time."""
    spec = builtin_spec(name)
    prefix = root / name
    clock = time.perf_counter()
    subprocess.run([sys.executable, "-m", "venv", str(prefix / "venv")], check=True)
    wheels = environments.download_wheels(spec.install.pip, "3.11")[0].parent
    subprocess.run([str(prefix / "venv" / "bin" / "pip"), "install", "-q", "--no-index", "--find-links",
                    str(wheels), *spec.install.pip], check=True)
    return prefix, time.perf_counter() - clock


def run_on_host(name: str, prefix: Path, task_id: str, llm: ScriptedLLM, scratch: Path) -> dict:
    spec = builtin_spec(name)
    work = scratch / task_id
    shutil.copytree(materialize(TASKS[task_id], environments.cache_dir()), work / "repo", symlinks=True)
    (work / "out").mkdir()
    (work / "home").mkdir()
    instruction = work / "instruction.md"
    instruction.write_text(TASKS[task_id].task.instruction)
    values = {"instruction_file": str(instruction), "model": "openai/m", "base_url": llm.base_url,
              "output_dir": str(work / "out"), "prefix": str(prefix), "workspace": str(work / "repo"),
              "task_id": task_id}
    env = {**os.environ, **{k: fill(v, values, quote=False) for k, v in spec.env.items()},
           "OPENAI_API_KEY": KEY, "HOME": str(work / "home")}  # a fresh home, as each container has
    if spec.exclude:
        with open(work / "repo" / ".git" / "info" / "exclude", "a") as handle:
            handle.writelines(f"{pattern}\n" for pattern in spec.exclude)
    started = time.time()
    proc = subprocess.run(["sh", "-c", fill(spec.command, values)], cwd=work / "repo", env=env,
                          capture_output=True, text=True)
    wall = time.time() - started
    first = min(r["time"] for r in llm.calls_for(task_id))
    return {"system": wall, "first_call": first - started, "exit": proc.returncode}


def run_in_resq(name: str, llm: ScriptedLLM, out: Path, cpus: float) -> dict[str, dict]:
    proc = subprocess.run([sys.executable, "-m", "resq_runner", "run", str(PROJECT / "tasks" / "demo"), "--system",
                           name, "--model", "openai/m", "--base-url", llm.base_url, "--out", str(out),
                           "--cpus", f"{cpus:g}"],
                          env={**os.environ, "OPENAI_API_KEY": KEY}, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"resq run failed: {proc.stderr[-500:]}")
    figures = {}
    for row in map(json.loads, (out / "results.jsonl").read_text().splitlines()):
        solve_start = datetime.fromisoformat(row["started_at"]).timestamp() + row["timings"]["image"]
        first = min(r["time"] for r in llm.calls_for(row["task_id"]))
        figures[row["task_id"]] = {"system": row["timings"]["system"], "first_call": first - solve_start,
                                   "outcome": row["outcome"]}
    return figures


def bench_agent(name: str, rounds: int, root: Path, cpus: float) -> dict:
    clock = time.perf_counter()
    layer = ensure_layer(connect(), builtin_spec(name), log=lambda _m: None)
    layer_s = time.perf_counter() - clock
    prefix, install_s = host_venv(name, root)
    host: dict[str, list[dict]] = {t: [] for t in TASKS}
    resq: dict[str, list[dict]] = {t: [] for t in TASKS}
    for number in range(rounds):
        scripts = {task_id: SCRIPTS[name](task_id) for task_id in TASKS}
        with ScriptedLLM(scripts) as llm:
            for task_id in TASKS:
                host[task_id].append(run_on_host(name, prefix, task_id, llm, root / f"host-{name}-{number}"))
        with ScriptedLLM(scripts) as llm:
            for task_id, figures in run_in_resq(name, llm, root / f"run-{name}-{number}", cpus).items():
                resq[task_id].append(figures)
    tasks = {}
    for task_id in TASKS:
        h = {k: statistics.median(f[k] for f in host[task_id]) for k in ("system", "first_call")}
        r = {k: statistics.median(f[k] for f in resq[task_id]) for k in ("system", "first_call")}
        tasks[task_id] = {"host": h, "resq": r, "outcomes": [f["outcome"] for f in resq[task_id]],
                          "host_exits": [f["exit"] for f in host[task_id]],
                          "extra_first_call_s": r["first_call"] - h["first_call"],
                          "extra_system_s": r["system"] - h["system"], "system_ratio": r["system"] / h["system"]}
    return {"layer": {"seconds": layer_s, "built": layer.built}, "host_install_s": install_s, "tasks": tasks}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--agent", action="append", choices=sorted(SCRIPTS))
    parser.add_argument("--cpus", type=float, default=float(os.cpu_count() or 1),
                        help="resq run --cpus (the workspace container's CPU quota); default: all, as on the host")
    args = parser.parse_args()
    results = {"load_average": os.getloadavg(), "rounds": args.rounds, "cpus": args.cpus}
    with tempfile.TemporaryDirectory(prefix="resq-bench-agents-") as tmp:
        for name in args.agent or sorted(SCRIPTS):
            results[name] = bench_agent(name, args.rounds, Path(tmp), args.cpus)
    results["load_average_after"] = os.getloadavg()
    (BENCH / "out").mkdir(exist_ok=True)
    (BENCH / "out" / "agents.json").write_text(json.dumps(results, indent=2))
    print("| agent | task | first call: host / resq (s) | system: host / resq (s) | resq extra (s) | ratio |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name in args.agent or sorted(SCRIPTS):
        for task_id, t in results[name]["tasks"].items():
            print(f"| {name} | {task_id} | {t['host']['first_call']:.2f} / {t['resq']['first_call']:.2f} | "
                  f"{t['host']['system']:.2f} / {t['resq']['system']:.2f} | {t['extra_system_s']:.2f} | "
                  f"{t['system_ratio']:.2f} |")
        layer = results[name]["layer"]
        print(f"{name}: layer {'built' if layer['built'] else 'cached'} in {layer['seconds']:.1f} s; host venv "
              f"install {results[name]['host_install_s']:.1f} s; outcomes "
              f"{sorted({o for t in results[name]['tasks'].values() for o in t['outcomes']})}")
    print(f"load average before/after: {results['load_average']} / {results['load_average_after']}")


if __name__ == "__main__":
    main()
