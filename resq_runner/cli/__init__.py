"""The `resq` command: parse, call one function, print. Each module here adds the commands of one area to the
group in common.py; nothing outside this package imports it."""

from . import env, extras, formats, reports, run, tasks, templates  # noqa: F401  (each registers its commands)
from .common import main

__all__ = ["main"]
