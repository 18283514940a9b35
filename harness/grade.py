"""Runs inside a fresh eval container, as root, with the Python standard library only.

0. Take the group bits off `/` when the unprivileged user is not in its group (its rights are unchanged): on a
   FUSE storage driver, that spares a round trip to the daemon per path that user's processes resolve.
1. Apply the system's patch to /workspace (as the unprivileged user): `git apply`, then a 3-way fallback.
   Paths with `..`, absolute paths, paths into .git and paths holding control characters are refused before git
   sees the patch (quoted git paths are unescaped first).
2. Undo whatever the patch did to protected paths (test folders, conftest.py, pytest.ini, sitecustomize.py, ...),
   and refuse symbolic links that lead out of the repository.
3. Lay the hidden tests over the repository, root-owned; the folders holding them become root-owned and sticky,
   so the tests' own processes cannot rename, delete or replace them.
4. Run the test command as the unprivileged user with the repository's *original* pytest configuration (copied
   from the snapshot into a root-owned file at the repository root and passed with `-c`), the framework and its
   plugins from the environment only (the repository comes after site-packages on sys.path, plugins are loaded
   by name, never autoloaded), asking the framework for a structured report at a random path in a folder the
   tests may write to but not list. The hidden test files carry canary tests that must fail (planted by the
   runner); a root-owned plugin keeps them selected whatever `-k`, `-m` or `--deselect` say. Meanwhile a witness
   (inotify, in this root process) records framework files opened from the repository. Files the tests write
   are capped in size; at the deadline every process of that user is killed.
   A RES-Q style test script (spec "script") is copied in under a random name only now, and its report is
   written by this harness: the exit code and whether the script printed the per-run secret.
5. Copy the report (up to a size cap) into a root-only folder and write status.json there: nothing the tests run
   can touch either. status.json also says how many processes the kernel killed for the container's memory limit
   (its cgroup's oom_kill counter), so the runner need not wait for the container's exit to ask the engine.

Usage: python3 -I grade.py SPEC.json
"""

import configparser
import ctypes
import json
import os
import re
import resource
import shlex
import signal
import stat
import struct
import subprocess
import sys
import time

# Always restored from the snapshot, whatever the task's own protected list says: they steer the test framework
# or the interpreter before any test runs.
ALWAYS_PROTECTED = ["conftest.py", "**/conftest.py", "pytest.ini", ".pytest.ini", "tox.ini",
                    "sitecustomize.py", "**/sitecustomize.py", "usercustomize.py", "**/usercustomize.py",
                    "**/*.pth", "**/__pycache__/**", "**/*.pyc"]
# Where pytest finds its configuration, in its own order of preference, and the section that makes a file count.
PYTEST_CONFIGS = [("pytest.ini", None), (".pytest.ini", None), ("pyproject.toml", "[tool.pytest"),
                  ("tox.ini", "[pytest]"), ("setup.cfg", "[tool:pytest]")]
CONFIG_NAMES = [name for name, _section in PYTEST_CONFIGS]
APPLIED_MARK = "--- resq patch applied ---"
# Files shaped like the test framework or a plugin of it: loading one from the repository fails the grade, and the
# ones a patch adds are named in the reason (they are inert by design: see framework_env).
FRAMEWORK_FILE = re.compile(r"(?:^|/)(?:pytest|_pytest|pluggy|iniconfig)(?:\.py|/.*|\.[^/]*\.pyc)$"
                            r"|\.(?:dist|egg)-info/entry_points\.txt$", re.S)
INERT_FILE = re.compile(FRAMEWORK_FILE.pattern + r"|(?:^|/)__pycache__/|(?:^|/)node_modules/", re.S)
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Run by the environment's own python as the test user, from `/` and isolated: where its site-packages are.
PROBE = "import json, site; print(json.dumps(site.getsitepackages()))"
# The container's own memory cgroup: (file, the line naming OOM kills). v2 only with a private cgroup namespace.
OOM_COUNTERS = (("/sys/fs/cgroup/memory/memory.oom_control", "oom_kill"),
                ("/sys/fs/cgroup/memory.events", "oom_kill"))
