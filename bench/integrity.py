"""What each grading defence costs per evaluation, against the same pytest run without it, in the same container.

    .venv/bin/python bench/integrity.py [--rounds N]

Runs one container of the `python` environment image (built if missing) with the adversarial suite's textstats
snapshot, and times there, as the harness does them: the environment probe, writing the plugin and .pth, the
witness's watches (set up and drained), and the test run with the environment-only flags and variables against the
same run with the old ones (interleaved, round by round). Canary planting is timed on the host. Medians of N
rounds; prints a table and writes bench/out/integrity.json.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
PROJECT = BENCH.parent
sys.path.insert(0, str(PROJECT))

INSIDE = r'''
import importlib.util, json, os, shutil, statistics, subprocess, sys, time
spec = importlib.util.spec_from_file_location("grade", "/h/grade.py")
grade = importlib.util.module_from_spec(spec); spec.loader.exec_module(grade)
rounds = int(sys.argv[1])
shutil.copytree("/snap", "/workspace", dirs_exist_ok=True)
os.makedirs("/workspace/tests", exist_ok=True)
shutil.copy("/hidden/tests/test_hidden.py", "/workspace/tests/test_hidden.py")
subprocess.run("chown -R 1000:1000 /workspace && cd /workspace && git init -q && git add -A && "
               "git -c user.name=b -c user.email=b@b commit -qm s", shell=True, check=True)
os.chmod("/resq", 0o755) if os.path.isdir("/resq") else os.makedirs("/resq", 0o755)

def timed(fn):
    values = []
    for _ in range(rounds):
        start = time.perf_counter(); fn(); values.append(time.perf_counter() - start)
    return statistics.median(values)

def timed_once(fn):
    start = time.perf_counter(); fn(); return time.perf_counter() - start

def pytest_run(env, flags):
    def run():
        with open("/tmp/out.txt", "wb") as out:
            grade.run_as(1000, "python -m pytest -p no:cacheprovider -q tests --junitxml=/tmp/r.xml " + flags,
                         "/workspace", out, {"timeout_s": 60, "output_limit": 1 << 20}, env=env)
    return run

probe = {}
def do_probe():
    probe["site"] = grade.site_packages(1000, "")
    probe["plugins"] = [n for folder in probe["site"] for n in grade.pytest11_names(folder)]
def do_files():
    grade.write_keep_plugin({"salt": "s", "keep": []}, probe["site"], "/workspace")
def do_witness():
    witness = grade.Witness("/workspace", grade.FRAMEWORK_FILE, untrusted=set())
    witness.drain(); witness.verdict()

figures = {"probe_s": timed(do_probe), "plugin_and_pth_s": timed(do_files), "witness_s": timed(do_witness)}
keep = grade.write_keep_plugin({"salt": "s", "keep": []}, probe["site"], "/workspace")
env = {"PYTHONSAFEPATH": "1", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
before, after = pytest_run({}, ""), pytest_run(env, "-p " + keep)
pairs = [(timed_once(before), timed_once(after)) for _ in range(rounds)]  # interleaved: the load drifts
figures["pytest_before_s"] = statistics.median(b for b, _ in pairs)
figures["pytest_after_s"] = statistics.median(a for _, a in pairs)
print(json.dumps(figures))
'''


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()
    from resq_runner import environments
    from resq_runner.grading.canaries import plant
    from resq_runner.sandbox import connect

    image = environments.ensure_environment(connect(), "python", log=lambda _m: None)
    suite = PROJECT / "tasks" / "adversarial"
    hidden = suite / "monkeypatch-runtest" / "hidden"
    proc = subprocess.run(["docker", "run", "--rm", "--network", "none", "--user", "0",
                           "-v", f"{PROJECT / 'harness'}:/h:ro", "-v", f"{suite / '_snapshots' / 'textstats'}:/snap:ro",
                           "-v", f"{hidden}:/hidden:ro", image.tag, "python3", "-I", "-c", INSIDE, str(args.rounds)],
                          capture_output=True, text=True, check=True)
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    source = {"tests/test_hidden.py": (hidden / "tests" / "test_hidden.py").read_bytes()}
    start = time.perf_counter()
    for _ in range(100):
        plant(source, "python -m pytest -q tests", "pytest").planted(source)
    figures["canaries_host_s"] = (time.perf_counter() - start) / 100
    figures["fixed_per_evaluation_s"] = (figures["probe_s"] + figures["plugin_and_pth_s"] + figures["witness_s"]
                                         + figures["canaries_host_s"])
    figures["pytest_after_over_before"] = figures["pytest_after_s"] / figures["pytest_before_s"]
    for name, value in figures.items():
        print(f"{name:28} {value * 1000:9.1f} ms" if name.endswith("_s") else f"{name:28} {value:9.3f}")
    out = BENCH / "out"
    out.mkdir(exist_ok=True)
    (out / "integrity.json").write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
