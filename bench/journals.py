"""Synthetic run folders for the scale section: a manifest and a results.jsonl of N rows, written fast.

Rows are real `Result` rows (one is validated through the model before writing), with the shapes a large nightly
run has: ~5 % of tasks retried after an infra_error, a mix of outcomes, per-test statuses, timings and usage.
No log files are written (reports look for them and carry on without).

    python bench/journals.py OUT_DIR ROWS [--seed N]
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from resq_runner.models import SCHEMA_VERSION, Result, RunManifest, SystemSpec

OUTCOMES = ["passed"] * 5 + ["failed"] * 3 + ["patch_failed", "timed_out"]


def row(run_id: str, task_id: str, attempt: int, outcome: str, rng: random.Random) -> dict:
    tests = {f"tests/test_{task_id}.py::test_{i}": "passed" if outcome == "passed" or i else "failed"
             for i in range(rng.randint(2, 6))}
    system_s, tests_s = rng.uniform(0, 20), rng.uniform(0.1, 5)
    return {"schema_version": SCHEMA_VERSION, "run_id": run_id, "task_id": task_id, "task_hash": f"h{task_id}",
            "system": {"name": "bench"}, "sample": 0, "attempt": attempt, "outcome": outcome,
            "reason": "" if outcome == "passed" else "hidden test failed", "tests": tests,
            "usage": {"prompt_tokens": rng.randint(0, 9000), "completion_tokens": rng.randint(0, 900), "calls": 3,
                      "cost_usd": rng.uniform(0, 0.02)},
            "timings": {"image": 0.0, "system": system_s, "eval_start": 0.2, "eval_run": tests_s + 0.1,
                        "eval_apply": 0.05, "eval_tests": tests_s, "eval_collect": 0.01, "teardown": 0.01},
            "image_digest": "sha256:" + "0" * 64, "cache_key": f"k{task_id}",
            "started_at": "2026-11-20T02:00:00Z", "finished_at": "2026-11-20T02:00:05Z",
            "log_dir": f"logs/{task_id}"}


def write_run(out: Path, rows: int, seed: int = 0, suite: str = "bench-scale") -> Path:
    """A run folder with `rows` rows over ~rows/1.05 tasks; the same seed gives the same folder."""
    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    run_id = out.name
    task_ids, lines = [], []
    index = 0
    while len(lines) < rows:
        task_id = f"euler-{index:06d}"  # a PECC-style id, so pecc-report has a subset to read
        index += 1
        task_ids.append(task_id)
        if rng.random() < 0.05 and len(lines) < rows - 1:
            lines.append(row(run_id, task_id, 1, "infra_error", rng))
            lines.append(row(run_id, task_id, 2, rng.choice(OUTCOMES), rng))
        else:
            lines.append(row(run_id, task_id, 1, rng.choice(OUTCOMES), rng))
    Result.model_validate(lines[0])  # the generator writes what the model accepts
    with open(out / "results.jsonl", "w") as handle:
        for line in lines:
            handle.write(json.dumps(line, separators=(",", ":")) + "\n")
    manifest = RunManifest(run_id=run_id, suite=suite, suite_hash="h-bench", system=SystemSpec(name="bench"),
                           resq_version="0.1.0", grader_version="2", started_at="2026-11-20T02:00:00Z",
                           task_ids=task_ids)
    (out / "run.json").write_text(manifest.model_dump_json(indent=2))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out", type=Path)
    parser.add_argument("rows", type=int)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(write_run(args.out, args.rows, args.seed))


if __name__ == "__main__":
    main()
