"""The eval container's command: run grade.py, then write what it left in the private folder to stdout.

The runner reads those files from the container's log instead of copying them out of its file system, which saves
the engine one more mount of the container's layers per evaluation (the costliest call after `start` on engines
with a FUSE storage driver). Only root processes hold the container's stdout (the tests' output goes through a
pipe into test_output.txt), so the block cannot be written by the code under test. Standard library only.

Usage: python3 -I boot.py GRADE.py SPEC.json
"""

import base64
import json
import os
import runpy
import sys

MARK = "--- resq private files ---"


def emit(private):
    files = {}
    for name in ("status.json", "report", "test_output.txt"):
        path = os.path.join(private, name)
        if os.path.isfile(path) and not os.path.islink(path):
            with open(path, "rb") as source:
                files[name] = base64.b64encode(source.read()).decode()
    payload = json.dumps(files)
    out = sys.stdout
    out.write("\n" + MARK + "\n")
    for start in range(0, len(payload), 4096):
        out.write(payload[start:start + 4096] + "\n")
    out.write(MARK + "\n")
    out.flush()


def main(grade, spec_path):
    with open(spec_path) as source:
        private = json.load(source)["private"]
    sys.argv = [grade, spec_path]
    try:
        runpy.run_path(grade, run_name="__main__")
    finally:
        emit(private)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
