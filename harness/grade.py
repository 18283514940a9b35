"""Runs inside a fresh eval container, as root, with the Python standard library only.

1. Apply the system's patch to /workspace (as the unprivileged user): `git apply`, then a 3-way fallback.
2. Undo whatever the patch did to protected paths (test folders, conftest.py, pytest.ini, ...).
3. Lay the hidden tests over the repository (root-owned, read-only to the tests).
4. Run the test command as the unprivileged user, asking the framework for a structured report at a random path
   in a folder the tests may write to but not list; kill every process of that user at the deadline.
   A RES-Q style test script (spec "script") is copied in under a random name only now, and its report is
   written by this harness: the exit code and whether the script printed the per-run secret.
5. Copy the report into a root-only folder and write status.json there: nothing the tests run can touch either.

Usage: python3 -I grade.py SPEC.json
"""

import json
import os
import re
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
    status = {"applied": False, "apply_log": "", "restored": [], "test_exit": None, "timed_out": False,
              "report_found": False, "note": ""}
    try:
        run(spec, status)
    finally:
        with open(os.path.join(private, "status.json"), "w") as out:
            json.dump(status, out)


def run(spec, status):
    workspace, uid = spec["workspace"], spec["uid"]
    started = time.monotonic()
    ok, log = apply_patch(spec["patch"], workspace, uid)
    status["applied"], status["apply_log"] = ok, log[-20000:]
    if not ok:
        return
    status["restored"] = restore_protected(workspace, spec["protected"], uid)
    note = inject_hidden(spec["hidden"], workspace)
    status["apply_s"] = time.monotonic() - started
    if note:
        status["note"] = note
        return
    if spec.get("script"):
        run_script(spec, status)
        return
    report = os.path.join(spec["report_dir"], spec["nonce"] + spec["report_suffix"])
    os.makedirs(spec["report_dir"], exist_ok=True)
    os.chmod(spec["report_dir"], 0o733)
    command = spec["command"]
    if spec["report_flag"]:
        command += " " + spec["report_flag"].format(report=report)
    output_path = os.path.join(spec["private"], "test_output.txt")
    with open(output_path, "wb") as output:
        tests_started = time.monotonic()
        code, timed_out, _seen = run_as(uid, command, workspace, output, spec["timeout_s"], spec["output_limit"])
        status["tests_s"] = time.monotonic() - tests_started
    status["test_exit"], status["timed_out"] = code, timed_out
    if spec.get("report_is_output"):
        shutil.copyfile(output_path, os.path.join(spec["private"], "report"))
        status["report_found"] = True
    else:
        status["report_found"] = keep_report(report, os.path.join(spec["private"], "report"))


def run_script(spec, status):
    """A test script that passes only if it exits 0 and prints the secret placed before its success exit."""
    script = spec["script"]
    target = os.path.join(spec["workspace"], script["name"])
    if os.path.lexists(target):
        os.unlink(target)
    shutil.copyfile(script["source"], target)
    os.chmod(target, 0o644)
    command = spec["command"].replace("{script}", script["name"])
    with open(os.path.join(spec["private"], "test_output.txt"), "wb") as output:
        code, timed_out, seen = run_as(spec["uid"], command, spec["workspace"], output, spec["timeout_s"],
                                       spec["output_limit"], watch=script["secret"].encode())
    if os.path.lexists(target):
        os.unlink(target)
    status["test_exit"], status["timed_out"] = code, timed_out
    with open(os.path.join(spec["private"], "report"), "w") as report:
        json.dump({"exit_code": code, "secret_printed": seen, "timed_out": timed_out}, report)
    status["report_found"] = True


def apply_patch(patch, workspace, uid):
    with open(patch, "rb") as source:
        content = source.read()
    if not content.strip():
        return True, "empty patch: nothing to apply\n"
    subprocess.run(["git", "update-index", "-q", "--refresh"], cwd=workspace, capture_output=True,
                   preexec_fn=demote(uid))  # files copied into the image have new stat data; 3-way needs a fresh index
    log = ""
    for args in (["git", "apply", "--verbose", "--whitespace=nowarn"],
                 ["git", "apply", "--verbose", "--3way", "--whitespace=nowarn"]):
        proc = subprocess.run(args, input=content, cwd=workspace, capture_output=True, preexec_fn=demote(uid))
        output = (proc.stdout + proc.stderr).decode("utf-8", "replace")
        log += "$ " + " ".join(args) + "\n" + output
        if proc.returncode == 0:
            return True, log
    return False, log


