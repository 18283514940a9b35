"""Task suites the benchmark generates into a temporary folder.

- `tiny`: one task whose tests take ~0 s (a 9-test repository), for the per-evaluation overhead.
- `tiny_many`: N copies of the tiny task sharing its snapshot (one task image), for whole `resq run` processes.
- `thirty`: 30 tasks, ten copies of each demo task, sharing the demo snapshot (so its task image is reused).
- a cold copy of `thirty` whose snapshot carries a nonce file, so its task image is new to the engine.
"""

from __future__ import annotations

import shutil
import textwrap
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[1]
DEMO = PROJECT / "tasks" / "demo"

TINY_MODULE = "def answer():\n    return 41\n\n\ndef double(x):\n    return 2 * x\n"
TINY_TESTS = "".join(f"\n\ndef test_double_{i}():\n    assert double({i}) == {2 * i}\n" for i in range(6))
TINY_HIDDEN = "".join(f"\n\ndef test_answer_{i}():\n    assert answer() + {i} == {42 + i}\n" for i in range(3))
TINY_GOLD = """\
diff --git a/tiny/__init__.py b/tiny/__init__.py
--- a/tiny/__init__.py
+++ b/tiny/__init__.py
@@ -1,5 +1,5 @@
 def answer():
-    return 41
+    return 42
 
 
 def double(x):
"""
TINY_COMMAND = "python -m pytest -p no:cacheprovider -q tests"


def write_tiny(root: Path) -> Path:
    """tiny/answer: 6 visible + 3 hidden tests that take no time; the gold patch fixes one constant."""
    suite = root / "tiny"
    snapshot = suite / "_snapshots" / "tiny"
    (snapshot / "tiny").mkdir(parents=True)
    (snapshot / "tests").mkdir()
    (snapshot / "tiny" / "__init__.py").write_text(TINY_MODULE)
    (snapshot / "tests" / "test_tiny.py").write_text("from tiny import double" + TINY_TESTS)
    task = suite / "answer"
    (task / "hidden" / "tests").mkdir(parents=True)
    (task / "hidden" / "tests" / "test_answer_hidden.py").write_text("from tiny import answer" + TINY_HIDDEN)
    (task / "gold.patch").write_text(TINY_GOLD)
    (task / "task.yaml").write_text(textwrap.dedent(f"""\
        id: answer
        instruction: answer() must return 42.
        snapshot: {{kind: dir, path: ../_snapshots/tiny}}
        tests: {{command: {TINY_COMMAND}}}
        timeout_s: 60
        """))
    return suite


def write_thirty(root: Path, name: str = "thirty", copies: int = 10, nonce: str = "") -> Path:
    """copies x 3 demo tasks (ids like fix-allocate-remainder-07); a nonce makes the snapshot, and image, new."""
    suite = root / name
    shutil.copytree(DEMO / "_snapshots", suite / "_snapshots")
    if nonce:
        (suite / "_snapshots" / "ledgerlite" / "BENCH_NONCE").write_text(nonce + "\n")
    demo_tasks = sorted(p for p in DEMO.iterdir() if (p / "task.yaml").exists())
    for index in range(copies):
        for source in demo_tasks:
            task_id = f"{source.name}-{index:02d}"
            target = suite / task_id
            shutil.copytree(source, target)
            text = (target / "task.yaml").read_text().replace(f"id: {source.name}", f"id: {task_id}", 1)
            (target / "task.yaml").write_text(text)
    return suite


def write_tiny_many(root: Path, count: int, name: str) -> Path:
    """count copies of tiny/answer (ids answer-000, ...) sharing one snapshot, so one task image serves all."""
    tiny = write_tiny(root / f".{name}-source")
    suite = root / name
    shutil.copytree(tiny / "_snapshots", suite / "_snapshots")
    for index in range(count):
        target = suite / f"answer-{index:03d}"
        shutil.copytree(tiny / "answer", target)
        text = (target / "task.yaml").read_text().replace("id: answer", f"id: answer-{index:03d}", 1)
        (target / "task.yaml").write_text(text)
    return suite
