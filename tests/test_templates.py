"""Templates: deterministic expansion, strict parameters, robustness figures."""

import json
import shutil
from datetime import datetime, timezone

import pytest

from conftest import PROJECT, resq
from resq_runner.errors import TaskError
from resq_runner.models import Outcome, Result, SystemSpec
from resq_runner.reports.robustness import robustness
from resq_runner.tasks import load_suite, load_templates
from resq_runner.tasks.templates import expand, parse_instance_id

TEMPLATE = PROJECT / "tasks" / "templates" / "paginate-last-page"


@pytest.fixture
def suite(tmp_path):
    root = tmp_path / "tpl"
    root.mkdir()
    shutil.copytree(TEMPLATE, root / "paginate-last-page")
    return root


def snapshot_of(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_expansion_is_deterministic_for_a_seed(suite):
    (template,) = load_templates(suite)
    first = expand(template, seed=7, limit=4)
    files = snapshot_of(suite)
    assert expand(template, seed=7, limit=4) == first
    assert snapshot_of(suite) == files
    assert len(first) == 4 and all(i.startswith("paginate-last-page@module=") for i in first)
    assert {t.task.id for t in load_suite(suite)} == set(first)  # earlier instances replaced, template skipped
    assert expand(template, seed=8, limit=4) != first or expand(template, seed=9, limit=4) != first


def test_instances_render_every_part(suite):
    (template,) = load_templates(suite)
    expand(template)
    instance = suite / "paginate-last-page@module=listing,per_page=25"
    assert (instance / "snapshot" / "pager" / "listing.py").read_text().count("DEFAULT_PER_PAGE = 25") == 1
    assert not list(instance.rglob("*.jinja"))
    assert "+++ b/pager/listing.py" in (instance / "gold.patch").read_text()
    assert "N = 25" in (instance / "hidden" / "tests" / "test_last_page_hidden.py").read_text()
    (task,) = load_suite(suite, ["paginate-last-page@module=listing,per_page=25"])
    assert "With 25 items per page" in task.task.instruction and "51 items" in task.task.instruction
    assert task.task.source["template"] == "paginate-last-page"
    assert "template:paginate-last-page" in task.task.tags


def test_undefined_parameter_is_a_clear_error(suite):
    hidden = suite / "paginate-last-page" / "hidden" / "tests" / "test_last_page_hidden.py"
    hidden.write_text(hidden.read_text() + "\nM = {{ per_pgae }}\n")
    (template,) = load_templates(suite)
    with pytest.raises(TaskError, match=r"test_last_page_hidden.py: 'per_pgae' is undefined; declare it"):
        expand(template)
    assert load_templates(suite) and not list(suite.glob("*@*"))  # nothing half-written


def test_constraints_filter_and_bad_values_are_refused(suite):
    file = suite / "paginate-last-page" / "task.yaml"
    text = file.read_text()
    file.write_text(text.replace("    per_page: [5, 10, 25]\n", "    per_page: [5, 10, 25]\n  constraints: ['per_page > 5']\n"))
    (template,) = load_templates(suite)
    assert all("per_page=5" not in i for i in expand(template)) and len(expand(template)) == 6
    file.write_text(text.replace("module: [pages, listing, util]", "module: ['a b', util]"))
    (template,) = load_templates(suite)
    with pytest.raises(TaskError, match="parameter 'module' needs values made of letters"):
        expand(template)


def test_cli_expand_and_missing_templates(suite, tmp_path):
    proc = resq("tasks", "expand", str(suite), "--max", "2", "--seed", "1", check=True)
    assert "paginate-last-page: 2 instance(s)" in proc.stdout
    empty = tmp_path / "empty"
    empty.mkdir()
    proc = resq("tasks", "expand", str(empty))
    assert proc.returncode == 2 and "no templates" in proc.stderr


def row(task_id, outcome):
    now = datetime.now(timezone.utc)
    return Result(run_id="r", task_id=task_id, task_hash="h", system=SystemSpec(name="s"), outcome=outcome,
                  started_at=now, finished_at=now)


def test_robustness_figures_match_hand_computed_values():
    P, F = Outcome.passed, Outcome.failed
    results = [
        row("pager@m=a,n=5", P), row("pager@m=a,n=10", P), row("pager@m=b,n=5", F), row("pager@m=b,n=10", P),
        row("alias@k=x", P), row("alias@k=y", P),
        row("plain-task", F), row("alias@k=z", Outcome.infra_error),
    ]
    summary = robustness(results)
    alias, pager = summary.templates
    assert (alias.template, alias.passed, alias.total, alias.solved_all) == ("alias", 2, 2, True)
    assert (pager.template, pager.passed, pager.total, pager.solved_all) == ("pager", 3, 4, False)
    worst = pager.breaking_values[0]
    assert (worst.parameter, worst.value, worst.failed, worst.total) == ("m", "b", 1, 2)
    assert [(v.parameter, v.value) for v in pager.breaking_values] == [("m", "b"), ("n", "5")]
    assert summary.solved_all_rate == 0.5
    assert summary.instance_pass_rate == pytest.approx((3 / 4 + 2 / 2) / 2)
    assert robustness([row("plain-task", P)]) is None


def test_instance_ids_round_trip():
    assert parse_instance_id("t@a=1,b=x.y") == ("t", {"a": "1", "b": "x.y"})
    assert parse_instance_id("plain") is None


@pytest.mark.docker
def test_report_robustness_on_a_real_run_with_known_outcomes(suite, tmp_path):
    """The gold patch is deliberately wrong where module=util, so exactly that instance fails."""
    template = suite / "paginate-last-page"
    task_file = template / "task.yaml"
    task_file.write_text(task_file.read_text().replace("module: [pages, listing, util]", "module: [pages, util]")
                         .replace("per_page: [5, 10, 25]", "per_page: [5]"))
    gold = template / "gold.patch"
    gold.write_text(gold.read_text().replace(
        "+    return max(1, -(-total // per_page))",
        "{% if module == 'util' %}+    return total // per_page + 1{% else %}+    return max(1, -(-total // per_page)){% endif %}"))
    resq("tasks", "expand", str(suite), check=True)
    out = tmp_path / "run"
    resq("run", str(suite), "--system", "gold", "--out", str(out), "-j", "2", check=True)
    report = json.loads(resq("report", str(out), "--json", check=True).stdout)
    (pager,) = report["robustness"]["templates"]
    assert (pager["passed"], pager["total"], pager["solved_all"]) == (1, 2, False)
    assert [(v["parameter"], v["value"], v["failed"], v["total"]) for v in pager["breaking_values"]] == [
        ("module", "util", 1, 1), ("per_page", "5", 1, 2)]
    assert report["robustness"]["solved_all_rate"] == 0.0
    assert report["robustness"]["instance_pass_rate"] == 0.5