# Loaded with -p: keeps the canaries (known by salted hash only) selected whatever -k, -m, --deselect did, once
# each, and last when the run stops at the first failure.
KEEP_PLUGIN = '''import hashlib
import os

import pytest

SALT, KEEP = {salt!r}, {keep!r}


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config):
    """pytest and its plugins are loaded by now: processes the tests start behave as without the harness."""
    os.environ.pop("PYTHONSAFEPATH", None)
    os.environ.pop("PYTEST_DISABLE_PLUGIN_AUTOLOAD", None)


def _canary(item):
    return hashlib.sha256((SALT + item.nodeid).encode()).hexdigest() in KEEP


@pytest.hookimpl(hookwrapper=True)
def pytest_collection_modifyitems(session, config, items):
    planted = [item for item in items if _canary(item)]
    yield
    kept, seen = [], set()
    for item in items + planted:
        if _canary(item):
            if item.nodeid in seen:
                continue
            seen.add(item.nodeid)
        kept.append(item)
    if config.getoption("maxfail", 0):
        kept.sort(key=_canary)
    items[:] = kept
'''
PYLIB = "/resq/pylib"


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
        status["oom_kills"] = oom_kills()
        with open(os.path.join(private, "status.json"), "w") as out:
            json.dump(status, out)


def oom_kills():
    """Processes of this container killed for its memory limit so far; None when its cgroup cannot be read here
    (the runner then asks the engine)."""
    try:
        with open("/proc/self/cgroup") as source:
            namespaced_v2 = source.read().strip() == "0::/"
    except OSError:
        namespaced_v2 = False
    for path, key in OOM_COUNTERS:
        if path.endswith("memory.events") and not namespaced_v2:
            continue  # the host's hierarchy, not this container's
        try:
            with open(path) as source:
                for line in source:
                    name, _, value = line.partition(" ")
                    if name == key:
                        return int(value)
        except (OSError, ValueError):
            continue
    return None


def check_spec(spec):
    """The spec against spec.schema.json beside this file (the host's HarnessSpec); a mismatch stops here, before
    anything is touched. spec_check.py is imported from this folder, which boot.py puts first on sys.path (with its
    bytecode in __pycache__)."""
    here = os.path.dirname(os.path.abspath(__file__))
    if here not in sys.path:  # boot.py put this folder first; a program that loaded grade.py by its path did not
        sys.path.insert(0, here)
    import spec_check

    spec_check.check(spec, os.path.join(here, "spec.schema.json"))


def run(spec, status):
    """The helpers that read nothing the patch can change start first and run beside the patch apply: the probe
    (pytest, unless its answer is known for the image) and the reading of the snapshot's pytest configuration."""
    write_hosts(spec["hosts"])
    quick_root_lookups(spec["uid"])
    pytest = spec.get("framework") == "pytest"
    probe = start_site_probe(spec["uid"], spec.get("activate", "")) if pytest and spec.get("sites") is None else None
    configs = start_head_blobs(spec["workspace"], spec["uid"], CONFIG_NAMES) if pytest else None
    try:
        apply_and_test(spec, status, Helpers(probe, configs))
    finally:
        for helper in (probe, configs):
            if helper is not None and helper.poll() is None:  # the patch did not apply: the answer is not needed
                helper.kill()
                helper.wait()


def write_hosts(text):
    """/etc/hosts, when the engine wrote none: the runtime alone made this container's loopback-only network, and
    the image's file (most often empty) would leave `localhost` unresolved."""
    if not text:
        return
    try:
        if os.path.islink("/etc/hosts") or os.path.isdir("/etc/hosts"):
            remove_path("/etc/hosts")
        write_root_file("/etc/hosts", text.encode())
    except OSError:  # a read-only root: the image's file stays
        pass


