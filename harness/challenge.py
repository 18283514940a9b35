"""Runs a challenge program inside a fresh eval container, as root, with the Python standard library only.

1. Compile the program (compiling runs none of its code): a SyntaxError is recorded and nothing runs.
2. Copy it and the input into a folder owned by root, readable by the unprivileged user.
3. Run `python3 solution.py` there as that user, the input file on stdin, stdout and stderr into root-only files
   (each capped by a file-size limit), with a deadline after which every process of the user is killed.
4. Write status.json (exit code, timed out, syntax error) beside the outputs, in the root-only folder.

The expected answer never enters the container: the runner compares the output on the host.

Usage: python3 -I challenge.py SPEC.json
"""

import json
import os
import resource
import shutil
import signal
import subprocess
import sys
import time


def main(spec_path):
    spec = json.load(open(spec_path))
    os.chmod(os.path.dirname(spec_path), 0o700)
    private = spec["private"]
    os.makedirs(private, mode=0o700, exist_ok=True)
    status = {"syntax_error": "", "exit_code": None, "timed_out": False, "stdout_cut": False}
    try:
        run(spec, status)
    finally:
        with open(os.path.join(private, "status.json"), "w") as out:
            json.dump(status, out)


def run(spec, status):
    with open(spec["program"], "rb") as source:
        program = source.read()
    try:
        compile(program, "solution.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError) as exc:
        status["syntax_error"] = describe_syntax_error(exc)
        return
    folder = spec["workdir"]
    os.makedirs(folder, exist_ok=True)
    os.chmod(folder, 0o755)
    shutil.copyfile(spec["program"], os.path.join(folder, "solution.py"))
    input_path = os.path.join(folder, "input.txt")
    if spec.get("input"):
        shutil.copyfile(spec["input"], input_path)
    else:
        open(input_path, "wb").close()
    for name in ("solution.py", "input.txt"):
        os.chmod(os.path.join(folder, name), 0o644)
    stdout_path = os.path.join(spec["private"], "stdout.txt")
    stderr_path = os.path.join(spec["private"], "stderr.txt")
    with open(input_path, "rb") as stdin, open(stdout_path, "wb") as stdout, open(stderr_path, "wb") as stderr:
        code, timed_out = run_as(spec["uid"], folder, stdin, stdout, stderr, spec["timeout_s"], spec["output_limit"])
    status["exit_code"], status["timed_out"] = code, timed_out
    status["stdout_cut"] = os.path.getsize(stdout_path) >= spec["output_limit"]


def describe_syntax_error(exc):
    if isinstance(exc, SyntaxError):
        return "%s: %s (line %s)" % (type(exc).__name__, exc.msg, exc.lineno)
    return "%s: %s" % (type(exc).__name__, exc)


def run_as(uid, folder, stdin, stdout, stderr, timeout_s, output_limit):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/home/resq", "LANG": "C.UTF-8",
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONUNBUFFERED": "1"}

    def demote():
        os.setsid()
        resource.setrlimit(resource.RLIMIT_FSIZE, (output_limit, output_limit))
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        signal.signal(signal.SIGXFSZ, signal.SIG_DFL)

    proc = subprocess.Popen(["python3", "solution.py"], cwd=folder, env=env, stdin=stdin, stdout=stdout,
                            stderr=stderr, preexec_fn=demote)
    deadline = time.monotonic() + timeout_s
    timed_out = False
    while proc.poll() is None:
        if time.monotonic() > deadline:
            timed_out = True
            break
        time.sleep(0.01)
    kill_user(uid)
    code = proc.wait()
    return (None if timed_out else code), timed_out


def kill_user(uid):
    """Every process of the program's user, including any it left running in the background."""
    pid = os.fork()
    if pid == 0:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        os.kill(-1, signal.SIGKILL)
        os._exit(0)
    os.waitpid(pid, 0)


if __name__ == "__main__":
    main(sys.argv[1])
