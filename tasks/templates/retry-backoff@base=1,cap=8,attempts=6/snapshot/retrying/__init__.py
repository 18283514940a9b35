"""Retrying flaky calls to remote services."""

from .policy import RetryPolicy

__all__ = ["RetryPolicy"]
