"""The tiny task evaluated by the SWE-bench 5.0.2 harness, offline, from a local image and a local dataset row.

Run by bench/run.py in a subprocess (the harness imports ~200 MB of libraries and writes logs/ under its working
directory). Usage: python bench/swebench_side.py WORKDIR IMAGE PATCH_FILE HIDDEN_JSON
Prints one JSON line: import time, wall time of run_instance, the share spent in its container clean-up, the verdict.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

START, END = ">>>>> Start Test Output", ">>>>> End Test Output"


def eval_script(hidden: dict[str, str], command: str) -> str:
    lines = ["#!/bin/bash", "set -uxo pipefail", "cd /testbed"]
    for name, content in hidden.items():
        lines += [f"mkdir -p $(dirname {name})", f"cat > {name} <<'RESQ_HIDDEN_EOF'", content.rstrip("\n"),
                  "RESQ_HIDDEN_EOF"]
    lines += [f"echo '{START}'", f"{command} -rA", f"echo '{END}'"]
    return "\n".join(lines) + "\n"


def dataset_row(image: str, hidden: dict[str, str], command: str, f2p: list[str], p2p: list[str]) -> dict:
    return {
        "instance_id": "bench__tiny-1", "repo": "bench/tiny", "version": "0", "base_commit": "", "patch": "",
        "test_patch": "", "problem_statement": "answer() must return 42.", "hints_text": "", "created_at": "",
        "environment_setup_commit": "", "FAIL_TO_PASS": json.dumps(f2p), "PASS_TO_PASS": json.dumps(p2p),
        "image": image, "eval_script": eval_script(hidden, command), "log_parser": "parse_log_pytest",
        "eval_type": "pass_and_fail",
    }


def main(workdir: str, image: str, patch_file: str, spec_json: str) -> None:
    import os

    os.chdir(workdir)
    spec = json.loads(Path(spec_json).read_text())
    clock = time.perf_counter()
    import docker
    from swebench.harness import run_evaluation
    from swebench.harness.utils import load_swebench_dataset, make_test_spec
    imported = time.perf_counter() - clock

    dataset = Path(workdir) / "dataset.jsonl"
    dataset.write_text(json.dumps(dataset_row(image, spec["hidden"], spec["command"], spec["f2p"], spec["p2p"])) + "\n")
    (row,) = load_swebench_dataset(str(dataset), "test")
    test_spec = make_test_spec(row)
    prediction = {"instance_id": row["instance_id"], "model_name_or_path": "gold",
                  "model_patch": Path(patch_file).read_text()}

    cleanup_seconds = []
    original_cleanup = run_evaluation.cleanup_container

    def timed_cleanup(*args, **kwargs):
        started = time.perf_counter()
        try:
            return original_cleanup(*args, **kwargs)
        finally:
            cleanup_seconds.append(time.perf_counter() - started)

    run_evaluation.cleanup_container = timed_cleanup
    client = docker.from_env()
    runs = []
    for index in range(int(spec.get("reps", 1))):
        clock = time.perf_counter()
        outcome = run_evaluation.run_instance(test_spec, prediction, client, f"bench-{os.getpid()}-{index}",
                                              timeout=120)
        runs.append({"wall_s": time.perf_counter() - clock,
                     "resolved": bool(outcome and outcome[1][row["instance_id"]]["resolved"])})
    print(json.dumps({"import_s": imported, "runs": runs, "cleanup_s": cleanup_seconds}))


if __name__ == "__main__":
    main(*sys.argv[1:])
