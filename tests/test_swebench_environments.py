"""Benchmark rows run as published: the environment a row describes (SWE-bench specs, install_config, requirements,
commit0), shared environment images, prebuilt instance images, and verdict parity with swebench's own grading.

The real instances are built from pinned PyPI sdists (tests/data/swebench_real): each needs more than pytest, and
each is written in three spellings that map to one environment, so the session builds three environments in all.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from conftest import PROJECT, resq
from formats_helpers import graded, rows, unique_run
from resq_runner import environments
from resq_runner.environments.rows import SpecError, requirement_lines, row_environment
from resq_runner.formats.swebench import instance_image, parity_disagreements
from resq_runner.models import EnvironmentRef
from resq_runner.tasks import load_suite
from resq_runner.tasks.snapshots import _unpack, fetch_sdist

DATA = PROJECT / "tests" / "data" / "swebench_real"
ENV = {"GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t", "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t",
       "GIT_AUTHOR_DATE": "2024-01-01T00:00:00Z", "GIT_COMMITTER_DATE": "2024-01-01T00:00:00Z",
       "PATH": "/usr/bin:/bin"}
LOG_GRADED = {"test_cmd": "python -m pytest -p no:cacheprovider -rA", "log_parser": "parse_log_pytest"}


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], check=True, capture_output=True, text=True,
                          env=ENV).stdout


def no_read(_path: str) -> None:
    return None


# ---------------------------------------------------------------------------------------------------------------
# Every spelling → one EnvironmentSpec (pure, no Docker)


def test_each_spelling_maps_onto_the_task_model():
    spec = {"python": "3.9.7", "packages": "numpy scipy", "pip_packages": ["pytest-cov==6.2.1"],
            "pre_install": ["sed -i s/a/b/ tox.ini"], "install": "python -m pip install -e .",
            "eval_commands": ["export LANG=C.UTF-8"], "env_vars_test": {"PYTHONHASHSEED": 0},
            "test_cmd": "pytest -rA"}
    found = row_environment({"repo": "o/r", "version": "1.0"}, no_read, {"o/r": {"1.0": spec}})
    assert found.spec.origin == "swebench specs o/r 1.0" and found.spec.python == "3.9"
    assert found.spec.pip_requirements == ["numpy", "scipy", "pytest-cov==6.2.1"]
    assert found.spec.pre_install == ["sed -i s/a/b/ tox.ini"] and found.spec.install == ["python -m pip install -e ."]
    assert found.spec.env == {"PYTHONHASHSEED": "0"} and found.test_cmd == "pytest -rA"
    assert found.eval_commands == ["export LANG=C.UTF-8"]

    rebench = row_environment({"install_config": json.dumps({**spec, "log_parser": "parse_log_pytest"})}, no_read)
    assert rebench.spec.origin == "install_config" and rebench.log_parser == "parse_log_pytest"
    assert rebench.spec.image_content() == found.spec.image_content()

    freeze = "# pip freeze\n-e git+https://github.com/o/r@abc#egg=r\nnumpy==1.26.4\nscipy==1.13.0\nr @ file:///testbed\n"
    frozen = row_environment({"requirements": freeze, "python": "3.9"}, no_read)
    assert frozen.spec.pip_requirements == ["numpy==1.26.4", "scipy==1.13.0"]
    assert frozen.spec.install == ["pip install -e ."] and frozen.spec.python == "3.9"

    commit0 = row_environment({"setup": {"python": "3.12", "pip_packages": ["attrs"], "install": "pip install -e ."},
                               "test": {"test_cmd": "pytest", "test_dir": "tests"}}, no_read)
    assert commit0.spec.origin == "commit0 setup" and commit0.spec.python == "3.12" and commit0.test_cmd == "pytest"
    assert row_environment({"repo": "o/r", "version": "2.0"}, no_read, {}) is None


def test_first_match_wins_and_files_come_from_the_repository():
    files = {"requirements.txt": "-r requirements/base.txt\nattrs==23.1.0  # pinned\n",
             "requirements/base.txt": "six==1.16.0\n",
             "environment.yml": "dependencies:\n  - python=3.9\n  - numpy=1.26\n  - pip:\n    - tomli==2.0.1\n"}
    row = {"repo": "o/r", "version": "1", "install_config": {"packages": "requirements.txt"},
           "requirements": ["ignored==1"]}
    found = row_environment(row, files.get, {})
    assert found.spec.origin == "install_config"
    assert found.spec.pip_requirements == ["six==1.16.0", "attrs==23.1.0"]
    specs = {"o/r": {"1": {"packages": "environment.yml", "python": "3.9"}}}
    assert row_environment(row, files.get, specs).spec.pip_requirements == ["numpy==1.26", "tomli==2.0.1"]
    with pytest.raises(SpecError, match="reqs_path"):
        row_environment({"install_config": {"packages": "requirements.txt", "reqs_path": 7}}, files.get)
    with pytest.raises(SpecError, match="python"):
        row_environment({"python": "latest"}, no_read)
    assert requirement_lines("--index-url x\nfoo==1\n\n", "r") == ["foo==1"]


def test_apt_steps_of_pre_install_become_apt_packages():
    config = {"pre_install": ["apt-get update && apt-get install -y locales libxml2-dev",
                              "DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends tzdata",
                              "sed -i 's/pytest/pytest -rA/' tox.ini"]}
    spec = row_environment({"install_config": config}, no_read).spec
    assert spec.apt_packages == ["locales", "libxml2-dev", "tzdata"]
    assert spec.pre_install == ["sed -i 's/pytest/pytest -rA/' tox.ini"]


def test_instance_image_names_follow_swebench():
    assert instance_image("django__django-11099", "swebench") == \
        "swebench/sweb.eval.x86_64.django_1776_django-11099:latest"
    assert instance_image("Org__Repo-1", "none") == "sweb.eval.x86_64.org__repo-1:latest"


def test_spellings_of_one_spec_share_one_environment_tag():
    instances = yaml.safe_load((DATA / "instances.yaml").read_text())
    for meta in instances.values():
        spec = row_environment({"repo": "o/r", "version": "v"}, no_read, {"o/r": {"v": meta["spec"]}}).spec
        config = row_environment({"install_config": meta["spec"]}, no_read).spec
        frozen = row_environment({"requirements": meta["requirements"], "python": "3.11"}, no_read).spec
        tags = {environments.spec_environment_tag(EnvironmentRef(spec=s)) for s in (spec, config, frozen)}
        assert len(tags) == 1, meta["repo"]
        assert spec.install == config.install == frozen.install


# ---------------------------------------------------------------------------------------------------------------
# Real instances: mirrors made from pinned sdists, rows in three spellings


@pytest.fixture(scope="session")
def real_instances(tmp_path_factory) -> dict:
    root = tmp_path_factory.mktemp("swebench-real")
    instances = yaml.safe_load((DATA / "instances.yaml").read_text())
    rows, specs, bases = [], {}, {}
    for name, meta in instances.items():
        repo = root / "mirrors" / meta["repo"].replace("/", "__")
        _unpack(fetch_sdist(**meta["sdist"]), repo)
        git(repo, "init", "-q", "-b", "main")
        git(repo, "add", "-A", "--force")
        git(repo, "commit", "-qm", "base")
        bases[name] = git(repo, "rev-parse", "HEAD").strip()
        specs.setdefault(meta["repo"], {})[meta["version"]] = meta["spec"]
        common = {"repo": meta["repo"], "base_commit": bases[name], "problem_statement": meta["problem_statement"],
                  "patch": (DATA / name / "gold.patch").read_text(), "FAIL_TO_PASS": meta["FAIL_TO_PASS"],
                  "test_patch": (DATA / name / "test.patch").read_text(), "PASS_TO_PASS": meta["PASS_TO_PASS"]}
        stem = meta["repo"].replace("/", "__")
        rows += [{**common, "instance_id": f"{stem}-spec", "version": meta["version"]},
                 {**common, "instance_id": f"{stem}-config", "install_config": meta["spec"], **LOG_GRADED},
                 {**common, "instance_id": f"{stem}-freeze", "requirements": meta["requirements"], "python": "3.11"}]
    (root / "rows.jsonl").write_text("".join(json.dumps(row) + "\n" for row in rows))
    (root / "specs.yaml").write_text(yaml.safe_dump(specs))
    return {"root": root, "rows": rows, "bases": bases}


@pytest.fixture(scope="session")
def real_suite(real_instances) -> Path:
    root = real_instances["root"]
    suite = root / "suite"
    resq("import", "swebench", str(root / "rows.jsonl"), "--repos", str(root / "mirrors"), "--specs",
         str(root / "specs.yaml"), "--out", str(suite), check=True)
    return suite


def test_rows_record_their_environment_in_task_yaml(real_suite):
    tasks = {tf.task.id: tf.task for tf in load_suite(real_suite)}
    assert len(tasks) == 9
    origins = {task_id: task.environment.spec.origin for task_id, task in tasks.items()}
    assert origins["python-humanize__humanize-spec"] == "swebench specs python-humanize/humanize 4.17"
    assert {origins[t] for t in origins if t.endswith("-config")} == {"install_config"}
    assert {origins[t] for t in origins if t.endswith("-freeze")} == {"requirements"}
    assert tasks["python-humanize__humanize-freeze"].environment.spec.install == ["pip install -e ."]
    assert tasks["python-semver__python-semver-config"].tests.framework == "log"
    assert tasks["python-semver__python-semver-spec"].tests.framework == "pytest"


def test_real_instances_gold_resolves_all_noop_none_and_swebench_agrees(real_suite, tmp_path, cleanup_run):
    built = resq("env", "build", "--suite", str(real_suite), check=True)
    progress = re.findall(r"^\[(\d)/(\d)\] resq-env-spec:\S+: Python 3\.11, \d+ pip requirement\(s\), (\d) task",
                          built.stdout, re.MULTILINE)
    assert [(n, total, users) for n, total, users in progress] == [("1", "3", "3"), ("2", "3", "3"), ("3", "3", "3")]

    disagreements = gold_and_noop_disagreements(real_suite, tmp_path, cleanup_run, expected=9)
    assert disagreements == [], "\n".join(disagreements)


def gold_and_noop_disagreements(suite: Path, tmp_path: Path, cleanup_run: list, expected: int) -> list[str]:
    """Runs gold (every task must pass) and noop (none may), then swebench's grading over each test output: the
    places where it disagrees with resq's verdict or per-test statuses."""
    tasks = {tf.task.id: tf.task for tf in load_suite(suite)}
    disagreements = []
    for system, want in (("gold", "passed"), ("noop", "failed")):
        run = unique_run(tmp_path, system)
        graded(cleanup_run, run, "run", str(suite), "--system", system, "-j", "2")
        results = rows(run)
        wrong = {task_id: f"{r.outcome.value}: {r.reason}" for task_id, r in results.items()
                 if r.outcome.value != want}
        assert not wrong and len(results) == expected, wrong
        for task_id, result in results.items():
            output = (Path(result.log_dir) / "test_output.txt").read_text(encoding="utf-8", errors="replace")
            disagreements += parity_disagreements(tasks[task_id], result, output)
    return disagreements


