"""Runs inside a workspace container beside an agent: records every file of the repository that is opened.

Linux inotify (IN_OPEN) on every folder of the work tree but .git, through ctypes, with the standard library only.
Each newly seen path is appended to OUT at once (one repository path per line). Folders created later are watched
as they appear. The first line of OUT is `ready` once every watch is set, or `unavailable: REASON`.

Usage: python3 -I watch_reads.py ROOT OUT
"""

import ctypes
import ctypes.util
import os
import struct
import sys

IN_OPEN, IN_CREATE, IN_ISDIR = 0x20, 0x100, 0x40000000
EVENT = struct.Struct("iIII")


def main(root, out):
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    with open(out, "a", buffering=1) as record:
        fd = libc.inotify_init()
        if fd < 0:
            record.write(f"unavailable: inotify_init errno {ctypes.get_errno()}\n")
            return
        folders = {}

        def watch(folder):
            handle = libc.inotify_add_watch(fd, folder.encode(), IN_OPEN | IN_CREATE)
            if handle >= 0:
                folders[handle] = folder

        for folder, names, _files in os.walk(root):
            names[:] = [n for n in names if n != ".git"]
            watch(folder)
        record.write("ready\n")
        seen = set()
        while True:
            data = os.read(fd, 65536)
            offset = 0
            while offset < len(data):
                handle, mask, _cookie, size = EVENT.unpack_from(data, offset)
                name = data[offset + EVENT.size:offset + EVENT.size + size].rstrip(b"\0").decode("utf-8", "replace")
                offset += EVENT.size + size
                folder = folders.get(handle)
                if folder is None or not name:
                    continue
                path = os.path.join(folder, name)
                if mask & IN_ISDIR:
                    if mask & IN_CREATE and name != ".git":
                        watch(path)
                    continue
                if mask & IN_OPEN:
                    relative = os.path.relpath(path, root)
                    if relative not in seen:
                        seen.add(relative)
                        record.write(relative + "\n")


if __name__ == "__main__":
    try:
        main(sys.argv[1], sys.argv[2])
    except Exception as exc:  # the agent's run goes on; the system sees no observation, not a crash
        with open(sys.argv[2], "a") as record:
            record.write(f"unavailable: {type(exc).__name__}: {exc}\n")
