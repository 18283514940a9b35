"""resq-runner's benchmark: every figure is a ratio or a difference against a baseline measured in the same run.

    .venv/bin/python bench/run.py [--quick] [--section NAME ...]

Prints a table and writes bench/out/results.json. Sections: startup, overhead, throughput, cache, footprint,
swebench, scale (reading commands on synthetic journals of 1k-100k rows), suites (`tasks list` and `tasks lint` of
1k and 10k tasks), whole (whole `resq run` processes against a loop of bare `docker run`s, paired). Nothing here removes an image or container it did not create: "cold" figures come from a throwaway suite
whose snapshot carries a nonce, so its task image is new to the engine, and that image is removed at the end.
"""

from __future__ import annotations

import argparse
import compileall
import json
import math
import os
import platform
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

BENCH = Path(__file__).resolve().parent
PROJECT = BENCH.parent
sys.path.insert(0, str(BENCH))

import suites  # noqa: E402

VENV_BIN = Path(sys.executable).parent
PAIRS = 3  # whole section: pairs of up to 10 tasks, medians
SECTIONS = ["startup", "overhead", "throughput", "cache", "footprint", "swebench", "scale", "suites", "whole"]


# ---------------------------------------------------------------------------------------------------------------
# Helpers


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def timed_process(command: list[str], cwd: Path = PROJECT, env: dict | None = None,
                  allowed: tuple[int, ...] = (0,)) -> dict:
    """Wall seconds, CPU seconds (user+sys) and peak RSS (MiB) of one child process, which must exit with one of
    `allowed` (0: success)."""
    started = time.perf_counter()
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    stdout = proc.stdout.read()
    stderr = proc.stderr.read()
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    if proc.returncode not in allowed:
        raise SystemExit(f"bench: {' '.join(command)} exited {proc.returncode}:\n{stdout.decode()}\n{stderr.decode()}")
    return {"wall_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "rss_mib": usage.ru_maxrss / 1024,
            "stdout": stdout.decode(), "exit": proc.returncode}


class Bench:
    def __init__(self, quick: bool, workdir: Path, engine: bool = True):
        self.quick, self.work = quick, workdir
        # resq's processes run as an installed resq does: from bytecode compiled once (an editable install compiles
        # on first use unless PYTHONDONTWRITEBYTECODE says not to; then every process compiles ~45 modules again)
        self.env = {**{k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"},
                    "RESQ_CACHE": str(workdir / "cache")}
        os.environ["RESQ_CACHE"] = self.env["RESQ_CACHE"]
        compileall.compile_dir(str(PROJECT / "resq_runner"), quiet=1)
        self.results: dict = {"machine": machine(), "quick": quick}
        self.throwaway_images: list[str] = []
        if not engine:  # the scale section reads synthetic run folders only
            return
        from resq_runner import environments
        from resq_runner.sandbox import connect

        self.environments = environments
        self.client = connect()
        self.python_env = environments.ensure_environment(self.client, "python", log=print)
        self.tiny = suites.write_tiny(workdir / "suites")
        self.thirty = suites.write_thirty(workdir / "suites", copies=3 if quick else 10)
        self.host_bin = host_venv(workdir)

    def task_image(self, tf):
        from resq_runner.tasks.snapshots import materialize, snapshot_hash

        workspace = materialize(tf, self.environments.cache_dir())
        return self.environments.ensure_task_image(self.client, self.python_env, workspace, snapshot_hash(tf),
                                                   tf.task.setup, log=lambda _m: None)

    def resq(self, *args: str) -> dict:
        return timed_process([str(VENV_BIN / "resq"), *args], env=self.env)

    def drive(self, suite: Path, system: str, jobs: int, out: Path, pool: str = "-") -> dict:
        measured = timed_process([sys.executable, str(BENCH / "drive.py"), str(suite), system, str(jobs), str(out),
                                  pool], env=self.env)
        return {**json.loads(measured["stdout"].strip().splitlines()[-1]), "rss_mib": measured["rss_mib"]}

    def leftover_containers(self, run_id: str) -> int:
        return len(self.client.containers.list(all=True, filters={"label": f"resq.run={run_id}"}))


def machine() -> dict:
    import docker

    info = docker.from_env().version()
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), "?")
    return {"cpus": os.cpu_count(), "cpu": cpu, "load_1min_at_start": os.getloadavg()[0],
            "kernel": platform.release(), "python": platform.python_version(), "docker_engine": info["Version"],
            "resq_commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT, capture_output=True,
                                          text=True).stdout.strip()}


def host_venv(workdir: Path) -> Path:
    """The no-container baseline's Python: a venv with the same pytest as the python environment image."""
    venv = Path(tempfile.gettempdir()) / "resq-bench-host-venv"
    if not (venv / "bin" / "pytest").exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "pytest==8.4.2"], check=True)
    return venv / "bin"


