"""Repository context for a prompt, within a token budget, and the model's look-ups (OPEN, GREP).

    files ─▶ kinds (source / test / doc / meta) ─▶ chunks (one per function or class, tree-sitter)
          ─▶ BM25 per chunk + BM25 per file ─▶ the best chunk of each of the best source files, then the best
             chunks; docs, metadata and tests only from their own small share of the budget
          ─▶ a repository map ranked by the same file scores (cut at its share), then the chunks

Code is shown without line-number prefixes (the model copies it into SEARCH blocks); each chunk's header names its
line range. Tokens are estimated as characters / 4 (no tokenizer download is needed; the server's usage fields
give the real counts afterwards). Every file put in front of the model is recorded with its line range and why.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import PurePosixPath

CHUNK_LINES = 40  # windows of files tree-sitter does not parse, and of definitions longer than MAX_CHUNK_LINES
MAX_CHUNK_LINES = 80
MERGE_LINES = 12  # consecutive small pieces (imports, constants, one-liners) are shown together up to this size
MAP_SHARE = 0.2  # of the context budget, at most, for the repository map
OTHER_SHARE = 0.12  # of the context budget, at most, for docs, metadata and tests
FILE_WEIGHT = 0.6  # how much a chunk's file score adds to its own
GREP_HITS = 40
LEADING_FILES = 8  # source files whose best chunk is shown first
PACKAGE_ENTRIES = ("__init__.py", "index.js", "index.mjs", "index.cjs")
COMPANION_FILES = 3  # of those, whose stub and package entry are shown too
DECAY = 0.85  # a file's chunk scores are multiplied by this for each of its chunks already chosen
SOURCE_SUFFIXES = {".py": "python", ".pyi": "python", ".js": "javascript", ".mjs": "javascript",
                   ".cjs": "javascript", ".jsx": "javascript"}
CODE_SUFFIXES = set(SOURCE_SUFFIXES) | {".ts", ".tsx", ".c", ".h", ".cc", ".cpp", ".hpp", ".go", ".rs", ".java",
                                        ".rb", ".php", ".sh", ".pyx", ".pxd"}
DOC_SUFFIXES = {".md", ".rst", ".txt", ".adoc", ".html"}
TEST_FOLDERS = {"test", "tests", "testing", "__tests__", "spec", "specs"}
DOC_FOLDERS = {"doc", "docs", "documentation", "example", "examples", "benchmarks", "bench"}


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / 4)


def file_kind(path: str) -> str:
    """source, test, doc or meta (packaging, configuration, changelogs, licences, data)."""
    pure = PurePosixPath(path)
    name, folders = pure.name.lower(), {part.lower() for part in pure.parts[:-1]}
    if pure.suffix in CODE_SUFFIXES:
        if folders & TEST_FOLDERS or name.startswith("test_") or name == "conftest.py" or \
                re.search(r"[._-](test|spec)\.[a-z]+$", name) or name.endswith("_test.py"):
            return "test"
        if folders & DOC_FOLDERS or name in {"setup.py", "conf.py", "noxfile.py", "tasks.py", "fabfile.py"}:
            return "doc" if folders & DOC_FOLDERS else "meta"
        return "source"
    if pure.suffix.lower() in DOC_SUFFIXES and not re.match(r"(changelog|changes|history|news|license|licence|"
                                                            r"authors|contributors|requirements)", name):
        return "doc"
    return "doc" if folders & DOC_FOLDERS else "meta"


@dataclass
class Shown:
    path: str
    start: int
    end: int
    reason: str  # "bm25", "opened" or "grep"
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
    score: float = 0.0

    @property
    def end(self) -> int:
        return self.start + len(self.lines) - 1

    def render(self) -> str:
        return render_lines(self.path, self.start, self.lines)


def render_lines(path: str, start: int, lines: list[str]) -> str:
    """Code as the model must copy it: no line-number prefixes, the range in the header, in a fence."""
    body = "".join(f"{line}\n" for line in lines)
    fence = "````" if "```" in body else "```"
    return f"{path} (lines {start}-{start + len(lines) - 1})\n{fence}\n{body}{fence}\n"


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


def query_terms(instruction: str) -> list[str]:
    """The instruction's terms, with the code it quotes (`...` and fenced blocks) counted twice."""
    code = " ".join(re.findall(r"`([^`]+)`", instruction))
    return terms(instruction) + terms(code)


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
        weights = Counter(query)
        return [self._score(i, weights) for i in range(len(self.counts))]

    def _score(self, index: int, weights: Counter) -> float:
        counts, length, score = self.counts[index], self.lengths[index], 0.0
        for term, weight in weights.items():
            tf = counts.get(term, 0)
            if tf:
                norm = tf + self.k1 * (1 - self.b + self.b * length / (self.average or 1))
                score += weight * self.idf[term] * tf * (self.k1 + 1) / norm
        return score


