"""N benchmark rows sharing one environment spec cost one environment build.

    .venv/bin/python bench/spec_sharing.py [--rows N]

Imports N SWE-bench-format rows (the python-slugify instance of tests/data/swebench_real, N instance ids, one spec:
text-unidecode) and, as the baseline in the same run, the same instance as a single row; builds the environments of
each suite cold (a nonce in a requirement's environment marker makes each spec new) and prints how many environment
images each built and the ratio of their build times. Images made here are removed at the end.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[1]
DATA = PROJECT / "tests" / "data" / "swebench_real"
GIT_ENV = {"GIT_AUTHOR_NAME": "b", "GIT_AUTHOR_EMAIL": "b@b", "GIT_COMMITTER_NAME": "b", "GIT_COMMITTER_EMAIL": "b@b",
           "PATH": "/usr/bin:/bin"}


def resq(*args: str) -> tuple[float, str]:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "resq_runner", *args], capture_output=True, text=True,
                          env={**os.environ, "COLUMNS": "240"}, cwd=PROJECT)
    if proc.returncode != 0:
        raise SystemExit(f"bench: resq {' '.join(args)} exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}")
    return time.perf_counter() - started, proc.stdout + proc.stderr


def mirror(root: Path, meta: dict) -> str:
    from resq_runner.tasks.snapshots import _unpack, fetch_sdist

    repo = root / "mirrors" / meta["repo"].replace("/", "__")
    _unpack(fetch_sdist(**meta["sdist"]), repo)
    for args in (["init", "-q"], ["add", "-A", "--force"], ["commit", "-qm", "base"]):
        subprocess.run(["git", "-C", str(repo), *args], check=True, env=GIT_ENV, capture_output=True)
    return subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], check=True, capture_output=True,
                          text=True).stdout.strip()


def suite(root: Path, name: str, meta: dict, base: str, count: int) -> Path:
    rows = [{"instance_id": f"{name}-{n}", "repo": meta["repo"], "base_commit": base,
             "problem_statement": meta["problem_statement"], "patch": (DATA / "slugify" / "gold.patch").read_text(),
             "test_patch": (DATA / "slugify" / "test.patch").read_text(), "FAIL_TO_PASS": meta["FAIL_TO_PASS"],
             "PASS_TO_PASS": meta["PASS_TO_PASS"], "install_config": meta["spec"]} for n in range(count)]
    (root / f"{name}.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    return root / name


def measure(root: Path, name: str, meta: dict, base: str, count: int) -> dict:
    """Import `count` rows sharing one spec and build their environments. A nonce in an always-true environment
    marker of one requirement makes the spec new to the engine and to Docker's layer cache (a cold build)."""
    nonce = secrets.token_hex(4)
    spec = {**meta["spec"], "pip_packages": meta["spec"]["pip_packages"] +
            [f'pytest==8.4.2 ; sys_platform != "bench-{nonce}"']}
    target = suite(root, name, {**meta, "spec": spec}, base, count)
    resq("import", "swebench", str(root / f"{name}.jsonl"), "--repos", str(root / "mirrors"), "--out", str(target))
    seconds, output = resq("env", "build", "--suite", str(target))
    tags = sorted(set(re.findall(r"building (resq-env-spec:\S+)", output)))
    return {"rows": count, "environment_builds": len(tags), "build_s": seconds, "tags": tags}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=20)
    args = parser.parse_args()
    sys.path.insert(0, str(PROJECT))
    import docker

    meta = yaml.safe_load((DATA / "instances.yaml").read_text())["slugify"]
    client = docker.from_env()
    with tempfile.TemporaryDirectory(prefix="resq-bench-spec-") as tmp:
        root = Path(tmp)
        base = mirror(root, meta)
        one = measure(root, "one", meta, base, 1)
        many = measure(root, "many", meta, base, args.rows)
        for tag in one["tags"] + many["tags"]:
            client.images.remove(tag, noprune=False)
    result = {"rows": args.rows, "environment_builds": many["environment_builds"],
              "baseline_environment_builds": one["environment_builds"],
              "build_time_ratio_vs_one_row": many["build_s"] / one["build_s"]}
    print(f"{args.rows} rows sharing one spec: {many['environment_builds']} environment build(s) "
          f"(1 row: {one['environment_builds']}); `resq env build --suite` took {many['build_s']:.1f} s vs "
          f"{one['build_s']:.1f} s for 1 row (ratio {result['build_time_ratio_vs_one_row']:.2f})")
    out = Path(__file__).resolve().parent / "out"
    out.mkdir(exist_ok=True)
    (out / "spec_sharing.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