# ---------------------------------------------------------------------------------------------------------------
# Sections


def bench_startup(b: Bench) -> dict:
    reps = 5 if b.quick else 15
    commands = {"python -c pass (baseline)": [sys.executable, "-c", "pass"],
                "resq --help": [str(VENV_BIN / "resq"), "--help"],
                "resq tasks list demo": [str(VENV_BIN / "resq"), "tasks", "list", "demo"]}
    samples: dict[str, list[dict]] = {name: [] for name in commands}
    for _ in range(reps):
        for name, command in commands.items():
            samples[name].append(timed_process(command, env=b.env))
    base = samples["python -c pass (baseline)"]
    out = {}
    for name, runs in samples.items():
        wall, cpu = median([r["wall_s"] for r in runs]), median([r["cpu_s"] for r in runs])
        out[name] = {"wall_s": wall, "cpu_s": cpu, "wall_minus_python_s": wall - median([r["wall_s"] for r in base])}
    imports = subprocess.run([str(VENV_BIN / "python"), "-X", "importtime", "-m", "resq_runner", "--help"],
                             capture_output=True, text=True, env=b.env).stderr
    heavy = ("docker", "pydantic", "git", "yaml", "requests", "rich.progress", "swebench")
    out["heavy_modules_imported_by_help"] = sorted(
        {m for line in imports.splitlines() if "|" in line for m in heavy
         if line.rsplit("|", 1)[1].strip() in (m, m + ".__init__")})
    return out


def bare_docker_eval(image: str, inputs: Path, user: str = "") -> float:
    """`user` (e.g. 1000, the test user resq runs the tests as) instead of the image's root."""
    command = (f"git apply --whitespace=nowarn /in/patch.diff && cp -r /in/hidden/. . && "
               f"{suites.TINY_COMMAND} --junitxml=/tmp/report.xml")
    started = time.perf_counter()
    subprocess.run(["docker", "run", "--rm", "--network", "none", *(["--user", user] if user else []),
                    "-v", f"{inputs}:/in:ro", image, "sh", "-c", command], check=True, capture_output=True)
    return time.perf_counter() - started


def tiny_inputs(b: Bench, folder: str):
    """The tiny task, its image, and a folder with its gold patch and hidden tests for the bare `docker run`s."""
    from resq_runner.tasks import gold_patch, hidden_files, load_suite

    (tf,) = load_suite(b.tiny)
    image = b.task_image(tf)
    inputs = b.work / folder
    for name, content in hidden_files(tf).items():
        (inputs / "hidden" / name).parent.mkdir(parents=True, exist_ok=True)
        (inputs / "hidden" / name).write_bytes(content)
    (inputs / "patch.diff").write_text(gold_patch(tf))
    return tf, image, inputs


def bench_overhead(b: Bench) -> dict:
    from resq_runner.grading import evaluate
    from resq_runner.tasks import gold_patch

    tf, image, inputs = tiny_inputs(b, "bare-inputs")
    run_id = f"bench-overhead-{secrets.token_hex(3)}"
    pool = make_pool(b, run_id)
    reps = 5 if b.quick else 15
    bare, plain, pooled, stages = [], [], [], []
    try:
        for index in range(reps):  # back to back, so each difference is taken under the same machine load
            bare.append(bare_docker_eval(image.tag, inputs))
            clock = time.perf_counter()
            evaluation = evaluate(b.client, image, tf, gold_patch(tf), run_id, b.work / "logs" / f"plain{index}")
            plain.append(time.perf_counter() - clock)
            assert evaluation.verdict.outcome.value == "passed", evaluation.verdict
            stages.append(evaluation.model_dump(exclude={"verdict"}))
            if pool is not None:
                pool.expect([image.tag])
                wait_until_settled(pool, image.tag)
                clock = time.perf_counter()
                evaluation = evaluate(b.client, image, tf, gold_patch(tf), run_id, b.work / "logs" / f"pool{index}",
                                      pool=pool)
                pooled.append(time.perf_counter() - clock)
                assert evaluation.verdict.outcome.value == "passed", evaluation.verdict
                wait_until_settled(pool, image.tag, idle=0)
    finally:
        if pool is not None:
            pool.close()
        from resq_runner.sandbox import remove_run_containers
        remove_run_containers(b.client, run_id)
    paired = [p - q for p, q in zip(plain, bare)]
    out = {"reps": reps, "bare_docker_run_s": median(bare), "resq_evaluate_s": median(plain),
           "result_parse_s": result_parse_seconds(b.work / "logs" / "plain0" / "report.xml", tf),
           "engine_calls_s": engine_call_seconds(b, image.tag, reps),
           "diff_s": median(paired), "ratio": median([p / q for p, q in zip(plain, bare)]),
           "stages_s": {key: median([s[key] for s in stages]) for key in stages[0]}}
    if pooled:
        out.update({"resq_evaluate_pool_s": median(pooled),
                    "pool_diff_s": median([p - q for p, q in zip(pooled, bare)]),
                    "pool_ratio": median([p / q for p, q in zip(pooled, bare)])})
    return out


