"""The `resq` command's group, consoles and error handling, shared by the command modules beside it."""

from __future__ import annotations

import functools
import signal
import sys

import click
from rich.console import Console
from rich.markup import escape

from ..errors import ResqError

console = Console(stderr=True)
show = Console()


def friendly_errors(command):
    """Bad input and missing tools end with one line and exit code 2, never a traceback. SIGTERM (a CI job
    cancelled, `kill PID`) takes the same clean shutdown path as Ctrl-C, so containers are removed either way."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        signal.signal(signal.SIGTERM, _interrupt)
        try:
            return command(*args, **kwargs)
        except ResqError as exc:
            console.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            console.print("[yellow]interrupted:[/] containers removed; run the same command again to resume")
            sys.exit(130)

    return wrapper


def _interrupt(_signum, _frame):
    raise KeyboardInterrupt


@click.group()
@click.version_option(package_name="resq-runner")
def main() -> None:
    """resq-runner: evaluate code-editing systems on repository tasks with hidden tests."""
