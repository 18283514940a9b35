"""Runs inside a fresh eval container, as root, with the Python standard library only.

1. Apply the system's patch to /workspace (as the unprivileged user): `git apply`, then a 3-way fallback.
   Paths with `..`, absolute paths and paths into .git are refused before git sees the patch.
2. Undo whatever the patch did to protected paths (test folders, conftest.py, pytest.ini, sitecustomize.py, ...),
   and refuse symbolic links that lead out of the repository.
3. Lay the hidden tests over the repository, root-owned; the folders holding them become root-owned and sticky,
   so the tests' own processes cannot rename, delete or replace them.
4. Run the test command as the unprivileged user with the repository's *original* pytest configuration (copied
   from the snapshot into a root-owned file at the repository root and passed with `-c`), plus a canary test
   that must fail, asking the framework for a structured report at a random path in a folder the tests may
   write to but not list. Files the tests write are capped in size; at the deadline every process of that user
   is killed.
   A RES-Q style test script (spec "script") is copied in under a random name only now, and its report is
   written by this harness: the exit code and whether the script printed the per-run secret.
5. Copy the report into a root-only folder and write status.json there: nothing the tests run can touch either.

Usage: python3 -I grade.py SPEC.json
"""

import importlib.util
import json
import os
import re
import resource
import shlex
import shutil
import signal
import stat
import subprocess
import sys
import time

# Always restored from the snapshot, whatever the task's own protected list says: they steer the test framework
# or the interpreter before any test runs.
ALWAYS_PROTECTED = ["conftest.py", "**/conftest.py", "pytest.ini", ".pytest.ini", "tox.ini",
                    "sitecustomize.py", "**/sitecustomize.py", "usercustomize.py", "**/usercustomize.py",
                    "**/*.pth"]
# Where pytest finds its configuration, in its own order of preference, and the section that makes a file count.
PYTEST_CONFIGS = [("pytest.ini", None), (".pytest.ini", None), ("pyproject.toml", "[tool.pytest"),
                  ("tox.ini", "[pytest]"), ("setup.cfg", "[tool:pytest]")]
CANARY_TEMPLATE = '''import hashlib


def {name}():
    digest = hashlib.sha256(b"{nonce}").hexdigest()
    assert digest == "{wrong}"
'''


class PatchRefused(Exception):
    pass


def main(spec_path):
    spec = json.load(open(spec_path))
    check_spec(spec)
    os.chmod(os.path.dirname(spec_path), 0o700)
    private = spec["private"]
    os.makedirs(private, mode=0o700, exist_ok=True)
    status = {"applied": False, "apply_log": "", "restored": [], "test_exit": None, "timed_out": False,
              "report_found": False, "note": "", "killed_by": None}
    try:
        run(spec, status)
    except Exception as exc:  # whatever the patch did to the tree, the grade is a failure, never a crash
        if status["applied"]:
            status["note"] = status["note"] or "grading stopped after the patch was applied: %s: %s" % (
                type(exc).__name__, exc)
        else:
            status["apply_log"] += "\nerror: refused: %s: %s\n" % (type(exc).__name__, exc)
    finally:
        with open(os.path.join(private, "status.json"), "w") as out:
            json.dump(status, out)


def check_spec(spec):
    """The spec against spec.schema.json beside this file (the host's HarnessSpec); a mismatch stops here, before
    anything is touched. spec_check.py is loaded by path: `python3 -I` keeps this folder off sys.path."""
    here = os.path.dirname(os.path.abspath(__file__))
    loader = importlib.util.spec_from_file_location("resq_spec_check", os.path.join(here, "spec_check.py"))
    checker = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(checker)
    checker.check(spec, os.path.join(here, "spec.schema.json"))


def run(spec, status):
    workspace, uid = spec["workspace"], spec["uid"]
    started = time.monotonic()
    ok, log = apply_patch(spec["patch"], workspace, uid)
    status["applied"], status["apply_log"] = ok, log[-20000:]
    if not ok:
        return
    status["restored"] = restore_protected(workspace, spec["protected"] + ALWAYS_PROTECTED, uid)
    note = refuse_outward_links(workspace, uid) or inject_hidden(spec["hidden"], workspace)
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
    flags = framework_flags(spec, workspace, uid, report)
    command = with_report_flag(spec["command"], flags, spec.get("report_flag_after", "")) if flags else spec["command"]
    output_path = os.path.join(spec["private"], "test_output.txt")
    with open(output_path, "wb") as output:
        tests_started = time.monotonic()
        code, timed_out, _seen = run_as(uid, command, workspace, output, spec)
        status["tests_s"] = time.monotonic() - tests_started
    status["test_exit"], status["timed_out"] = code, timed_out
    status["killed_by"] = signal_name(code)
    if spec.get("report_is_output"):
        shutil.copyfile(output_path, os.path.join(spec["private"], "report"))
        status["report_found"] = True
    else:
        status["report_found"] = keep_report(report, os.path.join(spec["private"], "report"))


