"""Edits a model writes, in two formats, applied to file contents with tolerant matching.

Search/replace blocks:                      Unified diff (in a ```diff fence or bare):
    path/to/file.py                             --- a/path/to/file.py
    <<<<<<< SEARCH                              +++ b/path/to/file.py
    old lines                                   @@ ... @@
    =======                                      context
    new lines                                   -old
    >>>>>>> REPLACE                             +new

Both become `Edit(path, search, replace)`; a diff hunk's search text is its context and removed lines. Line numbers
in hunk headers are ignored: models get them wrong more often than the text. Matching tries the exact text, then
the lines with trailing whitespace ignored, then with indentation ignored (re-indenting the replacement by the same
offset). Before matching, line-number prefixes copied from a numbered listing are stripped and tab indentation is
turned into the file's own; a replacement already in the file counts as applied. A search text that is missing or
found in more than one place is an ApplyError whose message tells the model what to fix. The edits of one reply are
applied one by one: those that match are kept, the others are reported (`Applied`).
"""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass


class ApplyError(Exception):
    pass


@dataclass
class Edit:
    path: str
    search: str  # empty: create the file (or append to it)
    replace: str
    delete: bool = False


_FENCE = re.compile(r"^\s*```")
_SEARCH, _DIVIDER, _REPLACE = re.compile(r"^<{5,9} ?SEARCH\s*$"), re.compile(r"^={5,9}\s*$"), \
    re.compile(r"^>{5,9} ?REPLACE\s*$")


def parse_edits(text: str) -> list[Edit]:
    """Every edit in a reply: search/replace blocks first; unified diffs when there are none."""
    return parse_search_replace(text) or parse_unified_diff(text)


def parse_search_replace(text: str) -> list[Edit]:
    lines = text.splitlines(keepends=True)
    edits, index, path = [], 0, ""
    while index < len(lines):
        line = lines[index]
        if _SEARCH.match(line.rstrip("\n")):
            path = _path_before(lines, index) or path
            search, index = _collect(lines, index + 1, _DIVIDER)
            replace, index = _collect(lines, index, _REPLACE)
            if not path:
                raise ApplyError("a SEARCH block has no file path on the line before it")
            edits.append(Edit(path, search, replace))
        else:
            index += 1
    return edits


def _path_before(lines: list[str], index: int) -> str:
    """The file path on the line before a SEARCH marker (fence lines skipped); empty when that line is prose."""
    for back in range(index - 1, max(-1, index - 3), -1):
        candidate = lines[back].strip()
        if candidate.startswith("```"):
            continue
        candidate = re.sub(r"^(file|path)\s*:\s*", "", candidate.strip("`*# "), flags=re.I)
        return candidate if candidate and " " not in candidate else ""
    return ""


def _collect(lines: list[str], index: int, end: re.Pattern) -> tuple[str, int]:
    taken = []
    while index < len(lines) and not end.match(lines[index].rstrip("\n")):
        taken.append(lines[index])
        index += 1
    if index >= len(lines):
        raise ApplyError(f"a SEARCH/REPLACE block is not closed (expected a line matching {end.pattern!r})")
    return "".join(taken), index + 1


def parse_unified_diff(text: str) -> list[Edit]:
    lines = _fenced(text) or text.splitlines(keepends=True)
    edits, index = [], 0
    while index < len(lines):
        if lines[index].startswith("--- ") and index + 1 < len(lines) and lines[index + 1].startswith("+++ "):
            old, new = _diff_path(lines[index]), _diff_path(lines[index + 1])
            index += 2
            hunks = []
            while index < len(lines) and not (lines[index].startswith("--- ") and index + 1 < len(lines)
                                               and lines[index + 1].startswith("+++ ")):
                if lines[index].startswith("@@"):
                    hunk, index = _hunk(lines, index + 1)
                    hunks.append(hunk)
                else:
                    index += 1
            if new is None:
                edits.append(Edit(old or "", "", "", delete=True))
            else:
                edits.extend(Edit(new, search, replace) for search, replace in hunks)
        else:
            index += 1
    return edits


def _fenced(text: str) -> list[str]:
    """The lines inside ``` fences (the prose around a diff must not become context lines)."""
    inside, taken = False, []
    for line in text.splitlines(keepends=True):
        if _FENCE.match(line):
            inside = not inside
        elif inside:
            taken.append(line)
    return taken


