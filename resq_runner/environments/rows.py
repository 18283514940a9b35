"""The environment a benchmark row describes, in every spelling published datasets use, as one EnvironmentSpec.

First match wins, in this order:
1. SWE-bench's own specs for the row's repo and version: `MAP_REPO_VERSION_TO_SPECS` of the swebench package
   (imported lazily; swebench 5 no longer ships it), or a file of the same shape given with `--specs`;
2. the row's `install_config` (SWE-rebench: the same keys, per row);
3. the row's `requirements` (a list, or a pip-freeze text) and `python`;
4. commit0's `setup` / `test` objects.
Spec keys: `python`, `packages` (a list or a space-separated string of packages, `requirements.txt` — read from the
repository at `environment_setup_commit`, or `reqs_path` — or `environment.yml`), `pip_packages`, `pre_install`,
`install`, `eval_commands`, `env_vars_test`, `test_cmd`.

Pure: the repository is read through a callable, so this module never touches Docker or the network.
"""

from __future__ import annotations

import functools
import importlib.metadata
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import yaml

from ..errors import ResqError
from ..models import EnvironmentSpec

ReadFile = Callable[[str], str | None]  # a path in the repository at environment_setup_commit → text, or None
SPEC_KEYS = ("python", "packages", "pip_packages", "pre_install", "install", "eval_commands", "env_vars_test",
             "test_cmd", "reqs_path", "log_parser")
COMMIT0_SETUP = ("install", "packages", "pip_packages", "pre_install", "python")
PYTHON_VERSION = re.compile(r"^\d+\.\d+")
SKIP_FREEZE = re.compile(r"^\s*(#|-e\s|--|-r\s|-c\s)|\s@\s*file:")


class SpecError(ResqError):
    """A row's environment fields that cannot be read: the message names the field."""


@dataclass
class RowEnvironment:
    """What a row says about where its tests run: the image part and the test command parts."""

    spec: EnvironmentSpec
    test_cmd: str | None = None  # the spec's test command (test files are appended by the importer)
    eval_commands: list[str] = field(default_factory=list)  # shell lines run before the test command
    log_parser: str | None = None


def row_environment(row: dict, read: ReadFile, specs: dict | None = None) -> RowEnvironment | None:
    """The row's environment, or None when it has no spec and no environment fields."""
    repo, version = row.get("repo"), row.get("version")
    table = specs if specs is not None else swebench_specs()
    if isinstance(repo, str) and version is not None:
        spec = table.get(repo, {}).get(str(version))
        if spec is not None:
            return from_spec_keys(spec, f"swebench specs {repo} {version}", read)
    if row.get("install_config"):
        config = row["install_config"]
        if isinstance(config, str):
            try:
                config = json.loads(config)
            except ValueError as exc:
                raise SpecError(f"field 'install_config': a string that is not JSON ({exc})") from exc
        if not isinstance(config, dict):
            raise SpecError("field 'install_config': expected an object of SWE-bench spec keys")
        return from_spec_keys(config, "install_config", read)
    if row.get("requirements") or row.get("python"):
        requirements = row.get("requirements") or []
        spec = EnvironmentSpec(origin="requirements", python=_python(row.get("python"), "python"),
                               pip_requirements=requirement_lines(requirements, "requirements"),
                               install=["pip install -e ."] if _editable(requirements) else [])
        return RowEnvironment(spec=spec)
    if isinstance(row.get("setup"), dict) or isinstance(row.get("test"), dict):
        setup = row.get("setup") or {}
        test = row.get("test") or {}
        if not isinstance(setup, dict) or not isinstance(test, dict):
            raise SpecError("field 'setup'/'test': expected commit0 objects")
        keys = {k: setup[k] for k in COMMIT0_SETUP if k in setup}
        if test.get("test_cmd"):
            keys["test_cmd"] = test["test_cmd"]
        return from_spec_keys(keys, "commit0 setup", read)
    return None


def from_spec_keys(spec: dict, origin: str, read: ReadFile) -> RowEnvironment:
    unknown_shape = not isinstance(spec, dict)
    if unknown_shape:
        raise SpecError(f"{origin}: expected an object of SWE-bench spec keys")
    pip = _packages(spec.get("packages"), spec.get("reqs_path"), origin, read)
    pip += _strings(spec.get("pip_packages"), f"{origin}.pip_packages")
    env = spec.get("env_vars_test") or {}
    if not isinstance(env, dict):
        raise SpecError(f"{origin}.env_vars_test: expected an object of variable names and values")
    test_cmd = spec.get("test_cmd")
    if isinstance(test_cmd, list):
        test_cmd = " && ".join(str(c) for c in test_cmd) if test_cmd else None
    if test_cmd is not None and not isinstance(test_cmd, str):
        raise SpecError(f"{origin}.test_cmd: expected a command string")
    parser = spec.get("log_parser")
    apt, pre_install = apt_packages(_strings(spec.get("pre_install"), f"{origin}.pre_install"))
    result = EnvironmentSpec(
        origin=origin, python=_python(spec.get("python"), f"{origin}.python"), pip_requirements=pip,
        apt_packages=apt, pre_install=pre_install,
        install=_strings(spec.get("install"), f"{origin}.install"),
        env={str(k): str(v) for k, v in env.items()})
    return RowEnvironment(spec=result, test_cmd=test_cmd or None,
                          eval_commands=_strings(spec.get("eval_commands"), f"{origin}.eval_commands"),
                          log_parser=parser if isinstance(parser, str) and parser else None)


