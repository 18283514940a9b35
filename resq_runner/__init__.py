"""resq-runner: a benchmark runner for repository-scale code editing."""

__version__ = "0.1.0"
