"""Self-contained HTML pages for reports, comparisons and histories.

One file each: inline CSS, inline SVG charts (charts.py), the page's data as inline JSON and one inline script
(assets/page.js) that renders the task table a page at a time (filter, facet, sort) and, for a run, each task's
detail view on demand. Nothing is fetched, so a page opens the same with no network; a 10,000-task run is one file
whose table is as quick as a 10-task one, and whose details are clipped to a page budget (details.py).
"""

from __future__ import annotations

from datetime import datetime
from functools import cache
from html import escape
from pathlib import Path
from typing import Any, Literal, Mapping, Sequence

from pydantic import TypeAdapter

from ..memory import keep
from ..models import Record, Result, TestStatus
from .charts import OUTCOME_COLOURS, outcome_chart, rate_chart, run_moment, series_colours, trend_chart
from .details import Links, TaskDetail, task_details
from .records import Comparison, History, RetrievalSummary, RunReport
from .robustness import RobustnessSummary

__all__ = ["comparison_page", "history_page", "outcome_chart", "rate_chart", "report_page", "trend_chart",
           "write_page"]

ASSETS = Path(__file__).parent / "assets"
TEST_COLOURS = {TestStatus.passed.value: "#1a7f37", TestStatus.failed.value: "#cf222e",
                TestStatus.error.value: "#a40e26", TestStatus.skipped.value: "#6e7781",
                TestStatus.missing.value: "#9a6700"}
PAGE_SIZE = 100
PHASE_SOURCES = {"image": "image", "start": "eval_start + the harness's start-up", "system": "system",
                 "apply": "eval_apply", "tests": "eval_tests", "teardown": "eval_collect + teardown"}


Page = list[str | bytes]  # a page's parts in order (its JSON data as the serializer's UTF-8 bytes)


def write_page(out: Path, page: str | Page) -> Path:
    """The page written part by part: tens of MB of data are never joined, decoded or encoded again."""
    out = Path(out)
    with out.open("wb") as stream:
        for part in [page] if isinstance(page, str) else page:
            stream.write(part if isinstance(part, bytes) else part.encode())
    return out


class Column(Record):
    """A column of the page's table; `type` says how page.js shows, sorts and filters its cells."""

    label: str
    type: Literal["task", "text", "num", "frac", "pct", "outcome", "change", "links", "list", "series"] = "text"
    digits: int = 0
    css: str = ""  # the cells' class: num, id, wrap, nowrap

    @property
    def numeric(self) -> bool:
        return self.type in ("num", "frac", "pct")


class Facet(Record):
    label: str
    columns: list[int]  # a row matches a facet value when one of these cells equals it


class Grid(Record):
    """The data page.js renders the table from: rows are [cells, values of the data-* attributes]."""

    id: str
    noun: str
    columns: list[Column]
    attrs: list[str]
    rows: list[Any]
    facet: Facet | None = None
    details: bool = False
    detail_chunk: int = 0  # details a `details-K` block holds (details only)
    page_size: int = PAGE_SIZE
    colours: dict[str, str] = {}


# ---------------------------------------------------------------------------------------------------------------
# Pages