def quick_root_lookups(uid):
    """`/` loses its group permissions when the test user is neither its owner nor in its group: what that user may
    do is unchanged (the other bits decide for it), and its path look-ups get ~50x cheaper on a FUSE storage driver.
    There (fuse-overlayfs), for a process that does not own `/`, the kernel asks the daemon for the ACL of the
    mount's root folder on every path resolved from `/` while that folder has group bits: ~40 us a path, and a
    pytest start resolves over a thousand. Without group bits the mode alone decides, in the kernel."""
    try:
        root = os.stat("/")
        if root.st_mode & 0o070 and uid not in (root.st_uid, root.st_gid):
            os.chmod("/", stat.S_IMODE(root.st_mode) & ~0o070)
    except OSError:  # a read-only root: look-ups stay as they are
        pass


class Helpers:
    """The processes run() started beside the patch apply (None where not needed)."""

    def __init__(self, probe, configs):
        self.probe, self.configs = probe, configs


def apply_and_test(spec, status, helpers):
    workspace, uid = spec["workspace"], spec["uid"]
    started = time.monotonic()
    ok, log = apply_patch(spec["patch"], workspace, uid)
    status["applied"], status["apply_log"] = ok, log[-20000:]
    if not ok:
        return
    print(APPLIED_MARK, flush=True)
    touched = touched_paths(workspace, uid)
    status["restored"] = restore_protected(workspace, spec["protected"] + ALWAYS_PROTECTED, uid, touched)
    named = patch_paths(spec["patch"])
    status["inert_files"] = sorted(p for p in named if INERT_FILE.search(p))[:20]
    note = refuse_outward_links(workspace, touched) or inject_hidden(spec["hidden"], workspace)
    status["apply_s"] = time.monotonic() - started
    if note:
        status["note"] = note
        return
    if spec.get("script"):
        run_script(spec, status)
    else:
        run_tests(spec, status, named, helpers)


def run_tests(spec, status, named, helpers):
    """The test command with the report flags, watched by the witness; the report kept up to its size cap."""
    workspace, uid = spec["workspace"], spec["uid"]
    report = os.path.join(spec["report_dir"], spec["nonce"] + spec["report_suffix"])
    os.makedirs(spec["report_dir"], exist_ok=True)
    os.chmod(spec["report_dir"], 0o733)
    flags, env, witness = framework_env(spec, status, workspace, uid, report, named, helpers)
    command = with_report_flag(spec["command"], flags, spec.get("report_flag_after", "")) if flags else spec["command"]
    output_path = os.path.join(spec["private"], "test_output.txt")
    with open(output_path, "wb") as output:
        tests_started = time.monotonic()
        code, timed_out, _seen = run_as(uid, command, workspace, output, spec, harness_env=env, witness=witness)
        status["tests_s"] = time.monotonic() - tests_started
    status["test_exit"], status["timed_out"] = code, timed_out
    status["killed_by"] = signal_name(code)
    status["note"] = witness.verdict() if witness else ""
    if spec.get("report_is_output"):
        copy_file(output_path, os.path.join(spec["private"], "report"))
        status["report_found"] = True
    else:
        status["report_found"], over = keep_report(report, os.path.join(spec["private"], "report"),
                                                   spec.get("report_limit", 1 << 62))
        status["note"] = status["note"] or over


def run_script(spec, status):
    """A test script that passes only if it exits 0 and prints the secret placed before its success exit."""
    script = spec["script"]
    target = os.path.join(spec["workspace"], script["name"])
    remove_path(target)
    copy_file(script["source"], target)
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
    log = ""
    for args in (["git", "apply", "--verbose", "--whitespace=nowarn"],
                 ["git", "apply", "--verbose", "--3way", "--whitespace=nowarn"]):
        if "--3way" in args:  # files copied into the image have new stat data; the 3-way apply needs a fresh index
            subprocess.run(["git", "update-index", "-q", "--refresh"], cwd=workspace, capture_output=True,
                           preexec_fn=demote(uid), env=git_env())
        proc = subprocess.run(args, input=content, cwd=workspace, capture_output=True, preexec_fn=demote(uid),
                              env=git_env())
        output = (proc.stdout + proc.stderr).decode("utf-8", "replace")
        log += "$ " + " ".join(args) + "\n" + output
        if proc.returncode == 0:
            return True, log
    return False, log


