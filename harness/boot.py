"""The eval container's command: receive the inputs on stdin, run grade.py, print what it left for the runner.

1. The inputs (spec, patch, hidden tests, grade.py) arrive on stdin: one JSON line listing [path, mode, size] of
   each file, then their bytes in that order; they are written root-owned (0600 unless the list says otherwise).
   A container the runner's pool started ahead waits here, with grade.py's standard modules loaded.
2. grade.py is imported from its folder, put first on sys.path, and its main() runs with the spec. Its bytecode
   comes with it (a checked-hash .pyc in __pycache__, made by the runner's Python): the import system takes it
   when this python makes the same bytecode and the source's hash matches, and compiles grade.py itself otherwise
   (~15 ms of CPU per evaluation).
3. The regular files grade.py left in the private folder are printed to stdout between two marks, each ending in
   the spec's `mark`, a secret of this evaluation: the runner reads up to the second one from the attached stream.

So the runner neither copies files into the container nor out of it: both would make the engine mount the
container's layers once more per evaluation, the costliest engine call after `start` (and much costlier with a
FUSE storage driver). grade.py's text is not in the command either: the engine and containerd encode and store a
container's command several times over its life (~25 ms of their CPU per container for grade.py's ~45 KB).
Only root processes hold the container's stdin and stdout (the tests' output goes through a pipe into
test_output.txt), so the code under test can neither read the inputs early nor forge the block.
Standard library only, and as little of it as will do: every module is read through the storage driver of a
container whose page cache starts cold (tarfile, shutil and importlib.util cost ~8 ms of CPU). The runner passes
this file's text with `python3 -I -S -c` (no site: the harness needs nothing from site-packages).

Usage: python3 -I -S boot.py GRADE.py SPEC.json   (with the inputs on stdin)
"""

import binascii
import json
import os
import sys

MARK = "--- resq private files ---"
# The standard modules grade.py imports, loaded before the inputs arrive: nothing of a task is in the container then.
PRELOAD = ("configparser", "ctypes", "re", "resource", "shlex", "signal", "stat", "struct", "subprocess", "time")


def receive(stream):
    """Each listed file, its folders made as needed (a link in its place is not followed)."""
    for path, mode, size in json.loads(stream.readline()):
        data = stream.read(size)
        if len(data) != size:
            raise EOFError("the inputs ended inside %s" % path)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600), "wb") as out:
            os.fchmod(out.fileno(), mode)
            out.write(data)


def emit(private, mark):
    """Every regular file grade.py left in the private folder (status.json, report, test_output.txt, ...)."""
    files = {}
    for name in sorted(os.listdir(private)) if os.path.isdir(private) else []:
        path = os.path.join(private, name)
        if os.path.isfile(path) and not os.path.islink(path):
            with open(path, "rb") as source:
                files[name] = binascii.b2a_base64(source.read(), newline=False).decode()
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
    sys.path.insert(0, os.path.dirname(grade))  # grade.py and spec_check.py, their bytecode in __pycache__
    try:
        __import__(os.path.basename(grade)[:-len(".py")]).main(spec_path)
    finally:
        emit(private, mark)


if __name__ == "__main__":
    main(*sys.argv[1:3])