def report_page(report: RunReport, out: Path, rows_by_task: Mapping[str, list[Result]] | None = None) -> Page:
    """The page for one run; `rows_by_task` are the run's counted rows of each task in sample order
    (`LoadedRun.rows_by_task`), for the task details. Links to logs are relative to where the page is written
    (`out`)."""
    details = task_details(report, rows_by_task or {}, out)
    grid = _tasks_grid(report, Path(out))
    keep(details, grid)  # 100k of each: not freed one by one when the process ends with the page
    title = f"{Path(report.suite).name} · {report.system}"
    run = f"run {escape(report.run_id)}{_started(report.started_at)} · {len(report.tasks):,} task(s)" + (
        f", {report.samples} samples each" if report.samples > 1 else "")
    sections = [("summary", "Summary"), ("tasks-section", "Tasks"), ("breakdown", "Breakdown"), ("time", "Time")]
    body = [_header(title, run, sections), "<main>",
            '<section id="summary" aria-label="Summary">', _notes(report.notes),
            f'<div class="summary"><div class="cards">{"".join(_report_cards(report))}</div>'
            f"{outcome_chart(report.outcomes)}</div></section>",
            '<section id="tasks-section"><h2>Tasks</h2>',
            "<p class=\"muted\">Open a task for its patch, tests, output and transcript.</p>",
            _grid_html(grid, "report"), "</section>",
            '<section id="breakdown">', f"<h2>By {escape(report.group_by)}</h2>", _groups_table(report)]
    if report.pass_at_k:
        body += ["<h2>pass@k</h2>", _pass_at_k_table(report)]
    if report.robustness:
        body += ["<h2>Robustness across template instances</h2>", _robustness_table(report.robustness)]
    if report.retrieval:
        body += ["<h2>Retrieval</h2>", _retrieval_table(report.retrieval)]
    body += ["</section>", '<section id="time"><h2>Time per phase</h2>', _phases_table(report), "</section>",
             "</main>", DETAIL_DIALOG]
    return page(f"resq report · {title}", body, [_grid_script(grid), *detail_scripts(details)])


DETAILS = TypeAdapter(list[TaskDetail])
DETAIL_CHUNK = 100  # details a block: opening a task parses its block (~40 kB), never the whole page's


def detail_scripts(details: list[TaskDetail]) -> list[bytes]:
    """The details as inert JSON blocks `details-K` of DETAIL_CHUNK tasks each (task N is item N % DETAIL_CHUNK of
    block N // DETAIL_CHUNK), each written by one call of pydantic's serializer."""
    return [_json_script(f"details-{start // DETAIL_CHUNK}", DETAILS.dump_json(details[start:start + DETAIL_CHUNK]))
            for start in range(0, len(details), DETAIL_CHUNK)]


def comparison_page(comparison: Comparison) -> Page:
    letters = _run_letters(len(comparison.runs))
    cards = [card(f"run-{i}", run.rate.rate, f"{letters[i]}: {run.system}", _pct(run.rate.rate),
                  f"{run.rate.passed}/{run.rate.graded} · {run.name}") for i, run in enumerate(comparison.runs)]
    for index, pair in enumerate(comparison.pairs, start=1):
        cards.append(card(f"broken-{index}", pair.broken, f"broken in {letters[index]}",
                          str(pair.broken), f"allowed: {comparison.max_regressions}"))
    grid = _comparison_grid(comparison, letters)
    sections = [("summary", "Summary"), ("tasks-section", "Tasks")]
    body = [_header("resq compare", " · ".join(f"{letters[i]}: {escape(run.name)}"
                                               for i, run in enumerate(comparison.runs)), sections), "<main>",
            '<section id="summary" aria-label="Summary">', _notes(comparison.notes, loud=True),
            f'<div class="summary"><div class="cards">{"".join(cards)}</div>'
            + rate_chart([(f"{letters[i]}: {run.system}", run.rate) for i, run in enumerate(comparison.runs)])
            + "</div><h2>Paired comparison against A</h2>" + _pairs_table(comparison) + "</section>",
            '<section id="tasks-section"><h2>Tasks</h2>', _grid_html(grid, "compare"), "</section></main>"]
    return page("resq compare", body, [_grid_script(grid)])


def history_page(history: History) -> Page:
    series = history.series()
    colours = series_colours([system for _, system in series])
    cards = [card(f"series-{i}", points[-1].rate.rate, f"{system} · {suite}", _pct(points[-1].rate.rate),
                  f"latest of {len(points)} run(s), {run_moment(points[-1]):%Y-%m-%d}", colours[system])
             for i, ((suite, system), points) in enumerate(series.items())]
    grid = _history_grid(history, colours)
    sections = [("summary", "Summary"), ("tasks-section", "Runs")]
    body = [_header("resq history", escape(history.root), sections), "<main>",
            '<section id="summary" aria-label="Summary">', _notes(history.notes),
            f'<div class="cards">{"".join(cards)}</div>', "<h2>Pass rate over time</h2>",
            f'<div class="scroll">{trend_chart(history)}</div></section>',
            '<section id="tasks-section"><h2>Runs</h2>', _grid_html(grid, "history"), "</section></main>"]
    return page("resq history", body, [_grid_script(grid)])


