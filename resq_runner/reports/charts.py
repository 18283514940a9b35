"""The HTML pages' charts, drawn here as inline SVG (no chart library to bundle or audit).

Numbers are also written into data-* attributes, so a page can be checked (and scraped) without reading pixels.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta, timezone
from html import escape
from pathlib import PurePosixPath

from ..models import Outcome
from .records import History, HistoryPoint, Rate

OUTCOME_COLOURS = {Outcome.passed: "#1a7f37", Outcome.failed: "#cf222e", Outcome.patch_failed: "#8250df",
                   Outcome.timed_out: "#9a6700", Outcome.system_error: "#953800", Outcome.infra_error: "#6e7781",
                   Outcome.skipped_budget: "#1b7c83"}
# Distinct at a glance and in print; a system past the tenth gets a hue of its own from the golden angle.
SYSTEM_COLOURS = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#17becf", "#8c564b", "#e377c2",
                  "#7f7f7f", "#bcbd22")
SUITE_DASHES = ("", "8 4", "2 4", "10 4 2 4")  # one line style per suite, when a history holds several
TICK_STEPS_DAYS = (1, 2, 7, 14, 28, 91, 182, 364)
NIGHT = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def series_colours(names: list[str]) -> dict[str, str]:
    """One colour per name, in the order given (a history's systems in order of first appearance)."""
    colours = {}
    for index, name in enumerate(dict.fromkeys(names)):
        colours[name] = SYSTEM_COLOURS[index] if index < len(SYSTEM_COLOURS) else \
            f"hsl({(index * 137.508) % 360:.0f},62%,40%)"
    return colours


def outcome_chart(outcomes: dict[str, int]) -> str:
    """One bar per outcome; bar heights are proportional to the counts."""
    width, height, top, bottom, left = 560, 220, 20, 40, 16
    plot = height - top - bottom
    most = max(outcomes.values(), default=0) or 1
    slot = (width - left) / max(len(outcomes), 1)
    parts = [_svg_open("outcome-chart", width, height, "Outcomes of the run's evaluations: " + ", ".join(
        f"{name} {count}" for name, count in outcomes.items())),
        f'<line class="axis" x1="{left}" y1="{top + plot}" x2="{width}" y2="{top + plot}"/>']
    for index, (name, count) in enumerate(outcomes.items()):
        bar = plot * count / most
        x = left + index * slot + slot * 0.15
        parts.append(
            f'<g class="bar" data-outcome="{name}" data-count="{count}">'
            f'<rect x="{x:.1f}" y="{top + plot - bar:.1f}" width="{slot * 0.7:.1f}" height="{bar:.2f}" '
            f'fill="{OUTCOME_COLOURS[Outcome(name)]}"><title>{name}: {count}</title></rect>'
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
            f'height="{bar:.2f}" fill="{SYSTEM_COLOURS[index % len(SYSTEM_COLOURS)]}" opacity="0.85">'
            f'<title>{escape(label)}: {_pct(rate.rate)}</title></rect>'
            f'<line x1="{middle:.1f}" x2="{middle:.1f}" y1="{low:.1f}" y2="{high:.1f}" stroke="#222"/>'
            f'<line x1="{middle - 6:.1f}" x2="{middle + 6:.1f}" y1="{low:.1f}" y2="{low:.1f}" stroke="#222"/>'
            f'<line x1="{middle - 6:.1f}" x2="{middle + 6:.1f}" y1="{high:.1f}" y2="{high:.1f}" stroke="#222"/>'
            f'<text x="{middle:.1f}" y="{top + plot + 16}" text-anchor="middle">{escape(label[:28])}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


# ---------------------------------------------------------------------------------------------------------------
# History


def run_moment(point: HistoryPoint) -> datetime:
    """Where a run goes on the date axis: its night when its folder is named by a date (runs/nightly/<date>/<name>,
    which `scripts/nightly --date` may write on another day than the date it names), else when it started; the
    time of day is the start's, so two runs of one night keep their order."""
    started = _utc(point.started_at)
    for part in reversed(PurePosixPath(point.root).parts):
        if NIGHT.match(part):
            try:
                return datetime.combine(date.fromisoformat(part), started.timetz())
            except ValueError:
                continue
    return started


def trend_chart(history: History) -> str:
    """One line per (suite, system): pass rate against the run's date. One colour per system, one line style per
    suite; the x axis is calendar time with a tick per day (or week, month...), so runs of different days never
    share an x."""
    series = history.series()
    colours = series_colours([system for _, system in series])
    suites = list(dict.fromkeys(suite for suite, _ in series))
    width, top, left, right, legend_w = 960, 20, 48, 48, 200
    plot_w, plot = width - left - right, 240
    per_row = max(1, plot_w // legend_w)
    height = top + plot + 44 + 20 * -(-len(series) // per_row)
    moments = [run_moment(p) for p in history.points]
    start, end = _day_span(moments)

    def x_of(moment: datetime) -> float:
        return left + plot_w * (moment - start) / (end - start)

    parts = [_svg_open("trend-chart", width, height, "Pass rate over time, one line per system and suite"),
             _y_axis(left, width - right, top, plot), _date_axis(start, end, x_of, top, plot)]
    for index, ((suite, system), points) in enumerate(series.items()):
        colour, dash = colours[system], SUITE_DASHES[suites.index(suite) % len(SUITE_DASHES)]
        name = f"{suite} · {system}"
        shown = system if len(suites) == 1 else name
        placed = sorted(((run_moment(p), p) for p in points), key=lambda pair: pair[0])
        coords = [(x_of(moment), top + plot * (1 - p.rate.rate)) for moment, p in placed]
        parts.append(f'<g class="series" data-series="{escape(name)}" data-system="{escape(system)}" '
                     f'data-colour="{colour}" data-points="{len(points)}">')
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2.5" stroke-dasharray="{dash}" '
                     f'points="{" ".join(f"{x:.1f},{y:.1f}" for x, y in coords)}"/>')
        for (moment, point), (x, y) in zip(placed, coords):
            parts.append(f'<circle class="point" cx="{x:.1f}" cy="{y:.1f}" r="4.5" fill="{colour}" '
                         f'data-rate="{point.rate.rate}" data-run="{escape(point.root)}" '
                         f'data-date="{moment:%Y-%m-%d}"><title>{escape(shown)} · {moment:%Y-%m-%d} '
                         f'(started {point.started_at:%Y-%m-%d %H:%M}): {_pct(point.rate.rate)}</title></circle>')
        legend_x, legend_y = left + 8 + legend_w * (index % per_row), top + plot + 44 + 20 * (index // per_row)
        parts.append(f'<line x1="{legend_x}" x2="{legend_x + 32}" y1="{legend_y - 4}" y2="{legend_y - 4}" '
                     f'stroke="{colour}" stroke-width="3" stroke-dasharray="{dash}"/>'
                     f'<text class="legend" x="{legend_x + 40}" y="{legend_y}">{escape(shown[:26])}</text></g>')
    parts.append("</svg>")
    return "".join(parts)


def _day_span(moments: list[datetime]) -> tuple[datetime, datetime]:
    """From the first run's midnight to the midnight after the last run: whole days, at least one."""
    if not moments:
        today = datetime.combine(datetime.now(timezone.utc).date(), time(), timezone.utc)
        return today, today + timedelta(days=1)
    first, last = min(moments), max(moments)
    start = datetime.combine(first.date(), time(), first.tzinfo)
    return start, datetime.combine(last.date(), time(), last.tzinfo) + timedelta(days=1)


def _date_axis(start: datetime, end: datetime, x_of, top: float, plot: float) -> str:
    days = (end - start).days
    step = next((s for s in TICK_STEPS_DAYS if days / s <= 10), TICK_STEPS_DAYS[-1])
    parts = [f'<g class="date-axis" data-days="{days}" data-step-days="{step}">']
    for offset in range(0, days + 1, step):
        moment = start + timedelta(days=offset)
        x = x_of(moment)
        parts.append(f'<line class="tick" x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + plot + 4}"/>'
                     f'<text class="tick-label" data-date="{moment:%Y-%m-%d}" x="{x:.1f}" y="{top + plot + 18}" '
                     f'text-anchor="middle">{moment:%Y-%m-%d}</text>')
    parts.append("</g>")
    return "".join(parts)


def _utc(moment: datetime) -> datetime:
    return moment.replace(tzinfo=timezone.utc) if moment.tzinfo is None else moment.astimezone(timezone.utc)


# ---------------------------------------------------------------------------------------------------------------


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


def _pct(value: float) -> str:
    return f"{value * 100:.1f} %"