def run_script(spec, status):
    """A test script that passes only if it exits 0 and prints the secret placed before its success exit."""
    script = spec["script"]
    target = os.path.join(spec["workspace"], script["name"])
    remove_path(target)
    shutil.copyfile(script["source"], target)
    os.chmod(target, 0o644)
    command = spec["command"].replace("{script}", script["name"])
    with open(os.path.join(spec["private"], "test_output.txt"), "wb") as output:
        code, timed_out, seen = run_as(spec["uid"], command, spec["workspace"], output, spec,
                                       watch=script["secret"].encode())
    if os.path.lexists(target):
        os.unlink(target)
    status["test_exit"], status["timed_out"] = code, timed_out
    status["killed_by"] = signal_name(code)
    with open(os.path.join(spec["private"], "report"), "w") as report:
        json.dump({"exit_code": code, "secret_printed": seen, "timed_out": timed_out}, report)
    status["report_found"] = True


def with_report_flag(command, flag, after):
    """The flag at the end of the command, or right after the first `after` word (runners that stop reading
    options at their first file argument, like `node --test`)."""
    words = command.split(" ")
    if after and after in words:
        at = words.index(after) + 1
        return " ".join(words[:at] + [flag] + words[at:])
    return command + " " + flag


def signal_name(code):
    """The signal that ended the test command: a negative code, or the shell's 128+N for its killed child."""
    if code is None or 0 <= code <= 128:
        return None
    number = -code if code < 0 else code - 128
    return signal.Signals(number).name if number in signal.valid_signals() else None


# ---------------------------------------------------------------------------------------------------------------
# 1. the patch


def apply_patch(patch, workspace, uid):
    with open(patch, "rb") as source:
        content = source.read()
    if not content.strip():
        return True, "empty patch: nothing to apply\n"
    bad = unsafe_paths(content)
    if bad:
        return False, "error: refused: the patch names paths outside the repository or inside .git: %s\n" % (
            ", ".join(sorted(bad)[:5]))
    # files copied into the image have new stat data; the 3-way fallback needs a fresh index
    subprocess.run(["git", "update-index", "-q", "--refresh"], cwd=workspace, capture_output=True,
                   preexec_fn=demote(uid), env=git_env())
    log = ""
    for args in (["git", "apply", "--verbose", "--whitespace=nowarn"],
                 ["git", "apply", "--verbose", "--3way", "--whitespace=nowarn"]):
        proc = subprocess.run(args, input=content, cwd=workspace, capture_output=True, preexec_fn=demote(uid),
                              env=git_env())
        output = (proc.stdout + proc.stderr).decode("utf-8", "replace")
        log += "$ " + " ".join(args) + "\n" + output
        if proc.returncode == 0:
            return True, log
    return False, log


def unsafe_paths(content):
    """Paths in diff headers that are absolute, climb with `..`, or reach into .git."""
    bad = set()
    for line in content.split(b"\n"):
        names = []
        if line.startswith((b"--- ", b"+++ ")):
            names = [line[4:].split(b"\t")[0]]
        elif line.startswith(b"diff --git "):
            names = line[len(b"diff --git "):].split(b" ")
        elif line.startswith((b"rename from ", b"rename to ", b"copy from ", b"copy to ")):
            names = [line.split(b" ", 2)[2]]
        for raw in names:
            name = raw.decode("utf-8", "replace").strip().strip('"')
            if name == "/dev/null":
                continue
            if name.startswith(("a/", "b/")) and not line.startswith((b"rename", b"copy")):
                name = name[2:]
            parts = name.split("/")
            if name.startswith("/") or ".." in parts or ".git" in parts:
                bad.add(name)
    return bad


# ---------------------------------------------------------------------------------------------------------------
# 2. protected paths and links