def page(title: str, body: list[str], data: Sequence[bytes] = ()) -> Page:
    """The parts of a page: markup, then the JSON data blocks, then the script."""
    head = ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\"><title>{escape(title)}</title>"
            f"<style>{_asset('page.css')}</style></head><body>\n")
    return [head + "\n".join(body) + "\n", *data, f"<script>{_asset('page.js')}</script>\n</body></html>\n"]


def card(metric: str, value: float, label: str, shown: str, sub: str = "", colour: str = "") -> str:
    swatch = f'<span class="swatch" style="background:{colour}" aria-hidden="true"></span>' if colour else ""
    return (f'<div class="card" data-metric="{escape(metric)}" data-value="{value}">'
            f'<div class="label">{swatch}{escape(label)}</div><div class="value">{escape(shown)}</div>'
            f'<div class="sub">{escape(sub)}</div></div>')


DETAIL_DIALOG = """<dialog id="task-detail" aria-labelledby="detail-title">
<div class="detail-head"><h2 id="detail-title"></h2><span id="detail-outcome"></span><span class="spacer"></span>
<button type="button" id="detail-previous">‹ previous</button><button type="button" id="detail-next">next ›</button>
<button type="button" id="detail-close" aria-label="close the task view" autofocus>close ✕</button></div>
<div class="detail-body" id="detail-body"></div></dialog>"""


# ---------------------------------------------------------------------------------------------------------------
# Summary


def _report_cards(report: RunReport) -> list[str]:
    rate, usage, over = report.rate, report.usage, report.overhead
    infra = report.outcomes.get("infra_error", 0)
    seconds = sum(stage.total_s for stage in report.stages)
    per_evaluation = seconds / over.tasks if over.tasks else 0.0
    cards = [
        card("pass-rate", rate.rate, "pass rate", _pct(rate.rate),
             f"{rate.passed}/{rate.graded}" + (f" · {infra} infra_error not counted" if infra else "")
             + f" · 95 % CI {_pct(rate.ci_low)} – {_pct(rate.ci_high)}"),
        card("tasks", len(report.tasks), "tasks", f"{len(report.tasks):,}",
             f"{rate.graded:,} graded" + (f" · {report.samples} samples per task" if report.samples > 1 else "")),
        card("seconds", seconds, "time per evaluation", f"{per_evaluation:,.1f} s",
             f"{seconds:,.1f} s in all · harness overhead {over.mean_s:.2f} s each"),
    ]
    tokens = usage.prompt_tokens + usage.completion_tokens
    if usage.calls or tokens:  # a system that calls no model has no tokens to show
        cards.append(card("tokens", tokens, "tokens", f"{tokens:,}",
                          f"{usage.calls:,} call(s) · per solved task: {_maybe(usage.tokens_per_solved, '{:,.0f}')}"))
    if usage.cost_usd:
        cards.append(card("cost", usage.cost_usd, "cost", f"${usage.cost_usd:,.4f}",
                          f"per solved task: {_maybe(usage.cost_per_solved, '${:,.4f}')}"))
    return cards


def _header(title: str, subtitle: str, sections: list[tuple[str, str]]) -> str:
    links = "".join(f'<a href="#{anchor}">{escape(label)}</a>' for anchor, label in sections)
    return (f'<header class="page"><h1>{escape(title)}</h1><div class="muted">{subtitle}</div>'
            f'<nav class="sections" aria-label="sections">{links}</nav></header>')


# ---------------------------------------------------------------------------------------------------------------
# The page's table (rendered by page.js)


