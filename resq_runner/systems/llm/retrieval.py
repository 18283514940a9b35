"""Repository context for a prompt, within a token budget: a map of definitions plus the chunks BM25 ranks highest.

Tokens are estimated as characters / 4 (no tokenizer download is needed; the server's usage fields give the real
counts afterwards). Every file put in front of the model is recorded with its line range and why it was shown.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePosixPath

CHUNK_LINES = 40
MAP_SHARE = 0.3  # of the context budget, at most, for the repository map
SOURCE_SUFFIXES = {".py": "python", ".js": "javascript", ".mjs": "javascript", ".cjs": "javascript",
                   ".jsx": "javascript"}


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


@dataclass
class Shown:
    path: str
    start: int
    end: int
    reason: str  # "bm25", "opened" or "repo-map"
    tokens: int = 0


@dataclass
class Context:
    text: str
    shown: list[Shown] = field(default_factory=list)
    tokens: int = 0


@dataclass
class Chunk:
    path: str
    start: int  # first line, 1-based
    lines: list[str]

    @property
    def end(self) -> int:
        return self.start + len(self.lines) - 1

    def render(self) -> str:
        body = "".join(f"{self.start + i:5d}| {line}\n" for i, line in enumerate(self.lines))
        return f"--- {self.path} (lines {self.start}-{self.end})\n{body}"


# ---------------------------------------------------------------------------------------------------------------
# BM25


def terms(text: str) -> list[str]:
    """Identifiers and their parts: `parse_amount` and `parseAmount` both also give `parse` and `amount`."""
    out = []
    for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*|\d+", text):
        parts = [p for p in re.split(r"_|(?<=[a-z0-9])(?=[A-Z])", word) if p]
        out.append(word.lower())
        if len(parts) > 1:
            out.extend(p.lower() for p in parts)
    return out


class BM25:
    def __init__(self, documents: list[list[str]], k1: float = 1.5, b: float = 0.75):
        self.k1, self.b = k1, b
        self.counts = [Counter(doc) for doc in documents]
        self.lengths = [len(doc) for doc in documents]
        self.average = sum(self.lengths) / len(documents) if documents else 0.0
        frequency = Counter(term for counts in self.counts for term in counts)
        n = len(documents)
        self.idf = {term: math.log(1 + (n - df + 0.5) / (df + 0.5)) for term, df in frequency.items()}

    def scores(self, query: list[str]) -> list[float]:
        return [self._score(i, query) for i in range(len(self.counts))]

    def _score(self, index: int, query: list[str]) -> float:
        counts, length, score = self.counts[index], self.lengths[index], 0.0
        for term in set(query):
            tf = counts.get(term, 0)
            if tf:
                norm = tf + self.k1 * (1 - self.b + self.b * length / (self.average or 1))
                score += self.idf[term] * tf * (self.k1 + 1) / norm
        return score


def chunk_files(files: dict[str, str]) -> list[Chunk]:
    chunks = []
    for path, text in sorted(files.items()):
        lines = text.splitlines()
        for start in range(0, len(lines), CHUNK_LINES):
            chunks.append(Chunk(path, start + 1, lines[start:start + CHUNK_LINES]))
    return chunks


def rank_chunks(query: str, files: dict[str, str]) -> list[tuple[float, Chunk]]:
    chunks = chunk_files(files)
    if not chunks:
        return []
    index = BM25([terms(f"{c.path}\n" + "\n".join(c.lines)) for c in chunks])
    ranked = sorted(zip(index.scores(terms(query)), chunks), key=lambda pair: -pair[0])
    return [(score, chunk) for score, chunk in ranked if score > 0]


# ---------------------------------------------------------------------------------------------------------------
# Repository map (tree-sitter)

_DEFINITIONS = {
    "python": {"function_definition", "class_definition"},
    "javascript": {"function_declaration", "generator_function_declaration", "class_declaration",
                   "method_definition"},
}
_JS_VALUE_FUNCTIONS = {"arrow_function", "function_expression", "function", "class"}


def _parser(language: str):
    from tree_sitter import Language, Parser

    if language == "python":
        import tree_sitter_python

        return Parser(Language(tree_sitter_python.language()))
    import tree_sitter_javascript

    return Parser(Language(tree_sitter_javascript.language()))


def definitions(path: str, source: str, parsers: dict) -> list[tuple[int, int, str]]:
    """(line, depth, signature) of each class and function of a Python or JavaScript file."""
    language = SOURCE_SUFFIXES.get(PurePosixPath(path).suffix)
    if language is None:
        return []
    parser = parsers.setdefault(language, _parser(language))
    data = source.encode()
    found: list[tuple[int, int, str]] = []

    def visit(node, depth: int) -> None:
        is_definition = node.type in _DEFINITIONS[language] or _is_js_value_function(node, language)
        if is_definition:
            first_line = data[node.start_byte:node.end_byte].decode("utf-8", "replace").splitlines()[0]
            found.append((node.start_point[0] + 1, depth, _signature(first_line)))
        for child in node.children:
            visit(child, depth + 1 if is_definition else depth)

    visit(parser.parse(data).root_node, 0)
    return found


def _is_js_value_function(node, language: str) -> bool:
    """`const f = () => ...` and `const C = class ...` are definitions too."""
    if language != "javascript" or node.type != "variable_declarator":
        return False
    value = node.child_by_field_name("value")
    return value is not None and value.type in _JS_VALUE_FUNCTIONS


def _signature(line: str) -> str:
    line = line.strip().rstrip("{").rstrip()
    return line if len(line) <= 100 else line[:97] + "..."


def repo_map(files: dict[str, str]) -> str:
    parsers: dict = {}
    out = []
    for path in sorted(files):
        out.append(path)
        for line, depth, signature in definitions(path, files[path], parsers):
            out.append(f"  {'  ' * depth}{line}: {signature}")
    return "\n".join(out)


# ---------------------------------------------------------------------------------------------------------------
# Putting it together


def build_context(query: str, files: dict[str, str], budget_tokens: int) -> Context:
    """The repository map (cut to its share of the budget), then the best BM25 chunks until the budget is spent."""
    context = Context(text="")
    full_map = repo_map(files)
    map_text = _cut(full_map, int(budget_tokens * MAP_SHARE))
    parts = [f"Repository map (files, classes and functions with line numbers):\n{map_text}\n"]
    used = estimate_tokens(parts[0])
    chosen: list[Chunk] = []
    for _score, chunk in rank_chunks(query, files):
        cost = estimate_tokens(chunk.render())
        if used + cost > budget_tokens:
            continue
        chosen.append(chunk)
        used += cost
    chosen.sort(key=lambda c: (c.path, c.start))
    if chosen:
        parts.append("Code that looks relevant to the task:\n" + "".join(c.render() for c in chosen))
    context.text = "\n".join(parts)
    context.tokens = used
    context.shown = [Shown(c.path, c.start, c.end, "bm25", estimate_tokens(c.render())) for c in chosen]
    return context


def _cut(text: str, budget_tokens: int) -> str:
    if estimate_tokens(text) <= budget_tokens:
        return text
    kept = text[:budget_tokens * 4].rsplit("\n", 1)[0]
    return kept + "\n[... map cut to fit the context budget ...]"


def render_file(path: str, text: str, budget_tokens: int) -> tuple[str, Shown]:
    """A whole file the model asked to open, with line numbers (cut at the budget)."""
    lines = text.splitlines()
    chunk = Chunk(path, 1, lines)
    rendered = chunk.render()
    if estimate_tokens(rendered) > budget_tokens:
        keep = max(1, len(lines) * budget_tokens // max(1, estimate_tokens(rendered)))
        chunk = Chunk(path, 1, lines[:keep])
        rendered = chunk.render() + f"[... {len(lines) - keep} more lines not shown ...]\n"
    return rendered, Shown(path, 1, chunk.end, "opened", estimate_tokens(rendered))
