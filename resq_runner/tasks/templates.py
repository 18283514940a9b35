"""Parameterised task templates: one problem, many concrete instances.

A task folder whose task.yaml has a `template:` section is a template, not a task. `expand` renders it with
Jinja2 (strict: an undefined name is an error) once per parameter set and writes each instance beside it as an
ordinary task folder named `<template>@<p1>=<v1>,<p2>=<v2>`:

- task.yaml is rendered as text, then parsed (quote YAML values that start with `{{`);
- every path is rendered, so a parameter can choose which file holds the code;
- the contents of hidden/ and gold.patch are rendered, and of any file ending in `.jinja` (suffix dropped);
  other files (a snapshot's code) are copied byte for byte.
"""

from __future__ import annotations

import itertools
import random
import re
import shutil
import tempfile
from pathlib import Path

import jinja2
import yaml

from ..errors import TaskError
from ..models import Template, TaskFolder

SUFFIX = ".jinja"
SAFE_VALUE = re.compile(r"^[A-Za-z0-9_.+-]+$")
_env = jinja2.Environment(undefined=jinja2.StrictUndefined, keep_trailing_newline=True, autoescape=False)


def instance_id(template_id: str, parameters: dict) -> str:
    return template_id + "@" + ",".join(f"{name}={value}" for name, value in parameters.items())


def parse_instance_id(task_id: str) -> tuple[str, dict[str, str]] | None:
    """The template id and parameter values an instance id encodes, or None for an ordinary task."""
    if "@" not in task_id:
        return None
    template_id, _, encoded = task_id.partition("@")
    pairs = [part.split("=", 1) for part in encoded.split(",") if "=" in part]
    return template_id, {name: value for name, value in pairs}


def parameter_sets(template: Template, *, seed: int = 0, limit: int | None = None, where: str = "") -> list[dict]:
    """Every combination that meets the constraints, in declaration order; a seeded sample when limited."""
    names = list(template.parameters)
    domains = [v.values() if hasattr(v, "values") else list(v) for v in template.parameters.values()]
    for name, domain in zip(names, domains):
        bad = [value for value in domain if not SAFE_VALUE.match(str(value))]
        if bad or not domain:
            raise TaskError(f"{where}parameter '{name}' needs values made of letters, digits and _.+- "
                            f"(got {bad or 'no values'})")
    checks = [_compile(c, where) for c in template.constraints]
    combos = [dict(zip(names, values)) for values in itertools.product(*domains)]
    combos = [c for c in combos if all(check(**c) for check in checks)]
    if limit is not None and limit < len(combos):
        chosen = sorted(random.Random(seed).sample(range(len(combos)), limit))
        combos = [combos[i] for i in chosen]
    return combos


def expand(tf: TaskFolder, *, seed: int = 0, limit: int | None = None) -> list[str]:
    """Writes the template's instances beside it (replacing earlier ones) and returns their ids."""
    template = tf.task.template
    if template is None:
        raise TaskError(f"{tf.root / 'task.yaml'}: not a template (no `template:` section)")
    where = f"{tf.root / 'task.yaml'}: "
    suite = tf.root.parent
    with tempfile.TemporaryDirectory(dir=suite, prefix=f".{tf.task.id}-expand-") as tmp:
        ids = []
        for parameters in parameter_sets(template, seed=seed, limit=limit, where=where):
            ids.append(instance_id(tf.task.id, parameters))
            _render_folder(tf, parameters, Path(tmp) / ids[-1])
        for old in suite.glob(f"{glob_escape(tf.task.id)}@*"):
            shutil.rmtree(old)
        for task_id in ids:
            (Path(tmp) / task_id).rename(suite / task_id)
    return ids


def glob_escape(text: str) -> str:
    return re.sub(r"([*?\[])", r"[\1]", text)


def _render_folder(tf: TaskFolder, parameters: dict, target: Path) -> None:
    target.mkdir(parents=True)
    for source in sorted(tf.root.rglob("*")):
        relative = source.relative_to(tf.root)
        if source.is_dir() or relative.as_posix() == "task.yaml":
            continue
        rendered_path = _render(relative.as_posix(), parameters, f"{tf.root}: path {relative}")
        destination = target / rendered_path.removesuffix(SUFFIX)
        destination.parent.mkdir(parents=True, exist_ok=True)
        if _is_template_text(relative):
            text = source.read_text(encoding="utf-8")
            destination.write_text(_render(text, parameters, f"{source}"), encoding="utf-8")
        else:
            shutil.copy2(source, destination)
    task_file = tf.root / "task.yaml"
    data = yaml.safe_load(_render(task_file.read_text(encoding="utf-8"), parameters, str(task_file)))
    data.pop("template", None)
    data["id"] = target.name
    data["source"] = {**data.get("source", {}), "template": tf.task.id,
                      "parameters": ",".join(f"{k}={v}" for k, v in parameters.items())}
    data["tags"] = [*data.get("tags", []), f"template:{tf.task.id}"]
    (target / "task.yaml").write_text(yaml.dump(data, Dumper=_BlockDumper, sort_keys=False, allow_unicode=True),
                                      encoding="utf-8")


class _BlockDumper(yaml.SafeDumper):
    """Writes multi-line strings as `|` blocks, so an instance's task.yaml reads like the template's."""


def _represent_str(dumper: yaml.SafeDumper, value: str):
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _represent_str)


def _is_template_text(relative: Path) -> bool:
    return relative.parts[0] == "hidden" or relative.as_posix() == "gold.patch" or relative.name.endswith(SUFFIX)


def _render(text: str, parameters: dict, where: str) -> str:
    try:
        return _env.from_string(text).render(**parameters)
    except jinja2.UndefinedError as exc:
        raise TaskError(f"{where}: {exc.message}; declare it under template.parameters") from exc
    except jinja2.TemplateSyntaxError as exc:
        raise TaskError(f"{where}:{exc.lineno}: template syntax error: {exc.message}") from exc


def _compile(constraint: str, where: str):
    try:
        expression = _env.compile_expression(constraint)
    except jinja2.TemplateSyntaxError as exc:
        raise TaskError(f"{where}constraint '{constraint}' is not an expression: {exc.message}") from exc

    def check(**parameters) -> bool:
        try:
            return bool(expression(**parameters))
        except jinja2.UndefinedError as exc:
            raise TaskError(f"{where}constraint '{constraint}': {exc.message}") from exc

    return check
