"""Verified offline mode: with `--offline`, every network attempt the runner would make is an error instead.

The flag sets RESQ_OFFLINE=1 for the process (and anything it starts), and each place that could reach the network
asks `refuse_if_offline` first: registry pulls, the apt bootstrap, wheel and sdist downloads, git fetches of remote
URLs, an LLM endpoint that is not on this machine, and network for containers (builds and workspaces run with
network none). resq-runner sends no telemetry at all, online or not.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

from .errors import SetupError

VARIABLE = "RESQ_OFFLINE"
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "0.0.0.0"}


class OfflineError(SetupError):
    """Something needed is not on this machine, and offline mode forbids fetching it."""


def enable() -> None:
    os.environ[VARIABLE] = "1"


def enabled() -> bool:
    return os.environ.get(VARIABLE, "") not in ("", "0")


def refuse_if_offline(needed: str, prepare: str) -> None:
    """Raise one clear line naming what was needed and the command that prepares it, when offline."""
    if enabled():
        raise OfflineError(f"offline: {needed} is needed but --offline forbids reaching the network for it; "
                           f"prepare it once with network: {prepare}")


def is_local_location(location: str) -> bool:
    """A path, a file:// URL or a loopback URL: reaching it needs no network."""
    parsed = urlparse(location)
    if parsed.scheme in ("", "file") or (len(parsed.scheme) == 1 and Path(location).exists()):
        return True
    if parsed.scheme in ("http", "https", "git", "ssh"):
        return (parsed.hostname or "") in LOCAL_HOSTS or (parsed.hostname or "").startswith("127.")
    return False  # scp-like `host:path` and anything else: assume remote