# ---------------------------------------------------------------------------------------------------------------
# Bad input: no environment fields, a Python nobody ships, a requirement that does not exist


def _one_row(real_instances, tmp_path: Path, name: str, **fields) -> Path:
    row = {k: v for k, v in real_instances["rows"][0].items() if k not in ("version",)}
    row.update(instance_id=name, **fields)
    file = tmp_path / f"{name}.jsonl"
    file.write_text(json.dumps(row) + "\n")
    return file


def test_row_without_environment_fields_warns_and_strict_refuses(real_instances, tmp_path):
    mirrors = str(real_instances["root"] / "mirrors")
    file = _one_row(real_instances, tmp_path, "bare-1")
    done = resq("import", "swebench", str(file), "--repos", mirrors, "--out", str(tmp_path / "warned"), check=True)
    assert re.search(r"warning: .*row 1 \(bare-1\): no spec and no environment fields.*generic 'python'",
                     done.stdout + done.stderr)
    strict = resq("import", "swebench", str(file), "--repos", mirrors, "--strict", "--out", str(tmp_path / "s"))
    lines = [line for line in (strict.stdout + strict.stderr).splitlines() if line.strip()]
    assert strict.returncode == 2 and len(lines) == 1 and lines[0].startswith("error:") and "bare-1" in lines[0]
    assert not (tmp_path / "s").exists()
    named = resq("import", "swebench", str(file), "--repos", mirrors, "--environment", "python", "--strict",
                 "--out", str(tmp_path / "named"), check=True)
    assert "warning" not in named.stdout + named.stderr
    described = {**json.loads(file.read_text()), "instance_id": "described-1", "python": "3.11"}
    both = tmp_path / "both.jsonl"
    both.write_text(file.read_text() + json.dumps(described) + "\n")
    counted = resq("import", "swebench", str(both), "--repos", mirrors, "--strict", "--skip-invalid", "--out",
                   str(tmp_path / "counted"), check=True)
    assert "imported 1 task(s)" in counted.stdout and "skipped 1 invalid row(s)" in counted.stdout
    assert [tf.task.id for tf in load_suite(tmp_path / "counted")] == ["described-1"]
    unknown = resq("import", "swebench", str(file), "--repos", mirrors, "--environment", "no-such-env",
                   "--out", str(tmp_path / "unknown"))
    assert unknown.returncode == 2 and "no environment named 'no-such-env'" in unknown.stdout + unknown.stderr