def restore_protected(workspace, patterns, uid):
    """Put protected paths back as the snapshot had them: revert changes, remove additions."""
    matchers = [glob_regex(p) for p in patterns]
    changed = git_paths(workspace, ["diff", "--name-only", "-z", "HEAD"], uid)
    added = git_paths(workspace, ["ls-files", "--others", "-z"], uid)
    real_workspace = os.path.realpath(workspace)
    restored = []
    for path in sorted(set(changed) | set(added)):
        if not any(m.fullmatch(path) for m in matchers):
            continue
        full = os.path.join(workspace, path)
        if not os.path.realpath(os.path.dirname(full)).startswith(real_workspace):
            continue  # behind a link out of the repository: never touched as root; the link fails the grade
        if path in changed:
            remove_path(full)
            subprocess.run(["git", "checkout", "HEAD", "--", path], cwd=workspace, capture_output=True,
                           preexec_fn=demote(uid), env=git_env())
        else:
            remove_path(full)
        restored.append(path)
    return restored


def refuse_outward_links(workspace, uid):
    """A symbolic link the patch added or changed must stay inside the repository."""
    real_workspace = os.path.realpath(workspace)
    paths = git_paths(workspace, ["diff", "--name-only", "-z", "HEAD"], uid)
    paths += git_paths(workspace, ["ls-files", "--others", "-z"], uid)
    for path in paths:
        full = os.path.join(workspace, path)
        if os.path.islink(full):
            target = os.path.realpath(full)
            if target != real_workspace and not target.startswith(real_workspace + os.sep):
                return "the patch adds a symbolic link out of the repository: %s -> %s" % (path, os.readlink(full))
    return ""


def remove_path(full):
    if os.path.islink(full) or os.path.isfile(full):
        os.unlink(full)
    elif os.path.isdir(full):
        shutil.rmtree(full)


# ---------------------------------------------------------------------------------------------------------------
# 3. hidden tests


def inject_hidden(hidden, workspace):
    real_workspace = os.path.realpath(workspace)
    for root, _dirs, files in os.walk(hidden):
        for name in files:
            source = os.path.join(root, name)
            relative = os.path.relpath(source, hidden)
            target = os.path.join(workspace, relative)
            parent = os.path.dirname(target)
            note = make_safe_parents(workspace, real_workspace, os.path.dirname(relative))
            if note:
                return note
            remove_path(target)
            shutil.copyfile(source, target)
            os.chown(target, 0, 0)
            os.chmod(target, 0o644)
            lock_folders(parent, workspace)
    return ""


def make_safe_parents(workspace, real_workspace, relative_dir):
    """Create the folders down to a hidden file; none of them may be a link or leave the repository."""
    current = workspace
    for part in [p for p in relative_dir.split(os.sep) if p]:
        current = os.path.join(current, part)
        if os.path.islink(current):
            return "hidden test folder %s is a link" % os.path.relpath(current, workspace)
        if os.path.lexists(current) and not os.path.isdir(current):
            os.unlink(current)
        if not os.path.isdir(current):
            os.mkdir(current, 0o755)
            os.chown(current, 0, 0)
        if not os.path.realpath(current).startswith(real_workspace):
            return "hidden test folder %s leaves the repository" % os.path.relpath(current, workspace)
    return ""


def lock_folders(folder, workspace):
    """Root-owned and sticky up to the repository root: the tests may add files there, but not rename or delete
    what root put there (the hidden tests, and the folders leading to them)."""
    while True:
        os.chown(folder, 0, 0)
        os.chmod(folder, 0o1777)
        if os.path.samefile(folder, workspace):
            return
        folder = os.path.dirname(folder)


# ---------------------------------------------------------------------------------------------------------------
# 4. the test run


def framework_flags(spec, workspace, uid, report):
    flags = spec["report_flag"].format(report=report)
    if spec.get("framework") != "pytest":
        return flags
    config = original_pytest_config(workspace, uid)
    flags = "-c %s --rootdir %s %s" % (shlex.quote(config), shlex.quote(workspace), flags)
    if spec.get("canary"):
        flags += " " + shlex.quote(write_canary(spec["canary"], spec["canary_dir"]))
    return flags