def unsafe_paths(content):
    """Paths in diff headers that are absolute, climb with `..`, reach into .git or hold control characters."""
    bad = set()
    for line in content.split(b"\n"):
        for name in header_paths(line):
            parts = name.split("/")
            if name.startswith("/") or ".." in parts or ".git" in parts or CONTROL.search(name):
                bad.add(name.encode("unicode_escape").decode())
    return bad


def header_paths(line):
    """The repository paths a diff header line names, unquoted and unescaped as git reads them."""
    if line.startswith((b"--- ", b"+++ ")):
        names = [line[4:].split(b"\t")[0]]
    elif line.startswith(b"diff --git "):
        names = re.findall(rb'"(?:[^"\\]|\\.)*"|[^ "]+', line[len(b"diff --git "):])
    elif line.startswith((b"rename from ", b"rename to ", b"copy from ", b"copy to ")):
        names = [line.split(b" ", 2)[2]]
    else:
        return []
    paths = []
    for raw in names:
        name = git_unquote(raw.rstrip(b"\r")).decode("utf-8", "replace")
        if name == "/dev/null":
            continue
        if name.startswith(("a/", "b/")) and not line.startswith((b"rename", b"copy")):
            name = name[2:]
        paths.append(name)
    return paths


def git_unquote(raw):
    """A git path as bytes: "quoted" names carry C escapes (\\n, \\t, \\", \\\\, \\ooo octal)."""
    raw = raw.strip()
    if not (raw.startswith(b'"') and raw.endswith(b'"') and len(raw) >= 2):
        return raw
    simple = {b"n": b"\n", b"t": b"\t", b"r": b"\r", b"a": b"\a", b"b": b"\b", b"f": b"\f", b"v": b"\v"}

    def one(match):
        escape = match.group(1)
        if escape[:1].isdigit():
            return bytes([int(escape, 8) & 0xFF])
        return simple.get(escape, escape)
    return re.sub(rb"\\([0-7]{1,3}|.)", one, raw[1:-1], flags=re.S)


# ---------------------------------------------------------------------------------------------------------------
# 2. protected paths and links


def touched_paths(workspace, uid):
    """{path: tracked} of the paths the patch changed or added, as one `git status` lists them: tracked and changed
    (against HEAD, in the index or the work tree), or untracked, ignored ones included."""
    proc = start_git(workspace, ["--no-optional-locks", "status", "--porcelain", "-z", "--no-renames",
                                 "--untracked-files=all", "--ignored=traditional"], uid)
    return {entry[3:]: entry[:2] not in ("??", "!!") for entry in git_paths(proc)}


def patch_paths(patch):
    """Every repository path the patch's headers name."""
    with open(patch, "rb") as source:
        return {name for line in source.read().split(b"\n") for name in header_paths(line)}


def restore_protected(workspace, patterns, uid, touched):
    """Put protected paths back as the snapshot had them: revert changes, remove additions."""
    matchers = [glob_regex(p) for p in patterns]
    real_workspace = os.path.realpath(workspace)
    restored = []
    for path in sorted(touched):
        if not any(m.fullmatch(path) for m in matchers):
            continue
        full = os.path.join(workspace, path)
        if not os.path.realpath(os.path.dirname(full)).startswith(real_workspace):
            continue  # behind a link out of the repository: never touched as root; the link fails the grade
        remove_path(full)
        if touched[path]:
            subprocess.run(["git", "checkout", "HEAD", "--", path], cwd=workspace, capture_output=True,
                           preexec_fn=demote(uid), env=git_env())
        restored.append(path)
    return restored


def refuse_outward_links(workspace, touched):
    """A symbolic link the patch added or changed must stay inside the repository."""
    real_workspace = os.path.realpath(workspace)
    for path in touched:
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
        remove_tree(full)


