"""Builders for the report tests: real run folders (run.json + results.jsonl written through the project's own
journal and Result model), a small real suite on disk, and a headless Chromium that reads pages back."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path

import yaml

from resq_runner.models import (Outcome, Result, RunManifest, SystemSpec, TestStatus, Timings, Usage)
from resq_runner.results import Journal, RunPaths, write_manifest

T0 = datetime(2026, 11, 20, 2, 0, tzinfo=timezone.utc)


def make_suite(root: Path, tags: dict[str, list[str]]) -> Path:
    """A real suite folder (task.yaml, hidden/, a shared snapshot) that tasks.load_suite accepts."""
    (root / "_snap").mkdir(parents=True)
    (root / "_snap" / "lib.py").write_text("VALUE = 1\n")
    for task_id, task_tags in tags.items():
        folder = root / task_id
        (folder / "hidden" / "tests").mkdir(parents=True)
        (folder / "hidden" / "tests" / f"test_{task_id.replace('-', '_')}.py").write_text("def test_x():\n    pass\n")
        (folder / "task.yaml").write_text(yaml.safe_dump({
            "id": task_id, "instruction": f"Do {task_id}.", "snapshot": {"kind": "dir", "path": "../_snap"},
            "tests": {"command": "python -m pytest -q tests"}, "tags": task_tags}))
    return root


def make_run(root: Path, system: str, outcomes: dict[str, list[Outcome] | Outcome], *, suite: str = "unit",
             suite_hash: str = "h1", started_at: datetime = T0, usage: Usage = Usage(),
             timings: Timings = Timings(), attempts: dict[str, list[Outcome]] | None = None,
             task_ids: list[str] | None = None, task_hashes: dict[str, str] | None = None) -> Path:
    """A run folder as `resq run` leaves it. outcomes: task -> outcome, or one outcome per sample.
    attempts: task -> outcomes of earlier attempts of sample 0 (e.g. infra errors before a retry).
    task_ids: the tasks the run set out to do (default: those with outcomes); task_hashes: task -> its hash
    (default "t" + task id)."""
    paths = RunPaths(root)
    spec = SystemSpec(name=system)
    write_manifest(paths, RunManifest(
        run_id=root.name, suite=suite, suite_hash=suite_hash, system=spec, resq_version="0.1.0",
        grader_version="1", started_at=started_at, task_ids=task_ids or list(outcomes)))
    journal = Journal(paths.results)
    for task_id, wanted in outcomes.items():
        samples = wanted if isinstance(wanted, list) else [wanted]
        earlier = (attempts or {}).get(task_id, [])
        for sample, outcome in enumerate(samples):
            tries = (earlier if sample == 0 else []) + [outcome]
            for attempt, tried in enumerate(tries, start=1):
                row = _row(paths, spec, task_id, sample, attempt, tried, started_at, usage, timings)
                if task_hashes and task_id in task_hashes:
                    row = row.model_copy(update={"task_hash": task_hashes[task_id]})
                journal.append(row)
    return root


def _row(paths: RunPaths, spec: SystemSpec, task_id: str, sample: int, attempt: int, outcome: Outcome,
         started_at: datetime, usage: Usage, timings: Timings) -> Result:
    logs = paths.task_logs(task_id, attempt, sample)
    logs.mkdir(parents=True, exist_ok=True)
    (logs / "patch.diff").write_text(f"--- a/{task_id}\n+++ b/{task_id}\n")
    (logs / "test_output.txt").write_text(f"{task_id}: {outcome.value}\n")
    status = TestStatus.passed if outcome is Outcome.passed else TestStatus.failed
    return Result(run_id=paths.root.name, task_id=task_id, task_hash="t" + task_id, system=spec, sample=sample,
                  attempt=attempt, outcome=outcome, tests={"tests/test_a.py::test_one": TestStatus.passed,
                                                             "tests/test_a.py::test_two": status},
                  usage=usage, timings=timings, started_at=started_at,
                  finished_at=started_at + timedelta(seconds=5), log_dir=str(logs))


# ---------------------------------------------------------------------------------------------------------------
# Headless Chromium


def chromium_command() -> list[str] | None:
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary is None:
        return None
    # A private network namespace with only loopback proves the page needs no network (root only).
    if os.geteuid() == 0 and shutil.which("unshare") and \
            subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0:
        return ["unshare", "-n", binary]
    return [binary]


def chromium(command: list[str], profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*command, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
                           f"--user-data-dir={profile}", *args], capture_output=True, text=True, timeout=180)


def dump_dom(command: list[str], tmp: Path, page: Path, fragment: str = "", width: int = 1200) -> str:
    """The DOM after the page's scripts ran, in a window `width` pixels wide."""
    proc = chromium(command, tmp / "chromium-profile", "--virtual-time-budget=3000", f"--window-size={width},1000",
                    "--dump-dom", page.resolve().as_uri() + fragment)
    assert proc.returncode == 0 and "</html>" in proc.stdout, proc.stderr[-2000:]
    return proc.stdout