def engine_call_seconds(b: Bench, image: str, reps: int) -> dict:
    """Each engine call of one evaluation, on a container whose command does nothing (`true`)."""
    from resq_runner.sandbox import Sandbox, remove_run_containers

    run_id, calls = f"bench-calls-{secrets.token_hex(3)}", {}
    try:
        for _ in range(reps):
            clock, marks = time.perf_counter(), {}

            def mark(name):
                nonlocal clock
                marks[name] = time.perf_counter() - clock
                clock = time.perf_counter()

            sandbox = Sandbox(b.client, image, run_id, "eval", command=["true"])
            mark("create")
            sandbox.put_files({"/resq/in/spec.json": b"{}"})
            mark("put_archive (archive in)")
            sandbox.start()
            mark("start")
            sandbox.wait(60)
            mark("wait (incl. state)")
            sandbox.read_file("/resq/in/spec.json")
            mark("get_archive (archive out)")
            sandbox.stdout()
            mark("logs")
            sandbox.remove()
            mark("remove")
            for name, seconds in marks.items():
                calls.setdefault(name, []).append(seconds)
    finally:
        remove_run_containers(b.client, run_id)
    return {name: median(values) for name, values in calls.items()}


def result_parse_seconds(report: Path, tf) -> float:
    """JUnit report to verdict on the host: part of evaluate()'s wall time, after its timed stages."""
    from resq_runner.grading import decide, parse_junit
    from resq_runner.models import HarnessStatus

    data, runs = report.read_bytes(), []
    for _ in range(20):
        clock = time.perf_counter()
        decide(HarnessStatus(applied=True, test_exit=0, report_found=True), parse_junit(data), tf.task.success)
        runs.append(time.perf_counter() - clock)
    return median(runs)


def make_pool(b: Bench, run_id: str):
    try:
        from resq_runner.sandbox_pool import ContainerPool
        from resq_runner.grading.evaluate import eval_sandbox
    except ImportError:
        return None  # the code being measured has no pool
    from resq_runner.sandbox import Limits

    return ContainerPool(lambda tag, labels: eval_sandbox(b.client, tag, run_id, Limits(), labels), size=1)


def wait_until_settled(pool, tag: str, idle: int = 1, timeout_s: float = 30) -> None:
    """A warm pool: `idle` containers ready and no removal in progress, so only the evaluation is timed."""
    deadline = time.monotonic() + timeout_s
    while (pool.idle(tag) != idle or pool.backlog()) and time.monotonic() < deadline:
        time.sleep(0.02)


def host_task(tf, scratch: Path, host_bin: Path) -> bool:
    """RES-Q's way: the same apply + hidden tests + JUnit report, in a copy of the work tree on the host."""
    from resq_runner.environments import cache_dir
    from resq_runner.tasks import gold_patch, hidden_files
    from resq_runner.tasks.snapshots import materialize

    work = scratch / f"{tf.task.id}-{secrets.token_hex(3)}"
    shutil.copytree(materialize(tf, cache_dir()), work, symlinks=True)
    try:
        subprocess.run(["git", "apply", "--whitespace=nowarn"], input=gold_patch(tf).encode(), cwd=work, check=True,
                       capture_output=True)
        for name, content in hidden_files(tf).items():
            (work / name).parent.mkdir(parents=True, exist_ok=True)
            (work / name).write_bytes(content)
        command = f"{tf.task.tests.command} --junitxml={work}/.report.xml -o junit_family=xunit1"
        env = {"PATH": f"{host_bin}:/usr/bin:/bin", "HOME": str(scratch), "PYTHONDONTWRITEBYTECODE": "1",
               "LANG": "C.UTF-8"}
        return subprocess.run(["sh", "-c", command], cwd=work, env=env, capture_output=True).returncode == 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


def host_run(b: Bench, jobs: int) -> dict:
    from resq_runner.tasks import load_suite

    tasks = load_suite(b.thirty)
    scratch = b.work / "host"
    scratch.mkdir(exist_ok=True)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        passed = list(pool.map(lambda tf: host_task(tf, scratch, b.host_bin), tasks))
    wall = time.perf_counter() - started
    return {"wall_s": wall, "tasks_per_min": 60 * len(tasks) / wall, "passed": sum(passed), "tasks": len(tasks)}