def remove_tree(top):
    """A folder and all it holds. Links are removed, never followed: os.walk lists a link to a folder among the
    folders and does not enter it."""
    for folder, folders, files in os.walk(top, topdown=False):
        for name in files:
            os.unlink(os.path.join(folder, name))
        for name in folders:
            path = os.path.join(folder, name)
            if os.path.islink(path):
                os.unlink(path)
            else:
                os.rmdir(path)
    os.rmdir(top)


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
            copy_file(source, target)
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


def framework_env(spec, status, workspace, uid, report, named, helpers):
    """Flags for the command, its environment variables, and the witness watching the run (pytest only). The
    site-packages folders found go into the status."""
    flags = spec["report_flag"].format(report=report)
    if spec.get("framework") != "pytest":
        return flags, {}, None
    config = original_pytest_config(workspace, helpers.configs)
    flags = "-c %s --rootdir %s %s" % (shlex.quote(config), shlex.quote(workspace), flags)
    # the probe started with the run, or its answer in an earlier evaluation of this image (the runner keeps it)
    probe = helpers.probe
    sites = site_packages(probe) if probe is not None else [f for f in spec["sites"] if os.path.isdir(f)]
    status["sites"] = sites
    if not sites:  # no site-packages to load the harness's plugin from: the repository's own path rules apply
        return flags, {}, None
    off = disabled_plugins(spec["command"], config)
    plugins = sorted({name for folder in sites for name in pytest11_names(folder) if name not in off})
    canary = spec.get("canary") or {}
    keep = write_keep_plugin(canary, sites, workspace)
    flags += "".join(" -p " + shlex.quote(name) for name in [keep] + plugins)
    flags += "".join(" " + shlex.quote(node_id) for node_id in canary.get("arguments", []))
    env = {"PYTHONSAFEPATH": "1", "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
    # the environment's pytest outside its site-packages: the repository is pytest, installed editable
    framework_in_repo = not any(os.path.isdir(os.path.join(folder, "_pytest")) for folder in sites)
    return flags, env, Witness(workspace, ENTRY_POINTS if framework_in_repo else FRAMEWORK_FILE, untrusted=named)


def start_site_probe(uid, activate):
    """Ask the tests' python (after the image's activation, if any), started isolated from `/`, for its
    site-packages folders. It starts before the patch is applied, beside it: it reads nothing of the repository."""
    find = 'exec "$(command -v python || command -v python3)" -I -c "$0"'
    script = "%s && %s" % (activate, find) if activate else find
    return subprocess.Popen(["sh", "-c", script, PROBE], cwd="/", stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, preexec_fn=demote(uid), env=git_env())


def site_packages(probe):
    """The probe's answer: the site-packages folders that exist."""
    stdout, _ = probe.communicate()
    try:
        return [folder for folder in json.loads(stdout.splitlines()[-1]) if os.path.isdir(folder)]
    except (ValueError, IndexError):
        return []


def pytest11_names(site_dir):
    """Entry point names of the [pytest11] group in the distributions installed in one site-packages folder."""
    names = []
    for entry in os.listdir(site_dir):
        path = os.path.join(site_dir, entry, "entry_points.txt")
        if entry.endswith((".dist-info", ".egg-info")) and os.path.isfile(path):
            parser = configparser.ConfigParser(delimiters=("=",), interpolation=None)
            parser.optionxform = str
            try:
                parser.read(path, encoding="utf-8")
            except configparser.Error:
                continue
            names += list(parser["pytest11"]) if parser.has_section("pytest11") else []
    return names


def disabled_plugins(command, config):
    """Plugins the command or the configuration turns off with `-p no:NAME` (loading them by name would undo it)."""
    with open(config, "rb") as source:
        text = command + " " + source.read().decode("utf-8", "replace")
    return set(re.findall(r"-p\s*no:([\w.\-]+)", text))


def write_keep_plugin(canary, site_dirs, workspace):
    """The canary-keeping plugin in a root-owned folder, and a root-owned .pth in site-packages that puts that
    folder, then the repository, at the end of sys.path: nothing in the repository comes before site-packages."""
    os.makedirs(PYLIB, mode=0o755, exist_ok=True)
    name = "resq_keep_" + os.urandom(4).hex()
    text = KEEP_PLUGIN.format(salt=canary.get("salt", ""), keep=set(canary.get("keep", [])))
    write_root_file(os.path.join(PYLIB, name + ".py"), text.encode())
    write_root_file(os.path.join(site_dirs[0], "zzzz-resq-repository.pth"), ("%s\n%s\n" % (PYLIB, workspace)).encode())
    return name


def original_pytest_config(workspace, configs):
    """The snapshot's pytest configuration as a root-owned copy at the repository root.

    It stays at the root because pytest resolves relative paths in it (pythonpath, ...) from the file's folder;
    the root is root-owned and sticky by then, so the tests cannot replace the copy. The suffix tells pytest how
    to read it (.ini [pytest], .cfg [tool:pytest], .toml [tool.pytest.ini_options]).
    """
    lock_folders(workspace, workspace)
    tag = os.urandom(6).hex()
    committed = head_blobs(configs, CONFIG_NAMES)
    for name, section in PYTEST_CONFIGS:
        found = committed.get(name)
        if found is not None and (section is None or section.encode() in found):
            content = found if section or b"[pytest]" in found else b"[pytest]\n" + found
            suffix = os.path.splitext(name)[1]
            return write_root_file(os.path.join(workspace, ".resq-pytest-%s%s" % (tag, suffix)), content)
    return write_root_file(os.path.join(workspace, ".resq-pytest-%s.ini" % tag), b"[pytest]\n")


def start_head_blobs(workspace, uid, names):
    """One git process reading the names from the snapshot's commit (committed content: the patch cannot change it)."""
    proc = subprocess.Popen(["git", "cat-file", "--batch"], cwd=workspace, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, preexec_fn=demote(uid), env=git_env())
    proc.stdin.write("".join("HEAD:%s\n" % name for name in names).encode())
    proc.stdin.close()
    return proc


def head_blobs(proc, names):
    """{name: content} of the names that are files in the snapshot's commit, as start_head_blobs's git read them."""
    data = proc.stdout.read()  # (its stdin, written whole when it started, is closed)
    proc.wait()
    found, at = {}, 0
    for name in names:
        end = data.find(b"\n", at)
        if end < 0:
            break
        header = data[at:end].split()
        at = end + 1
        if len(header) == 3 and header[2].isdigit():  # "<id> <type> <size>", then the content and a newline
            size = int(header[2])
            if header[1] == b"blob":
                found[name] = data[at:at + size]
            at += size + 1
    return found


def write_root_file(path, content):
    with open(path, "wb") as out:
        out.write(content)
    os.chmod(path, 0o644)
    return path


def run_as(uid, command, cwd, output, spec, watch=b"", harness_env=None, witness=None):
    """Run as the test user until exit or deadline; returns (exit code, timed out, whether `watch` was printed)."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": "/home/resq", "LANG": "C.UTF-8",
           "PYTHONDONTWRITEBYTECODE": "1", "PYTHONNOUSERSITE": "1", "TMPDIR": "/tmp"}
    env.update(spec.get("env") or {})  # the task's own variables (a benchmark spec's env_vars_test)
    env.update(harness_env or {})  # the framework from the environment (framework_env)
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
        if witness:
            witness.drain()
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
    if witness:
        witness.drain()
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


def keep_report(report, destination, limit):
    """(found, note): a regular file up to `limit` bytes is kept; a larger one is the tests' doing."""
    try:
        info = os.lstat(report)
    except OSError:
        return False, ""
    if not stat.S_ISREG(info.st_mode):
        return False, ""
    if info.st_size > limit:
        return False, "the test report is %d bytes, over the %d-byte cap: the tests wrote into it" % (
            info.st_size, limit)
    copy_file(report, destination)
    return True, ""


def copy_file(source, target):
    """The bytes of one file into another (importing shutil, with the compression modules it loads, costs a fresh
    container more than this)."""
    with open(source, "rb") as reader, open(target, "wb") as out:
        for chunk in iter(lambda: reader.read(1 << 20), b""):
            out.write(chunk)


# ---------------------------------------------------------------------------------------------------------------
# the witness


ENTRY_POINTS = re.compile(r"\.(?:dist|egg)-info/entry_points\.txt$", re.S)
IN_OPEN, IN_CREATE, IN_ISDIR, IN_NONBLOCK = 0x20, 0x100, 0x40000000, 0o4000
EVENT = struct.Struct("iIII")


class Witness:
    """Files of the repository opened during the test run whose paths look like the framework or a plugin of it,
    seen through inotify from this root process: the code under test can neither stop nor edit the record."""

    def __init__(self, workspace, shapes, untrusted):
        """Files present now and not named by the patch are the environment's (snapshot, setup commands)."""
        self.workspace, self.shapes, self.opened, self.folders = workspace, shapes, set(), {}
        self.trusted = set()
        self.libc = libc()
        self.fd = self.libc.inotify_init1(IN_NONBLOCK)
        for folder, names, files in os.walk(workspace) if self.fd >= 0 else []:
            names[:] = [n for n in names if n != ".git"]
            self.watch(folder)
            paths = (os.path.relpath(os.path.join(folder, f), workspace) for f in files)
            self.trusted.update(p for p in paths if self.shapes.search(p))
        self.trusted -= set(untrusted)

    def watch(self, folder):
        handle = self.libc.inotify_add_watch(self.fd, os.fsencode(folder), IN_OPEN | IN_CREATE)
        if handle >= 0:
            self.folders[handle] = folder

    def drain(self):
        while self.fd >= 0:
            try:
                data = os.read(self.fd, 65536)
            except BlockingIOError:
                return
            offset = 0
            while offset < len(data):
                handle, mask, _cookie, size = EVENT.unpack_from(data, offset)
                name = os.fsdecode(data[offset + EVENT.size:offset + EVENT.size + size].rstrip(b"\0"))
                offset += EVENT.size + size
                self.event(self.folders.get(handle), mask, name)

    def event(self, folder, mask, name):
        if folder is None or not name:
            return
        path = os.path.join(folder, name)
        if mask & IN_ISDIR:
            if mask & IN_CREATE:
                self.watch(path)
            return
        relative = os.path.relpath(path, self.workspace)
        if mask & IN_OPEN and self.shapes.search(relative):
            self.opened.add(relative)

    def verdict(self):
        """The note that fails the grade: framework files loaded from the repository that are not the snapshot's.
        (The inotify instance stays open until the process exits: closing one with many watches waits for the
        kernel, ~15 ms, after the result is already on its way.)"""
        loaded = sorted(p for p in self.opened if p not in self.trusted)
        if not loaded:
            return ""
        kind = "plugin metadata" if all(ENTRY_POINTS.search(p) for p in loaded) else "test framework files"
        return "the witness saw %s loaded from the repository: %s" % (kind, ", ".join(loaded[:5]))


# ---------------------------------------------------------------------------------------------------------------
# helpers


def libc():
    """The C library: the one this python is linked with (no search), else whatever find_library finds (it runs
    ldconfig, ~15 ms)."""
    try:
        found = ctypes.CDLL(None, use_errno=True)
        found.inotify_init1  # noqa: B018  (a statically linked python may lack it)
        return found
    except (OSError, AttributeError):
        from ctypes.util import find_library  # runs ldconfig: only where the linked C library lacks inotify

        return ctypes.CDLL(find_library("c") or "libc.so.6", use_errno=True)


def start_git(workspace, args, uid):
    return subprocess.Popen(["git"] + args, cwd=workspace, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.DEVNULL, preexec_fn=demote(uid), env=git_env())


def git_paths(proc):
    """The NUL-separated paths a started git listing prints."""
    out, _ = proc.communicate()
    return [p for p in out.decode("utf-8", "surrogateescape").split("\0") if p]


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
    return re.compile(out, re.S)


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