def _diff_path(line: str) -> str | None:
    name = line[4:].split("\t")[0].strip()
    if name == "/dev/null":
        return None
    return name[2:] if name.startswith(("a/", "b/")) else name


def _hunk(lines: list[str], index: int) -> tuple[tuple[str, str], int]:
    old, new = [], []
    while index < len(lines) and not lines[index].startswith(("@@", "--- ")):
        line = lines[index]
        body = line[1:] if line[:1] in (" ", "-", "+") else line
        if line.startswith("\\"):
            pass
        elif line.startswith("-"):
            old.append(body)
        elif line.startswith("+"):
            new.append(body)
        else:  # context; models often drop the leading space of a blank line
            old.append(body)
            new.append(body)
        index += 1
    return ("".join(old), "".join(new)), index


# ---------------------------------------------------------------------------------------------------------------
# Applying


@dataclass
class Applied:
    """What became of one edit of a reply."""

    number: int  # 1-based, in reply order
    edit: Edit
    error: str = ""  # empty: applied
    note: str = ""  # e.g. "already present", "line numbers stripped", "tabs re-indented"

    @property
    def ok(self) -> bool:
        return not self.error


def apply_edits(edits: list[Edit], read) -> tuple[dict[str, str | None], list[Applied]]:
    """New contents per path (None: delete) from the edits that apply, and what became of every edit.
    `read(path)` gives the current text or None."""
    contents: dict[str, str | None] = {}
    results = []
    for number, edit in enumerate(edits, start=1):
        current = contents[edit.path] if edit.path in contents else read(edit.path)
        notes: list[str] = []
        try:
            contents[edit.path] = None if edit.delete else apply_edit(current, edit, notes)
        except ApplyError as exc:
            results.append(Applied(number, edit, error=str(exc)))
        else:
            results.append(Applied(number, edit, note=", ".join(notes)))
    return contents, results


def apply_edit(content: str | None, edit: Edit, notes: list[str] | None = None) -> str:
    notes = [] if notes is None else notes
    search, replace = _strip_line_numbers(edit.search, edit.replace, notes)
    if content is not None:
        search, replace = _retab(content, search, notes), _retab(content, replace, notes)
    if content is None:
        if search.strip():
            raise ApplyError("the file does not exist; to create it, leave SEARCH empty")
        return replace
    if not search.strip():
        if replace.strip() and replace.strip() in content:
            notes.append("already present")
            return content
        return content + ("" if not content or content.endswith("\n") else "\n") + replace
    for strategy in (_exact, _ignoring_trailing_space, _ignoring_indentation):
        result = strategy(content, search, replace)
        if result is not None:
            return result
    if _already_present(content, search, replace):
        notes.append("already present")
        return content
    raise ApplyError("the SEARCH text was not found in the file" + _closest(content, search))


_NUMBERED = re.compile(r"^\s*\d+ ?[|│] ?")


def _strip_line_numbers(search: str, replace: str, notes: list[str]) -> tuple[str, str]:
    """`  12| code` copied from a numbered listing: the prefixes go when every line of the SEARCH
    text (or, for a new file, of the replacement) carries one."""
    decider = search if search.strip() else replace
    lines = [line for line in decider.splitlines() if line.strip()]
    if not lines or not all(_NUMBERED.match(line) for line in lines):
        return search, replace
    notes.append("line numbers stripped")
    strip = lambda text: "".join(_NUMBERED.sub("", line, count=1) for line in text.splitlines(keepends=True))
    return strip(search), strip(replace)


def indent_unit(content: str) -> str:
    """The file's indentation step: a tab when its lines are indented with tabs, else the smallest space step."""
    indents = [len(line) - len(line.lstrip(" ")) for line in content.splitlines() if line.strip()]
    if any(line.startswith("\t") for line in content.splitlines()):
        return "\t"
    steps = [i for i in indents if i > 0]
    return " " * (min(steps) if steps and min(steps) in (2, 3, 4, 8) else 4)


def _retab(content: str, text: str, notes: list[str]) -> str:
    """Leading tabs of an edit, in a file indented with spaces, become the file's indentation step."""
    unit = indent_unit(content)
    if unit == "\t" or not re.search(r"^ *\t", text, re.M):
        return text
    if "tabs re-indented" not in notes:
        notes.append("tabs re-indented")
    return "".join(re.sub(r"^[ \t]+", lambda m: m.group(0).replace("\t", unit), line)
                   for line in text.splitlines(keepends=True))


