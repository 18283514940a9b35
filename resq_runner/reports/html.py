"""Self-contained HTML pages for reports, comparisons and histories.

One file each, with inline CSS, inline SVG charts drawn here in Python and a few lines of inline JavaScript for the
task filter: nothing is fetched, so a page opens the same with no network. Numbers are also written into data-*
attributes, so the page can be checked (and scraped) without parsing display text.
"""

from __future__ import annotations

import os
from datetime import datetime
from html import escape
from pathlib import Path
from urllib.parse import quote

from ..models import Outcome
from .records import Comparison, History, Rate, RetrievalSummary, RunReport
from .robustness import RobustnessSummary

OUTCOME_COLOURS = {Outcome.passed: "#2e9e4f", Outcome.failed: "#d64545", Outcome.patch_failed: "#a34fc2",
                   Outcome.timed_out: "#e0a526", Outcome.system_error: "#8a3b12", Outcome.infra_error: "#8c8c8c",
                   Outcome.skipped_budget: "#5bc0de"}
SERIES_COLOURS = ("#2a6fdb", "#d64545", "#2e9e4f", "#e0a526", "#a34fc2", "#1b9aaa", "#8a3b12", "#555555")

CSS = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:24px auto;max-width:1100px;color:#222;
padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px}.muted{color:#666}
.cards{display:flex;flex-wrap:wrap;gap:12px;margin:16px 0}
.card{border:1px solid #ddd;border-radius:8px;padding:10px 14px;min-width:150px;background:#fafafa}
.card .label{color:#666;font-size:12px;text-transform:uppercase;letter-spacing:.04em}
.card .value{font-size:24px;font-weight:600}.card .sub{color:#666;font-size:12px}
table{border-collapse:collapse;width:100%;margin:8px 0}th,td{border-bottom:1px solid #e4e4e4;padding:4px 8px;
text-align:left;vertical-align:top;overflow-wrap:anywhere}th{background:#f3f3f3}td.num{text-align:right;font-variant-numeric:tabular-nums}
.outcome{padding:1px 6px;border-radius:4px;color:#fff;font-size:12px;white-space:nowrap}
.change-fixed{color:#2e9e4f;font-weight:600}.change-broken{color:#d64545;font-weight:600}
.note{background:#fff4d6;border-left:4px solid #e0a526;padding:6px 10px;margin:6px 0}
.note.loud{background:#fde2e2;border-color:#d64545;font-weight:600}
#task-filter{padding:5px 8px;width:320px;border:1px solid #bbb;border-radius:4px}
svg text{font:12px system-ui,sans-serif;fill:#333}svg .axis{stroke:#999;stroke-width:1}
svg .grid{stroke:#eee;stroke-width:1}
"""

FILTER_SCRIPT = """
(function () {
  var box = document.getElementById('task-filter');
  if (!box) return;
  var rows = document.querySelectorAll('table.filterable tbody tr');
  function apply() {
    var query = box.value.trim().toLowerCase(), shown = 0;
    rows.forEach(function (row) {
      var keep = !query || row.textContent.toLowerCase().indexOf(query) >= 0;
      row.hidden = !keep;
      if (keep) shown++;
    });
    var count = document.getElementById('task-count');
    count.textContent = shown + ' of ' + rows.length + ' ' + count.getAttribute('data-noun') + ' shown';
    count.setAttribute('data-shown', shown);
  }
  var match = location.hash.match(/filter=([^&]*)/);
  if (match) box.value = decodeURIComponent(match[1]);
  box.addEventListener('input', apply);
  apply();
})();
"""


def write_page(out: Path, page: str) -> Path:
    out = Path(out)
    out.write_text(page, encoding="utf-8")
    return out


# ---------------------------------------------------------------------------------------------------------------
# Pages


def report_page(report: RunReport, out: Path) -> str:
    """The page for one run; links to logs are relative to where the page is written (`out`)."""
    rate, usage = report.rate, report.usage
    seconds = sum(stage.total_s for stage in report.stages)
    cards = [
        card("pass-rate", rate.rate, "pass rate", _pct(rate.rate),
             f"{rate.passed}/{rate.graded} · 95 % CI {_pct(rate.ci_low)} – {_pct(rate.ci_high)}"),
        card("tasks", len(report.tasks), "tasks", str(len(report.tasks)),
             f"{report.samples} sample(s) per task" if report.samples > 1 else "one sample per task"),
        card("tokens", usage.prompt_tokens + usage.completion_tokens, "tokens",
             f"{usage.prompt_tokens + usage.completion_tokens:,}",
             f"per solved task: {_maybe(usage.tokens_per_solved, '{:,.0f}')}"),
        card("cost", usage.cost_usd, "cost", f"${usage.cost_usd:,.4f}",
             f"per solved task: {_maybe(usage.cost_per_solved, '${:,.4f}')}"),
        card("seconds", seconds, "time", f"{seconds:,.1f} s", "summed over stages and tasks"),
    ]
    body = [f"<h1>{escape(Path(report.suite).name)} · {escape(report.system)}</h1>",
            f'<div class="muted">run {escape(report.run_id)}{_started(report.started_at)}</div>',
            _notes(report.notes), f'<div class="cards">{"".join(cards)}</div>',
            "<h2>Outcomes</h2>", outcome_chart(report.outcomes),
            f"<h2>By {escape(report.group_by)}</h2>", _groups_table(report)]
    if report.pass_at_k:
        body += ["<h2>pass@k</h2>", _pass_at_k_table(report)]
    if report.robustness:
        body += ["<h2>Robustness across template instances</h2>", _robustness_table(report.robustness)]
    if report.retrieval:
        body += ["<h2>Retrieval</h2>", _retrieval_table(report.retrieval, report)]
    body += ["<h2>Time per stage</h2>", _stages_table(report), "<h2>Time per phase</h2>", _phases_table(report),
             "<h2>Tasks</h2>", _filter_box(), _tasks_table(report, Path(out))]
    return page(f"resq report · {report.suite} · {report.system}", body)


def comparison_page(comparison: Comparison) -> str:
    letters = _run_letters(len(comparison.runs))
    cards = [card(f"run-{i}", run.rate.rate, f"{letters[i]}: {run.system}", _pct(run.rate.rate),
                  f"{run.rate.passed}/{run.rate.graded} · {run.name}") for i, run in enumerate(comparison.runs)]
    for index, pair in enumerate(comparison.pairs, start=1):
        cards.append(card(f"broken-{index}", pair.broken, f"broken in {letters[index]}",
                          str(pair.broken), f"allowed: {comparison.max_regressions}"))
    body = ["<h1>resq compare</h1>", _notes(comparison.notes, loud=True), f'<div class="cards">{"".join(cards)}</div>',
            "<h2>Pass rates (95 % Wilson intervals)</h2>",
            rate_chart([(f"{letters[i]}: {run.system}", run.rate) for i, run in enumerate(comparison.runs)]),
            "<h2>Paired comparison against A</h2>", _pairs_table(comparison),
            "<h2>Tasks</h2>", _filter_box(), _comparison_table(comparison, letters)]
    return page("resq compare", body)


def history_page(history: History) -> str:
    series = history.series()
    body = [f"<h1>resq history · {escape(history.root)}</h1>", _notes(history.notes),
            '<div class="cards">' + "".join(
                card(f"series-{i}", points[-1].rate.rate, f"{suite} · {system}", _pct(points[-1].rate.rate),
                     f"latest of {len(points)} run(s)") for i, ((suite, system), points) in enumerate(series.items()))
            + "</div>",
            "<h2>Pass rate over time</h2>", trend_chart(history), "<h2>Runs</h2>", _filter_box("runs"),
            _history_table(history)]
    return page("resq history", body)


def page(title: str, body: list[str]) -> str:
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width\"><title>{escape(title)}</title>"
            f"<style>{CSS}</style></head><body>\n" + "\n".join(body)
            + f"\n<script>{FILTER_SCRIPT}</script>\n</body></html>\n")


def card(metric: str, value: float, label: str, shown: str, sub: str = "") -> str:
    return (f'<div class="card" data-metric="{escape(metric)}" data-value="{value}">'
            f'<div class="label">{escape(label)}</div><div class="value">{escape(shown)}</div>'
            f'<div class="sub">{escape(sub)}</div></div>')


# ---------------------------------------------------------------------------------------------------------------
# Charts (inline SVG)


def outcome_chart(outcomes: dict[str, int]) -> str:
    """One bar per outcome; bar heights are proportional to the counts."""
    width, height, top, bottom, left = 640, 240, 20, 40, 40
    plot = height - top - bottom
    most = max(outcomes.values(), default=0) or 1
    slot = (width - left) / len(outcomes)
    parts = [_svg_open("outcome-chart", width, height, "Outcomes of the run's evaluations"),
             f'<line class="axis" x1="{left}" y1="{top + plot}" x2="{width}" y2="{top + plot}"/>']
    for index, (name, count) in enumerate(outcomes.items()):
        bar = plot * count / most
        x = left + index * slot + slot * 0.15
        colour = OUTCOME_COLOURS[Outcome(name)]
        parts.append(
            f'<g class="bar" data-outcome="{name}" data-count="{count}">'
            f'<rect x="{x:.1f}" y="{top + plot - bar:.1f}" width="{slot * 0.7:.1f}" height="{bar:.2f}" '
            f'fill="{colour}"><title>{name}: {count}</title></rect>'
            f'<text class="count" x="{x + slot * 0.35:.1f}" y="{top + plot - bar - 4:.1f}" '
            f'text-anchor="middle">{count}</text>'
            f'<text x="{x + slot * 0.35:.1f}" y="{top + plot + 16}" text-anchor="middle">{name}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def rate_chart(rates: list[tuple[str, Rate]]) -> str:
    """Pass rate bars (0-100 %) with the Wilson interval as whiskers."""
    width, height, top, bottom, left = 640, 260, 20, 40, 48
    plot = height - top - bottom
    slot = (width - left) / max(len(rates), 1)
    parts = [_svg_open("rate-chart", width, height, "Pass rate per run"), _y_axis(left, width, top, plot)]
    for index, (label, rate) in enumerate(rates):
        x = left + index * slot + slot * 0.2
        bar = plot * rate.rate
        middle = x + slot * 0.3
        low, high = top + plot * (1 - rate.ci_low), top + plot * (1 - rate.ci_high)
        parts.append(
            f'<g class="rate-bar" data-label="{escape(label)}" data-rate="{rate.rate}" data-ci-low="{rate.ci_low}" '
            f'data-ci-high="{rate.ci_high}"><rect x="{x:.1f}" y="{top + plot - bar:.1f}" width="{slot * 0.6:.1f}" '
            f'height="{bar:.2f}" fill="{SERIES_COLOURS[index % len(SERIES_COLOURS)]}" opacity="0.85">'
            f'<title>{escape(label)}: {_pct(rate.rate)}</title></rect>'
            f'<line x1="{middle:.1f}" x2="{middle:.1f}" y1="{low:.1f}" y2="{high:.1f}" stroke="#222"/>'
            f'<line x1="{middle - 6:.1f}" x2="{middle + 6:.1f}" y1="{low:.1f}" y2="{low:.1f}" stroke="#222"/>'
            f'<line x1="{middle - 6:.1f}" x2="{middle + 6:.1f}" y1="{high:.1f}" y2="{high:.1f}" stroke="#222"/>'
            f'<text x="{middle:.1f}" y="{top + plot + 16}" text-anchor="middle">{escape(label[:28])}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def trend_chart(history: History) -> str:
    """One line per (suite, system): pass rate against the run's start time."""
    series = history.series()
    width, top, left, right, inset = 760, 20, 48, 20, 16
    plot_w, plot = width - left - right - 2 * inset, 230
    height = top + plot + 40 + 16 * len(series)
    times = [p.started_at.timestamp() for p in history.points]
    first, last = (min(times), max(times)) if times else (0.0, 0.0)

    def x_of(moment: datetime) -> float:
        if last == first:
            return left + inset + plot_w / 2
        return left + inset + plot_w * (moment.timestamp() - first) / (last - first)

    parts = [_svg_open("trend-chart", width, height, "Pass rate over time per suite and system"),
             _y_axis(left, width - right, top, plot)]
    if history.points:
        ends = sorted({history.points[0].started_at, history.points[-1].started_at})
        for moment, anchor in zip(ends, ("start", "end") if len(ends) == 2 else ("middle",)):
            parts.append(f'<text x="{x_of(moment):.1f}" y="{top + plot + 18}" text-anchor="{anchor}">'
                         f'{moment:%Y-%m-%d %H:%M}</text>')
    for index, ((suite, system), points) in enumerate(series.items()):
        colour = SERIES_COLOURS[index % len(SERIES_COLOURS)]
        name = f"{suite} · {system}"
        coords = [(x_of(p.started_at), top + plot * (1 - p.rate.rate)) for p in points]
        parts.append(f'<g class="series" data-series="{escape(name)}" data-points="{len(points)}">')
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" '
                     f'points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in coords)}"/>')
        for point, (x, y) in zip(points, coords):
            parts.append(f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="4" fill="{colour}" '
                         f'data-rate="{point.rate.rate}" data-run="{escape(point.root)}">'
                         f'<title>{escape(name)} {point.started_at:%Y-%m-%d %H:%M}: {_pct(point.rate.rate)}'
                         f'</title></circle>')
        legend_y = top + plot + 40 + 16 * index
        parts.append(f'<rect x="{left + 10}" y="{legend_y - 9}" width="10" height="10" fill="{colour}"/>'
                     f'<text class="legend" x="{left + 26}" y="{legend_y}">{escape(name)}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def _svg_open(element_id: str, width: int, height: int, label: str) -> str:
    return (f'<svg id="{element_id}" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{escape(label)}">')


def _y_axis(left: float, right: float, top: float, plot: float) -> str:
    lines = []
    for fraction in (0, 0.25, 0.5, 0.75, 1):
        y = top + plot * (1 - fraction)
        lines.append(f'<line class="grid" x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{fraction:.0%}</text>')
    lines.append(f'<line class="axis" x1="{left}" x2="{left}" y1="{top}" y2="{top + plot}"/>')
    return "".join(lines)


# ---------------------------------------------------------------------------------------------------------------
# Tables


def _tasks_table(report: RunReport, out: Path) -> str:
    rows = []
    for task in report.tasks:
        links = " ".join(_log_link(report.root, relative, out, label)
                         for relative, label in ((task.patch_log, "patch"), (task.test_log, "test log")) if relative)
        rows.append(
            f'<tr data-task="{escape(task.task_id)}" data-outcome="{task.outcome.value}" '
            f'data-tests-passed="{task.tests_passed}" data-tests-total="{task.tests_total}">'
            f"<td>{escape(task.task_id)}</td><td>{_outcome_badge(task.outcome)}</td>"
            f'<td class="num">{task.samples_passed}/{len(task.outcomes)}</td>'
            f'<td class="num">{task.tests_passed}/{task.tests_total}</td><td class="num">{task.seconds:.1f}</td>'
            f'<td class="num">{task.tokens:,}</td><td>{escape(", ".join(task.tags))}</td><td>{links or "—"}</td>'
            f"<td>{escape(task.reason[:300])}</td></tr>")
    return _table("tasks", ["task", "outcome", "samples passed", "tests passed", "seconds", "tokens", "tags", "logs",
                            "reason"], rows, filterable=True)


def _groups_table(report: RunReport) -> str:
    rows = [f'<tr data-group="{escape(g.group)}" data-rate="{g.rate.rate}"><td>{escape(g.group)}</td>'
            f'<td class="num">{g.tasks}</td><td class="num">{g.rate.passed}/{g.rate.graded}</td>'
            f'<td class="num">{_pct(g.rate.rate)}</td><td>{_pct(g.rate.ci_low)} – {_pct(g.rate.ci_high)}</td></tr>'
            for g in report.groups]
    return _table("groups", [report.group_by, "tasks", "passed", "pass rate", "95 % CI"], rows)


def _pass_at_k_table(report: RunReport) -> str:
    rows = [f'<tr data-k="{p.k}" data-value="{p.value}"><td>{p.k}</td><td class="num">{_pct(p.value)}</td>'
            f'<td class="num">{p.tasks}</td></tr>' for p in report.pass_at_k]
    return _table("pass-at-k", ["k", "pass@k (unbiased)", "tasks with n ≥ k"], rows)


def _robustness_table(robustness: RobustnessSummary) -> str:
    rows = [f'<tr data-template="{escape(t.template)}" data-passed="{t.passed}" data-total="{t.total}">'
            f'<td>{escape(t.template)}</td><td class="num">{t.passed}/{t.total}</td>'
            f'<td>{"yes" if t.solved_all else "no"}</td><td>'
            + escape(", ".join(f"{v.parameter}={v.value} ({v.failed}/{v.total})" for v in t.breaking_values))
            + "</td></tr>" for t in robustness.templates]
    return _table("robustness", ["template", "instances passed", "solved in all", "values that broke it"], rows)


def _stages_table(report: RunReport) -> str:
    rows = [f'<tr data-stage="{s.stage}"><td>{s.stage}</td><td class="num">{s.total_s:.2f}</td>'
            f'<td class="num">{s.mean_s:.2f}</td></tr>' for s in report.stages]
    return _table("stages", ["stage", "total seconds", "mean seconds per evaluation"], rows)


def _retrieval_table(r: RetrievalSummary, report: RunReport) -> str:
    summary = (f'<tr data-scope="run"><td>all ({r.tasks} tasks)</td><td class="num">{_maybe(r.recall, "{:.0%}")}</td>'
               f'<td class="num">{_maybe(r.precision, "{:.0%}")}</td><td class="num">{r.context_tokens:.0f}</td>'
               f'<td class="num">{r.edited_right_files:.0%}</td></tr>')
    rows = [summary] + [
        f'<tr data-task="{escape(t.task_id)}"><td>{escape(t.task_id)}</td>'
        f'<td class="num">{_maybe(t.retrieval_recall, "{:.0%}")}</td>'
        f'<td class="num">{_maybe(t.retrieval_precision, "{:.0%}")}</td><td class="num">{t.context_tokens}</td>'
        f'<td class="num">{"yes" if t.edited_right_files else "no"}</td></tr>'
        for t in report.tasks if t.context_tokens is not None]
    return _table("retrieval", ["task", "recall", "precision", "context tokens", "right files edited"], rows)


def _phases_table(report: RunReport) -> str:
    rows = [f'<tr data-phase="{s.stage}"><td>{s.stage}</td><td class="num">{s.total_s:.2f}</td>'
            f'<td class="num">{s.mean_s:.2f}</td></tr>' for s in report.phases]
    over = report.overhead
    rows.append(f'<tr data-phase="overhead"><td>harness overhead (total − system − tests)</td>'
                f'<td class="num">{over.total_s:.2f}</td><td class="num">{over.mean_s:.2f}</td></tr>')
    return _table("phases", ["phase", "total seconds", "mean seconds per task"], rows)


def _pairs_table(comparison: Comparison) -> str:
    rows = []
    for pair in comparison.pairs:
        rows.append(
            f'<tr data-other="{escape(pair.other)}" data-fixed="{pair.fixed}" data-broken="{pair.broken}" '
            f'data-mcnemar-p="{pair.mcnemar_p}"><td>{escape(pair.other)}</td><td class="num">{pair.tasks}</td>'
            f'<td class="num">{pair.fixed}</td><td class="num">{pair.broken}</td>'
            f'<td class="num">{pair.still_failing}</td><td class="num">{pair.still_passing}</td>'
            f'<td class="num">{pair.mcnemar_p:.4g}</td>'
            f"<td>{pair.difference:+.1%} ({pair.ci_low:+.1%} – {pair.ci_high:+.1%})</td></tr>")
    return _table("pairs", ["run", "shared tasks", "fixed", "broken", "still failing", "still passing",
                            "McNemar exact p", "difference (95 % paired bootstrap CI)"], rows)


def _comparison_table(comparison: Comparison, letters: list[str]) -> str:
    rows = []
    for task in comparison.tasks:
        cells = "".join(f"<td>{_outcome_badge(o) if o else '—'}</td>" for o in task.outcomes)
        changes = "".join(f'<td class="change-{c.replace(" ", "-")}">{c}</td>' for c in task.changes)
        rows.append(f'<tr data-task="{escape(task.task_id)}" data-changes="{escape(",".join(task.changes))}">'
                    f"<td>{escape(task.task_id)}</td>{cells}{changes}</tr>")
    heads = ["task", *letters, *[f"A → {letter}" for letter in letters[1:]]]
    return _table("comparison", heads, rows, filterable=True)


def _history_table(history: History) -> str:
    rows = [f'<tr data-series="{escape(p.suite)} · {escape(p.system)}" data-rate="{p.rate.rate}">'
            f"<td>{p.started_at:%Y-%m-%d %H:%M}</td><td>{escape(p.suite)}</td><td>{escape(p.system)}</td>"
            f'<td class="num">{_pct(p.rate.rate)}</td><td class="num">{p.rate.passed}/{p.rate.graded}</td>'
            f"<td>{_pct(p.rate.ci_low)} – {_pct(p.rate.ci_high)}</td><td>{escape(p.root)}</td></tr>"
            for p in history.points]
    return _table("history", ["started", "suite", "system", "pass rate", "passed", "95 % CI", "run folder"], rows,
                  filterable=True)


def _table(element_id: str, heads: list[str], rows: list[str], filterable: bool = False) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in heads)
    css = ' class="filterable"' if filterable else ""
    return f'<table id="{element_id}"{css}><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _filter_box(noun: str = "tasks") -> str:
    return ('<p><input id="task-filter" type="search" placeholder="filter rows: task id, outcome, tag…" '
            f'aria-label="filter rows"> <span id="task-count" class="muted" data-noun="{noun}"></span></p>')


def _log_link(run_root: str, relative: str, out: Path, label: str) -> str:
    target = Path(run_root).resolve() / relative
    href = Path(os.path.relpath(target, Path(out).resolve().parent)).as_posix()
    return f'<a href="{escape(quote(href))}">{escape(label)}</a>'


def _outcome_badge(outcome: Outcome) -> str:
    return f'<span class="outcome" style="background:{OUTCOME_COLOURS[outcome]}">{outcome.value}</span>'


def _notes(notes: list[str], loud: bool = False) -> str:
    css = "note loud" if loud else "note"
    return "".join(f'<div class="{css}">{escape(note)}</div>' for note in notes)


def _run_letters(count: int) -> list[str]:
    return ["A"] + (["B"] if count == 2 else [f"B{i}" for i in range(1, count)])


def _started(moment: datetime | None) -> str:
    return f" · started {moment:%Y-%m-%d %H:%M} UTC" if moment else ""


def _pct(value: float) -> str:
    return f"{value * 100:.1f} %"


def _maybe(value: float | None, fmt: str) -> str:
    return "—" if value is None else fmt.format(value)