def restore_protected(workspace, patterns, uid):
    """Put protected paths back as the snapshot had them: revert changes, remove additions."""
    matchers = [glob_regex(p) for p in patterns]
    changed = git_paths(workspace, ["diff", "--name-only", "-z", "HEAD"])
    added = git_paths(workspace, ["ls-files", "--others", "-z"])
    restored = []
    for path in sorted(set(changed) | set(added)):
        if not any(m.fullmatch(path) for m in matchers):
            continue
        full = os.path.join(workspace, path)
        if path in changed:
            if os.path.islink(full) or os.path.isfile(full):
                os.unlink(full)
            subprocess.run(["git", "checkout", "HEAD", "--", path], cwd=workspace, capture_output=True,
                           preexec_fn=demote(uid))
        elif os.path.lexists(full):
            os.unlink(full)
        restored.append(path)
    return restored


def inject_hidden(hidden, workspace):
    real_workspace = os.path.realpath(workspace)
    for root, _dirs, files in os.walk(hidden):
        for name in files:
            source = os.path.join(root, name)
            target = os.path.join(workspace, os.path.relpath(source, hidden))
            parent = os.path.dirname(target)
            if os.path.islink(parent) or not os.path.realpath(parent).startswith(real_workspace):
                return "hidden test folder %s is a link out of the repository" % os.path.relpath(parent, workspace)
            os.makedirs(parent, exist_ok=True)
            if os.path.lexists(target):
                os.unlink(target)
            shutil.copyfile(source, target)
            os.chmod(target, 0o644)
    return ""


def run_as(uid, command, cwd, output, timeout_s, output_limit, watch=b""):
    """Run as the test user until exit or deadline; returns (exit code, timed out, whether `watch` was printed)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/home/resq", "LANG": "C.UTF-8",
           "PYTHONDONTWRITEBYTECODE": "1"}
    proc = subprocess.Popen(["sh", "-c", command], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, preexec_fn=demote(uid, new_group=True))
    deadline = time.monotonic() + timeout_s
    written, timed_out = 0, False
    seen, tail = False, b""
    os.set_blocking(proc.stdout.fileno(), False)
    while True:
        chunk = proc.stdout.read(65536)
        if chunk:
            if watch and not seen:
                seen = watch in tail + chunk
                tail = (tail + chunk)[-len(watch):]
            if written < output_limit:
                output.write(chunk[: output_limit - written])
            written += len(chunk)
            continue
        if proc.poll() is not None and not chunk:
            break
        if time.monotonic() > deadline:
            timed_out = True
            break
        time.sleep(0.01)
    kill_user(uid)
    code = proc.wait()
    if written > output_limit:
        output.write(b"\n[resq: output cut at %d bytes of %d]\n" % (output_limit, written))
    return (None if timed_out else code), timed_out, seen


def kill_user(uid):
    """Every process of the test user, including daemons that left the process group."""
    pid = os.fork()
    if pid == 0:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        os.kill(-1, signal.SIGKILL)
        os._exit(0)
    os.waitpid(pid, 0)


def keep_report(report, destination):
    try:
        info = os.lstat(report)
    except OSError:
        return False
    if not (info.st_mode & 0o170000 == 0o100000):
        return False
    shutil.copyfile(report, destination)
    return True


def git_paths(workspace, args):
    proc = subprocess.run(["git"] + args, cwd=workspace, capture_output=True)
    return [p for p in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if p]


def glob_regex(pattern):
    out = ""
    i = 0
    while i < len(pattern):
        if pattern.startswith("**/", i):
            out, i = out + "(?:.*/)?", i + 3
        elif pattern.startswith("**", i):
            out, i = out + ".*", i + 2
        elif pattern[i] == "*":
            out, i = out + "[^/]*", i + 1
        elif pattern[i] == "?":
            out, i = out + "[^/]", i + 1
        else:
            out, i = out + re.escape(pattern[i]), i + 1
    return re.compile(out)


def demote(uid, new_group=False):
    def switch():
        if new_group:
            os.setsid()
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        os.environ["HOME"] = "/home/resq"
    signal.signal(signal.SIGPIPE, signal.SIG_DFL)
    return switch


if __name__ == "__main__":
    main(sys.argv[1])