def bench_throughput(b: Bench) -> dict:
    from resq_runner.tasks import load_suite

    for tf in load_suite(b.thirty)[:1]:
        b.task_image(tf)  # warm: this section measures evaluation, not image builds
    host_run(b, 2)  # warm the file cache for the host baseline too
    out: dict = {}
    for jobs in (1, 2, 4):
        host = host_run(b, jobs)
        configs = [("pool", "-"), ("no_pool", "0")] if jobs == 2 else [("pool", "-")]
        row = {"host": host}
        for name, pool in configs:
            run = b.drive(b.thirty, "gold", jobs, b.work / "runs" / f"tp-j{jobs}-{name}", pool)
            passed = sum(1 for o in run["outcomes"].values() if o == "passed")
            row[name] = {"wall_s": run["wall_s"], "tasks_per_min": 60 * run["tasks"] / run["wall_s"],
                         "passed": passed, "tasks": run["tasks"], "rss_mib": run["rss_mib"],
                         "pool_supported": run["pool_supported"],
                         "stages_s": {k: median([t[k] for t in run["timings"]]) for k in run["timings"][0]},
                         "x_slower_than_host": host["tasks_per_min"] / (60 * run["tasks"] / run["wall_s"])}
            row[name]["leftover_containers"] = b.leftover_containers(f"tp-j{jobs}-{name}")
        out[f"j{jobs}"] = row
    return out


def bench_cache(b: Bench) -> dict:
    from resq_runner.tasks import load_suite

    nonce = secrets.token_hex(6)
    cold_suite = suites.write_thirty(b.work / "suites", name=f"cold-{nonce}", copies=3 if b.quick else 10,
                                     nonce=nonce)
    runs = b.work / "runs"
    cold = b.resq("run", str(cold_suite), "--system", "gold", "-j", "2", "--out", str(runs / f"cold-{nonce}"))
    (tf, *_rest) = load_suite(cold_suite)
    image = b.task_image(tf)
    b.throwaway_images.append(image.tag)
    finished = [b.resq("run", str(cold_suite), "--system", "gold", "-j", "2", "--out", str(runs / f"cold-{nonce}"))
                for _ in range(3)]
    new_patches = b.resq("run", str(cold_suite), "--system", "noop", "-j", "2", "--out", str(runs / f"noop-{nonce}"))
    hit = []
    for _ in range(5):
        clock = time.perf_counter()
        b.task_image(tf)
        hit.append(time.perf_counter() - clock)
    rebuild = docker_rebuild(b, tf, nonce)
    finished_s = median([r["wall_s"] for r in finished])
    return {"tasks": len(load_suite(cold_suite)), "cold_run_s": cold["wall_s"], "finished_rerun_s": finished_s,
            "cold_over_finished": cold["wall_s"] / finished_s, "new_patches_run_s": new_patches["wall_s"],
            "cold_over_new_patches": cold["wall_s"] / new_patches["wall_s"],
            "unchanged_image_resq_s": median(hit), "unchanged_image_docker_build_s": rebuild,
            "cold_image": image.tag}


def docker_rebuild(b: Bench, tf, nonce: str) -> float:
    """`docker build` of the task image's own context again (layer cache), under a throwaway tag removed after."""
    from resq_runner.environments import _build, cache_dir
    from resq_runner.tasks.snapshots import materialize

    workspace = materialize(tf, cache_dir())
    lines = [f"FROM {b.python_env.tag}", "COPY --chown=1000:1000 workspace /workspace", "WORKDIR /workspace"]
    files = {"Dockerfile": ("\n".join(lines) + "\n").encode()}
    for path in sorted(workspace.rglob("*")):
        if path.is_file() or path.is_symlink():
            files[f"workspace/{path.relative_to(workspace).as_posix()}"] = path
    tag = f"resq-bench-rebuild:{nonce}"
    _build(b.client, tag, files, print, kind="task")  # the first build may miss the cache (new labels)
    clock = time.perf_counter()
    _build(b.client, tag, files, print, kind="task")
    seconds = time.perf_counter() - clock
    b.client.images.remove(tag)
    return seconds


def bench_footprint(b: Bench, throughput: dict, cache: dict) -> dict:
    out: dict = {}
    if cache:
        task = b.client.images.get(cache["cold_image"]).attrs["Size"]
        env = b.client.images.get(b.python_env.tag).attrs["Size"]
        out.update({"task_layer_mib": (task - env) / 2**20, "tasks_sharing_it": cache["tasks"],
                    "per_task_mib": (task - env) / 2**20 / cache["tasks"]})
    if throughput:
        out["rss_j1_mib"] = throughput["j1"]["pool"]["rss_mib"]
        out["rss_j4_mib"] = throughput["j4"]["pool"]["rss_mib"]
        out["rss_j4_minus_j1_mib"] = out["rss_j4_mib"] - out["rss_j1_mib"]
        out["leftover_containers_after_runs"] = sum(
            cfg["leftover_containers"] for row in throughput.values() if isinstance(row, dict)
            for key, cfg in row.items() if key != "host")
    return out


