"""The `resq` command's group, consoles and error handling, shared by the command modules beside it."""

from __future__ import annotations

import functools
import os
import signal
import sys

import click
from rich.console import Console
from rich.markup import escape

from ..errors import ResqError
from ..memory import process_ends_with_command


class OutputClosed(KeyboardInterrupt):
    """Whoever read our output went away (`resq run | head`): stop like Ctrl-C (running evaluations are journaled,
    containers removed), silently, with the exit code of a process ended by SIGPIPE."""


def silence_output() -> None:
    """Later writes (and the flush at exit) go to /dev/null instead of raising BrokenPipeError again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for stream in (sys.stdout, sys.stderr):
        try:
            os.dup2(devnull, stream.fileno())
        except (OSError, ValueError):  # not a real file (a test's capture)
            pass


class _Console(Console):
    def on_broken_pipe(self) -> None:
        """rich's own handling exits 1 on the spot; a run must first journal what is running and clean up."""
        self.quiet = True
        silence_output()
        raise OutputClosed


console = _Console(stderr=True)
show = _Console()
PIPE_WIDTH = 10_000  # stdout that is not a terminal: tables as wide as their content, nothing cut or wrapped


def fit_output() -> None:
    """Output into a pipe or a file (`resq tasks list py | cat`) is never cut at 80 columns."""
    if not show.is_terminal:
        show.width = PIPE_WIDTH


def friendly_errors(command):
    """Bad input and missing tools end with one line and exit code 2, never a traceback. SIGTERM (a CI job
    cancelled, `kill PID`) takes the same clean shutdown path as Ctrl-C, so containers are removed either way."""

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        signal.signal(signal.SIGTERM, _interrupt)
        fit_output()
        try:
            return command(*args, **kwargs)
        except ResqError as exc:
            console.print(f"[red]error:[/] {escape(str(exc))}", highlight=False, soft_wrap=True)
            sys.exit(exc.exit_code)
        except (BrokenPipeError, OutputClosed):
            silence_output()
            sys.exit(128 + signal.SIGPIPE)
        except KeyboardInterrupt:
            console.print("[yellow]interrupted:[/] containers removed; run the same command again to resume")
            sys.exit(130)

    return wrapper


def _interrupt(_signum, _frame):
    raise KeyboardInterrupt


class _Resq(click.Group):
    def main(self, args=None, *rest, **kwargs):  # type: ignore[override]
        """No arguments: the process's own command line (`resq ...`, `python -m resq_runner`), not a test or a
        program calling in; a reading command may then end the process when it is done (memory.reads_journals)."""
        if args is None:
            process_ends_with_command()
        return super().main(args, *rest, **kwargs)


@click.group(cls=_Resq)
@click.version_option(package_name="resq-runner")
def main() -> None:
    """resq-runner: evaluate code-editing systems on repository tasks with hidden tests."""