def _tasks_grid(report: RunReport, out: Path) -> Grid:
    tasks = report.tasks
    columns = [Column(label="task", type="task", css="id"), Column(label="outcome", type="outcome")]
    optional = {
        "samples": report.samples > 1,
        "tokens": any(t.tokens for t in tasks),
        "cost": any(t.cost_usd for t in tasks),
        "retrieval": report.retrieval is not None,
        "certificate": any(t.certificate for t in tasks),
        "tags": any(t.tags for t in tasks),
    }
    if optional["samples"]:
        columns.append(Column(label="samples passed", type="frac", css="num"))
    columns += [Column(label="tests passed", type="frac", css="num"),
                Column(label="seconds", type="num", digits=1, css="num"),
                Column(label="overhead s", type="num", digits=2, css="num")]
    if optional["tokens"]:
        columns.append(Column(label="tokens", type="num", css="num"))
    if optional["cost"]:
        columns.append(Column(label="cost $", type="num", digits=4, css="num"))
    if optional["retrieval"]:
        columns += [Column(label="recall", type="pct", css="num"), Column(label="precision", type="pct", css="num"),
                    Column(label="context tokens", type="num", css="num"), Column(label="right files")]
    if optional["certificate"]:
        columns.append(Column(label="certificate"))
    if optional["tags"]:
        columns.append(Column(label="tags", type="list"))
    columns += [Column(label="logs", type="links", css="nowrap"), Column(label="reason", css="wrap")]
    links = Links(Path(report.root), Path(out).resolve().parent)
    samples, tokens, cost, retrieval, certificate, tags = optional.values()  # one look-up, not one a task
    rows = []
    for task in tasks:  # (the outcome is its enum's member: a str, written as its value)
        cells: list[Any] = [task.task_id, task.outcome]
        if samples:
            cells.append([task.samples_passed, len(task.outcomes)])
        cells += [[task.tests_passed, task.tests_total], round(task.seconds, 3), round(task.overhead_s, 3)]
        if tokens:
            cells.append(task.tokens)
        if cost:
            cells.append(task.cost_usd)
        if retrieval:
            cells += [task.retrieval_recall, task.retrieval_precision, task.context_tokens,
                      None if task.edited_right_files is None else ("yes" if task.edited_right_files else "no")]
        if certificate:
            cells.append(task.certificate)
        if tags:
            cells.append(task.tags)
        logs = [[label, links.to(relative)]
                for relative, label in ((task.patch_log, "patch"), (task.test_log, "test log")) if relative] \
            if task.patch_log or task.test_log else []
        cells += [logs, task.reason[:300]]
        rows.append([cells, [task.task_id, task.outcome, task.tests_passed, task.tests_total]])
    return Grid(id="tasks", noun="tasks", columns=columns, attrs=["task", "outcome", "tests-passed", "tests-total"],
                rows=rows, facet=Facet(label="outcome", columns=[1]), details=True, detail_chunk=DETAIL_CHUNK,
                colours={o.value: c for o, c in OUTCOME_COLOURS.items()} | TEST_COLOURS)


def _comparison_grid(comparison: Comparison, letters: list[str]) -> Grid:
    columns = [Column(label="task", css="id"), *[Column(label=letter, type="outcome") for letter in letters],
               *[Column(label=f"A → {letter}", type="change") for letter in letters[1:]]]
    rows = [[[task.task_id, *[o.value if o else None for o in task.outcomes], *task.changes],
             [task.task_id, ",".join(task.changes)]] for task in comparison.tasks]
    changes = list(range(1 + len(letters), len(columns)))
    return Grid(id="comparison", noun="tasks", columns=columns, attrs=["task", "changes"], rows=rows,
                facet=Facet(label="change", columns=changes),
                colours={o.value: c for o, c in OUTCOME_COLOURS.items()})


def _history_grid(history: History, colours: dict[str, str]) -> Grid:
    columns = [Column(label="date", css="nowrap"), Column(label="started", css="nowrap"), Column(label="suite"),
               Column(label="system", type="series"), Column(label="pass rate", type="pct", css="num"),
               Column(label="passed", type="frac", css="num"), Column(label="95 % CI", css="nowrap"),
               Column(label="run folder", css="wrap")]
    rows = [[[f"{run_moment(p):%Y-%m-%d}", f"{p.started_at:%Y-%m-%d %H:%M}", p.suite, [p.system, colours[p.system]],
              p.rate.rate, [p.rate.passed, p.rate.graded], f"{_pct(p.rate.ci_low)} – {_pct(p.rate.ci_high)}",
              p.root], [f"{p.suite} · {p.system}", p.rate.rate]] for p in history.points]
    return Grid(id="history", noun="runs", columns=columns, attrs=["series", "rate"], rows=rows)


