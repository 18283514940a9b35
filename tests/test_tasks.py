"""Loading suites: validation errors name the file and field; hidden tests stay hidden."""

import shutil

import pytest

from conftest import resq
from resq_runner.errors import TaskError
from resq_runner.tasks import hidden_files, load_suite, task_view


def test_demo_suite_loads(demo_copy):
    tasks = load_suite(demo_copy)
    assert [t.task.id for t in tasks] == ["add-invoice-discount", "fix-allocate-remainder", "parse-grouped-amounts"]
    assert all(hidden_files(t) for t in tasks)
    view = task_view(tasks[0])
    assert "hidden" not in view.model_dump() and "gold" not in str(view.model_dump())


@pytest.mark.parametrize("change,message", [
    (("timeout_s: 120", "timeout_s: soon"), "field 'timeout_s'"),
    (("tags:", "colour: blue\ntags:"), "field 'colour': Extra inputs are not permitted"),
    (("snapshot: {kind: dir,", "snapshot: {kind: svn,"), "field 'snapshot'"),
    (("snapshot: {kind: dir, path: ../_snapshots/ledgerlite}", "snapshot: {kind: dir, path: ../../../../etc}"),
     "leaves the suite folder"),
    (("id: fix-allocate-remainder", "id: other-name"), "differs from its folder name"),
])
def test_bad_task_yaml_names_file_and_field(demo_copy, change, message):
    file = demo_copy / "fix-allocate-remainder" / "task.yaml"
    file.write_text(file.read_text().replace(*change))
    with pytest.raises(TaskError) as error:
        load_suite(demo_copy)
    assert str(file) in str(error.value)
    assert message in str(error.value)


def test_missing_hidden_folder_and_unparsable_yaml(demo_copy):
    shutil.rmtree(demo_copy / "parse-grouped-amounts" / "hidden")
    with pytest.raises(TaskError, match="hidden_tests folder 'hidden' does not exist"):
        load_suite(demo_copy)
    (demo_copy / "parse-grouped-amounts" / "hidden").mkdir()
    (demo_copy / "parse-grouped-amounts" / "task.yaml").write_text("id: [unclosed")
    with pytest.raises(TaskError, match="parse-grouped-amounts/task.yaml: cannot read"):
        load_suite(demo_copy)


def test_unknown_task_id_is_named(demo_copy):
    with pytest.raises(TaskError, match="no task named nope"):
        load_suite(demo_copy, ["nope"])


def test_cli_show_hides_hidden_tests_unless_revealed(demo_copy):
    shown = resq("tasks", "show", f"{demo_copy}/parse-grouped-amounts", check=True).stdout
    assert "thousands separators" in shown
    assert "test_still_rejects_typos" not in shown and "not shown" in shown
    revealed = resq("tasks", "show", f"{demo_copy}/parse-grouped-amounts", "--reveal", check=True).stdout
    assert "test_still_rejects_typos" in revealed and "_SIGNED" in revealed


def test_cli_bad_input_is_one_line_and_exit_2(demo_copy):
    (demo_copy / "fix-allocate-remainder" / "task.yaml").write_text("instruction: 3\n")
    proc = resq("tasks", "list", str(demo_copy))
    assert proc.returncode == 2
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and "task.yaml" in lines[0]


def test_tree_hash_reads_a_folder_once_per_listing_and_again_when_the_listing_changes(tmp_path):
    """A snapshot folder shared by many tasks is hashed several times per task; its contents are read once for a
    listing (names, sizes, modification times), so a file rewritten to the same size and time keeps the hash it had,
    while any new time, size or file gives the contents' new hash. A listing with a file written in the last
    seconds is not kept: a rewrite within the same clock tick keeps the time."""
    import os
    import time

    from resq_runner.tasks import RACY_S, tree_hash

    folder = tmp_path / "snapshot"
    (folder / "pkg").mkdir(parents=True)
    module = folder / "pkg" / "mod.py"
    old = time.time_ns() - 3600 * 10**9

    def write(text: str, mtime_ns: int | None = None) -> None:
        module.write_text(text)
        if mtime_ns is not None:
            os.utime(module, ns=(mtime_ns, mtime_ns))

    write("x = 1\n")
    fresh = tree_hash(folder)
    write("x = 2\n", module.stat().st_mtime_ns)  # a rewrite within the tick of a recent write: read again
    assert tree_hash(folder) != fresh
    assert RACY_S < 3600
    write("x = 1\n", old)
    first = tree_hash(folder)
    assert first == fresh
    write("x = 2\n", old)
    assert tree_hash(folder) == first  # the same old listing: not read again
    write("x = 2\n", old + 1)
    second = tree_hash(folder)
    assert second != first
    (folder / "pkg" / "new.py").write_text("")
    third = tree_hash(folder)
    assert third not in (first, second)
    copy = tmp_path / "copy"
    (copy / "pkg").mkdir(parents=True)
    (copy / "pkg" / "mod.py").write_text("x = 2\n")
    (copy / "pkg" / "new.py").write_text("")
    assert tree_hash(copy) == third  # names and contents decide the hash, not the folder or the times
