"""A before/after markdown table from two bench/run.py result files.

Usage: python bench/compare.py BEFORE.json AFTER.json
"""

from __future__ import annotations

import json
import sys


def get(results: dict, path: str):
    value = results
    for key in path.split("."):
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


ROWS = [
    ("`resq --help` wall / cpu (s)", "startup.resq --help.wall_s", "startup.resq --help.cpu_s"),
    ("`resq tasks list demo` wall / cpu (s)", "startup.resq tasks list demo.wall_s", "startup.resq tasks list demo.cpu_s"),
    ("`python -c pass` wall / cpu (s), baseline", "startup.python -c pass (baseline).wall_s",
     "startup.python -c pass (baseline).cpu_s"),
    ("eval, tiny task: bare `docker run` (s), baseline", "overhead.bare_docker_run_s", None),
    ("eval, tiny task: resq minus bare docker (s) / ratio", "overhead.diff_s", "overhead.ratio"),
    ("eval, tiny task, warm pool: minus bare docker (s) / ratio", "overhead.pool_diff_s", "overhead.pool_ratio"),
    ("eval stage: eval_start (s)", "overhead.stages_s.eval_start", None),
    ("eval stage: eval_run (s)", "overhead.stages_s.eval_run", None),
    ("eval stage: eval_collect (s)", "overhead.stages_s.eval_collect", None),
    ("eval stage: teardown (s)", "overhead.stages_s.teardown", None),
    ("-j1: tasks/min / x slower than host", "throughput.j1.pool.tasks_per_min", "throughput.j1.pool.x_slower_than_host"),
    ("-j2: tasks/min / x slower than host", "throughput.j2.pool.tasks_per_min", "throughput.j2.pool.x_slower_than_host"),
    ("-j2 without pool: tasks/min / x slower than host", "throughput.j2.no_pool.tasks_per_min",
     "throughput.j2.no_pool.x_slower_than_host"),
    ("-j4: tasks/min / x slower than host", "throughput.j4.pool.tasks_per_min", "throughput.j4.pool.x_slower_than_host"),
    ("host, no container, -j2: tasks/min, baseline", "throughput.j2.host.tasks_per_min", None),
    ("cold run (s) / finished rerun (s)", "cache.cold_run_s", "cache.finished_rerun_s"),
    ("cold over finished rerun (x)", "cache.cold_over_finished", None),
    ("rerun with new patches (s) / cold over it (x)", "cache.new_patches_run_s", "cache.cold_over_new_patches"),
    ("unchanged task image: resq (s) / docker build, layer cache (s)", "cache.unchanged_image_resq_s",
     "cache.unchanged_image_docker_build_s"),
    ("runner peak RSS -j1 / -j4 (MiB)", "footprint.rss_j1_mib", "footprint.rss_j4_mib"),
    ("containers left after the runs", "footprint.leftover_containers_after_runs", None),
    ("SWE-bench run_instance (s) / its clean-up (s)", "swebench.run_instance_s", "swebench.cleanup_s"),
    ("SWE-bench over resq, same instance (x)", "swebench.swebench_over_resq", None),
    ("machine load, 1-min average at start", "machine.load_1min_at_start", None),
]


def cell(results: dict, first: str, second: str | None) -> str:
    values = [get(results, first)] + ([get(results, second)] if second else [])
    if values[0] is None:
        return "–"
    return " / ".join(f"{v:.3f}" if isinstance(v, float) and abs(v) < 10 else
                      f"{v:.1f}" if isinstance(v, float) else str(v) for v in values)


def main(before_file: str, after_file: str) -> None:
    before, after = json.loads(open(before_file).read()), json.loads(open(after_file).read())
    print("| figure | before | after |")
    print("| --- | --- | --- |")
    for name, first, second in ROWS:
        print(f"| {name} | {cell(before, first, second)} | {cell(after, first, second)} |")


if __name__ == "__main__":
    main(*sys.argv[1:])