def _grid_html(grid: Grid, command: str) -> str:
    heads = "".join(f'<th scope="col"{" class=num" if c.numeric else ""}>{escape(c.label)}</th>'
                    for c in grid.columns)
    facet = (f'<label>show <select id="facet-filter" aria-label="show only one {escape(grid.facet.label)}">'
             "</select></label>") if grid.facet else ""
    sizes = "".join(f'<option value="{n}"{" selected" if n == grid.page_size else ""}>{label}</option>'
                    for n, label in ((100, "100 rows a page"), (500, "500 rows a page"), (0, "every row")))
    return (f'<div class="controls"><input id="task-filter" type="search" placeholder="filter: task id, outcome, '
            f'tag, reason…" aria-label="filter the {escape(grid.noun)}" aria-controls="{grid.id}">{facet}'
            f'<select id="page-size" aria-label="rows a page">{sizes}</select>'
            f'<span id="task-count" class="muted" data-noun="{escape(grid.noun)}" aria-live="polite"></span></div>'
            f'<div class="scroll"><table id="{grid.id}" class="filterable"><thead><tr>{heads}</tr></thead>'
            f"<tbody></tbody></table></div><div id=\"pager\" class=\"pager\" hidden></div>"
            f"<noscript><p class=\"note\">The table is drawn by the page's script: allow JavaScript to see it "
            f"(the same data: <code>resq {command} --json</code>).</p></noscript>")


def _grid_script(grid: Grid) -> bytes:
    return _json_script("grid-data", grid.__pydantic_serializer__.to_json(grid))


def _json_script(element_id: str, data: bytes) -> bytes:
    """Inert data for page.js (JSON, UTF-8), on a line of its own: `<`, `>` and `&` escaped so no text in it can
    end the element."""
    data = data.replace(b"<", b"\\u003c").replace(b">", b"\\u003e").replace(b"&", b"\\u0026")
    return b'<script type="application/json" id="%s">%s</script>\n' % (element_id.encode(), data)


@cache
def _asset(name: str) -> str:
    return (ASSETS / name).read_text(encoding="utf-8")


# ---------------------------------------------------------------------------------------------------------------
# Tables written into the page (a handful of rows each)


def _groups_table(report: RunReport) -> str:
    rows = [f'<tr data-group="{escape(g.group)}" data-rate="{g.rate.rate}"><td>{escape(g.group)}</td>'
            f'<td class="num">{g.tasks}</td><td class="num">{g.rate.passed}/{g.rate.graded}</td>'
            f'<td class="num">{_pct(g.rate.rate)}</td><td class="nowrap">{_pct(g.rate.ci_low)} – '
            f"{_pct(g.rate.ci_high)}</td></tr>" for g in report.groups]
    return _table("groups", [report.group_by, "tasks", "passed", "pass rate", "95 % CI"], rows, numeric=(1, 2, 3))


def _pass_at_k_table(report: RunReport) -> str:
    rows = [f'<tr data-k="{p.k}" data-value="{p.value}"><td>{p.k}</td><td class="num">{_pct(p.value)}</td>'
            f'<td class="num">{p.tasks}</td></tr>' for p in report.pass_at_k]
    return _table("pass-at-k", ["k", "pass@k (unbiased)", "tasks with n ≥ k"], rows, numeric=(1, 2))


def _robustness_table(robustness: RobustnessSummary) -> str:
    rows = [f'<tr data-template="{escape(t.template)}" data-passed="{t.passed}" data-total="{t.total}">'
            f'<td>{escape(t.template)}</td><td class="num">{t.passed}/{t.total}</td>'
            f'<td>{"yes" if t.solved_all else "no"}</td><td class="wrap">'
            + escape(", ".join(f"{v.parameter}={v.value} ({v.failed}/{v.total})" for v in t.breaking_values))
            + "</td></tr>" for t in robustness.templates]
    return _table("robustness", ["template", "instances passed", "solved in all", "values that broke it"], rows,
                  numeric=(1,))


