"""Path look-ups of the unprivileged user in a container: `/` as the image has it, then without its group bits.

That is what grade.py's `quick_root_lookups` (eval containers) and `systems.base.QUICK_ROOT_LOOKUPS` (workspace
containers) do before anything runs as uid 1000. With the fuse-overlayfs storage driver, a process that does not own
`/` makes the kernel ask the FUSE daemon for the ACL of the mount's root folder on every path it resolves from `/`
while that folder has group bits; root, its owner, never pays it. Everything runs in one container of the python
environment image, so both cases share the engine, the storage driver and the files:

    .venv/bin/python bench/root_lookups.py            # ~10 s

It prints microseconds per `stat()` of an absolute path (as uid 1000 and as root), and the seconds of a Python start
that imports pytest as uid 1000, for both modes of `/`, with the ratio of the two.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

PROBE = r'''
import json, os, statistics, subprocess, sys, time

def stat_us(path, rounds=5, count=2000):
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(count):
            os.stat(path)
        samples.append((time.perf_counter() - started) / count * 1e6)
    return statistics.median(samples)

def start_s(rounds=5):
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import pytest"], check=True)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)

print(json.dumps({"stat_us": stat_us(sys.argv[1]), "import_pytest_s": start_s() if os.getuid() else None}))
'''
# As root: the mode of `/`, one measurement as uid 1000 and one as root, the project's own rule applied
# (QUICK_ROOT_LOOKUPS, the shell twin of grade.py's quick_root_lookups), the same again.
SCRIPT = r'''
set -e
printf '%s' "$PROBE" > /tmp/probe.py
measure() {
  echo "{\"mode\": \"$(stat -c %a /)\", \"uid1000\": $(setpriv --reuid 1000 --regid 1000 --clear-groups env PYTHONDONTWRITEBYTECODE=1 python3 -I /tmp/probe.py "$TARGET"), \"root\": $(python3 -I /tmp/probe.py "$TARGET")}"
}
measure
sh -c "$QUICK"
measure
'''


def main() -> None:
    from resq_runner import environments
    from resq_runner.sandbox import connect
    from resq_runner.systems.base import QUICK_ROOT_LOOKUPS

    image = environments.ensure_environment(connect(), "python", log=print)
    target = "/usr/lib/os-release"  # in every Debian image; any absolute path walks from `/`
    out = subprocess.run(["docker", "run", "--rm", "--network", "none", "-e", f"PROBE={PROBE}", "-e",
                          f"TARGET={target}", "-e", f"QUICK={QUICK_ROOT_LOOKUPS}", image.tag, "sh", "-c", SCRIPT],
                         check=True, capture_output=True, text=True).stdout
    before, after = (json.loads(line) for line in out.strip().splitlines())
    print(f"image {image.tag}, stat() of {target}")
    print("| mode of / | stat as uid 1000 (us) | stat as root (us) | python -c 'import pytest' as uid 1000 (s) |")
    print("| --- | --- | --- | --- |")
    for case in (before, after):
        print(f"| {case['mode']} | {case['uid1000']['stat_us']:.1f} | {case['root']['stat_us']:.1f} | "
              f"{case['uid1000']['import_pytest_s']:.3f} |")
    stat_ratio = after["uid1000"]["stat_us"] / before["uid1000"]["stat_us"]
    start_ratio = after["uid1000"]["import_pytest_s"] / before["uid1000"]["import_pytest_s"]
    print(f"without group bits / as the image has it: stat x{stat_ratio:.3f}, python start x{start_ratio:.2f}")


if __name__ == "__main__":
    main()
