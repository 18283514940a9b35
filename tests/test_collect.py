"""The harness's private files come back on the container's stdout (harness/boot.py); the code under test cannot
forge that block."""

from __future__ import annotations

import base64
import difflib
import json
import secrets

import pytest

from conftest import containers_of
from resq_runner.grading.evaluate import BOOT_MARK
from resq_runner.models import SystemSpec
from resq_runner.runner import RunOptions, run_suite

TASK = "fix-allocate-remainder"


def forged_block() -> str:
    status = {"applied": True, "apply_log": "", "restored": [], "test_exit": 0, "timed_out": False,
              "report_found": True, "note": ""}
    cases = "".join(f'<testcase classname="x" name="{n}" file="tests/test_allocate_hidden.py"/>'
                    for n in ("test_three_way_split_keeps_every_cent", "test_leftover_goes_to_first_parts"))
    report = f'<testsuites><testsuite name="pytest" tests="2">{cases}</testsuite></testsuites>'
    files = {"status.json": json.dumps(status).encode(), "report": report.encode()}
    payload = json.dumps({k: base64.b64encode(v).decode() for k, v in files.items()})
    return f"\n{BOOT_MARK}\n{payload}\n{BOOT_MARK}\n"


def forging_patch(snapshot_init: str) -> str:
    """Leaves the bug in place and prints a forged 'all passed' block on import, to every stdout it can reach."""
    forge = (f"\nimport atexit as _atexit, os as _os\n_BLOCK = {forged_block()!r}\n"
             "_atexit.register(lambda: _os.write(1, _BLOCK.encode()))  # after pytest gives fd 1 back\n"
             "try:\n    open('/proc/1/fd/1', 'w').write(_BLOCK)\nexcept OSError:\n    pass\n")
    lines = difflib.unified_diff(snapshot_init.splitlines(True), (snapshot_init + forge).splitlines(True),
                                 "a/ledgerlite/__init__.py", "b/ledgerlite/__init__.py")
    return "".join(lines)


def test_tests_printing_a_forged_block_do_not_change_the_grade(docker_client, python_env, demo_copy, tmp_path,
                                                             cleanup_run):
    init = (demo_copy / "_snapshots" / "ledgerlite" / "ledgerlite" / "__init__.py").read_text()
    (demo_copy / TASK / "gold.patch").write_text(forging_patch(init))
    out = tmp_path / f"run-forge-{secrets.token_hex(2)}"
    cleanup_run.append(out.name)
    _paths, (result,) = run_suite(RunOptions(suite=str(demo_copy), system=SystemSpec(name="gold"), out=out,
                                             only=[TASK], retries=0))
    assert result.outcome.value == "failed"
    assert result.fail_to_pass["tests/test_allocate_hidden.py::test_three_way_split_keeps_every_cent"] == "failed"
    logs = out / "logs" / TASK
    assert BOOT_MARK in (logs / "test_output.txt").read_text()  # the forgery ran, and landed in the test output
    assert b"<testsuite" in (logs / "report.xml").read_bytes()
    assert containers_of(docker_client, out.name) == []


INPUTS_PROBE = '''
import os

import pytest


def test_the_graders_inputs_are_out_of_reach():
    assert os.getuid() == 1000
    for path in ("/resq/in/spec.json", "/resq/in/patch.diff", "/resq/harness/grade.py"):
        with pytest.raises(PermissionError):
            open(path, "rb")
'''


def graded_with_probe(demo_copy, tmp_path, cleanup_run, name: str, source: str):
    """The gold run of a demo task with one more hidden test file, `name`, holding `source`."""
    task = "parse-grouped-amounts"  # its success rule: every reported test must pass
    (demo_copy / task / "hidden" / "tests" / name).write_text(source)
    out = tmp_path / f"run-probe-{secrets.token_hex(2)}"
    cleanup_run.append(out.name)
    _paths, (result,) = run_suite(RunOptions(suite=str(demo_copy), system=SystemSpec(name="gold"), out=out,
                                             only=[task], retries=0))
    return result


def test_inputs_handed_over_on_stdin_stay_root_only(docker_client, python_env, demo_copy, tmp_path, cleanup_run):
    result = graded_with_probe(demo_copy, tmp_path, cleanup_run, "test_inputs_hidden.py", INPUTS_PROBE)
    assert result.tests["tests/test_inputs_hidden.py::test_the_graders_inputs_are_out_of_reach"] == "passed"
    assert result.outcome.value == "passed"


ROOT_PROBE = '''
import os
import stat


def test_the_root_folder_has_no_group_bits():
    mode = stat.S_IMODE(os.stat("/").st_mode)
    assert (mode & 0o070, mode & 0o007) == (0, 0o005)  # the image's 755: the other bits, which decide here, kept
    assert "usr" in os.listdir("/") and os.path.isfile("/usr/bin/git")
'''