def _retrieval_table(r: RetrievalSummary) -> str:
    """The run's means; each task's figures are columns of the task table."""
    row = (f'<tr data-scope="run"><td>all ({r.tasks} tasks)</td><td class="num">{_maybe(r.recall, "{:.0%}")}</td>'
           f'<td class="num">{_maybe(r.precision, "{:.0%}")}</td><td class="num">{r.context_tokens:.0f}</td>'
           f'<td class="num">{r.edited_right_files:.0%}</td></tr>')
    return _table("retrieval", ["tasks with accounting", "recall", "precision", "context tokens (mean)",
                                "right files edited"], [row], numeric=(1, 2, 3, 4))


def _phases_table(report: RunReport) -> str:
    """Where the time went: each phase with the recorded stages it is made of (docs/results.md)."""
    over = report.overhead
    wall = sum(phase.total_s for phase in report.phases)
    rows = [f'<tr data-phase="{s.stage}"><td>{s.stage}</td><td class="muted">{PHASE_SOURCES.get(s.stage, "")}</td>'
            f'<td class="num">{s.total_s:,.2f}</td><td class="num">{s.mean_s:,.2f}</td>'
            f'<td class="num">{_share(s.total_s, wall)}</td></tr>' for s in report.phases]
    rows.append(f'<tr data-phase="overhead"><td>harness overhead</td><td class="muted">total − system − tests</td>'
                f'<td class="num">{over.total_s:,.2f}</td><td class="num">{over.mean_s:,.2f}</td>'
                f'<td class="num">{_share(over.total_s, wall)}</td></tr>')
    return (_table("phases", ["phase", "made of (recorded stages)", "total seconds", "mean seconds per task",
                              "share of the wall time"], rows, numeric=(2, 3, 4))
            + f'<p class="muted">Over the {over.tasks:,} evaluation(s) that went through the pipeline.</p>')


def _pairs_table(comparison: Comparison) -> str:
    rows = []
    for pair in comparison.pairs:
        rows.append(
            f'<tr data-other="{escape(pair.other)}" data-fixed="{pair.fixed}" data-broken="{pair.broken}" '
            f'data-mcnemar-p="{pair.mcnemar_p}"><td>{escape(pair.other)}</td><td class="num">{pair.tasks}</td>'
            f'<td class="num">{pair.fixed}</td><td class="num">{pair.broken}</td>'
            f'<td class="num">{pair.still_failing}</td><td class="num">{pair.still_passing}</td>'
            f'<td class="num">{pair.mcnemar_p:.4g}</td>'
            f'<td class="nowrap">{pair.difference:+.1%} ({pair.ci_low:+.1%} – {pair.ci_high:+.1%})</td></tr>')
    return _table("pairs", ["run", "shared tasks", "fixed", "broken", "still failing", "still passing",
                            "McNemar exact p", "difference (95 % paired bootstrap CI)"], rows,
                  numeric=(1, 2, 3, 4, 5, 6))


def _table(element_id: str, heads: list[str], rows: list[str], numeric: tuple[int, ...] = ()) -> str:
    head = "".join(f'<th scope="col"{" class=num" if i in numeric else ""}>{escape(h)}</th>'
                   for i, h in enumerate(heads))
    return (f'<div class="scroll"><table id="{element_id}"><thead><tr>{head}</tr></thead>'
            f'<tbody>{"".join(rows)}</tbody></table></div>')


# ---------------------------------------------------------------------------------------------------------------


def _notes(notes: list[str], loud: bool = False) -> str:
    css = "note loud" if loud else "note"
    return "".join(f'<div class="{css}" role="note">{escape(note)}</div>' for note in notes)


def _run_letters(count: int) -> list[str]:
    return ["A"] + (["B"] if count == 2 else [f"B{i}" for i in range(1, count)])


def _started(moment: datetime | None) -> str:
    return f" · started {moment:%Y-%m-%d %H:%M} UTC" if moment else ""


def _share(part: float, whole: float) -> str:
    return f"{part / whole:.0%}" if whole else "—"


def _pct(value: float) -> str:
    return f"{value * 100:.1f} %"


def _maybe(value: float | None, fmt: str) -> str:
    return "—" if value is None else fmt.format(value)