def _already_present(content: str, search: str, replace: str) -> bool:
    """The replacement is in the file already (the model resent an edit that was applied before)."""
    wanted = [line.strip() for line in _trim_blank_edges(replace.splitlines())]
    if not wanted or replace.strip() == search.strip():
        return False
    lines = [line.strip() for line in content.splitlines()]
    return any(lines[i:i + len(wanted)] == wanted for i in range(len(lines) - len(wanted) + 1))


def truncation(reply: str) -> str:
    """Why a reply looks cut off before its end (empty when it does not): an unclosed fence or block."""
    try:
        blocks = parse_search_replace(reply)
    except ApplyError as exc:
        if "not closed" in str(exc):
            return "a SEARCH/REPLACE block is not closed"
        blocks = []
    fences = [line for line in reply.splitlines() if _FENCE.match(line)]
    if len(fences) % 2 and not blocks:  # with every block closed, a missing last fence loses nothing
        return "a ``` fence is not closed"
    return ""


def _exact(content: str, search: str, replace: str) -> str | None:
    count = content.count(search)
    if count > 1:
        raise ApplyError(f"the SEARCH text occurs {count} times; add surrounding lines so it is unique")
    return content.replace(search, replace, 1) if count == 1 else None


def _ignoring_trailing_space(content: str, search: str, replace: str) -> str | None:
    return _by_lines(content, search, replace, key=lambda line: line.rstrip())


def _ignoring_indentation(content: str, search: str, replace: str) -> str | None:
    return _by_lines(content, search, replace, key=lambda line: line.strip(), reindent=True)


def _by_lines(content: str, search: str, replace: str, *, key, reindent: bool = False) -> str | None:
    lines = content.splitlines(keepends=True)
    wanted = _trim_blank_edges(search.splitlines())
    if not wanted:
        return None
    wanted_keys = [key(line) for line in wanted]
    starts = [i for i in range(len(lines) - len(wanted) + 1)
              if [key(line) for line in lines[i:i + len(wanted)]] == wanted_keys]
    if len(starts) > 1:
        raise ApplyError(f"the SEARCH text occurs {len(starts)} times; add surrounding lines so it is unique")
    if not starts:
        return None
    start = starts[0]
    new_lines = _trim_blank_edges(replace.splitlines())
    if reindent:
        new_lines = _shift(new_lines, _indent_offset(lines[start:start + len(wanted)], wanted))
    ending = "\n" if lines[start + len(wanted) - 1].endswith("\n") or start + len(wanted) < len(lines) else ""
    replaced = "\n".join(new_lines) + (ending if new_lines else "")
    return "".join(lines[:start]) + replaced + "".join(lines[start + len(wanted):])


def _trim_blank_edges(lines: list[str]) -> list[str]:
    while lines and not lines[0].strip():
        lines = lines[1:]
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    return lines


def _indent_offset(found: list[str], wanted: list[str]) -> str | int:
    """What to add to (str) or cut from (int) the replacement's indentation so it matches the file's."""
    for have, want in zip(found, wanted):
        if have.strip():
            have_indent = have[:len(have) - len(have.lstrip())]
            want_indent = want[:len(want) - len(want.lstrip())]
            if have_indent.endswith(want_indent):
                return have_indent[:len(have_indent) - len(want_indent)]
            return len(want_indent) - len(have_indent) if want_indent.endswith(have_indent) else ""
    return ""


def _shift(lines: list[str], offset: str | int) -> list[str]:
    if isinstance(offset, str):
        return [offset + line if line.strip() else line for line in lines]
    return [line[min(offset, len(line) - len(line.lstrip())):] for line in lines]


def _closest(content: str, search: str) -> str:
    lines, wanted = content.splitlines(), search.strip("\n").splitlines()
    best, best_ratio = 0, 0.0
    for i in range(max(1, len(lines) - len(wanted) + 1)):
        ratio = difflib.SequenceMatcher(None, "\n".join(lines[i:i + len(wanted)]), "\n".join(wanted)).ratio()
        if ratio > best_ratio:
            best, best_ratio = i, ratio
    if best_ratio < 0.5:
        return "; copy the lines exactly from the file"
    near = "\n".join(lines[best:best + len(wanted)])
    return f"; the closest text (line {best + 1}) is:\n{near}\nCopy the lines exactly from the file"