def screenshot(command: list[str], tmp: Path, page: Path, out: Path, fragment: str = "") -> Path:
    proc = chromium(command, tmp / "chromium-profile", "--window-size=1200,1800", "--virtual-time-budget=3000",
                    f"--screenshot={out}", page.resolve().as_uri() + fragment)
    assert proc.returncode == 0 and out.is_file(), proc.stderr[-2000:]
    return out


class Element:
    def __init__(self, tag: str, attrs: dict[str, str | None], parent: "Element | None"):
        self.tag, self.attrs, self.parent, self.children, self.text = tag, attrs, parent, [], ""

    def find_all(self, tag: str | None = None, **attrs: str) -> list["Element"]:
        found = []
        for child in self.children:
            if (tag is None or child.tag == tag) and all(child.attrs.get(k.replace("_", "-")) == v
                                                         for k, v in attrs.items()):
                found.append(child)
            found.extend(child.find_all(tag, **attrs))
        return found

    def find(self, tag: str | None = None, **attrs: str) -> "Element":
        found = self.find_all(tag, **attrs)
        assert found, f"no <{tag} {attrs}> in the page"
        return found[0]

    def full_text(self) -> str:
        return self.text + "".join(child.full_text() for child in self.children)


VOID = {"meta", "input", "br", "img", "link", "hr", "wbr", "source"}


class _TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__()
        self.root = Element("document", {}, None)
        self.current = self.root

    def handle_starttag(self, tag, attrs):
        element = Element(tag, dict(attrs), self.current)
        self.current.children.append(element)
        if tag not in VOID:
            self.current = element

    def handle_startendtag(self, tag, attrs):
        self.current.children.append(Element(tag, dict(attrs), self.current))

    def handle_endtag(self, tag):
        node = self.current
        while node is not self.root and node.tag != tag:
            node = node.parent
        if node is not self.root:
            self.current = node.parent

    def handle_data(self, data):
        self.current.text += data


def parse_dom(html: str) -> Element:
    builder = _TreeBuilder()
    builder.feed(html)
    return builder.root


def page_grid(page: Path) -> dict:
    """The data an HTML page's table is drawn from (its inline JSON): columns, and rows as [cells, attributes]."""
    text = page.read_text()
    return json.loads(text.split('<script type="application/json" id="grid-data">', 1)[1].split("</script>", 1)[0])


def page_details(page: Path) -> list[dict]:
    """Every task's detail data of a report page, in the table's order (its `details-K` blocks, read in order)."""
    blocks = re.findall(r'<script type="application/json" id="details-(\d+)">(.*?)</script>', page.read_text(), re.S)
    assert [int(number) for number, _ in blocks] == list(range(len(blocks)))
    return [detail for _, text in blocks for detail in json.loads(text)]
