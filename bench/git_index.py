"""What an eval container's `git status` costs with the task image's index current or stale (same run, same files).

    .venv/bin/python bench/git_index.py [--files 3000] [--rounds 5]

Builds a task image of a synthetic repository (FILES files of ~4 kB in 100 folders) the way resq builds task images
(its index refreshed in the image), and a second image from it whose index carries the host's stat data again (how
task images without setup commands were built before): each round runs `git status` as the harness does in a fresh
container of each, and prints the medians and their ratio. Both images are removed at the end.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

STATUS = "git --no-optional-locks status --porcelain -z --no-renames --untracked-files=all --ignored=traditional"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--files", type=int, default=3000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from resq_runner import environments
    from resq_runner.sandbox import connect
    from resq_runner.tasks import load_suite
    from resq_runner.tasks.snapshots import materialize, snapshot_hash

    client = connect()
    env = environments.ensure_environment(client, "python", log=print)
    with tempfile.TemporaryDirectory() as tmp:
        suite = Path(tmp) / "suite"
        repo = suite / "_snapshots" / "repo"
        for n in range(args.files):
            path = repo / f"pkg{n % 100}" / f"m{n}.py"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(f"# {secrets.token_hex(8)}\n" + "VALUE = 1\n" * 400)
        (suite / "t" / "hidden").mkdir(parents=True)
        (suite / "t" / "hidden" / "test_x.py").write_text("def test_x():\n    pass\n")
        (suite / "t" / "task.yaml").write_text("id: t\ninstruction: x\nsnapshot: {kind: dir, path: ../_snapshots/repo}\n"
                                               "tests: {command: python -m pytest -q}\n")
        (tf,) = load_suite(suite)
        workspace = materialize(tf, Path(tmp) / "cache")
        current = environments.ensure_task_image(client, env, workspace, snapshot_hash(tf), tf.task.setup,
                                                 log=lambda _m: None)
        stale = f"resq-bench-stale-index:{secrets.token_hex(4)}"
        index = (workspace / ".git" / "index").read_bytes()  # the host's stat data, as a build without refresh had
        with tempfile.TemporaryDirectory() as context:
            (Path(context) / "index").write_bytes(index)
            (Path(context) / "Dockerfile").write_text(f"FROM {current.tag}\nCOPY --chown=1000:1000 index "
                                                      "/workspace/.git/index\n")
            subprocess.run(["docker", "build", "-q", "-t", stale, context], check=True, capture_output=True)
        try:
            times: dict[str, list[float]] = {"current": [], "stale": []}
            for _ in range(args.rounds):
                for name, tag in (("current", current.tag), ("stale", stale)):
                    script = f"a=$(date +%s%N); {STATUS} >/dev/null; b=$(date +%s%N); echo $(( (b - a) / 1000 ))"
                    out = client.containers.run(tag, ["sh", "-c", script], user="1000", remove=True,
                                                network_disabled=True)
                    times[name].append(int(out.decode().split()[-1]) / 1e6)
            current_s, stale_s = statistics.median(times["current"]), statistics.median(times["stale"])
            print(f"{args.files} files: git status in a fresh container, index current {current_s:.3f} s, "
                  f"stale {stale_s:.3f} s ({stale_s / current_s:.1f}x)")
        finally:
            client.images.remove(stale, force=True)
            client.images.remove(current.tag, force=True)


if __name__ == "__main__":
    main()
