"""Retrieval accounting: what a system read and edited against the files the gold patch touches.

Grading side only: the gold patch's files are never shown to the system. Pure functions, no I/O.
"""

from __future__ import annotations

import re

from ..models import ContextFile, Retrieval

_DIFF_GIT = re.compile(r"^diff --git a/(.+?) b/(.+)$")
_SIDE = re.compile(r"^(?:---|\+\+\+) (?:[ab]/)?(.+?)(?:\t.*)?$")


def patch_files(patch: str) -> list[str]:
    """Repository paths a unified diff touches (both sides of a rename; /dev/null left out)."""
    found: dict[str, None] = {}
    for line in patch.splitlines():
        match = _DIFF_GIT.match(line)
        if match:
            found.update(dict.fromkeys(match.groups()))
            continue
        match = _SIDE.match(line)
        if match and match.group(1) != "/dev/null" and (line.startswith("--- a/") or line.startswith("+++ b/")):
            found[match.group(1)] = None
    return sorted(found)


def retrieval(gold_patch: str, system_patch: str, context: list[ContextFile]) -> Retrieval:
    gold = set(patch_files(gold_patch))
    read = {entry.path for entry in context}
    edited = set(patch_files(system_patch))
    return Retrieval(
        gold_files=sorted(gold), context_files=sorted(read), edited_files=sorted(edited),
        recall=_share(gold & read, gold), precision=_share(gold & read, read),
        context_tokens=sum(entry.tokens for entry in context),
        edit_recall=_share(gold & edited, gold), edit_precision=_share(gold & edited, edited),
        edited_right_files=bool(gold) and edited == gold)


def _share(part: set, whole: set) -> float | None:
    return len(part) / len(whole) if whole else None
