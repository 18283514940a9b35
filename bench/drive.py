"""Runs one suite through resq-runner's runner in this process and prints one JSON line about it.

Used by bench/run.py in a subprocess, so that the runner's peak memory can be read from the child's rusage.
Usage: python bench/drive.py SUITE SYSTEM JOBS OUT [POOL]   (POOL: containers per pool, 0 = no pool, - = default)
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

from resq_runner.models import SystemSpec
from resq_runner.runner import RunOptions, run_suite


def main(suite: str, system: str, jobs: str, out: str, pool: str = "-") -> None:
    options = {"suite": suite, "system": SystemSpec(name=system), "out": Path(out), "jobs": int(jobs)}
    if pool != "-" and "pool" in {f.name for f in dataclasses.fields(RunOptions)}:
        options["pool"] = int(pool)
    started = time.perf_counter()
    _paths, results = run_suite(RunOptions(**options))
    wall = time.perf_counter() - started
    print(json.dumps({
        "wall_s": wall, "tasks": len(results),
        "outcomes": {r.task_id: r.outcome.value for r in results},
        "timings": [r.timings.model_dump() for r in results],
        "pool_supported": "pool" in {f.name for f in dataclasses.fields(RunOptions)},
    }))


if __name__ == "__main__":
    main(*sys.argv[1:])