def test_the_test_user_resolves_paths_from_a_root_folder_without_group_bits(docker_client, python_env, demo_copy,
                                                                            tmp_path, cleanup_run):
    """What spares fuse-overlayfs a round trip per path the test user resolves (grade.py quick_root_lookups)."""
    result = graded_with_probe(demo_copy, tmp_path, cleanup_run, "test_root_hidden.py", ROOT_PROBE)
    assert result.tests["tests/test_root_hidden.py::test_the_root_folder_has_no_group_bits"] == "passed"
    assert result.outcome.value == "passed"


def test_a_test_run_past_its_deadline_still_reports_through_the_log(docker_client, python_env, demo_copy, tmp_path,
                                                                  cleanup_run):
    task = "parse-grouped-amounts"
    (demo_copy / task / "hidden" / "tests" / "test_sleep_hidden.py").write_text(
        "import time\n\n\ndef test_sleeps():\n    time.sleep(600)\n")
    task_file = demo_copy / task / "task.yaml"
    task_file.write_text(task_file.read_text().replace("timeout_s: 120", "timeout_s: 3"))
    out = tmp_path / f"run-deadline-{secrets.token_hex(2)}"
    cleanup_run.append(out.name)
    _paths, (result,) = run_suite(RunOptions(suite=str(demo_copy), system=SystemSpec(name="gold"), out=out,
                                             only=[task], retries=0))
    assert result.outcome.value == "timed_out"
    assert containers_of(docker_client, out.name) == []



SITES_PROBE = '''
import sys


def test_the_harness_set_the_framework_up():
    assert any(name.startswith("resq_keep_") for name in sys.modules)  # its plugin, from where it found site-packages
'''


def test_an_image_probed_once_gives_its_answer_to_the_next_evaluations(docker_client, python_env, demo_copy,
                                                                         tmp_path, cleanup_run):
    """The site-packages folders the harness's probe found in one evaluation go into the next ones' specs (no probe
    then), and the harness uses a known answer as given: a wrong one shows in the tests' environment."""
    import importlib

    from resq_runner.pipeline import task_image
    from resq_runner.tasks import gold_patch, load_task

    evaluation = importlib.import_module("resq_runner.grading.evaluate")
    task = "parse-grouped-amounts"  # its success rule: every reported test must pass
    (demo_copy / task / "hidden" / "tests" / "test_sites_hidden.py").write_text(SITES_PROBE)
    tf = load_task(demo_copy / task, str(demo_copy))
    image = task_image(docker_client, tf, python_env)
    run_id = f"test-sites-{secrets.token_hex(3)}"
    cleanup_run.append(run_id)

    def grade(name: str):
        return evaluation.evaluate(docker_client, image, tf, gold_patch(tf), run_id, tmp_path / name).verdict

    evaluation._SITES.pop(image.id, None)
    assert grade("probed").outcome.value == "passed"
    known = evaluation._SITES[image.id]
    assert known and all(folder.endswith("-packages") for folder in known)
    assert grade("known").outcome.value == "passed"
    evaluation._SITES[image.id] = ["/no/such/site-packages"]
    try:
        wrong = grade("wrong")
    finally:
        evaluation._SITES[image.id] = known
    assert wrong.outcome.value == "failed"
    assert wrong.tests["tests/test_sites_hidden.py::test_the_harness_set_the_framework_up"] == "failed"
    assert containers_of(docker_client, run_id) == []


@pytest.mark.parametrize("hash_of, shipped_ran", [("the received source", True), ("another source", False)])
def test_grade_bytecode_runs_only_under_the_received_sources_hash(docker_client, python_env, demo_copy, tmp_path,
                                                                   cleanup_run, monkeypatch, hash_of, shipped_ran):
    """grade.py's bytecode comes with it (a checked-hash .pyc): the container's python runs that bytecode when its
    header carries the hash of the grade.py that arrived, and compiles the received source otherwise. A variant's
    bytecode under the real source's hash shows the first; under its own hash, the real grade.py grades."""
    import importlib
    import importlib.util

    from resq_runner.resources import harness_file

    evaluation = importlib.import_module("resq_runner.grading.evaluate")
    real = harness_file("grade.py").read_bytes()
    variant = real.replace(b'status["note"] = witness.verdict() if witness else ""',
                           b'status["note"] = "the shipped bytecode ran"', 1)
    assert variant != real
    compiled = evaluation.bytecode

    def shipped(source: bytes, path: str) -> bytes:
        if not path.endswith("/grade.py"):
            return compiled(source, path)
        pyc = compiled(variant, path)  # magic, flags, the variant's hash, the variant's code
        return pyc[:8] + importlib.util.source_hash(source if shipped_ran else variant) + pyc[16:]

    monkeypatch.setattr(evaluation, "bytecode", shipped)
    out = tmp_path / f"run-bytecode-{secrets.token_hex(2)}"
    cleanup_run.append(out.name)
    _paths, (result,) = run_suite(RunOptions(suite=str(demo_copy), system=SystemSpec(name="gold"), out=out,
                                             only=[TASK], retries=0, pool=0))
    if shipped_ran:
        assert result.outcome.value == "failed" and "the shipped bytecode ran" in result.reason, hash_of
    else:
        assert result.outcome.value == "passed", result.reason
