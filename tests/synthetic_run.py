"""A synthetic run folder of any size, written as `resq run` leaves one (run.json, results.jsonl of Result rows,
logs/<task>/ with a patch and a test output, and a transcript for some tasks), fast enough for 10,000 tasks."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

from reports_helpers import T0
from resq_runner.models import Outcome, Result, RunManifest, SystemSpec, TestStatus, Timings, Usage
from resq_runner.results import RunPaths, write_manifest

CYCLE = (Outcome.passed, Outcome.failed, Outcome.passed, Outcome.patch_failed, Outcome.passed, Outcome.timed_out,
         Outcome.failed, Outcome.system_error)


def synthetic_run(root: Path, tasks: int, transcript_every: int = 50) -> Path:
    """Task i is `task-{i:05d}` with outcome CYCLE[i % 8]; every `transcript_every`-th task has a transcript.json."""
    paths = RunPaths(root)
    spec = SystemSpec(name="llm")
    ids = [f"task-{i:05d}" for i in range(tasks)]
    write_manifest(paths, RunManifest(run_id=root.name, suite="synthetic", suite_hash="s", system=spec,
                                      resq_version="0.1.0", grader_version="2", started_at=T0, task_ids=ids))
    lines = []
    for index, task_id in enumerate(ids):
        outcome = CYCLE[index % len(CYCLE)]
        logs = paths.task_logs(task_id)
        logs.mkdir(parents=True)
        (logs / "patch.diff").write_text(f"--- a/lib.py\n+++ b/lib.py\n@@ -1 +1 @@\n-VALUE = 1\n+VALUE = {index}\n")
        (logs / "test_output.txt").write_text(f"{task_id}: {outcome.value}\n")
        if index % transcript_every == 0:
            (logs / "transcript.json").write_text(json.dumps({
                "format": "resq-llm-transcript/1", "task_id": task_id, "model": "scripted",
                "messages": [{"role": "user", "content": f"Fix {task_id}. " + "context " * 400},
                             {"role": "assistant", "content": f"Done with {task_id}."}]}))
        status = TestStatus.passed if outcome is Outcome.passed else TestStatus.failed
        lines.append(Result(
            run_id=root.name, task_id=task_id, task_hash=f"h{index}", system=spec, outcome=outcome,
            reason="" if outcome is Outcome.passed else f"{outcome.value} in {task_id}",
            tests={f"tests/test_{index}.py::test_{k}": (status if k == 0 else TestStatus.passed) for k in range(3)},
            usage=Usage(prompt_tokens=100 + index, completion_tokens=20, calls=1),
            timings=Timings(system=1.0, eval_run=0.5), started_at=T0 + timedelta(seconds=index),
            finished_at=T0 + timedelta(seconds=index + 1), log_dir=str(logs)).model_dump_json())
    paths.results.write_text("\n".join(lines) + "\n")
    return root
