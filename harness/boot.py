"""The eval container's command: receive the inputs on stdin, run grade.py, print what it left for the runner.

1. The inputs (spec, patch, hidden tests, grade.py) arrive as a tar on stdin, written root-owned and 0600. A
   container the runner's pool started ahead waits here, with grade.py's standard modules loaded and, when the
   command carries grade.py's text, its definitions made (compiled, top level run, main() not called).
2. grade.py runs as if started on its own: its main() with the spec (the received copy, run whole, if it is not
   the text the command carried).
3. The regular files grade.py left in the private folder are printed to stdout between two marks, each ending in
   the spec's `mark`, a secret of this evaluation: the runner reads up to the second one from the attached stream.

So the runner neither copies files into the container nor out of it: both would make the engine mount the
container's layers once more per evaluation, the costliest engine call after `start` (and much costlier with a
FUSE storage driver). Only root processes hold the container's stdin and stdout (the tests' output goes through a
pipe into test_output.txt), so the code under test can neither read the inputs early nor forge the block.
Standard library only. The runner passes this file's text with `python3 -I -c`.

Usage: python3 -I boot.py GRADE.py SPEC.json [GRADE.py's text]   (with the inputs tar on stdin)
"""

import base64
import json
import os
import runpy
import sys
import tarfile

MARK = "--- resq private files ---"
# The standard modules grade.py imports, loaded before the inputs arrive: nothing of a task is in the container then.
PRELOAD = ("configparser", "ctypes", "ctypes.util", "importlib.util", "re", "resource", "shlex", "shutil", "signal",
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


def prepare(grade, text):
    """grade.py's definitions, made while the container waits (compiling and running its top level: no step of the
    grading runs before main() is called)."""
    module = {"__name__": "resq_grade", "__file__": grade, "__builtins__": __builtins__}
    try:
        exec(compile(text, grade, "exec"), module)
    except Exception:  # noqa: BLE001  (the received copy is then run whole, and says what is wrong)
        return None
    return module


def main(grade, spec_path, text=None):
    """`text`: grade.py's source as the runner made the container (the copy that arrives with the inputs is run;
    when it is the same text, through the definitions made ahead)."""
    for name in PRELOAD:  # while a container started ahead waits for its inputs
        __import__(name)
    module = prepare(grade, text) if text else None
    receive(sys.stdin.buffer)
    with open(spec_path) as source:
        spec = json.load(source)
    private, mark = spec["private"], spec["mark"]
    sys.argv = [grade, spec_path]
    with open(grade, "rb") as source:
        same = module is not None and source.read() == text.encode()
    try:
        if same:
            module["main"](spec_path)
        else:
            runpy.run_path(grade, run_name="__main__")
    finally:
        emit(private, mark)


if __name__ == "__main__":
    main(*sys.argv[1:4])