def test_unavailable_python_and_package_are_one_line_naming_the_instance(real_instances, tmp_path, docker_client,
                                                                       python_env):
    mirrors = str(real_instances["root"] / "mirrors")
    rows_file = tmp_path / "bad.jsonl"
    base = {k: v for k, v in real_instances["rows"][0].items() if k != "version"}
    rows_file.write_text(
        json.dumps({**base, "instance_id": "old-python-1", "python": "3.7"}) + "\n" +
        json.dumps({**base, "instance_id": "no-such-package-1", "python": "3.11",
                    "requirements": "resq-no-such-package-xyzzy==0.0.1\n"}) + "\n" +
        json.dumps(_bad_backend_row(real_instances["root"] / "mirrors")) + "\n")
    suite = tmp_path / "bad"
    resq("import", "swebench", str(rows_file), "--repos", mirrors, "--out", str(suite), check=True)
    stopped = resq("env", "build", "--suite", str(suite))
    errors = [line for line in (stopped.stdout + stopped.stderr).splitlines() if line.startswith("error:")]
    assert stopped.returncode == 2 and len(errors) == 1, stopped.stdout + stopped.stderr
    went_on = resq("env", "build", "--suite", str(suite), "--skip-invalid")
    out = went_on.stdout + went_on.stderr
    errors = [line for line in out.splitlines() if line.startswith("error:")]
    assert went_on.returncode == 0 and len(errors) == 3, out
    backend_line = next(line for line in errors if "bad-backend-1" in line)
    assert "resq-no-such-backend-xyzzy==0.0.1" in backend_line and "build dependency" in backend_line
    python_line = next(line for line in errors if "old-python-1" in line)
    assert "Python 3.7" in python_line and "--environment NAME" in python_line and "registry" in python_line
    package_line = next(line for line in errors if "no-such-package-1" in line)
    assert "resq-no-such-package-xyzzy==0.0.1" in package_line
    assert "skipped 3 environment(s)" in out
    run = resq("run", str(suite), "--system", "noop", "--out", str(tmp_path / "run"))
    lines = [line for line in (run.stdout + run.stderr).splitlines() if line.startswith("error:")]
    assert run.returncode == 2 and len(lines) == 1 and "-1: " in lines[0], run.stdout + run.stderr


