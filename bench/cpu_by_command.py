"""Where the CPU goes, by command: a loop of N bare `docker run`s against one `resq run` of the same N tiny tasks.

    .venv/bin/python bench/cpu_by_command.py [--tasks 20] [-j 2]

Samples every CPU with `perf record -a` (Debian's linux-perf; the script says so when perf is missing) while the bare
loop runs, then while `resq run --system gold` runs, and prints the milliseconds of CPU per task of each command name
(the tests' python, the harness's python3, fuse-overlayfs, runc, dockerd, the engine's own binary run as a hook,
the `resq` process or the `docker` CLI, ...), side by side, and the wall-time ratio of the two. Needs root (perf
-a) and the engine; it removes nothing it did not create.
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

import run as bench  # noqa: E402

FREQUENCY = 997  # samples per second and CPU


def profile(data: Path, work) -> tuple[float, dict[str, int]]:
    """Wall seconds of work() and the samples per command name over the whole machine meanwhile."""
    recorder = subprocess.Popen(["perf", "record", "-a", "-F", str(FREQUENCY), "-o", str(data)],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(0.5)  # perf is recording
    started = time.perf_counter()
    work()
    wall = time.perf_counter() - started
    recorder.send_signal(2)
    recorder.wait()
    report = subprocess.run(["perf", "report", "-i", str(data), "--sort", "comm", "--stdio", "-F", "sample,comm"],
                            capture_output=True, text=True, check=True).stdout
    counts = {}
    for line in report.splitlines():
        found = re.match(r"\s+(\d+)\s+(.+?)\s*$", line)
        if found and not line.startswith("#"):
            counts[found.group(2)] = int(found.group(1))
    return wall, counts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tasks", type=int, default=20)
    parser.add_argument("-j", "--jobs", type=int, default=2)
    args = parser.parse_args()
    if shutil.which("perf") is None:
        raise SystemExit("error: perf is missing: install Debian's linux-perf (apt-get install linux-perf)")
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        b = bench.Bench(False, work)
        _tf, image, inputs = bench.tiny_inputs(b, "inputs")
        suite = bench.suites.write_tiny_many(work / "suites", args.tasks, "many")
        bench.resq_run_process(b, bench.suites.write_tiny_many(work / "suites", 2, "warm"), 1, work / "runs" / "warm")
        bare_wall, bare = profile(work / "bare.data",
                                  lambda: bench.bare_docker_loop(image.tag, inputs, args.tasks, args.jobs))
        command = [str(bench.VENV_BIN / "resq"), "run", str(suite), "--system", "gold", "-j", str(args.jobs),
                   "--out", str(work / "runs" / "measured")]
        resq_wall, resq = profile(work / "resq.data", lambda: bench.timed_process(command, env=b.env))
    per_task = 1000 / FREQUENCY / args.tasks
    print(f"{args.tasks} tasks at -j {args.jobs}: bare loop {bare_wall:.2f} s, resq run {resq_wall:.2f} s "
          f"({resq_wall / bare_wall:.2f}x)")
    print(f"{'command':24s} {'bare':>7s} {'resq':>7s}   (ms of CPU per task)")
    names = sorted(set(bare) | set(resq) - {"swapper"}, key=lambda n: -(bare.get(n, 0) + resq.get(n, 0)))
    for name in [n for n in names if n != "swapper"][:16]:
        print(f"{name:24s} {bare.get(name, 0) * per_task:7.1f} {resq.get(name, 0) * per_task:7.1f}")
    busy = {side: sum(v for k, v in counts.items() if k != "swapper") * per_task
            for side, counts in (("bare", bare), ("resq", resq))}
    print(f"{'all but idle':24s} {busy['bare']:7.1f} {busy['resq']:7.1f}")


if __name__ == "__main__":
    main()
