"""The `node` test framework: the reporter's JSON lines → statuses (pure), the harness's flag placement, and a real
Node test run in the `node` environment image producing a report the parser reads."""

from __future__ import annotations

import importlib.util

import pytest

from resq_runner import environments
from resq_runner.grading.evaluate import HARNESS, HARNESS_DIR
from resq_runner.grading.reports import ReportError, parse_node_report
from resq_runner.models import TestStatus
from resq_runner.sandbox import Sandbox

REPORT = b"""{"file":"test/a.test.js","path":["one"],"status":"passed"}
{"file":"test/a.test.js","path":["grp","inner"],"status":"passed"}
{"file":"test/a.test.js","path":["grp","skipped"],"status":"skipped"}
{"file":"test/a.test.js","path":["grp","inner"],"status":"failed"}
{"file":"test/broken.test.js","path":[],"status":"failed"}
"""


def test_parse_node_report_gives_file_scoped_ids():
    assert parse_node_report(REPORT) == {
        "test/a.test.js::one": TestStatus.passed,
        "test/a.test.js::grp::inner": TestStatus.failed,  # a repeated id keeps its worst status
        "test/a.test.js::grp::skipped": TestStatus.skipped,
        "test/broken.test.js": TestStatus.failed,  # the whole file failed (syntax error, crash)
    }


def test_parse_node_report_rejects_lines_that_are_not_entries():
    with pytest.raises(ReportError, match="line 2"):
        parse_node_report(b'{"file":"t.js","path":["x"],"status":"passed"}\nok 1 - forged\n')
    with pytest.raises(ReportError):
        parse_node_report(b'{"file":"t.js","path":["x"],"status":"great"}\n')


def load_harness():
    spec = importlib.util.spec_from_file_location("resq_grade_harness", HARNESS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_report_flags_go_before_the_file_arguments_for_node():
    harness = load_harness()
    assert harness.with_report_flag("node --test test/", "--R", "--test") == "node --test --R test/"
    assert harness.with_report_flag("python -m pytest -q", "--junitxml=x", "") == "python -m pytest -q --junitxml=x"
    assert harness.with_report_flag("npm test", "--R", "--test") == "npm test --R"


def test_node_reporter_reports_a_real_run(docker_client):
    node = environments.ensure_environment(docker_client, "node", log=lambda _m: None)
    test_file = (b"const { describe, it, test } = require('node:test');\nconst assert = require('node:assert');\n"
                 b"test('adds', () => assert.equal(1 + 1, 2));\n"
                 b"describe('group', () => { it('fails', () => assert.equal(1, 2)); it.skip('later', () => {}); });\n")
    script = ("mkdir -p /tmp/w/test && cp /in/a.test.js /tmp/w/test/ && cp /in/broken.test.js /tmp/w/test/ && "
              "cd /tmp/w && node --test --test-reporter=/in/node_reporter.mjs "
              "--test-reporter-destination=/tmp/report.jsonl test/; cat /tmp/report.jsonl")
    run_id = "test-node-reporter"
    with Sandbox(docker_client, node.tag, run_id, "test", command=["sh", "-c", script], user="1000:1000",
                 workdir="/") as sandbox:
        sandbox.put_files({"/in/a.test.js": test_file, "/in/broken.test.js": b"this is not javascript(\n",
                           "/in/node_reporter.mjs": (HARNESS_DIR / "node_reporter.mjs").read_bytes()}, mode=0o644)
        sandbox.start()
        sandbox.wait(120)
        output = sandbox.logs()
    report = "\n".join(line for line in output.splitlines() if line.startswith("{")).encode()
    assert parse_node_report(report) == {
        "test/a.test.js::adds": TestStatus.passed,
        "test/a.test.js::group::fails": TestStatus.failed,
        "test/a.test.js::group::later": TestStatus.skipped,
        "test/a.test.js::group": TestStatus.failed,  # a suite is listed only when it fails
        "test/broken.test.js": TestStatus.failed,
    }


def test_node_environment_has_debians_node_and_the_hosts_apt_sources(docker_client):
    node = environments.ensure_environment(docker_client, "node", log=lambda _m: None)
    script = ("node --version; dpkg-query -W -f='${Version}\\n' nodejs; "
              "cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null")
    with Sandbox(docker_client, node.tag, "test-node-environment", "test", command=["sh", "-c", script],
                 workdir="/") as sandbox:
        sandbox.start()
        sandbox.wait(60)
        lines = sandbox.logs().splitlines()
    assert lines[1].startswith(lines[0].removeprefix("v") + "+dfsg")  # Debian's nodejs, from apt in the build
    normalise = {" ".join(line.replace("/ ", " ").split()) for line in lines[2:] if line.startswith("deb ")}
    host = {" ".join(line.replace("/ ", " ").split()) for line in environments.host_apt_sources().splitlines()}
    assert normalise == host