def bench_swebench(b: Bench, overhead: dict) -> dict:
    try:
        import swebench  # noqa: F401
    except ImportError:
        return {"skipped": "swebench is not installed: pip install -e '.[swebench]'"}
    from resq_runner.tasks import gold_patch, hidden_files, load_suite

    (tf,) = load_suite(b.tiny)
    image = b.task_image(tf)
    tag = f"resq-bench-swebench:{image.id.split(':')[1][:16]}"
    from resq_runner.environments import _build

    _build(b.client, tag, {"Dockerfile": f"FROM {image.tag}\nRUN cp -a /workspace /testbed\nWORKDIR /testbed\n"
                           .encode()}, print, kind="bench")
    b.throwaway_images.append(tag)
    work = b.work / "swebench"
    work.mkdir(exist_ok=True)
    (work / "patch.diff").write_text(gold_patch(tf))
    hidden = {name: content.decode() for name, content in hidden_files(tf).items()}
    f2p = [f"tests/test_answer_hidden.py::test_answer_{i}" for i in range(3)]
    p2p = [f"tests/test_tiny.py::test_double_{i}" for i in range(6)]
    spec = {"hidden": hidden, "command": suites.TINY_COMMAND, "f2p": f2p, "p2p": p2p, "reps": 1 if b.quick else 2}
    (work / "spec.json").write_text(json.dumps(spec))
    measured = timed_process([sys.executable, str(BENCH / "swebench_side.py"), str(work), tag,
                              str(work / "patch.diff"), str(work / "spec.json")], env=b.env)
    result = json.loads(measured["stdout"].strip().splitlines()[-1])
    wall = median([r["wall_s"] for r in result["runs"]])
    resq_s = overhead.get("resq_evaluate_pool_s", overhead.get("resq_evaluate_s")) if overhead else None
    return {"swebench_version": swebench.__version__, "import_s": result["import_s"], "run_instance_s": wall,
            "cleanup_s": median(result["cleanup_s"]), "resolved": all(r["resolved"] for r in result["runs"]),
            "rss_mib": measured["rss_mib"], "resq_evaluate_s": resq_s,
            "swebench_over_resq": wall / resq_s if resq_s else None,
            "bare_docker_run_s": overhead.get("bare_docker_run_s") if overhead else None}


def scale_commands(run: Path, other: Path, history: Path, out: Path) -> dict[str, list[str]]:
    """Each reading command on one synthetic run folder (compare: against a second one of the same size)."""
    resq = str(VENV_BIN / "resq")
    return {"report": [resq, "report", str(run)], "report --json": [resq, "report", "--json", str(run)],
            "report --html": [resq, "report", "--html", str(out / "report.html"), str(run)],
            "compare": [resq, "compare", "--json", str(run), str(other)],
            "history": [resq, "history", "--json", str(history)],
            "export swebench": [resq, "export", "swebench", str(run), "--out", str(out / "swebench")],
            "export resq": [resq, "export", "resq", str(run), "--out", str(out / "resq")],
            "pecc-report": [resq, "pecc-report", "--json", str(run)]}


TWO_JOURNALS = ("compare", "history")  # they read both runs' results.jsonl, so their baseline parses both


SCALE_ROUNDS = 3  # runs of each command and of each baseline, back to back: the median wall seconds, the largest peak


def median_run(command: list[str], env: dict, allowed: tuple[int, ...] = (0,)) -> dict:
    runs = [timed_process(command, env=env, allowed=allowed) for _ in range(SCALE_ROUNDS)]
    return {**runs[0], "wall_s": median([r["wall_s"] for r in runs]), "rss_mib": max(r["rss_mib"] for r in runs)}


def bench_scale(b: Bench) -> dict:
    """rows → seconds of each reading command, against `json.loads` of every line of the same file (both whole
    processes, interpreter start included; medians of SCALE_ROUNDS), the growth exponent from 10k to 100k rows,
    and peak RSS."""
    import journals

    sizes = [1000, 10000] if b.quick else [1000, 10000, 100000]
    parse = [sys.executable, "-c",
             "import json, sys\nfor f in sys.argv[1:]:\n for line in open(f, 'rb'): json.loads(line)"]
    out: dict = {"rows": sizes, "commands": {}}
    for rows in sizes:
        folder = b.work / "scale" / str(rows)
        run = journals.write_run(folder / "runs" / "a", rows, seed=1)
        other = journals.write_run(folder / "runs" / "b", rows, seed=2)
        (folder / "out").mkdir()  # the HTML page's folder must exist
        one = median_run(parse + [str(run / "results.jsonl")], b.env)["wall_s"]
        both = median_run(parse + [str(run / "results.jsonl"), str(other / "results.jsonl")], b.env)["wall_s"]
        out.setdefault("json_parse_s", {})[str(rows)] = one
        out.setdefault("json_parse_two_s", {})[str(rows)] = both
        for name, command in scale_commands(run, other, folder / "runs", folder / "out").items():
            measured = median_run(command, b.env, allowed=(0, 1))  # compare: 1 = regressions
            baseline = both if name in TWO_JOURNALS else one  # the same journals, merely parsed
            entry = out["commands"].setdefault(name, {"seconds": {}, "over_json": {}, "rss_mib": {}, "exit": {}})
            entry["seconds"][str(rows)] = measured["wall_s"]
            entry["over_json"][str(rows)] = measured["wall_s"] / baseline
            entry["rss_mib"][str(rows)] = measured["rss_mib"]
            entry["exit"][str(rows)] = measured["exit"]
        shutil.rmtree(folder, ignore_errors=True)
    if len(sizes) > 1:
        low, high = str(sizes[-2]), str(sizes[-1])
        spread = math.log(sizes[-1] / sizes[-2])
        for entry in list(out["commands"].values()) + [{"seconds": out["json_parse_s"]}]:
            entry["growth_exponent"] = math.log(entry["seconds"][high] / entry["seconds"][low]) / spread
        out["json_growth_exponent"] = math.log(out["json_parse_s"][high] / out["json_parse_s"][low]) / spread
    return out


