"""PECC (Problem Extraction and Coding Challenges) in its published layout → challenge tasks.

    DIR/euler/*.json                  lists of {id, euler_id, title, problem, solution, difficulty, story}
    DIR/aoc_lite/<year>/day_<d>.json  {year, day, part1, part2: {description, answer, converted_description}, input}

Every problem becomes two tasks, one per style, tagged with the PECC subset it counts in:
- Project Euler: `euler-<n>` (neutral `problem`, subset euler) and `euler-<n>-story` (`story`, subset euler-stories).
- Advent of Code: `aoc-<year>-<dd>-p<part>` (the narrative `description`, subset aoc) and `...-neutral`
  (`converted_description`, subset aoc-neutral). Part 2 is a task of its own that names part 1 (same style) in
  `challenge.after`, so it is shown only after part 1 passed; its instruction carries part 1's text too.
A blank narrative falls back to the neutral text, with a note in the instruction and in `source`.

PECC publishes answers, not programs: each task's gold program just prints the answer, so `gold` checks the
grading chain, not a solution.
"""

from __future__ import annotations

import json
import re
from decimal import Decimal, InvalidOperation
from pathlib import Path

from ..errors import ResqError
from .common import RowError, ImportSummary, TaskFiles, make_task, require, row_error, write_suite

SUBSET_TAG = "pecc:"
FALLBACK_NOTE = "note: the narrative description is blank in the PECC data; this task shows the neutral text."
DAY_FILE = re.compile(r"day_(\d+)\.json$")


def import_pecc(source: Path, out: Path, *, skip_invalid: bool = False, timeout_s: float = 60) -> ImportSummary:
    source = Path(source)
    euler = sorted((source / "euler").glob("*.json")) if (source / "euler").is_dir() else []
    aoc = sorted((source / "aoc_lite").glob("*/day_*.json"), key=_day_order) if (source / "aoc_lite").is_dir() \
        else []
    if not euler and not aoc:
        raise ResqError(f"{source}: no PECC data here (expected euler/*.json and/or aoc_lite/<year>/day_<d>.json)")
    rows = []
    for file in euler:
        try:
            problems = _json(file)
            if not isinstance(problems, list):
                raise RowError(f"{file}: expected a JSON list of Project Euler problems")
        except RowError as exc:
            rows.append((str(file), _raise(exc)))
            continue
        for number, row in enumerate(problems, start=1):
            rows.append((f"{file}: row {number}", _builder(euler_tasks, lambda row=row: row, file, number,
                                                           timeout_s)))
    for file in aoc:
        rows.append((str(file), _builder(aoc_tasks, lambda file=file: _json(file), file, 1, timeout_s)))
    return write_suite(out, rows, skip_invalid=skip_invalid)


def _builder(function, row, file, number, timeout_s):
    return lambda: function(row(), file, number, timeout_s)


def _raise(exc: Exception):
    def build():
        raise exc
    return build


def euler_tasks(row: dict, file: Path, number: int, timeout_s: float) -> list[TaskFiles]:
    euler_id = require(row, "euler_id", file, number, int)
    title = require(row, "title", file, number)
    problem = require(row, "problem", file, number)
    answer = _answer(require(row, "solution", file, number, (str, int)), file, number, "solution")
    story = row.get("story") or ""
    if not isinstance(story, str):
        raise row_error(file, number, "story", "expected a string")
    difficulty = row.get("difficulty")
    base = f"euler-{euler_id}"
    source = {"benchmark": "PECC", "origin": "Project Euler", "file": file.name, "euler_id": str(euler_id),
              "title": title}
    tags = [f"difficulty:{difficulty}"] if difficulty is not None else []
    neutral = _challenge(base, f"{title}\n\n{problem}", answer, [f"{SUBSET_TAG}euler", *tags], source, file,
                         number, timeout_s)
    story_text, note = (story, "") if story.strip() else (f"{title}\n\n{problem}", FALLBACK_NOTE)
    narrative = _challenge(f"{base}-story", story_text, answer, [f"{SUBSET_TAG}euler-stories", *tags],
                           {**source, **({"note": note} if note else {})}, file, number, timeout_s, note=note)
    return [neutral, narrative]


