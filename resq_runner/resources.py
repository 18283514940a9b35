"""Files that ship inside the package: the in-container harness (the repository's harness/ folder) and the
built-in environment definitions (environments/). The wheel maps them to resq_runner._harness and
resq_runner._environments (see setup.py); they are found through importlib.resources when first needed, and read
only by the code that uses them, never at import time."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

CHECKOUT = Path(__file__).resolve().parents[1]


def harness_dir() -> Path:
    return _folder("resq_runner._harness", "harness")


def harness_file(name: str) -> Path:
    return harness_dir() / name


def builtin_environments() -> Path:
    return _folder("resq_runner._environments", "environments")


@cache
def _folder(package: str, checkout_name: str) -> Path:
    try:
        return Path(str(resources.files(package)))
    except ModuleNotFoundError:  # the sources on sys.path without an install
        return CHECKOUT / checkout_name