def bench_suites(b: Bench) -> dict:
    """tasks → seconds of the commands that read a whole suite without Docker (`tasks list`, `tasks lint`) on N
    copies of the tiny task sharing one snapshot, against parsing every task.yaml with libyaml (whole processes)."""
    sizes = [100, 1000] if b.quick else [1000, 10000]
    parse = [sys.executable, "-c", "import sys, yaml\nfrom pathlib import Path\nfor f in sorted(Path(sys.argv[1])"
             ".glob('*/task.yaml')): yaml.load(f.read_text(), Loader=yaml.CSafeLoader)"]
    out: dict = {"tasks": sizes, "commands": {}, "yaml_parse_s": {}}
    for count in sizes:
        suite = suites.write_tiny_many(b.work / "suite-scale", count, f"tasks-{count}")
        resq = str(VENV_BIN / "resq")
        timed_process([resq, "tasks", "lint", str(suite), "--task", "answer-000"], env=b.env)  # the snapshot tree
        baseline = timed_process(parse + [str(suite)], env=b.env)["wall_s"]
        out["yaml_parse_s"][str(count)] = baseline
        for name, command in {"tasks list": [resq, "tasks", "list", str(suite)],
                              "tasks lint": [resq, "tasks", "lint", str(suite)]}.items():
            measured = timed_process(command, env=b.env)
            entry = out["commands"].setdefault(name, {"seconds": {}, "over_yaml": {}, "rss_mib": {}})
            entry["seconds"][str(count)] = measured["wall_s"]
            entry["over_yaml"][str(count)] = measured["wall_s"] / baseline
            entry["rss_mib"][str(count)] = measured["rss_mib"]
        shutil.rmtree(suite, ignore_errors=True)
    low, high = str(sizes[0]), str(sizes[1])
    for entry in out["commands"].values():
        entry["growth_exponent"] = math.log(entry["seconds"][high] / entry["seconds"][low]) / math.log(10)
    return out


def bare_docker_loop(image: str, inputs: Path, count: int, jobs: int, user: str = "") -> float:
    """`count` bare `docker run --rm --network none` of the tiny task's apply + hidden tests + pytest/JUnit."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(lambda _: bare_docker_eval(image, inputs, user), range(count)))
    return time.perf_counter() - started


def resq_run_process(b: Bench, suite: Path, jobs: int, out: Path) -> dict:
    """One whole `resq run` process (start-up, imports, manifest, pool, journal) and its report's overhead."""
    measured = timed_process([str(VENV_BIN / "resq"), "run", str(suite), "--system", "gold", "-j", str(jobs),
                              "--out", str(out)], env=b.env)
    report = json.loads(timed_process([str(VENV_BIN / "resq"), "report", "--json", str(out)], env=b.env)["stdout"])
    return {"wall_s": measured["wall_s"], "passed": report["rate"]["passed"], "tasks": report["rate"]["graded"],
            "overhead_per_task_s": report["overhead"]["mean_s"]}


