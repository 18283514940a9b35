"""The eval container's command: receive the inputs on stdin, run grade.py, print what it left for the runner.

1. The inputs (spec, patch, hidden tests, grade.py) arrive as a tar on stdin, written root-owned and 0600. A
   container the runner's pool started ahead waits here, with grade.py's standard modules loaded.
2. grade.py is loaded as a module and its main() runs with the spec. Its bytecode comes with it (a checked-hash
   .pyc in __pycache__, made by the runner's Python): the import system takes it when this python makes the same
   bytecode and the source's hash matches, and compiles grade.py itself otherwise (~15 ms of CPU per evaluation).
3. The regular files grade.py left in the private folder are printed to stdout between two marks, each ending in
   the spec's `mark`, a secret of this evaluation: the runner reads up to the second one from the attached stream.

So the runner neither copies files into the container nor out of it: both would make the engine mount the
container's layers once more per evaluation, the costliest engine call after `start` (and much costlier with a
FUSE storage driver). grade.py's text is not in the command either: the engine and containerd encode and store a
container's command several times over its life (~25 ms of their CPU per container for grade.py's ~45 KB).
Only root processes hold the container's stdin and stdout (the tests' output goes through a pipe into
test_output.txt), so the code under test can neither read the inputs early nor forge the block.
Standard library only. The runner passes this file's text with `python3 -I -c`.

Usage: python3 -I boot.py GRADE.py SPEC.json   (with the inputs tar on stdin)
"""

import base64
import importlib.util
import json
import os
import sys
import tarfile

MARK = "--- resq private files ---"
# The standard modules grade.py imports, loaded before the inputs arrive: nothing of a task is in the container then.
PRELOAD = ("configparser", "ctypes", "ctypes.util", "re", "resource", "shlex", "shutil", "signal",
           "stat", "struct", "subprocess", "time")


def receive(stream):
    trusted = {"filter": "fully_trusted"} if hasattr(tarfile, "fully_trusted_filter") else {}
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        tar.extractall("/", **trusted)


def emit(private, mark):
    """Every regular file grade.py left in the private folder (status.json, report, test_output.txt, ...)."""
    files = {}
    for name in sorted(os.listdir(private)) if os.path.isdir(private) else []:
        path = os.path.join(private, name)
        if os.path.isfile(path) and not os.path.islink(path):
            with open(path, "rb") as source:
                files[name] = base64.b64encode(source.read()).decode()
    payload = json.dumps(files)
    line = "%s %s\n" % (MARK, mark)
    out = sys.stdout
    out.write("\n" + line)
    for start in range(0, len(payload), 4096):
        out.write(payload[start:start + 4096] + "\n")
    out.write(line)
    out.flush()


def main(grade, spec_path):
    for name in PRELOAD:  # while a container started ahead waits for its inputs
        __import__(name)
    receive(sys.stdin.buffer)
    with open(spec_path) as source:
        spec = json.load(source)
    private, mark = spec["private"], spec["mark"]
    sys.argv = [grade, spec_path]
    try:
        loader = importlib.util.spec_from_file_location("resq_grade", grade)
        module = importlib.util.module_from_spec(loader)
        loader.loader.exec_module(module)
        module.main(spec_path)
    finally:
        emit(private, mark)


if __name__ == "__main__":
    main(*sys.argv[1:3])