def aoc_tasks(row: dict, file: Path, number: int, timeout_s: float) -> list[TaskFiles]:
    year = require(row, "year", file, number, int)
    day = require(row, "day", file, number, int)
    puzzle_input = require(row, "input", file, number)
    parts = {}
    for part in ("part1", "part2"):
        data = require(row, part, file, number, dict)
        parts[part] = {
            "answer": _answer(require(data, "answer", file, number, (str, int)), file, number, f"{part}.answer"),
            "neutral": _text(data, "converted_description", file, number, part),
            "narrative": data.get("description") or "",
        }
    tasks = []
    base = f"aoc-{year}-{day:02d}"
    source = {"benchmark": "PECC", "origin": "Advent of Code", "file": f"{year}/{file.name}", "year": str(year),
              "day": str(day)}
    for style, suffix, subset in (("narrative", "", "aoc"), ("neutral", "-neutral", "aoc-neutral")):
        texts, notes = [], []
        for index, part in enumerate(("part1", "part2"), start=1):
            text, note = parts[part][style], ""
            if style == "narrative" and not text.strip():
                text, note = parts[part]["neutral"], FALLBACK_NOTE
            texts.append(text)
            notes.append(note)
            task_id = f"{base}-p{index}{suffix}"
            instruction = text if index == 1 else (f"Part 1 (already solved):\n\n{texts[0]}\n\n"
                                                   f"Part 2:\n\n{text}")
            after = [f"{base}-p1{suffix}"] if index == 2 else []
            tasks.append(_challenge(task_id, instruction, parts[part]["answer"], [f"{SUBSET_TAG}{subset}"],
                                    {**source, "part": str(index), **({"note": note} if note else {})}, file,
                                    number, timeout_s, note=note, puzzle_input=puzzle_input, part=index,
                                    after=after))
    return tasks


def _challenge(task_id: str, text: str, answer: str, tags: list[str], source: dict, file: Path, number: int,
               timeout_s: float, *, note: str = "", puzzle_input: str | None = None, part: int = 1,
               after: list[str] | None = None) -> TaskFiles:
    footer = ("\n\nWrite a Python 3 program that prints the answer, and nothing else, to standard output."
              + (" The puzzle input is in the file input.txt in the current folder (it is also on standard input)."
                 if puzzle_input is not None else ""))
    instruction = (f"{note}\n\n" if note else "") + text.strip() + footer
    challenge = {"expected": answer, "compare": "numeric" if _is_number(answer) else "strip", "part": part,
                 "after": after or []}
    files = {"gold.py": f"print({answer!r})\n".encode()}
    if puzzle_input is not None:
        challenge["input_file"] = "input.txt"
        files["input.txt"] = puzzle_input.encode()
    task = make_task({"id": task_id, "kind": "challenge", "instruction": instruction, "challenge": challenge,
                      "timeout_s": timeout_s, "tags": tags, "source": source}, file, number)
    return TaskFiles(task=task, files=files)


def _text(data: dict, key: str, file: Path, number: int, part: str) -> str:
    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise row_error(file, number, f"{part}.{key}", "missing or blank (the neutral statement is required)")
    return value


def _answer(value, file: Path, number: int, name: str) -> str:
    text = str(value).strip()
    if not text:
        raise row_error(file, number, name, "blank answer")
    return text


def _is_number(text: str) -> bool:
    try:
        return Decimal(text).is_finite()
    except InvalidOperation:
        return False


def _json(file: Path):
    try:
        return json.loads(file.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise RowError(f"{file}: not valid JSON ({exc})") from exc


def _day_order(file: Path):
    match = DAY_FILE.search(file.name)
    return (file.parent.name, int(match.group(1)) if match else 0)

