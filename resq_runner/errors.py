"""Errors a user can act on. Each message is one line naming the file or task and the fix."""


class ResqError(Exception):
    """Bad input or a missing tool: the CLI prints the message and exits 2."""

    exit_code = 2


class TaskError(ResqError):
    """A task folder or task.yaml that cannot be used."""


class SetupError(ResqError):
    """The machine lacks something resq-runner needs (a tool, the Docker daemon, a permission)."""


class InfraError(Exception):
    """The container engine failed under a task; the task's outcome is infra_error and it is retried."""


class RunFolderError(ResqError):
    """The run folder cannot be written (disk full, read-only): the run stops; what was written stays valid."""


class AuthError(ResqError):
    """The model endpoint refused the credentials (HTTP 401/403), or an agent reported that it did. Every later
    task would fail the same way, so the run stops after this task (whose row is system_error): one error line,
    exit 2. Systems raise it from `solve`."""