def _bad_backend_row(mirrors: Path) -> dict:
    """A repository whose build backend does not exist, with an install_config that installs it editable."""
    repo = mirrors / "acme__bad-backend"
    if not repo.exists():
        (repo / "tests").mkdir(parents=True)
        (repo / "pyproject.toml").write_text('[build-system]\nrequires = ["resq-no-such-backend-xyzzy==0.0.1"]\n'
                                             'build-backend = "resq_no_such_backend"\n')
        (repo / "tests" / "test_it.py").write_text("def test_it():\n    assert True\n")
        git(repo, "init", "-q", "-b", "main")
        git(repo, "add", "-A")
        git(repo, "commit", "-qm", "base")
    (repo / "tests" / "test_it.py").write_text("def test_it():\n    assert False\n")
    test_patch = git(repo, "diff")
    git(repo, "checkout", "-q", ".")
    return {"instance_id": "bad-backend-1", "repo": "acme/bad-backend", "base_commit": git(repo, "rev-parse", "HEAD").strip(),
            "problem_statement": "x", "test_patch": test_patch, "FAIL_TO_PASS": ["tests/test_it.py::test_it"],
            "install_config": {"python": "3.11", "install": "pip install -e ."}}


# ---------------------------------------------------------------------------------------------------------------
# Prebuilt instance images: the SWE-bench layout (repository at /testbed, Python only after activation)

