"""The host↔harness contract: spec.json is the host's HarnessSpec model, harness/spec.schema.json is its JSON
schema, and the standard-library harness checks every spec against that file; status.json is HarnessStatus.
No Docker: grade.py is loaded on the host."""

from __future__ import annotations

import ast
import importlib.util
import json

import pytest

from resq_runner.grading.evaluate import SPEC_SCHEMA, harness_files
from resq_runner.models import CanarySpec, HarnessSpec, HarnessStatus
from resq_runner.resources import harness_file


def load_grade():
    spec = importlib.util.spec_from_file_location("resq_grade_contract", harness_file("grade.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def a_spec(**changes) -> dict:
    spec = HarnessSpec(
        workspace="/workspace", patch="/resq/in/patch.diff", hidden="/resq/in/hidden", protected=["tests/**"],
        command="python -m pytest -q", env={}, activate="", framework="pytest", report_flag="--junitxml={report}",
        report_flag_after="", report_suffix=".xml", report_dir="/resq/report", report_is_output=False,
        nonce="n" * 32, mark="m" * 32, sites=None, uid=1000, timeout_s=120, private="/resq/private", output_limit=4096,
        report_limit=1 << 24,
        file_size=1 << 30, canary=CanarySpec(arguments=[], salt="s", keep=["k"]), script=None, hosts="")
    return {**json.loads(spec.model_dump_json()), **changes}


def test_shipped_schema_is_the_host_model_schema():
    shipped = json.loads(harness_file(SPEC_SCHEMA).read_text())
    assert shipped == HarnessSpec.model_json_schema(), \
        "harness/spec.schema.json is stale: regenerate it from HarnessSpec.model_json_schema()"


def test_the_harness_gets_its_schema_and_checker():
    assert {"/resq/harness/grade.py", "/resq/harness/spec_check.py", f"/resq/harness/{SPEC_SCHEMA}"} <= \
        set(harness_files())


def test_harness_accepts_the_host_spec():
    load_grade().check_spec(a_spec())


@pytest.mark.parametrize("change, words", [
    ({"uid": "1000"}, "spec.uid: expected integer"),
    ({"report_is_output": 1}, "spec.report_is_output: expected boolean"),
    ({"canary": {"salt": "x"}}, "spec.canary"),
    ({"protected": ["ok", 3]}, "spec.protected"),
    ({"surprise": True}, "unknown field surprise"),
])
def test_harness_refuses_a_spec_that_differs_from_the_model(change, words):
    with pytest.raises(ValueError, match=words.replace(".", r"\.").replace("[", r"\[")):
        load_grade().check_spec(a_spec(**change))


def test_harness_refuses_a_spec_missing_a_field():
    spec = a_spec()
    del spec["command"]
    with pytest.raises(ValueError, match="missing command"):
        load_grade().check_spec(spec)


def test_status_the_harness_writes_is_the_host_model():
    """Every key of grade.py's status dict (and every key it sets later) is a HarnessStatus field."""
    tree = ast.parse(harness_file("grade.py").read_text())
    written = {key.value for node in ast.walk(tree) if isinstance(node, ast.Dict)
               for key in node.keys if isinstance(key, ast.Constant) and key.value in HarnessStatus.model_fields}
    assigned = {node.slice.value for node in ast.walk(tree) if isinstance(node, ast.Subscript)
                and isinstance(node.value, ast.Name) and node.value.id == "status"
                and isinstance(node.slice, ast.Constant)}
    assert assigned <= set(HarnessStatus.model_fields), assigned - set(HarnessStatus.model_fields)
    assert {"applied", "apply_log", "report_found", "note"} <= written | assigned


def test_the_exit_is_told_by_the_status_only_when_it_counts_the_oom_kills():
    """A status with the cgroup's OOM count tells how the evaluation ended; without one (or without a status) the
    runner waits for the container's exit and asks the engine."""
    import importlib

    evaluation = importlib.import_module("resq_runner.grading.evaluate")
    status = {"applied": True, "report_found": True, "test_exit": 0}
    told = {kills: evaluation._exit_told({"status.json": json.dumps({**status, "oom_kills": kills}).encode()})
            for kills in (0, 2, None)}
    assert (told[0].oom_killed, told[0].timed_out) == (False, False)
    assert told[2].oom_killed is True
    assert told[None] is None
    assert evaluation._exit_told({"report": b"<testsuites/>"}) is None
    assert evaluation._exit_told(None) is None
    assert evaluation._exit_told({"status.json": b"not json"}) is None


def test_remove_tree_removes_links_without_following_them(tmp_path):
    """grade.py's own folder removal (it does without shutil): a link to a folder outside goes, what it points to
    stays."""
    grade = load_grade()
    outside = tmp_path / "outside"
    (outside / "deep").mkdir(parents=True)
    (outside / "deep" / "keep.txt").write_text("keep")
    tree = tmp_path / "tree"
    (tree / "a" / "b").mkdir(parents=True)
    (tree / "a" / "b" / "f.txt").write_text("x")
    (tree / "a" / "to_outside").symlink_to(outside)
    (tree / "a" / "to_file").symlink_to(outside / "deep" / "keep.txt")
    grade.remove_path(str(tree))
    assert not tree.exists()
    assert (outside / "deep" / "keep.txt").read_text() == "keep"