# ---------------------------------------------------------------------------------------------------------------
# tree-sitter: definitions for the map, and chunk boundaries

_DEFINITIONS = {
    "python": {"function_definition", "class_definition"},
    "javascript": {"function_declaration", "generator_function_declaration", "class_declaration",
                   "method_definition"},
}
_JS_VALUE_FUNCTIONS = {"arrow_function", "function_expression", "function", "class"}
_BODIES = {"block", "class_body", "statement_block"}


def parser_for(language: str):
    from tree_sitter import Language, Parser

    if language == "python":
        import tree_sitter_python

        return Parser(Language(tree_sitter_python.language()))
    import tree_sitter_javascript

    return Parser(Language(tree_sitter_javascript.language()))


def language_of(path: str) -> str | None:
    return SOURCE_SUFFIXES.get(PurePosixPath(path).suffix)


def definitions(path: str, source: str, parsers: dict) -> list[tuple[int, int, str]]:
    """(line, depth, signature) of each class and function of a Python or JavaScript file."""
    language = language_of(path)
    if language is None:
        return []
    parser = parsers.setdefault(language, parser_for(language))
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


def _boundaries(node, first: int, last: int) -> list[int]:
    """0-based first lines of the pieces of node's lines [first, last]: one per child statement, and a long
    definition split into its members (its header stays with the first)."""
    starts = []
    for child in node.named_children:
        start, end = child.start_point[0], child.end_point[0]
        if end < first or start > last:
            continue
        starts.append(max(start, first))
        if end - start + 1 > MAX_CHUNK_LINES:
            body = _body_of(child)
            if body is not None and body.named_children:
                starts.extend(s for s in _boundaries(body, body.named_children[0].start_point[0], end) if s > start)
    return sorted(set(starts))


def _body_of(node):
    """The block holding a definition's members (through decorators and `export`)."""
    for child in [node, *node.named_children]:
        body = child.child_by_field_name("body") if child.type not in _BODIES else child
        if body is not None and body.type in _BODIES:
            return body
        for grandchild in child.named_children:
            if grandchild.type in _BODIES:
                return grandchild
    return None


def chunk_file(path: str, text: str, parsers: dict) -> list[Chunk]:
    """A Python or JavaScript file as one chunk per function or class (long ones per method, small neighbours
    together); any other file as 40-line windows."""
    lines = text.splitlines()
    if not lines:
        return []
    language = language_of(path)
    starts = [0]
    if language is not None:
        tree = parsers.setdefault(language, parser_for(language)).parse(text.encode())
        starts = sorted({0, *_boundaries(tree.root_node, 0, len(lines) - 1)})
    pieces = [(start, end) for start, end in zip(starts, [*starts[1:], len(lines)]) if end > start]
    chunks: list[Chunk] = []
    for start, end in _merge_small(pieces):
        for window in range(start, end, MAX_CHUNK_LINES if language else CHUNK_LINES):
            stop = min(end, window + (MAX_CHUNK_LINES if language else CHUNK_LINES))
            chunks.append(Chunk(path, window + 1, lines[window:stop]))
    return chunks