def bench_whole(b: Bench) -> dict:
    """resq vs the bare docker loop, paired (back to back in the same run), at -j 1 and -j 2, N tiny tasks. A pair of
    up to 10 tasks lasts a few seconds, within this machine's swings: those pairs run PAIRS times and the medians
    count (each pair's ratio is kept too)."""
    _tf, image, inputs = tiny_inputs(b, "whole-inputs")
    counts = [1, 10] if b.quick else [1, 10, 100]
    out: dict = {}
    resq_run_process(b, suites.write_tiny_many(b.work / "suites", 2, "whole-warm"), 1, b.work / "runs" / "warm")
    for count in counts:
        suite = suites.write_tiny_many(b.work / "suites", count, f"whole-{count}")
        for jobs in (1, 2) if count > 1 else (1,):
            pairs = []
            for attempt in range(PAIRS if count <= 10 else 1):
                bare = bare_docker_loop(image.tag, inputs, count, jobs)
                resq = resq_run_process(b, suite, jobs, b.work / "runs" / f"whole-{count}-j{jobs}-{attempt}")
                as_user = bare_docker_loop(image.tag, inputs, count, jobs, user="1000")  # context: tests not as root
                pairs.append({"bare_docker_s": bare, "resq": resq, "bare_docker_user_s": as_user})
            bare = median([p["bare_docker_s"] for p in pairs])
            resq = {**pairs[0]["resq"], "wall_s": median([p["resq"]["wall_s"] for p in pairs]),
                    "overhead_per_task_s": median([p["resq"]["overhead_per_task_s"] for p in pairs])}
            as_user = median([p["bare_docker_user_s"] for p in pairs])
            out[f"n{count}_j{jobs}"] = {"tasks": count, "jobs": jobs, "bare_docker_s": bare, "resq": resq,
                                        "ratio": resq["wall_s"] / bare, "diff_s": resq["wall_s"] - bare,
                                        "bare_docker_user_s": as_user, "ratio_user": resq["wall_s"] / as_user,
                                        "pairs": pairs, "pair_ratios": [p["resq"]["wall_s"] / p["bare_docker_s"]
                                                                        for p in pairs],
                                        "load_1min": os.getloadavg()[0]}
    return out


# ---------------------------------------------------------------------------------------------------------------
# Report


