"""The `resq` command: parse, call one function, print. Each module here adds the commands of one area to the
group in common.py; nothing outside this package imports it."""

# each module registers its commands
from . import authoring, env, extras, formats, reports, run, tasks, templates  # noqa: F401
from .common import main

__all__ = ["main"]
