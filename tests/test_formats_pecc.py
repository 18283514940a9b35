"""PECC import → challenge tasks graded in real containers: correct programs pass, wrong ones fail with the
right status; pass@k and subset accuracy from the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import resq
from formats_helpers import graded, rows, unique_run
from resq_runner.grading.challenge import blocked, judge, outputs_match
from resq_runner.models import Challenge, ChallengeRun
from resq_runner.reports.pecc import pass_at_k_sequential, pass_at_k_unbiased, pecc_report

PECC = Path(__file__).parent / "data" / "pecc"  # a sample in PECC's published layout (MIT, see its LICENSE)

PROGRAMS = {
    # known-correct solutions
    "euler-1": "print(sum(n for n in range(1000) if n % 3 == 0 or n % 5 == 0))\n",
    "euler-2-story": (
        "a, b, total = 1, 2, 0\n"
        "while a <= 4_000_000:\n"
        "    total += a if a % 2 == 0 else 0\n"
        "    a, b = b, a + b\n"
        "print(total)\n"),
    "aoc-2015-01-p1": "text = open('input.txt').read()\nprint(text.count('(') - text.count(')'))\n",
    "aoc-2015-01-p2": (
        "import sys\n"
        "floor = 0\n"
        "for position, char in enumerate(sys.stdin.read(), start=1):\n"
        "    floor += 1 if char == '(' else -1 if char == ')' else 0\n"
        "    if floor == -1:\n"
        "        print(position)\n"
        "        break\n"),
    # correct answer with noise on stderr and blank lines around: stderr is allowed, numeric compare
    "euler-6": "import sys\nprint('working...', file=sys.stderr)\nprint()\nprint(25164150)\nprint()\n",
    # right only where it runs as intended: not root, no network, and the expected answer nowhere to read
    "euler-8": (
        "import os, socket, subprocess\n"
        "try:\n"
        "    socket.create_connection(('1.1.1.1', 53), timeout=3)\n"
        "    network = True\n"
        "except OSError:\n"
        "    network = False\n"
        "answer = 23514624 * 1000\n"
        "leak = subprocess.run(['grep', '-rqs', str(answer), '/resq', '/home', '/tmp', '.']).returncode == 0\n"
        "print(answer if os.getuid() != 0 and not network and not leak else 0)\n"),
    # wrong ones
    "aoc-2015-01-p1-neutral": "print(0)\n",
    "aoc-2015-01-p2-neutral": "print(1795)\n",  # right, but its part 1 failed: never shown
    "euler-3": "raise RuntimeError('no factor found')\n",
    "euler-4": "def broken(:\n    pass\n",
    "euler-5": "while True:\n    pass\n",
}
EXPECTED = {
    "euler-1": ("passed", "correct"), "euler-2-story": ("passed", "correct"), "aoc-2015-01-p1": ("passed", "correct"),
    "aoc-2015-01-p2": ("passed", "correct"), "euler-6": ("passed", "correct"), "euler-8": ("passed", "correct"),
    "aoc-2015-01-p1-neutral": ("failed", "wrong_output"), "aoc-2015-01-p2-neutral": ("failed", "blocked"),
    "euler-3": ("failed", "runtime_error"), "euler-4": ("failed", "syntax_error"), "euler-5": ("timed_out", "timeout"),
    "euler-7": ("system_error", None),  # no recorded program for it
}


@pytest.fixture(scope="module")
def pecc_suite(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("pecc") / "pecc"
    resq("import", "pecc", str(PECC), "--out", str(out), "--timeout", "8", check=True)
    return out


def test_import_makes_both_styles_and_parts(pecc_suite):
    tasks = {p.name for p in pecc_suite.iterdir() if (p / "task.yaml").exists()}
    assert len(tasks) == 66 * 2 + 6 * 4
    assert {"euler-1", "euler-1-story", "aoc-2015-06-p2", "aoc-2015-06-p2-neutral"} <= tasks
    part2 = (pecc_suite / "aoc-2015-01-p2" / "task.yaml").read_text()
    assert "after:\n  - aoc-2015-01-p1\n" in part2 and "expected: '1795'" in part2
    assert "narrative description is blank" in part2  # the published AoC descriptions are blank: neutral fallback
    assert "Part 1 (already solved)" in part2
    assert "narrative description is blank" not in (pecc_suite / "euler-1-story" / "task.yaml").read_text()
    shown = resq("tasks", "show", f"{pecc_suite}/euler-1", check=True).stdout
    assert "233168" not in shown  # the expected answer is hidden like hidden tests


def test_programs_graded_with_the_right_status(pecc_suite, tmp_path, docker_client, python_env, cleanup_run):
    submission = tmp_path / "programs.json"
    submission.write_text(json.dumps([{"id": task, "patch": program} for task, program in PROGRAMS.items()]))
    run = unique_run(tmp_path, "programs")
    selected = [arg for task in EXPECTED for arg in ("--task", task)]
    graded(cleanup_run, run, "replay", str(pecc_suite), str(submission), "-j", "2", *selected)
    results = rows(run)
    got = {task: (r.outcome.value, r.challenge.status if r.challenge else None) for task, r in results.items()}
    assert got == EXPECTED
    assert results["euler-3"].reason.startswith("runtime_error: exit code 1") and "no factor found" in \
        results["euler-3"].reason
    assert results["aoc-2015-01-p1-neutral"].challenge.got == "0\n"

    report = json.loads(resq("pecc-report", str(run), "--json", "-k", "1").stdout)
    # aoc: p1, p2 passed; aoc-neutral: both failed; euler: 1, 6, 8 passed, 3, 4, 5, 7 not; euler-stories: 2 passed
    assert report["aoc"]["accuracy"] == 100.0 and report["aoc-neutral"]["accuracy"] == 0.0
    assert report["euler"]["tasks"] == 7 and report["euler"]["accuracy"] == pytest.approx(42.86)
    assert report["euler-stories"]["pass@1"]["unbiased"] == 100.0
    assert report["all"]["tasks"] == 12


def test_gold_passes_and_noop_fails(pecc_suite, tmp_path, docker_client, python_env, cleanup_run):
    selected = ["--task", "euler-10", "--task", "aoc-2015-04-p2"]  # part 1 comes along: part 2 needs it first
    runs = {system: unique_run(tmp_path, system) for system in ("gold", "noop")}
    for system, outcome in (("gold", "passed"), ("noop", "failed")):
        graded(cleanup_run, runs[system], "run", str(pecc_suite), "--system", system, *selected)
        results = rows(runs[system])
        assert sorted(results) == ["aoc-2015-04-p1", "aoc-2015-04-p2", "euler-10"]
        assert {r.outcome.value for r in results.values()} == {outcome}
    assert rows(runs["noop"])["aoc-2015-04-p2"].challenge.status == "blocked"
    assert rows(runs["noop"])["euler-10"].challenge.status == "wrong_output"


def test_pecc_report_over_several_sample_runs(pecc_suite, tmp_path):
    def fake_run(name: str, outcomes: dict[str, str]) -> Path:
        run = tmp_path / name
        run.mkdir()
        (run / "run.json").write_text(json.dumps({
            "run_id": name, "suite": "pecc", "suite_hash": "x", "system": {"name": "s"}, "resq_version": "0",
            "grader_version": "1", "started_at": "2026-01-01T00:00:00Z", "task_ids": list(outcomes)}))
        lines = [json.dumps({"run_id": name, "task_id": t, "task_hash": "h", "system": {"name": "s"},
                             "outcome": o, "started_at": "2026-01-01T00:00:00Z",
                             "finished_at": "2026-01-01T00:00:00Z", "schema_version": 1})
                 for t, o in outcomes.items()]
        (run / "results.jsonl").write_text("\n".join(lines) + "\n")
        return run

    # euler-1: fail, pass, pass (n=3, c=2); euler-2: pass, fail, fail (c=1); aoc-2015-01-p1: fail x3 (c=0)
    runs = [fake_run("a", {"euler-1": "failed", "euler-2": "passed", "aoc-2015-01-p1": "failed"}),
            fake_run("b", {"euler-1": "passed", "euler-2": "failed", "aoc-2015-01-p1": "failed"}),
            fake_run("c", {"euler-1": "passed", "euler-2": "failed", "aoc-2015-01-p1": "failed"})]
    report = json.loads(resq("pecc-report", *map(str, runs), "--json", "-k", "1", "-k", "2", "-k", "3").stdout)
    euler = report["euler"]
    assert euler["accuracy"] == 50.0  # first samples: fail, pass
    assert euler["pass@1"] == {"tasks_with_k_samples": 2, "sequential": 50.0, "unbiased": 50.0}  # (2/3+1/3)/2
    # any-of-first-2: euler-1 yes, euler-2 yes; unbiased: 1-C(1,2)/C(3,2)=1 and 1-C(2,2)/C(3,2)=2/3
    assert euler["pass@2"] == {"tasks_with_k_samples": 2, "sequential": 100.0, "unbiased": 83.33}
    assert report["aoc"]["pass@3"]["sequential"] == 0.0
    other = fake_run("d", {"fix-allocate-remainder": "passed"})
    proc = resq("pecc-report", str(other))
    assert proc.returncode == 2 and "no PECC task in these runs" in proc.stderr


def test_pass_at_k_estimators_by_hand():
    assert pass_at_k_unbiased(10, 3, 1) == pytest.approx(0.3)
    assert pass_at_k_unbiased(5, 2, 2) == pytest.approx(1 - 3 / 10)  # C(3,2)/C(5,2)
    assert pass_at_k_unbiased(4, 3, 2) == 1.0
    assert pass_at_k_unbiased(3, 0, 3) == 0.0
    assert pass_at_k_sequential([False, False, True], 2) is False
    assert pass_at_k_sequential([False, False, True], 3) is True
    with pytest.raises(ValueError):
        pass_at_k_unbiased(2, 1, 3)
    report = pecc_report({"euler-9": [True, False]}, [1])
    assert report["euler"]["pass@1"]["sequential"] == 100.0 and report["euler"]["pass@1"]["unbiased"] == 50.0


@pytest.mark.parametrize("got, expected, mode, match", [
    ("42\n", "42", "strip", True), ("42\n", "42", "exact", False), ("42", "42", "exact", True),
    (" 42.0 \n", "42", "numeric", True), ("41.9", "42", "numeric", False), ("forty-two", "42", "numeric", False),
    ("abc\n", "abc", "numeric", False), ("nan", "nan", "numeric", False), ("f97c354d\n", "f97c354d", "strip", True),
])
def test_compare_modes(got, expected, mode, match):
    assert outputs_match(got, expected, mode) is match


def test_a_later_part_blocked_by_an_infrastructure_error_is_retried_not_failed():
    challenge = Challenge(expected="1")
    assert blocked(challenge, "p1", "failed").outcome.value == "failed"
    verdict = blocked(challenge, "p1", "infra_error")
    assert (verdict.outcome.value, verdict.challenge.status) == ("infra_error", "blocked")


def test_an_answer_without_a_program_is_compared_as_is():
    challenge = Challenge(expected="233168", compare="numeric")
    assert judge(ChallengeRun(exit_code=0), b"233168", b"", challenge).outcome.value == "passed"
    verdict = judge(ChallengeRun(exit_code=0), b"233169", b"", challenge)
    assert (verdict.outcome.value, verdict.challenge.status) == ("failed", "wrong_output")


def test_bad_pecc_input_names_file_row_and_field(tmp_path):
    data = tmp_path / "data"
    (data / "euler").mkdir(parents=True)
    (data / "aoc_lite" / "2015").mkdir(parents=True)
    good = {"id": 1, "euler_id": 1, "title": "t", "problem": "p", "solution": "1", "difficulty": 5, "story": ""}
    (data / "euler" / "e.json").write_text(json.dumps([good, {**good, "euler_id": 2, "solution": ""}]))
    day = {"year": 2015, "day": 1, "input": "()", "part1": {"description": "", "answer": "0"},
           "part2": {"description": "", "answer": "1", "converted_description": "d"}}
    (data / "aoc_lite" / "2015" / "day_1.json").write_text(json.dumps(day))
    out = tmp_path / "suite"
    proc = resq("import", "pecc", str(data), "--out", str(out))
    assert proc.returncode == 2
    assert proc.stderr.count("error:") == 1
    assert "e.json: row 2: field 'solution'" in proc.stderr
    assert not out.exists() and not [p for p in tmp_path.iterdir() if "importing" in p.name]

    proc = resq("import", "pecc", str(data), "--out", str(out), "--skip-invalid")
    assert proc.returncode == 0, proc.stderr
    assert "skipped 2 invalid row(s)" in proc.stdout
    assert "day_1.json: row 1: field 'part1.converted_description'" in proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["euler-1", "euler-1-story"]
    assert "narrative description is blank" in (out / "euler-1-story" / "task.yaml").read_text()

    proc = resq("import", "pecc", str(tmp_path / "nothing-here"))
    assert proc.returncode == 2 and "no PECC data here" in proc.stderr