def print_table(results: dict) -> None:
    rows: list[tuple[str, str, str]] = []

    def add(name, value, baseline=""):
        rows.append((name, value, baseline))

    if s := results.get("startup"):
        for name in ("resq --help", "resq tasks list demo"):
            add(f"start-up: {name}", f"{s[name]['wall_s']:.3f} s wall, {s[name]['cpu_s']:.3f} s cpu",
                f"+{s[name]['wall_minus_python_s']:.3f} s over `python -c pass`")
        add("start-up: heavy modules on --help", ", ".join(s["heavy_modules_imported_by_help"]) or "none")
    if o := results.get("overhead"):
        add("eval overhead (tiny task)", f"{o['resq_evaluate_s']:.3f} s",
            f"bare docker run {o['bare_docker_run_s']:.3f} s: +{o['diff_s']:.3f} s, x{o['ratio']:.2f}")
        if "engine_calls_s" in o:
            add("engine calls of one eval (median s)", ", ".join(f"{k} {v:.3f}" for k, v in o["engine_calls_s"].items()))
        if "resq_evaluate_pool_s" in o:
            add("eval overhead, warm pool", f"{o['resq_evaluate_pool_s']:.3f} s",
                f"+{o['pool_diff_s']:.3f} s, x{o['pool_ratio']:.2f} over bare docker run")
        add("eval stages (median s)", ", ".join(f"{k} {v:.3f}" for k, v in o["stages_s"].items()),
            f"then JUnit parse + verdict on the host {o['result_parse_s'] * 1000:.2f} ms" if "result_parse_s" in o
            else "")
    if t := results.get("throughput"):
        for key, row in t.items():
            for name in ("pool", "no_pool") if isinstance(row, dict) else ():
                if name in row:
                    r = row[name]
                    add(f"throughput {key} {name}", f"{r['tasks_per_min']:.1f} tasks/min ({r['passed']}/{r['tasks']})",
                        f"host {row['host']['tasks_per_min']:.1f}/min: x{r['x_slower_than_host']:.2f} slower")
        stages = t["j1"]["pool"]["stages_s"]
        add("task stages at -j1 (median s)", ", ".join(f"{k} {v:.3f}" for k, v in stages.items()))
    if c := results.get("cache"):
        add("cache: finished rerun", f"{c['finished_rerun_s']:.2f} s",
            f"cold {c['cold_run_s']:.2f} s: x{c['cold_over_finished']:.1f} faster")
        add("cache: rerun with new patches", f"{c['new_patches_run_s']:.2f} s",
            f"x{c['cold_over_new_patches']:.2f} faster than cold")
        add("cache: unchanged task image", f"resq {c['unchanged_image_resq_s']:.3f} s",
            f"docker build (layer cache) {c['unchanged_image_docker_build_s']:.3f} s")
    if f := results.get("footprint"):
        if "task_layer_mib" in f:
            add("footprint: task image layer", f"{f['task_layer_mib']:.2f} MiB",
                f"{f['per_task_mib']:.3f} MiB per task ({f['tasks_sharing_it']} tasks share it)")
        if "rss_j4_mib" in f:
            add("footprint: runner peak RSS", f"-j4 {f['rss_j4_mib']:.0f} MiB",
                f"-j1 {f['rss_j1_mib']:.0f} MiB (+{f['rss_j4_minus_j1_mib']:.0f})")
            add("footprint: containers left after runs", str(f["leftover_containers_after_runs"]))
    if w := results.get("swebench"):
        if "skipped" in w:
            add("swebench", w["skipped"])
        else:
            add("swebench run_instance (tiny)", f"{w['run_instance_s']:.2f} s (resolved={w['resolved']})",
                f"resq {w['resq_evaluate_s']:.3f} s: x{w['swebench_over_resq']:.1f}; its clean-up {w['cleanup_s']:.2f} s")
            add("swebench import", f"{w['import_s']:.2f} s", f"its process peak RSS {w['rss_mib']:.0f} MiB")
    def sized(section: str, sizes: list[int], commands: dict, over: str) -> None:
        """One line per command: seconds and ratio at each size, growth exponent and peak RSS."""
        for name, entry in commands.items():
            cells = ", ".join(f"{n}: {entry['seconds'][str(n)]:.2f} s x{entry[over][str(n)]:.1f}" for n in sizes)
            add(f"{section}: {name}", cells, f"growth {entry.get('growth_exponent', float('nan')):.2f}, peak "
                f"{max(entry['rss_mib'].values()):.0f} MiB")

    if sc := results.get("scale"):
        sized("scale", sc["rows"], sc["commands"], "over_json")
        add("scale: json.loads of every line", ", ".join(f"{rows}: {sc['json_parse_s'][str(rows)]:.2f} s"
                                                         for rows in sc["rows"]),
            f"growth {sc.get('json_growth_exponent', float('nan')):.2f}; of both journals (compare, history): "
            + ", ".join(f"{sc['json_parse_two_s'][str(rows)]:.2f} s" for rows in sc["rows"]))
    if su := results.get("suites"):
        sized("suites", su["tasks"], su["commands"], "over_yaml")
        add("suites: parse every task.yaml", ", ".join(f"{n}: {su['yaml_parse_s'][str(n)]:.2f} s" for n in su["tasks"]))
    if wh := results.get("whole"):
        for key, row in wh.items():
            if isinstance(row, dict) and "resq" in row:
                add(f"whole: {row['tasks']} task(s) -j{row['jobs']}",
                    f"resq run {row['resq']['wall_s']:.2f} s ({row['resq']['passed']}/{row['resq']['tasks']})",
                    f"bare docker {row['bare_docker_s']:.2f} s: x{row['ratio']:.2f}, +{row['diff_s']:.2f} s; "
                    f"report overhead {row['resq']['overhead_per_task_s']:.3f} s/task; bare docker as uid 1000 "
                    f"{row['bare_docker_user_s']:.2f} s: x{row['ratio_user']:.2f}"
                    + (f"; pairs x{', x'.join(f'{r:.2f}' for r in row['pair_ratios'])}"
                       if len(row.get("pair_ratios", [])) > 1 else ""))
    loads = [f"{name} {section['load_1min_at_end']:.1f}" for name, section in results.items()
             if isinstance(section, dict) and "load_1min_at_end" in section]
    add("machine load (1-min average)", f"start {results['machine']['load_1min_at_start']:.1f}", ", ".join(loads))
    width = max(len(r[0]) for r in rows)
    value_width = max(len(r[1]) for r in rows)
    for name, value, baseline in rows:
        print(f"{name:<{width}}  {value:<{value_width}}  {baseline}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions and a 9-task suite")
    parser.add_argument("--section", action="append", choices=SECTIONS, help="only these sections (repeatable)")
    parser.add_argument("--out", type=Path, default=BENCH / "out" / "results.json")
    args = parser.parse_args()
    wanted = args.section or SECTIONS
    workdir = Path(tempfile.mkdtemp(prefix="resq-bench-"))
    bench = Bench(args.quick, workdir, engine=not set(wanted) <= {"scale", "suites"})
    results = bench.results
    try:
        for name in wanted:
            print(f"bench: {name} ...", file=sys.stderr, flush=True)
            if name == "footprint":
                results[name] = bench_footprint(bench, results.get("throughput", {}), results.get("cache", {}))
            elif name == "swebench":
                results[name] = bench_swebench(bench, results.get("overhead", {}))
            else:
                results[name] = globals()[f"bench_{name}"](bench)
            results[name]["load_1min_at_end"] = os.getloadavg()[0]  # other users of the machine add noise
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps(results, indent=2))  # a later section's failure keeps these
    finally:
        for tag in bench.throwaway_images:  # only ever set when the engine was used
            try:
                bench.client.images.remove(tag)
            except Exception as exc:  # noqa: BLE001  (an image still in use stays; say so)
                print(f"bench: could not remove throwaway image {tag}: {exc}", file=sys.stderr)
        shutil.rmtree(workdir, ignore_errors=True)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=2))
    print_table(results)
    print(f"\nwritten: {args.out}")


if __name__ == "__main__":
    main()