APT_STEP = re.compile(r"^(?:DEBIAN_FRONTEND=\S+\s+)?apt(?:-get)?\s+(update|upgrade|install)((?:\s+-\S+)*)((?:\s+[^\s-]\S*)*)"
                      r"((?:\s+-\S+)*)$")


def apt_packages(pre_install: list[str]) -> tuple[list[str], list[str]]:
    """(apt packages, the other commands): a pre_install line made only of `apt-get update/upgrade/install` steps
    becomes apt packages of the shared environment image, installed through the base image's own apt sources."""
    packages, rest = [], []
    for line in pre_install:
        parts = line.split("&&")
        steps = [match for part in parts if (match := APT_STEP.match(part.strip()))]
        if len(steps) < len(parts):
            rest.append(line)
            continue
        packages += [name for step in steps if step.group(1) == "install" for name in step.group(3).split()]
    return packages, rest


def requirement_lines(value, where: str) -> list[str]:
    """Requirements from a list or a pip-freeze / requirements text; editable and local-file lines, options and
    comments are left out (the repository itself is installed by the spec's install commands)."""
    lines = value.splitlines() if isinstance(value, str) else value
    if not isinstance(lines, list) or not all(isinstance(line, str) for line in lines):
        raise SpecError(f"{where}: expected a list of requirements or a requirements text")
    return [line.split(" #")[0].strip() for line in lines if line.strip() and not SKIP_FREEZE.search(line)]


def _editable(requirements) -> bool:
    """A pip-freeze of an environment where the repository was installed with `pip install -e .` lists it as an
    editable line (`-e git+https://...#egg=NAME`, `-e /testbed`): the environment installs it the same way."""
    lines = requirements.splitlines() if isinstance(requirements, str) else requirements
    return any(isinstance(line, str) and line.strip().startswith("-e ") for line in lines)


def _packages(packages, reqs_path, origin: str, read: ReadFile) -> list[str]:
    if not packages:
        return []
    if isinstance(packages, list):
        return _strings(packages, f"{origin}.packages")
    if not isinstance(packages, str):
        raise SpecError(f"{origin}.packages: expected a list, a string of packages, requirements.txt or "
                        "environment.yml")
    if packages == "requirements.txt":
        paths = _strings(reqs_path, f"{origin}.reqs_path") or ["requirements.txt"]
        return [line for path in paths for line in _requirements_file(path, origin, read, set())]
    if packages == "environment.yml":
        return _environment_yml(read("environment.yml"), origin)
    return packages.split()


def _requirements_file(path: str, origin: str, read: ReadFile, seen: set[str]) -> list[str]:
    text = read(path)
    if text is None:
        raise SpecError(f"{origin}.packages: {path} is not in the repository at environment_setup_commit")
    seen.add(path)
    lines = []
    for line in text.splitlines():
        include = re.match(r"^\s*-r\s+(\S+)", line)
        if include:
            nested = str(Path(path).parent / include.group(1)) if "/" in path else include.group(1)
            if nested not in seen:
                lines += _requirements_file(nested, origin, read, seen)
    return lines + requirement_lines(text, f"{origin}.packages ({path})")


def _environment_yml(text: str | None, origin: str) -> list[str]:
    """pip requirements from a conda environment.yml: its `pip:` list and plain dependencies (conda names mostly
    match PyPI's); python itself and conda-only channels' syntax are left out."""
    if text is None:
        raise SpecError(f"{origin}.packages: environment.yml is not in the repository")
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise SpecError(f"{origin}.packages: environment.yml is not YAML ({' '.join(str(exc).split())[:80]})")
    found = []
    for item in data.get("dependencies") or []:
        if isinstance(item, dict):
            found += requirement_lines(item.get("pip") or [], f"{origin}.packages (environment.yml pip)")
        elif isinstance(item, str) and not re.match(r"^(python|pip)\b", item):
            found.append(re.sub(r"(?<![=<>!~])=(?!=)", "==", item.split("::")[-1]))
    return found


def _strings(value, where: str) -> list[str]:
    if value is None or value == "":
        return []
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise SpecError(f"{where}: expected a command or a list of them")
    return list(value)


def _python(value, where: str) -> str | None:
    if value is None or value == "":
        return None
    match = PYTHON_VERSION.match(str(value).strip())
    if not match:
        raise SpecError(f"{where}: '{value}' is not a Python version like 3.11")
    return match.group(0)


@functools.cache
def swebench_specs() -> dict:
    """SWE-bench's MAP_REPO_VERSION_TO_SPECS when the installed swebench has it. swebench 5 no longer ships it, and
    importing swebench.harness costs ~1 s and ~200 MB, so its version is read from the package metadata first."""
    try:
        major = int(importlib.metadata.version("swebench").split(".")[0])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return {}
    if major >= 5:
        return {}
    try:
        from swebench.harness.constants import MAP_REPO_VERSION_TO_SPECS
    except ImportError:
        return {}
    return MAP_REPO_VERSION_TO_SPECS


def load_specs_file(file: Path) -> dict:
    """A `--specs` file: {repo: {version: spec}} as JSON or YAML, the shape of MAP_REPO_VERSION_TO_SPECS."""
    try:
        data = yaml.safe_load(Path(file).read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise ResqError(f"{file}: cannot read the specs file ({' '.join(str(exc).split())[:120]})") from exc
    if not isinstance(data, dict) or not all(isinstance(v, dict) for v in data.values()):
        raise ResqError(f"{file}: expected {{repo: {{version: spec}}}} like SWE-bench's MAP_REPO_VERSION_TO_SPECS")
    return {repo: {str(version): spec for version, spec in versions.items()} for repo, versions in data.items()}
