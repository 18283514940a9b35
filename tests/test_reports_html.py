"""The HTML pages opened in headless Chromium (Debian's `chromium`), with no network: charts and tables must show
the right numbers, read back from the DOM after the page's scripts ran; a screenshot of each page is saved."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import pytest

from conftest import DEMO, resq
from llm_server import ScriptedLLM
from reports_helpers import T0, chromium_command, dump_dom, make_run, make_suite, parse_dom, screenshot
from resq_runner.models import Outcome, Timings, Usage
from resq_runner.tasks import load_suite, suite_hash

CHROMIUM = chromium_command()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed: run scripts/setup")

P, F, PF, TO, IE = Outcome.passed, Outcome.failed, Outcome.patch_failed, Outcome.timed_out, Outcome.infra_error
DATA_BLOCK = re.compile(r'<script type="application/json" id="[\w-]+">.*?</script>', re.S)


def assert_self_contained(page: Path, dom=None) -> None:
    """Nothing in the markup, style or script can fetch: the only scripts are the inline one and inert JSON data
    (which may quote URLs from a transcript), and every link in the rendered page is relative."""
    text = page.read_text()
    assert text.count("<script") == text.count('<script type="application/json"') + 1
    markup = DATA_BLOCK.sub("", text)
    assert not re.search(r"https?://|<link\b|\bsrc=|@import|url\(", markup), "the page must not fetch anything"
    if dom is not None:
        hrefs = [a.attrs.get("href", "") for a in dom.find_all("a")]
        assert hrefs and not [h for h in hrefs if re.match(r"[a-z]+:|//", h)], hrefs


def visible_rows(dom, table_id: str) -> list:
    return dom.find("table", id=table_id).find("tbody").find_all("tr")


def bar_heights(dom) -> dict[str, float]:
    chart = dom.find("svg", id="outcome-chart")
    return {bar.attrs["data-outcome"]: float(bar.find("rect").attrs["height"]) for bar in chart.find_all("g")
            if "data-outcome" in bar.attrs}


def cards(dom) -> dict[str, object]:
    return {c.attrs["data-metric"]: c for c in dom.find_all("div", **{"class": "card"})}


@pytest.fixture
def run_folder(tmp_path) -> Path:
    suite = make_suite(tmp_path / "unit", {f"t{i}": ["bugfix" if i <= 4 else "feature"] for i in range(1, 8)})
    return make_run(tmp_path / "run", "llm", {"t1": P, "t2": P, "t3": P, "t4": F, "t5": PF, "t6": IE, "t7": TO},
                    suite=str(suite), suite_hash=suite_hash(load_suite(suite)), attempts={"t3": [IE]},
                    timings=Timings(image=0.5, system=3.0, eval_start=0.3, eval_run=1.5, eval_apply=0.2,
                                    eval_tests=1.0, eval_collect=0.1, teardown=0.2))


@pytest.fixture
def report_page(run_folder, tmp_path) -> Path:
    page = tmp_path / "site" / "report.html"  # elsewhere than the run: links must still reach its logs
    page.parent.mkdir()
    resq("report", str(run_folder), "--html", str(page), check=True)
    return page


def test_report_page_renders_cards_outcome_chart_and_task_table(report_page, tmp_path):
    dom = parse_dom(dump_dom(CHROMIUM, tmp_path, report_page))
    assert_self_contained(report_page, dom)
    card = dom.find("div", data_metric="pass-rate")
    assert float(card.attrs["data-value"]) == pytest.approx(0.5)  # 3 of 6 graded (t6 is an infra error)
    assert card.find("div", **{"class": "value"}).full_text() == "50.0 %"
    assert "3/6 · 1 infra_error not counted · 95 % CI 18.8 % – 81.2 %" in card.full_text()
    chart = dom.find("svg", id="outcome-chart")
    counts = {bar.attrs["data-outcome"]: int(bar.attrs["data-count"]) for bar in chart.find_all("g")
              if "data-outcome" in bar.attrs}
    assert counts == {"passed": 3, "failed": 1, "patch_failed": 1, "timed_out": 1, "system_error": 0,
                      "infra_error": 1}
    heights = bar_heights(dom)
    assert heights["passed"] > 0 and heights["system_error"] == 0
    assert heights["passed"] / heights["failed"] == pytest.approx(3.0, rel=1e-3)  # heights are rounded
    assert heights["failed"] == heights["timed_out"] == heights["infra_error"]
    rows = visible_rows(dom, "tasks")  # drawn by the page's script from its JSON
    assert [(r.attrs["data-task"], r.attrs["data-outcome"]) for r in rows] == [
        ("t1", "passed"), ("t2", "passed"), ("t3", "passed"), ("t4", "failed"), ("t5", "patch_failed"),
        ("t6", "infra_error"), ("t7", "timed_out")]
    assert dom.find("span", id="task-count").full_text() == "7 of 7 tasks shown"
    groups = {row.attrs["data-group"]: float(row.attrs["data-rate"]) for row in dom.find("table", id="groups")
              .find("tbody").find_all("tr")}
    assert groups == {"bugfix": pytest.approx(3 / 4), "feature": 0.0}  # t1-t3 of t1-t4; t5, t7 (t6: infra)
    links = {a.full_text(): a.attrs["href"] for a in rows[2].find_all("a")}
    assert links["t3"] == "#task=t3"  # opens the task's detail view
    assert links["patch"] == "../run/logs/t3.attempt2/patch.diff"
    assert (report_page.parent / links["test log"]).read_text() == "t3: passed\n"


def test_report_page_reads_summary_then_tasks_then_the_rest(report_page, tmp_path):
    """Summary first, the task table second, then the breakdowns and one time table (phases with the stages they
    are made of); no tokens or cost cards for a system that called no model."""
    text = dump_dom(CHROMIUM, tmp_path, report_page)
    order = [text.index(f'id="{anchor}"') for anchor in ("summary", "tasks-section", "breakdown", "time")]
    assert order == sorted(order)
    dom = parse_dom(text)
    assert set(cards(dom)) == {"pass-rate", "tasks", "seconds"}
    assert 'id="stages"' not in text
    phases = {row.attrs["data-phase"]: row.find_all("td") for row in visible_rows(dom, "phases")}
    assert list(phases) == ["image", "start", "system", "apply", "tests", "teardown", "overhead"]
    assert phases["start"][1].full_text() == "eval_start + the harness's start-up"
    assert phases["system"][2].full_text() == "21.00"  # 7 tasks × 3.0 s
    assert phases["overhead"][3].full_text() == "1.60"  # 5.6 s a task − 3.0 system − 1.0 tests


def test_usage_cards_only_for_a_system_that_called_a_model(tmp_path):
    run = make_run(tmp_path / "run", "llm", {"t1": P, "t2": F},
                   usage=Usage(prompt_tokens=1000, completion_tokens=200, calls=3, cost_usd=0.012))
    page = tmp_path / "report.html"
    resq("report", str(run), "--html", str(page), check=True)
    found = cards(parse_dom(dump_dom(CHROMIUM, tmp_path, page)))
    assert float(found["tokens"].attrs["data-value"]) == 2400
    assert found["cost"].find("div", **{"class": "value"}).full_text() == "$0.0240"


LAYOUT_PROBE = """<script>
(function () {
  var table = document.getElementById('tasks'), wrapped = [];
  table.querySelectorAll('thead th').forEach(function (th) {
    var walker = document.createTreeWalker(th, NodeFilter.SHOW_TEXT), lines = new Set(), node;
    while ((node = walker.nextNode())) {
      var range = document.createRange();
      range.selectNodeContents(node);
      Array.from(range.getClientRects()).forEach(function (r) { lines.add(Math.round(r.top)); });
    }
    if (lines.size > 1) wrapped.push(th.textContent);
  });
  document.body.setAttribute('data-probe', JSON.stringify({wrapped: wrapped,
    table: table.getBoundingClientRect().width, window: window.innerWidth}));
})();
</script></body>"""


LONG_REASON = ("4 test(s) not passing: tests/test_money.py::test_allocate_spreads_the_remainder_over_the_first_parts "
               "failed with AssertionError: assert [Money('3.33'), Money('3.33'), Money('3.33')] == "
               "[Money('3.34'), Money('3.33'), Money('3.33')]")


@pytest.mark.parametrize("width", [1800, 900])
def test_task_table_is_full_width_and_headers_never_wrap(run_folder, tmp_path, width):
    """The page is as wide as the window (no ~1100 px cap) and no header breaks inside a word ("outco me") when
    long reasons squeeze the columns, even in a narrow window, where the table scrolls instead. (The page before
    this layout failed both at 1800 px: a 1100 px table, and "task", "tests passed" ... broken mid-word.)"""
    results = run_folder / "results.jsonl"
    rows = [json.loads(line) | {"reason": LONG_REASON} for line in results.read_text().splitlines()]
    results.write_text("".join(json.dumps(row) + "\n" for row in rows))
    page, probed = tmp_path / "report.html", tmp_path / "probed.html"
    resq("report", str(run_folder), "--html", str(page), check=True)
    probed.write_text(page.read_text().replace("</body>", LAYOUT_PROBE))
    dom = parse_dom(dump_dom(CHROMIUM, tmp_path, probed, width=width))
    probe = json.loads(dom.find("body").attrs["data-probe"])
    assert probe["wrapped"] == []
    assert probe["table"] >= probe["window"] - 80  # the page's side padding only


def test_report_page_filter_box_hides_rows(report_page, tmp_path):
    dom = parse_dom(dump_dom(CHROMIUM, tmp_path, report_page, "#filter=patch_failed"))
    assert [r.attrs["data-task"] for r in visible_rows(dom, "tasks")] == ["t5"]
    count = dom.find("span", id="task-count")
    assert count.full_text() == "1 of 7 tasks shown" and count.attrs["data-shown"] == "1"
    assert dom.find("input", id="task-filter").attrs.get("value") in (None, "")  # typed by script, not markup
    dom = parse_dom(dump_dom(CHROMIUM, tmp_path, report_page, "#filter=bugfix"))
    assert [r.attrs["data-task"] for r in visible_rows(dom, "tasks")] == ["t1", "t2", "t3", "t4"]
    dom = parse_dom(dump_dom(CHROMIUM, tmp_path, report_page, "#show=passed"))  # the outcome menu
    assert [r.attrs["data-task"] for r in visible_rows(dom, "tasks")] == ["t1", "t2", "t3"]
    options = [o.full_text() for o in dom.find("select", id="facet-filter").find_all("option")]
    assert options[:2] == ["every outcome (7)", "failed (1)"]


CLICK_PROBE = """<script>
(function () {
  var seen = {};
  document.querySelector('svg#outcome-chart g.bar[data-outcome=failed] rect').dispatchEvent(
    new MouseEvent('click', {bubbles: true}));
  seen.after_bar = Array.from(document.querySelectorAll('#tasks tbody tr')).map(function (r) { return r.dataset.task; });
  document.getElementById('facet-filter').value = '';
  document.getElementById('facet-filter').dispatchEvent(new Event('change'));
  document.querySelector('#tasks tbody tr[data-task=t5] td:last-child').click();
  setTimeout(function () {
    var dialog = document.getElementById('task-detail');
    seen.clicked = dialog.open && dialog.dataset.task;
    dialog.dispatchEvent(new KeyboardEvent('keydown', {key: 'ArrowRight', bubbles: true}));
    setTimeout(function () {
      seen.next = dialog.dataset.task;
      document.getElementById('detail-close').click();
      seen.closed = !dialog.open && location.hash.indexOf('task=') < 0;
      document.body.setAttribute('data-probe', JSON.stringify(seen));
    }, 200);
  }, 200);
})();
</script></body>"""


def test_bars_rows_and_arrow_keys_navigate(report_page, tmp_path):
    """A bar of the outcome chart shows only its outcome; a click on a row opens the task; → opens the next one;
    closing the view takes the task out of the address."""
    probed = tmp_path / "site" / "clicked.html"
    probed.write_text(report_page.read_text().replace("</body>", CLICK_PROBE))
    probe = json.loads(parse_dom(dump_dom(CHROMIUM, tmp_path, probed)).find("body").attrs["data-probe"])
    assert probe == {"after_bar": ["t4"], "clicked": "t5", "next": "t6", "closed": True}


TRAJECTORY = {  # as mini-swe-agent 2.x writes it: OpenAI-style messages with tool calls
    "info": {"exit_status": "Submitted", "model_stats": {"instance_cost": 0.01, "api_calls": 2}},
    "messages": [
        {"role": "system", "content": "You can run bash."},
        {"role": "user", "content": [{"type": "text", "text": "Please solve t4."}]},
        {"role": "assistant", "content": "Looking.", "tool_calls": [
            {"id": "c1", "type": "function", "function": {"name": "bash", "arguments": '{"command": "cat lib.py"}'}}]},
        {"role": "tool", "tool_call_id": "c1", "content": "VALUE = 1"}],
    "trajectory_format": "mini-swe-agent-1.1"}
PATCH = "--- a/lib.py\n+++ b/lib.py\n@@ -1 +1 @@\n-VALUE = 1\n+VALUE = 2\n"


def test_task_detail_view_shows_diff_tests_output_and_trajectory(run_folder, tmp_path):
    logs = run_folder / "logs" / "t4"
    (logs / "patch.diff").write_text(PATCH)
    (logs / "trajectory.json").write_text(json.dumps(TRAJECTORY))
    (logs / "agent_output.txt").write_text("the agent said goodbye\n")
    (logs / "report.json").write_text('{"messages": [{"role": "not a transcript"}]}')  # a test report: linked only
    page = tmp_path / "report.html"
    resq("report", str(run_folder), "--html", str(page), check=True)
    dom = parse_dom(dump_dom(CHROMIUM, tmp_path, page, "#task=t4"))
    dialog = dom.find("dialog", id="task-detail")
    assert "open" in dialog.attrs and dialog.attrs["data-task"] == "t4"
    diff = {span.full_text(): span.attrs.get("class") for span in dialog.find("pre", id="detail-patch").find_all("span")}
    assert diff["-VALUE = 1"] == "d-del" and diff["+VALUE = 2"] == "d-add" and diff["@@ -1 +1 @@"] == "d-hunk"
    tests = {row.find_all("td")[0].full_text(): row.find_all("td")[2].full_text()
             for row in dialog.find("table", id="detail-tests").find("tbody").find_all("tr")}
    assert tests == {"tests/test_a.py::test_one": "passed", "tests/test_a.py::test_two": "failed"}
    parts = {part.attrs["aria-label"]: part for part in dialog.find_all("section") if "data-part" in part.attrs}
    assert list(parts) == ["Tests", "Patch", "Test output (test_output.txt)", "Transcript · trajectory.json",
                           "Agent output · agent_output.txt", "Log files"]
    messages = [m.find("div", **{"class": "who"}).full_text() for m in parts["Transcript · trajectory.json"]
                .find_all("div") if m.attrs.get("class", "").startswith("msg ")]
    assert messages == ["system", "user", "assistant", "tool · c1"]
    trajectory = parts["Transcript · trajectory.json"].full_text()
    assert "Please solve t4." in trajectory and "tool call: bash" in trajectory and "command: cat lib.py" in trajectory
    meta = {item.find("span").full_text().strip(): item.text for item in parts["Transcript · trajectory.json"]
            .find_all("li")}
    assert meta["exit_status"] == "Submitted" and meta["api_calls"] == "2"
    assert "the agent said goodbye" in parts["Agent output · agent_output.txt"].full_text()
    files = [a.full_text() for a in parts["Log files"].find_all("a")]
    assert files == ["agent_output.txt", "patch.diff", "report.json", "test_output.txt", "trajectory.json"]
    assert_self_contained(page, dom)
    shot = screenshot(CHROMIUM, tmp_path, page, tmp_path / "detail.png", "#task=t4")
    assert shot.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")


def test_llm_run_detail_shows_its_transcript_and_files_read(tmp_path, python_env):
    """A real `llm` run (scripted chat server): the task's view shows the conversation, the model calls, the
    edit, the files the system read and the coloured patch it produced."""
    from test_systems_llm import ALLOCATE_FIX

    reply = [{"content": "OPEN: ledgerlite/money.py", "usage": {"prompt_tokens": 100, "completion_tokens": 5}},
             {"content": ALLOCATE_FIX, "usage": {"prompt_tokens": 900, "completion_tokens": 200}}]
    out = tmp_path / "llm-run"
    with ScriptedLLM({"fix-allocate-remainder": reply}) as server:
        proc = resq("run", str(DEMO), "--system", "llm", "--model", "scripted", "--base-url", server.base_url,
                    "--api-key-env", "", "--out", str(out), "--task", "fix-allocate-remainder")
    assert proc.returncode == 0, proc.stderr
    page = tmp_path / "report.html"
    resq("report", str(out), "--html", str(page), check=True)
    dom = parse_dom(dump_dom(CHROMIUM, tmp_path, page, "#task=fix-allocate-remainder"))
    dialog = dom.find("dialog", id="task-detail")
    assert dialog.find("span", **{"class": "outcome"}).full_text() == "passed"
    transcript = next(p for p in dialog.find_all("section") if p.attrs.get("data-part") == "transcript")
    roles = [m.find("div", **{"class": "who"}).full_text() for m in transcript.find_all("div")
             if m.attrs.get("class", "").startswith("msg ")]
    assert roles[:2] == ["system", "user"] and roles.count("assistant") == 2
    assert "OPEN: ledgerlite/money.py" in transcript.full_text()
    tables = [t.full_text() for t in transcript.find_all("table")]
    assert any("prompt tokens" in t and "900" in t for t in tables)  # model calls
    assert any("ledgerlite/money.py" in t and "yes" in t for t in tables)  # the edit, applied
    criteria = {row.find_all("td")[0].full_text(): row.find_all("td")[1].full_text()
                for row in dialog.find("table", id="detail-tests").find("tbody").find_all("tr")}
    assert criteria["tests/test_allocate_hidden.py::test_leftover_goes_to_first_parts"] == "FAIL_TO_PASS"
    assert criteria["tests/test_money.py::test_allocate_even_split"] == "PASS_TO_PASS"
    assert list(criteria.values()).index("PASS_TO_PASS") > list(criteria.values()).index("FAIL_TO_PASS")
    read = [row.find_all("td")[0].full_text() for row in dialog.find("table", id="detail-read").find("tbody")
            .find_all("tr")]
    assert "ledgerlite/money.py" in read
    added = [s.full_text() for s in dialog.find("pre", id="detail-patch").find_all("span")
             if s.attrs.get("class") == "d-add"]
    assert "+        leftover = units - sum(shares)" in added
    assert_self_contained(page, dom)


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
    dom = parse_dom(dump_dom(CHROMIUM, tmp_path, page))
    assert_self_contained(page, dom)
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
    broken = parse_dom(dump_dom(CHROMIUM, tmp_path, page, "#show=broken"))
    assert [r.attrs["data-task"] for r in visible_rows(broken, "comparison")] == ["t2", "t5"]
    screenshot(CHROMIUM, tmp_path, page, tmp_path / "compare.png")


def series_groups(dom) -> dict:
    return {g.attrs["data-series"]: g for g in dom.find("svg", id="trend-chart").find_all("g")
            if g.attrs.get("class") == "series"}


def test_history_page_trend_chart(tmp_path):
    nightly = tmp_path / "nightly"
    for day, (gold, llm) in enumerate([([P, P], [P, F]), ([P, P], [F, F]), ([P, P], [P, P])]):
        started = T0 + timedelta(days=day)
        make_run(nightly / f"2026-11-{20 + day}" / "gold", "gold", {"t1": gold[0], "t2": gold[1]}, started_at=started)
        make_run(nightly / f"2026-11-{20 + day}" / "llm", "llm", {"t1": llm[0], "t2": llm[1]},
                 started_at=started + timedelta(hours=1))
    page = tmp_path / "history.html"
    resq("history", str(nightly), "--html", str(page), check=True)
    dom = parse_dom(dump_dom(CHROMIUM, tmp_path, page))
    assert_self_contained(page)
    series = series_groups(dom)
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


def test_history_has_a_date_axis_and_one_colour_and_name_per_system(tmp_path):
    """Nights written by `scripts/nightly --date` in one sitting start minutes apart, yet sit a day apart on the
    axis (their folders name the night); a gap of days shows as a gap; every system has its own colour and name."""
    nightly = tmp_path / "nightly"
    systems = ["gold", "llm", "mini-4o", "llm-udiff", "aider", "noop", "command", "predictions", "s9", "s10", "s11"]
    nights = ["2026-11-20", "2026-11-21", "2026-11-24"]
    for n, night in enumerate(nights):
        for s, system in enumerate(systems):
            make_run(nightly / night / system, system, {"t1": P if (n + s) % 2 else F, "t2": P},
                     started_at=T0 + timedelta(minutes=n * 20 + s))
    page = tmp_path / "history.html"
    resq("history", str(nightly), "--html", str(page), check=True)
    dom = parse_dom(dump_dom(CHROMIUM, tmp_path, page))
    series = series_groups(dom)
    colours = {g.attrs["data-system"]: g.attrs["data-colour"] for g in series.values()}
    assert set(colours) == set(systems) and len(set(colours.values())) == len(systems)
    legend = [g.find("text").full_text() for g in series.values()]
    assert legend == systems  # one suite: each line is named by its system alone
    llm = series["unit · llm"].find_all("circle")
    assert [p.attrs["data-date"] for p in llm] == nights
    xs = [float(p.attrs["cx"]) for p in llm]
    assert xs[2] - xs[1] == pytest.approx(3 * (xs[1] - xs[0]), rel=0.02)  # x is calendar time
    ticks = [t.attrs["data-date"] for t in dom.find("svg", id="trend-chart").find_all("text")
             if t.attrs.get("class") == "tick-label"]
    assert ticks == ["2026-11-20", "2026-11-21", "2026-11-22", "2026-11-23", "2026-11-24", "2026-11-25"]
    swatches = [c.find("span", **{"class": "swatch"}).attrs["style"] for c in cards(dom).values()]
    assert len(set(swatches)) == len(systems)
    screenshot(CHROMIUM, tmp_path, page, tmp_path / "history-systems.png")


def test_task_detail_of_a_run_without_logs(tmp_path):
    """A run folder without logs/ (as copied from elsewhere, or written without them): a task's view still shows
    its samples (with no link to a folder that is not there), its tests in order, failing first and the task's
    listed ones first with their criterion, and no log parts; a task of a later data block opens too."""
    import shutil

    run = make_run(tmp_path / "run", "llm", {f"t{i:03d}": (F if i % 2 else P) for i in range(150)})
    results = run / "results.jsonl"
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    rows[1] |= {"fail_to_pass": {"tests/test_h.py::test_fix": "failed"},
                "pass_to_pass": {"tests/test_a.py::test_one": "passed"}}
    results.write_text("".join(json.dumps(row) + "\n" for row in rows))
    shutil.rmtree(run / "logs")
    page = tmp_path / "report.html"
    resq("report", str(run), "--html", str(page), check=True)
    dom = parse_dom(dump_dom(CHROMIUM, tmp_path, page, "#task=t001"))
    dialog = dom.find("dialog", id="task-detail")
    assert "open" in dialog.attrs and dialog.attrs["data-task"] == "t001"
    tests = [[cell.full_text() for cell in row.find_all("td")]
             for row in dialog.find("table", id="detail-tests").find("tbody").find_all("tr")]
    assert tests == [["tests/test_h.py::test_fix", "FAIL_TO_PASS", "failed"],
                     ["tests/test_a.py::test_two", "—", "failed"],
                     ["tests/test_a.py::test_one", "PASS_TO_PASS", "passed"]]
    assert "sample 0, attempt 1:" in dialog.full_text()
    assert not [a for a in dialog.find_all("a") if a.full_text() == "logs"]
    parts = [part.attrs["aria-label"] for part in dialog.find_all("section") if "data-part" in part.attrs]
    assert parts == ["Tests"]
    dom = parse_dom(dump_dom(CHROMIUM, tmp_path, page, "#task=t149"))  # item 49 of the second block
    dialog = dom.find("dialog", id="task-detail")
    assert dialog.attrs["data-task"] == "t149" and "open" in dialog.attrs
    assert dialog.find("span", **{"class": "outcome"}).full_text() == "failed"
    assert_self_contained(page, dom)
