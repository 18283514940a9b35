"""The HTML pages opened in headless Chromium (Debian's `chromium`), with no network: charts and tables must show
the right numbers, read back from the DOM after the page's scripts ran; a screenshot of each page is saved."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

import pytest

from conftest import resq
from reports_helpers import T0, chromium_command, dump_dom, make_run, make_suite, parse_dom, screenshot
from resq_runner.models import Outcome
from resq_runner.tasks import load_suite, suite_hash

CHROMIUM = chromium_command()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed: run scripts/setup")

P, F, PF, TO, IE = Outcome.passed, Outcome.failed, Outcome.patch_failed, Outcome.timed_out, Outcome.infra_error


def assert_self_contained(page: Path) -> None:
    text = page.read_text()
    assert not re.search(r"https?://|<link\b|\bsrc=|@import|url\(", text), "the page must not fetch anything"


def visible_rows(dom, table_id: str) -> list:
    return [row for row in dom.find("table", id=table_id).find("tbody").find_all("tr") if "hidden" not in row.attrs]


def bar_heights(dom) -> dict[str, float]:
    chart = dom.find("svg", id="outcome-chart")
    return {bar.attrs["data-outcome"]: float(bar.find("rect").attrs["height"]) for bar in chart.find_all("g")
            if "data-outcome" in bar.attrs}


@pytest.fixture
def report_page(tmp_path) -> Path:
    suite = make_suite(tmp_path / "unit", {f"t{i}": ["bugfix" if i <= 4 else "feature"] for i in range(1, 8)})
    run = make_run(tmp_path / "run", "llm", {"t1": P, "t2": P, "t3": P, "t4": F, "t5": PF, "t6": IE, "t7": TO},
                   suite=str(suite), suite_hash=suite_hash(load_suite(suite)), attempts={"t3": [IE]})
    page = tmp_path / "site" / "report.html"  # elsewhere than the run: links must still reach its logs
    page.parent.mkdir()
    resq("report", str(run), "--html", str(page), check=True)
    return page


def test_report_page_renders_cards_outcome_chart_and_task_table(report_page, tmp_path):
    assert_self_contained(report_page)
    dom = parse_dom(dump_dom(CHROMIUM, tmp_path, report_page))
    card = dom.find("div", data_metric="pass-rate")
    assert float(card.attrs["data-value"]) == pytest.approx(0.5)  # 3 of 6 graded (t6 is an infra error)
    assert card.find("div", **{"class": "value"}).full_text() == "50.0 %"
    assert "95 % CI 18.8 % – 81.2 %" in card.full_text()
    chart = dom.find("svg", id="outcome-chart")
    counts = {bar.attrs["data-outcome"]: int(bar.attrs["data-count"]) for bar in chart.find_all("g")
              if "data-outcome" in bar.attrs}
    assert counts == {"passed": 3, "failed": 1, "patch_failed": 1, "timed_out": 1, "system_error": 0,
                      "infra_error": 1}
    heights = bar_heights(dom)
    assert heights["passed"] > 0 and heights["system_error"] == 0
    assert heights["passed"] / heights["failed"] == pytest.approx(3.0)
    assert heights["failed"] == heights["timed_out"] == heights["infra_error"]
    rows = visible_rows(dom, "tasks")
    assert [(r.attrs["data-task"], r.attrs["data-outcome"]) for r in rows] == [
        ("t1", "passed"), ("t2", "passed"), ("t3", "passed"), ("t4", "failed"), ("t5", "patch_failed"),
        ("t6", "infra_error"), ("t7", "timed_out")]
    assert dom.find("span", id="task-count").full_text() == "7 of 7 tasks shown"  # written by the page's script
    groups = {row.attrs["data-group"]: float(row.attrs["data-rate"]) for row in dom.find("table", id="groups")
              .find("tbody").find_all("tr")}
    assert groups == {"bugfix": pytest.approx(3 / 4), "feature": 0.0}  # t1-t3 of t1-t4; t5, t7 (t6: infra)
    links = {a.full_text(): a.attrs["href"] for a in rows[2].find_all("a")}
    assert links["patch"] == "../run/logs/t3.attempt2/patch.diff"
    assert (report_page.parent / links["test log"]).read_text() == "t3: passed\n"


def test_report_page_filter_box_hides_rows(report_page, tmp_path):
    dom = parse_dom(dump_dom(CHROMIUM, tmp_path, report_page, "#filter=patch_failed"))
    assert [r.attrs["data-task"] for r in visible_rows(dom, "tasks")] == ["t5"]
    count = dom.find("span", id="task-count")
    assert count.full_text() == "1 of 7 tasks shown" and count.attrs["data-shown"] == "1"
    assert dom.find("input", id="task-filter").attrs.get("value") in (None, "")  # typed by script, not markup
    dom = parse_dom(dump_dom(CHROMIUM, tmp_path, report_page, "#filter=bugfix"))
    assert [r.attrs["data-task"] for r in visible_rows(dom, "tasks")] == ["t1", "t2", "t3", "t4"]


def test_report_page_screenshot(report_page, tmp_path):
    shot = screenshot(CHROMIUM, tmp_path, report_page, tmp_path / "report.png")
    data = shot.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) > 20_000


def test_comparison_page(tmp_path):
    a = make_run(tmp_path / "a", "llm", {"t1": P, "t2": P, "t3": F, "t4": F, "t5": P})
    b = make_run(tmp_path / "b", "llm", {"t1": P, "t2": F, "t3": P, "t4": F, "t5": PF, "t6": P}, suite_hash="h2",
                 started_at=T0 + timedelta(days=1), task_hashes={"t2": "changed"})
    page = tmp_path / "compare.html"
    assert resq("compare", str(a), str(b), "--html", str(page)).returncode == 1
    assert_self_contained(page)
    dom = parse_dom(dump_dom(CHROMIUM, tmp_path, page))
    bars = dom.find("svg", id="rate-chart").find_all("g")
    rates = [float(bar.attrs["data-rate"]) for bar in bars]
    assert rates == [pytest.approx(3 / 5), pytest.approx(3 / 6)]
    heights = [float(bar.find("rect").attrs["height"]) for bar in bars]
    assert heights[0] / heights[1] == pytest.approx((3 / 5) / (3 / 6))
    pair = dom.find("table", id="pairs").find("tbody").find("tr")
    assert (pair.attrs["data-broken"], pair.attrs["data-fixed"], float(pair.attrs["data-mcnemar-p"])) == \
        ("2", "1", 1.0)
    rows = visible_rows(dom, "comparison")
    assert {r.attrs["data-task"]: r.attrs["data-changes"] for r in rows} == {
        "t1": "still passing", "t2": "broken", "t3": "fixed", "t4": "still failing", "t5": "broken"}
    assert dom.find("span", id="task-count").full_text() == "5 of 5 tasks shown"
    notes = " ".join(n.full_text() for n in dom.find_all("div") if "loud" in n.attrs.get("class", ""))
    assert "DIFFERENT TASK SETS" in notes and "DIFFERENT SUITE VERSIONS" in notes
    assert dom.find("div", data_metric="broken-1").attrs["data-value"] == "2"
    screenshot(CHROMIUM, tmp_path, page, tmp_path / "compare.png")


def test_history_page_trend_chart(tmp_path):
    nightly = tmp_path / "nightly"
    for day, (gold, llm) in enumerate([([P, P], [P, F]), ([P, P], [F, F]), ([P, P], [P, P])]):
        started = T0 + timedelta(days=day)
        make_run(nightly / f"2026-11-{20 + day}" / "gold", "gold", {"t1": gold[0], "t2": gold[1]}, started_at=started)
        make_run(nightly / f"2026-11-{20 + day}" / "llm", "llm", {"t1": llm[0], "t2": llm[1]},
                 started_at=started + timedelta(hours=1))
    page = tmp_path / "history.html"
    resq("history", str(nightly), "--html", str(page), check=True)
    assert_self_contained(page)
    dom = parse_dom(dump_dom(CHROMIUM, tmp_path, page))
    series = {g.attrs["data-series"]: g for g in dom.find("svg", id="trend-chart").find_all("g")}
    assert set(series) == {"unit · gold", "unit · llm"}
    llm_points = series["unit · llm"].find_all("circle")
    assert [float(p.attrs["data-rate"]) for p in llm_points] == [0.5, 0.0, 1.0]
    assert [p.attrs["data-run"] for p in llm_points] == ["2026-11-20/llm", "2026-11-21/llm", "2026-11-22/llm"]
    xs = [float(p.attrs["cx"]) for p in llm_points]
    ys = [float(p.attrs["cy"]) for p in llm_points]
    assert xs == sorted(xs) and len(set(xs)) == 3  # later runs further right
    assert ys[1] > ys[0] > ys[2]  # 0 % lowest, 100 % highest
    assert ys[0] == pytest.approx((ys[1] + ys[2]) / 2)  # 50 % half way: the axis is linear
    polyline = series["unit · llm"].find("polyline").attrs["points"].split()
    assert len(polyline) == 3
    gold_ys = {float(p.attrs["cy"]) for p in series["unit · gold"].find_all("circle")}
    assert gold_ys == {ys[2]}  # gold stays at 100 %
    assert dom.find("span", id="task-count").full_text() == "6 of 6 runs shown"
    screenshot(CHROMIUM, tmp_path, page, tmp_path / "history.png")