ACTIVATE = 'conda() { [ "$1" = activate ] && PATH="/opt/miniconda3/envs/$2/bin:$PATH" && export PATH; }\n'


@pytest.fixture(scope="session")
def prebuilt_image(real_instances, docker_client, python_env, tmp_path_factory):
    """`sweb.eval.x86_64.<instance>:latest` built here the way SWE-bench lays its images out: the repository (full
    history, at the base commit) at /testbed, its Python and packages in an env that only activation puts on PATH."""
    meta = yaml.safe_load((DATA / "instances.yaml").read_text())["slugify"]
    instance = "un33k__python-slugify-image"
    context = tmp_path_factory.mktemp("instance-image")
    mirror = real_instances["root"] / "mirrors" / meta["repo"].replace("/", "__")
    subprocess.run(["git", "clone", "-q", str(mirror), str(context / "testbed")], check=True, env=ENV)
    wheels = environments.download_wheels(["pytest==8.4.2", "text-unidecode==1.3"], "3.11")
    files = {f"wheels/{w.name}": w for w in wheels}
    files.update({f"testbed/{p.relative_to(context / 'testbed').as_posix()}": p
                  for p in sorted((context / "testbed").rglob("*")) if p.is_file()})
    files["activate"] = ACTIVATE.encode()
    base = environments.ensure_base(docker_client, log=lambda _m: None)
    files["Dockerfile"] = "\n".join([
        f"FROM {base.tag}", "COPY wheels /tmp/wheels",
        "RUN python3 -m venv /opt/miniconda3/envs/testbed && /opt/miniconda3/envs/testbed/bin/pip install -q "
        "--no-index --find-links /tmp/wheels pytest==8.4.2 text-unidecode==1.3 && rm -rf /tmp/wheels",
        "COPY activate /opt/miniconda3/bin/activate", "COPY testbed /testbed", "WORKDIR /testbed", ""]).encode()
    tag = f"sweb.eval.x86_64.{instance}:latest"
    environments._build(docker_client, tag, files, lambda _m: None, kind="temporary")
    yield instance
    docker_client.images.remove(tag, noprune=True)


