"""Settings objects and the loader."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Settings:
    name: str = "app"
    retries: int = 30


def _parse_lines(text: str) -> dict[str, str]:
    values = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if "=" not in line:
            raise ValueError(f"line {number}: expected key = value")
        key, value = (part.strip() for part in line.split("=", 1))
        values[key] = value
    return values


def _non_negative(key: str, value: str) -> int:
    if not value.isdigit():
        raise ValueError(f"{key} must be a non-negative integer, got {value!r}")
    return int(value)


def load_settings(text: str) -> Settings:
    values = _parse_lines(text)
    unknown = set(values) - {"name", "retries"}
    if unknown:
        raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}")
    kwargs = {}
    if "name" in values:
        kwargs["name"] = values["name"]
    if "retries" in values:
        kwargs["retries"] = _non_negative("retries", values["retries"])
    return Settings(**kwargs)