def original_pytest_config(workspace, uid):
    """The snapshot's pytest configuration as a root-owned copy at the repository root.

    It stays at the root because pytest resolves relative paths in it (pythonpath, ...) from the file's folder;
    the root is root-owned and sticky by then, so the tests cannot replace the copy. The suffix tells pytest how
    to read it (.ini [pytest], .cfg [tool:pytest], .toml [tool.pytest.ini_options]).
    """
    lock_folders(workspace, workspace)
    tag = os.urandom(6).hex()
    for name, section in PYTEST_CONFIGS:
        proc = subprocess.run(["git", "show", "HEAD:" + name], cwd=workspace, capture_output=True,
                              preexec_fn=demote(uid), env=git_env())
        if proc.returncode == 0 and (section is None or section.encode() in proc.stdout):
            content = proc.stdout if section or b"[pytest]" in proc.stdout else b"[pytest]\n" + proc.stdout
            suffix = os.path.splitext(name)[1]
            return write_root_file(os.path.join(workspace, ".resq-pytest-%s%s" % (tag, suffix)), content)
    return write_root_file(os.path.join(workspace, ".resq-pytest-%s.ini" % tag), b"[pytest]\n")


def write_canary(canary, canary_dir):
    os.makedirs(canary_dir, mode=0o755, exist_ok=True)
    text = CANARY_TEMPLATE.format(name=canary["test"], nonce=canary["nonce"], wrong=canary["wrong"])
    return write_root_file(os.path.join(canary_dir, canary["file"]), text.encode())


def write_root_file(path, content):
    with open(path, "wb") as out:
        out.write(content)
    os.chmod(path, 0o644)
    return path


def run_as(uid, command, cwd, output, spec, watch=b""):
    """Run as the test user until exit or deadline; returns (exit code, timed out, whether `watch` was printed)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/home/resq", "LANG": "C.UTF-8",
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1", "TMPDIR": "/tmp"}
    env.update(spec.get("env") or {})  # the task's own variables (a benchmark spec's env_vars_test)
    killer = start_killer(uid)
    proc = subprocess.Popen(["sh", "-c", command], cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            preexec_fn=demote(uid, new_group=True, file_size=spec.get("file_size")))
    deadline = time.monotonic() + spec["timeout_s"]
    output_limit = spec["output_limit"]
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
            if time.monotonic() <= deadline:
                continue
        if proc.poll() is not None and not chunk:
            break
        if time.monotonic() > deadline:
            timed_out = True
            break
        time.sleep(0.01)
    kill_user(killer, uid)
    code = proc.wait()
    if written > output_limit:
        output.write(b"\n[resq: output cut at %d bytes of %d]\n" % (output_limit, written))
    return (None if timed_out else code), timed_out, seen


def start_killer(uid):
    """A process of the test user, forked before the tests can exhaust the pids limit, that waits for the word.

    kill(-1) from the test user's own uid reaches every process of that user (daemons and fork bombs included)
    in one pass inside the kernel, which no loop over /proc from root can match.
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(write_end)
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        os.read(read_end, 1)
        for _ in range(3):
            os.kill(-1, signal.SIGKILL)
        os._exit(0)
    os.close(read_end)
    return pid, write_end


def kill_user(killer, uid):
    pid, write_end = killer
    try:
        os.write(write_end, b"k")
    except BrokenPipeError:  # the tests killed the killer (same uid): sweep /proc instead
        sweep_user(uid)
    os.close(write_end)
    os.waitpid(pid, 0)
    sweep_user(uid)


def sweep_user(uid, rounds=20):
    """Freeze then kill whatever of the test user is still alive; a few rounds outrun a fork loop."""
    for _ in range(rounds):
        pids = [int(p) for p in os.listdir("/proc") if p.isdigit() and owner(p) == uid]
        if not pids:
            return
        for sig in (signal.SIGSTOP, signal.SIGKILL):
            for pid in pids:
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
        time.sleep(0.05)


def owner(pid):
    try:
        return os.stat("/proc/" + pid).st_uid
    except OSError:
        return None


def keep_report(report, destination):
    try:
        info = os.lstat(report)
    except OSError:
        return False
    if not stat.S_ISREG(info.st_mode):
        return False
    with open(report, "rb") as source, open(destination, "wb") as out:
        shutil.copyfileobj(source, out)
    return True


# ---------------------------------------------------------------------------------------------------------------
# helpers


def git_paths(workspace, args, uid):
    proc = subprocess.run(["git"] + args, cwd=workspace, capture_output=True, preexec_fn=demote(uid),
                          env=git_env())
    return [p for p in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if p]


def git_env():
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/home/resq", "LANG": "C.UTF-8"}


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


def demote(uid, new_group=False, file_size=None):
    def switch():
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        if new_group:
            os.setsid()
        if file_size:
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        os.environ["HOME"] = "/home/resq"
    return switch


if __name__ == "__main__":
    main(sys.argv[1])