def test_image_snapshot_runs_on_a_prebuilt_instance_image(prebuilt_image, real_instances, docker_client, tmp_path,
                                                          cleanup_run):
    python = docker_client.containers.run(f"sweb.eval.x86_64.{prebuilt_image}:latest",
                                          ["sh", "-c", "python3 -c 'import pytest' 2>&1; echo $?"], remove=True)
    assert python.decode().strip().endswith("1")  # pytest only after activation, as in SWE-bench's images
    file = _one_row(real_instances, tmp_path, prebuilt_image)
    suite = tmp_path / "images"
    resq("import", "swebench", str(file), "--repos", str(real_instances["root"] / "mirrors"), "--namespace", "none",
         "--out", str(suite), check=True)
    task = load_suite(suite)[0].task
    assert task.snapshot.kind == "image" and task.snapshot.image == f"sweb.eval.x86_64.{prebuilt_image}:latest"
    assert task.snapshot.workdir == "/testbed" and "conda activate testbed" in task.snapshot.activate
    linted = resq("tasks", "lint", str(suite))
    assert linted.returncode == 0, linted.stdout + linted.stderr
    assert gold_and_noop_disagreements(suite, tmp_path, cleanup_run, expected=1) == []


def test_another_debian_release_uses_the_hosts_sources_with_the_suite_swapped():
    host = environments.host_codename()
    sources = environments.host_apt_sources().splitlines()
    swapped = environments.suite_sources("trixie").splitlines()
    assert len(swapped) == len(sources)
    for before, after in zip(sources, swapped):
        uri, release = before.split()[1:3]
        assert after.split()[1] == uri  # the host's own mirror, never one written into the code
        assert after.split()[2] == (release.replace(host, "trixie", 1) if release.startswith(host) else release)
    assert environments.DEBIAN_PYTHON["trixie"] == "3.13" and environments.DEBIAN_PYTHON["bookworm"] == "3.11"
    assert environments.python_base_tag("3.13") != environments.python_base_tag(environments.host_python())


ENV_TEST = '''import os

from slugify import unique_slugify


def test_spec_variables_and_eval_commands_reach_the_tests():
    assert os.environ.get("RESQ_SPEC_VAR") == "from-env-vars-test"
    assert os.environ.get("RESQ_EVAL_VAR") == "from-eval-commands"
    assert unique_slugify("a b", taken=["a-b"]) == "a-b-2"
'''


def test_spec_variables_and_eval_commands_reach_the_tests(real_instances, tmp_path, cleanup_run):
    """env_vars_test and eval_commands of an install_config: the environment image is the slugify one (variables
    are not part of its content), so nothing new is built."""
    meta = yaml.safe_load((DATA / "instances.yaml").read_text())["slugify"]
    repo = real_instances["root"] / "mirrors" / meta["repo"].replace("/", "__")
    (repo / "tests").mkdir()
    (repo / "tests" / "test_resq_env.py").write_text(ENV_TEST)
    git(repo, "add", "-N", "tests")
    test_patch = git(repo, "diff")
    git(repo, "rm", "-q", "--cached", "tests/test_resq_env.py")
    (repo / "tests" / "test_resq_env.py").unlink()
    (repo / "tests").rmdir()
    config = {**meta["spec"], "env_vars_test": {"RESQ_SPEC_VAR": "from-env-vars-test"},
              "eval_commands": ["export RESQ_EVAL_VAR=from-eval-commands"]}
    file = _one_row(real_instances, tmp_path, "env-vars-1", install_config=config, test_patch=test_patch,
                    FAIL_TO_PASS=["tests/test_resq_env.py::test_spec_variables_and_eval_commands_reach_the_tests"],
                    PASS_TO_PASS=[])
    suite = tmp_path / "env-vars"
    resq("import", "swebench", str(file), "--repos", str(real_instances["root"] / "mirrors"), "--out", str(suite),
         check=True)
    task = load_suite(suite)[0].task
    assert task.environment.spec.env == {"RESQ_SPEC_VAR": "from-env-vars-test"}
    assert task.tests.command.startswith("export RESQ_EVAL_VAR=from-eval-commands && python -m pytest")
    assert gold_and_noop_disagreements(suite, tmp_path, cleanup_run, expected=1) == []
