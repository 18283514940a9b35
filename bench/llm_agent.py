"""The built-in `llm` agent measured offline: what its retrieval shows, and how it copes with imperfect replies.

    .venv/bin/python bench/llm_agent.py                      # both tables, tasks/py and tasks/demo, 4k/8k/16k
    .venv/bin/python bench/llm_agent.py --section retrieval --suite tasks/py --budget 8000
    .venv/bin/python bench/llm_agent.py --section robustness

retrieval: for each task, the snapshot's work tree (as the workspace shows it: `git ls-files`, UTF-8 files up to
256 KiB) goes through `build_context` with the instruction only. The gold patch is read afterwards, to score what
was shown: file recall (gold files that exist before the edit and had at least one chunk shown), tasks whose gold
files were all shown, and gold hunks whose old lines overlap a shown chunk. Files the gold patch creates cannot be
shown and are left out of both counts (their number is printed).

robustness: every scripted imperfect reply of tests/llm_replies.py goes through the agent's real loop (parse, apply,
syntax gate, retry turns, look-ups) with a scripted server on 127.0.0.1 and a real workspace container of the demo
task fix-allocate-remainder (Docker needed): case, recovered?, outcome.
The same cases run as tests in tests/test_systems_llm_replies.py.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(PROJECT / "tests"))

from resq_runner.environments import cache_dir  # noqa: E402
from resq_runner.grading.retrieval import patch_files  # noqa: E402
from resq_runner.systems.llm.retrieval import build_context  # noqa: E402
from resq_runner.tasks import gold_patch, load_suite  # noqa: E402
from resq_runner.tasks.snapshots import materialize  # noqa: E402

_HUNK = re.compile(r"^@@ -(\d+)(?:,(\d+))? \+\d+(?:,\d+)? @@")


def workspace_files(root: Path) -> dict[str, str]:
    names = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=root,
                           capture_output=True, check=True).stdout.decode().split("\0")
    files = {}
    for name in filter(None, names):
        path = root / name
        if path.is_file() and not path.is_symlink() and path.stat().st_size <= 256 * 1024:
            try:
                files[name] = path.read_text(encoding="utf-8")
            except UnicodeDecodeError:
                continue
    return files


def gold_hunks(patch: str) -> list[tuple[str, int, int]]:
    """(path, first old line, last old line) of each hunk of an existing file."""
    hunks, path = [], None
    for line in patch.splitlines():
        if line.startswith("--- "):
            path = line[6:] if line.startswith("--- a/") else None
        match = _HUNK.match(line)
        if match and path:
            start, count = int(match.group(1)), int(match.group(2) or 1)
            hunks.append((path, start, start + max(count, 1) - 1))
    return hunks


def retrieval_row(suite: str, budget: int) -> dict:
    tasks = [tf for tf in load_suite(suite) if tf.task.kind != "challenge"]
    recalls, complete, hunks_shown, hunks_total, created = [], 0, 0, 0, 0
    misses = []
    for tf in tasks:
        files = workspace_files(materialize(tf, cache_dir()))
        context = build_context(tf.task.instruction, files, budget)
        patch = gold_patch(tf)
        gold = [p for p in patch_files(patch) if p in files]
        created += len(set(patch_files(patch)) - set(files))
        shown = {s.path for s in context.shown}
        found = [p for p in gold if p in shown]
        recalls.append(len(found) / len(gold) if gold else 1.0)
        complete += len(found) == len(gold)
        if len(found) < len(gold):
            misses.append(f"{tf.task.id}: {', '.join(sorted(set(gold) - shown))}")
        for path, first, last in gold_hunks(patch):
            hunks_total += 1
            hunks_shown += any(s.path == path and s.start <= last and s.end >= first for s in context.shown)
    return {"suite": suite, "budget": budget, "tasks": len(tasks), "recall": sum(recalls) / len(recalls),
            "complete": complete / len(tasks), "hunks": f"{hunks_shown}/{hunks_total}", "created": created,
            "misses": misses}


def print_retrieval(suites: list[str], budgets: list[int], verbose: bool) -> None:
    print("| suite | budget | tasks | mean file recall | all gold files shown | gold hunks shown "
          "| new files (not counted) |")
    print("|---|---|---|---|---|---|---|")
    rows = [retrieval_row(suite, budget) for suite in suites for budget in budgets]
    for row in rows:
        print(f"| {row['suite']} | {row['budget']} | {row['tasks']} | {row['recall']:.3f} | {row['complete']:.0%} | "
              f"{row['hunks']} | {row['created']} |")
    if verbose:
        for row in rows:
            for miss in row["misses"]:
                print(f"  missed at {row['budget']} in {row['suite']}: {miss}")


def print_robustness() -> None:
    from llm_replies import CASES, demo_workspace, run_cases
    from resq_runner import environments
    from resq_runner.sandbox import connect

    client = connect()
    workspace = demo_workspace(client, environments.ensure_environment(client, "python", log=lambda _m: None))
    try:
        results = run_cases(CASES, workspace)
    finally:
        workspace.close()
    print("| case | recovered? | outcome | turns | stopped |")
    print("|---|---|---|---|---|")
    for case in CASES:
        result = results[case.name]
        print(f"| {case.name} | {'yes' if result.recovered else 'no'} | {result.outcome} | "
              f"{len(result.transcript.calls)} | {result.transcript.stopped} |")
    recovered = sum(r.recovered for r in results.values())
    broken = sum("DOES NOT PARSE" in r.outcome for r in results.values())
    print(f"\n{recovered}/{len(CASES)} recovered; {broken} submitted code that does not parse")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--section", action="append", choices=["retrieval", "robustness"])
    parser.add_argument("--suite", action="append")
    parser.add_argument("--budget", action="append", type=int)
    parser.add_argument("-v", "--verbose", action="store_true", help="name the gold files each budget missed")
    args = parser.parse_args()
    sections = args.section or ["retrieval", "robustness"]
    if "retrieval" in sections:
        print_retrieval(args.suite or ["tasks/py", "tasks/demo"], args.budget or [4000, 8000, 16000], args.verbose)
    if "robustness" in sections:
        print()
        print_robustness()


if __name__ == "__main__":
    main()
