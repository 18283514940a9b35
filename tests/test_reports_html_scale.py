"""The HTML report of a 10,000-task run (a synthetic run folder) in headless Chromium: one file whose task table is
drawn a page at a time, whose filter, outcome menu and sorting work over every task, whose task details are
rendered on demand, and whose size the page budget bounds whatever the logs hold."""

from __future__ import annotations

import json
import re

import pytest

from conftest import resq
from reports_helpers import chromium_command, dump_dom, page_details, page_grid, parse_dom
from resq_runner.reports.details import PAGE_BUDGET, task_budget
from resq_runner.reports.html import DETAIL_CHUNK
from synthetic_run import synthetic_run

CHROMIUM = chromium_command()
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed: run scripts/setup")
TASKS = 10_000

# Clicks like a reader would and writes what the table showed into the page, for --dump-dom to read back.
PROBE = """<script>
(function () {
  var seen = {}, box = document.getElementById('task-filter'), facet = document.getElementById('facet-filter');
  function first() { return document.querySelector('#tasks tbody tr').getAttribute('data-task'); }
  function shown() { return document.getElementById('task-count').getAttribute('data-shown'); }
  var button = document.querySelector('#tasks thead th button');
  var clock = performance.now();
  button.click(); button.click();
  seen.sort_ms = performance.now() - clock;
  seen.first_descending = first();
  clock = performance.now();
  facet.value = 'system_error'; facet.dispatchEvent(new Event('change'));
  seen.facet_ms = performance.now() - clock;
  seen.system_errors = shown();
  facet.value = ''; facet.dispatchEvent(new Event('change'));
  box.value = 'task-0421'; box.dispatchEvent(new Event('input'));
  setTimeout(function () {
    seen.typed = shown();
    document.body.setAttribute('data-probe', JSON.stringify(seen));
  }, 500);
})();
</script></body>"""


@pytest.fixture(scope="module")
def big_page(tmp_path_factory):
    root = tmp_path_factory.mktemp("scale")
    run = synthetic_run(root / "run", TASKS)
    (run / "logs" / "task-00007" / "test_output.txt").write_text("noise\n" * 2_000_000 + "the last line\n")
    page = root / "report.html"
    resq("report", str(run), "--html", str(page), check=True, timeout=900)
    return page


def test_page_size_is_bounded_by_the_budget(big_page):
    text = big_page.read_text()
    assert len(re.findall(r'<script type="application/json" id="details-\d+">', text)) == TASKS // DETAIL_CHUNK
    assert len(text) < PAGE_BUDGET + TASKS * 1_000  # details within the budget, plus the table's own data
    details = page_details(big_page)
    assert [d["task_id"] for d in details] == [f"task-{i:05d}" for i in range(TASKS)]
    output = details[7]["folder"]["output"]
    assert output["cut"] > 11_000_000 and output["text"].endswith("the last line\n")
    assert len(json.dumps(details[7])) < 2 * task_budget(TASKS)  # a 12 MB test log costs what a small one does
    grid = page_grid(big_page)
    assert len(grid["rows"]) == TASKS and grid["rows"][-1][1][:2] == ["task-09999", "system_error"]


def test_table_draws_one_page_and_filters_over_every_task(big_page, tmp_path):
    dom = parse_dom(dump_dom(CHROMIUM, tmp_path, big_page))
    rows = dom.find("table", id="tasks").find("tbody").find_all("tr")
    assert [r.attrs["data-task"] for r in rows] == [f"task-{i:05d}" for i in range(100)]
    count = dom.find("span", id="task-count")
    assert count.full_text() == "10000 of 10000 tasks match · rows 1–100 shown"
    assert "page 1 of 100" in dom.find("div", id="pager").full_text()
    dom = parse_dom(dump_dom(CHROMIUM, tmp_path, big_page, "#filter=task-0999"))
    assert [r.attrs["data-task"] for r in dom.find("table", id="tasks").find("tbody").find_all("tr")] == \
        [f"task-0999{i}" for i in range(10)]
    assert dom.find("span", id="task-count").full_text() == "10 of 10000 tasks shown"
    dom = parse_dom(dump_dom(CHROMIUM, tmp_path, big_page, "#show=system_error"))
    assert dom.find("span", id="task-count").attrs["data-shown"] == str(TASKS // 8)
    assert {r.attrs["data-outcome"] for r in dom.find("table", id="tasks").find("tbody").find_all("tr")} == \
        {"system_error"}


def test_sorting_menu_and_typing_respond(big_page, tmp_path):
    probed = big_page.with_name("probed.html")
    probed.write_text(big_page.read_text().replace("</body>", PROBE))
    probe = json.loads(parse_dom(dump_dom(CHROMIUM, tmp_path, probed)).find("body").attrs["data-probe"])
    print(f"10,000 tasks: sort twice {probe['sort_ms']:.0f} ms, outcome menu {probe['facet_ms']:.0f} ms")
    assert probe["first_descending"] == "task-09999"
    assert probe["system_errors"] == str(TASKS // 8)
    assert probe["typed"] == "10"  # task-04210 ... task-04219


def test_a_task_far_down_opens_on_demand(big_page, tmp_path):
    dom = parse_dom(dump_dom(CHROMIUM, tmp_path, big_page, "#task=task-09998"))
    dialog = dom.find("dialog", id="task-detail")
    assert "open" in dialog.attrs and dialog.attrs["data-task"] == "task-09998"
    added = [s.full_text() for s in dialog.find("pre", id="detail-patch").find_all("span")
             if s.attrs.get("class") == "d-add"]
    assert added == ["+VALUE = 9998"]
    dom = parse_dom(dump_dom(CHROMIUM, tmp_path, big_page, "#task=task-00007"))
    notes = [d.full_text() for d in dom.find("dialog", id="task-detail").find_all("div")
             if d.attrs.get("class") == "clipped"]
    assert any("characters left out" in note and "test_output.txt" in note for note in notes)