def _merge_small(pieces: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in pieces:
        if merged and end - merged[-1][0] <= MERGE_LINES:
            merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


# ---------------------------------------------------------------------------------------------------------------
# Ranking


@dataclass
class Ranking:
    chunks: list[Chunk]  # best first, score > 0
    files: list[str]  # every file, most relevant first
    kinds: dict[str, str]


def rank(instruction: str, files: dict[str, str]) -> Ranking:
    parsers: dict = {}
    kinds = {path: file_kind(path) for path in files}
    query = query_terms(instruction)
    paths = sorted(files)
    file_index = BM25([terms(path) * 3 + terms(files[path]) for path in paths])
    file_scores = dict(zip(paths, file_index.scores(query)))
    top = max(file_scores.values(), default=0.0) or 1.0
    chunks = [chunk for path in paths for chunk in _chunks_or_windows(path, files[path], parsers)]
    chunk_scores = BM25([terms(c.path) + terms("\n".join(c.lines)) for c in chunks]).scores(query) if chunks else []
    best = max(chunk_scores, default=0.0) or 1.0
    for chunk, score in zip(chunks, chunk_scores):
        chunk.score = score / best + FILE_WEIGHT * file_scores[chunk.path] / top if score > 0 else 0.0
    ranked = sorted((c for c in chunks if c.score > 0), key=lambda c: -c.score)
    order = sorted(paths, key=lambda p: (-file_scores[p] * _kind_weight(kinds[p]), p))
    return Ranking(ranked, order, kinds)


def _kind_weight(kind: str) -> float:
    return {"source": 1.0, "test": 0.5, "doc": 0.4, "meta": 0.2}[kind]


def _chunks_or_windows(path: str, text: str, parsers: dict) -> list[Chunk]:
    try:
        return chunk_file(path, text, parsers)
    except (ValueError, RecursionError):  # a file tree-sitter cannot take: plain windows
        lines = text.splitlines()
        return [Chunk(path, s + 1, lines[s:s + CHUNK_LINES]) for s in range(0, len(lines), CHUNK_LINES)]


def rank_chunks(query: str, files: dict[str, str]) -> list[tuple[float, Chunk]]:
    return [(chunk.score, chunk) for chunk in rank(query, files).chunks]


# ---------------------------------------------------------------------------------------------------------------
# Putting it together


def repo_map(files: dict[str, str], order: list[str] | None = None, budget_tokens: int | None = None) -> str:
    """Files most relevant first, each with its classes and functions (line: signature), cut at the budget."""
    parsers: dict = {}
    out, used = [], 0
    order = order or sorted(files)
    for index, path in enumerate(order):
        entry = [path] + [f"  {'  ' * depth}{line}: {signature}"
                          for line, depth, signature in _safe_definitions(path, files[path], parsers)]
        cost = estimate_tokens("\n".join(entry) + "\n")
        if budget_tokens is not None and used + cost > budget_tokens:
            names = [path] + [p for p in order[index + 1:]]
            rest = ", ".join(names)
            room = max(0, (budget_tokens - used) * 4 - 80)
            tail = rest if len(rest) <= room else rest[:room].rsplit(", ", 1)[0] + ", ..."
            out.append(f"[{len(names)} more files, less relevant, without their definitions: {tail}]")
            break
        out.append("\n".join(entry))
        used += cost
    return "\n".join(out)


def _safe_definitions(path: str, text: str, parsers: dict) -> list[tuple[int, int, str]]:
    try:
        return definitions(path, text, parsers)
    except (ValueError, RecursionError):
        return []


def build_context(query: str, files: dict[str, str], budget_tokens: int) -> Context:
    """The ranked repository map (cut to its share of the budget), then the chosen chunks in file order."""
    ranking = rank(query, files)
    map_text = repo_map(files, ranking.files, int(budget_tokens * MAP_SHARE))
    head = f"Repository map (most relevant files first; classes and functions with their first line):\n{map_text}\n"
    used = estimate_tokens(head)
    chosen = choose_chunks(ranking, budget_tokens - used, int(budget_tokens * OTHER_SHARE))
    used += sum(estimate_tokens(c.render()) for c in chosen)
    chosen.sort(key=lambda c: (ranking.files.index(c.path), c.start))
    parts = [head]
    if chosen:
        parts.append("Code that looks relevant to the task:\n\n" + "\n".join(c.render() for c in chosen))
    shown = [Shown(c.path, c.start, c.end, "bm25", estimate_tokens(c.render())) for c in chosen]
    return Context(text="\n".join(parts), shown=shown, tokens=used)


def choose_chunks(ranking: Ranking, budget: int, other_budget: int) -> list[Chunk]:
    """The best chunk of each of the most relevant source files first (so every likely file is seen), with its
    companions (the stub beside it, the package `__init__` that imports it), then the best chunks; docs, metadata
    and tests only within `other_budget` (what they leave goes to source)."""
    chosen: dict[int, Chunk] = {}
    other = min(other_budget, budget // 4)
    spent, limits = {"source": 0, "other": 0}, {"source": budget - other, "other": other}
    best: dict[str, list[Chunk]] = {}
    for chunk in ranking.chunks:
        best.setdefault(chunk.path, []).append(chunk)

    def take(chunk: Chunk | None) -> None:
        if chunk is None or id(chunk) in chosen:
            return
        pool = "source" if ranking.kinds[chunk.path] == "source" else "other"
        cost = estimate_tokens(chunk.render())
        if spent[pool] + cost <= limits[pool]:
            chosen[id(chunk)] = chunk
            spent[pool] += cost

    leading = [path for path in ranking.files if ranking.kinds[path] == "source" and path in best][:LEADING_FILES]
    for path in leading:
        take(best[path][0])
    for path in leading[:COMPANION_FILES]:
        for companion in companions(path, ranking.files, best):
            take(companion)
    _fill(ranking, chosen, take)
    limits["source"] += limits["other"] - spent["other"]
    _fill(ranking, chosen, take)
    return list(chosen.values())


def _fill(ranking: Ranking, chosen: dict[int, Chunk], take) -> None:
    """The remaining chunks by score, each file's score decaying with every chunk of it already shown (so one
    large file does not take the whole budget)."""
    remaining = [c for c in ranking.chunks if id(c) not in chosen]
    while remaining:
        shown = Counter(c.path for c in chosen.values())
        best = max(remaining, key=lambda c: c.score * _kind_weight(ranking.kinds[c.path]) * DECAY ** shown[c.path])
        remaining.remove(best)
        take(best)


def companions(path: str, paths: list[str], best: dict[str, list[Chunk]]) -> list[Chunk | None]:
    """Files that change with a source file: its type stub (`x.pyi` beside `x.py`), and the chunk of the nearest
    package entry (`__init__.py`, `index.js`) in its folder or above that names the module (re-exports,
    `__all__`, `module.exports`)."""
    pure = PurePosixPath(path)
    found: list[Chunk | None] = []
    stub = pure.with_suffix(".pyi").as_posix()
    if pure.suffix == ".py" and stub in best:
        found.append(best[stub][0])
    names = re.compile(rf"\b{re.escape(pure.stem)}\b")
    for folder in [pure.parent, *pure.parent.parents]:
        entries = [(folder / name).as_posix() for name in PACKAGE_ENTRIES]
        mentions = [c for entry in entries if entry != path and entry in best
                    for c in best[entry] if names.search("\n".join(c.lines))]
        if mentions:
            found.append(mentions[0])
            break
    return found


# ---------------------------------------------------------------------------------------------------------------
# The model's look-ups


def render_file(path: str, text: str, budget_tokens: int, start: int = 1, end: int | None = None) -> tuple[str, Shown]:
    """Lines start..end of a file (the whole file by default), cut at the budget with a note saying how to see
    the rest; a whole file that does not fit starts with its outline (classes and functions with their lines)."""
    lines = text.splitlines()
    end = min(len(lines), end or len(lines))
    start = max(1, min(start, end))
    picked = lines[start - 1:end]
    rendered = render_lines(path, start, picked)
    if estimate_tokens(rendered) <= budget_tokens:
        return rendered, Shown(path, start, start + len(picked) - 1, "opened", estimate_tokens(rendered))
    outline = _outline(path, text, budget_tokens // 5) if (start, end) == (1, len(lines)) else ""
    room = budget_tokens - estimate_tokens(outline)
    keep = max(1, len(picked) * room // max(1, estimate_tokens(rendered)))
    picked = picked[:keep]
    last = start + keep - 1
    rendered = outline + render_lines(path, start, picked) + \
        f"[lines {last + 1}-{end} not shown: too long for one reply; OPEN {path}:{last + 1}-{end} to see them]\n"
    return rendered, Shown(path, start, last, "opened", estimate_tokens(rendered))


def _outline(path: str, text: str, budget_tokens: int) -> str:
    entries = [f"  {'  ' * depth}{line}: {signature}" for line, depth, signature in _safe_definitions(path, text, {})]
    if not entries:
        return ""
    body = "\n".join(entries)
    if estimate_tokens(body) > budget_tokens:
        body = body[:budget_tokens * 4].rsplit("\n", 1)[0] + "\n  ..."
    return f"{path} is long; its outline (first line of each class and function):\n{body}\n"


def grep(pattern: str, files: dict[str, str], kinds: dict[str, str]) -> tuple[str, list[Shown]]:
    """Lines matching a regular expression (or the literal text when it is not one), source files first."""
    try:
        regex = re.compile(pattern)
    except re.error:
        regex = re.compile(re.escape(pattern))
    order = sorted(files, key=lambda p: (kinds.get(p, "meta") != "source", p))
    hits: list[tuple[str, int, str]] = []
    for path in order:
        for number, line in enumerate(files[path].splitlines(), start=1):
            if regex.search(line[:500]):  # a model's pattern could backtrack for long on a long line
                hits.append((path, number, line.strip()[:200]))
    if not hits:
        return f"GREP {pattern}: no matches", []
    shown = hits[:GREP_HITS]
    more = f"\n[{len(hits) - len(shown)} more matches not shown; GREP a narrower pattern]" \
        if len(hits) > GREP_HITS else ""
    text = f"GREP {pattern}: {len(hits)} match(es)\n" + "\n".join(f"{p}:{n}: {t}" for p, n, t in shown) + more
    return text, [Shown(p, n, n, "grep", estimate_tokens(t)) for p, n, t in shown]
