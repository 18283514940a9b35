"""The retry policy used by every gateway client."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RetryPolicy:
    max_attempts: int = 3
    retry_on: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError)

    def __post_init__(self):
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")

    def run(self, func):
        """Call `func()` until it succeeds or the attempts are used up."""
        for attempt in range(1, self.max_attempts + 1):
            try:
                return func()
            except self.retry_on:
                if attempt == self.max_attempts:
                    raise
