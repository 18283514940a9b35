"""`resq history`: every run folder under a directory as a time series of pass rates per (suite, system)."""

from __future__ import annotations

from pathlib import Path

from ..errors import ResqError
from .records import History, HistoryPoint
from .report import load_run, rate_of


def build_history(root: Path) -> History:
    root = Path(root)
    if not root.is_dir():
        raise ResqError(f"{root}: no such folder; give the folder that holds the run folders (e.g. runs/nightly)")
    points, notes = [], []
    for manifest in sorted(root.rglob("run.json")):
        folder = manifest.parent
        try:
            run = load_run(folder, with_suite=False)
        except ResqError as exc:  # one damaged night must not hide the whole trend
            notes.append(f"left out {folder}: {exc}")
            continue
        if run.manifest is None:
            notes.append(f"left out {folder}: run.json is not readable")
            continue
        points.append(HistoryPoint(suite=run.suite, system=run.system, run_id=run.run_id,
                                   root=folder.relative_to(root).as_posix(), started_at=run.manifest.started_at,
                                   suite_hash=run.suite_hash, rate=rate_of(run.first_samples)))
    if not points and not notes:
        notes.append(f"no run folders (with a run.json) under {root}")
    points.sort(key=lambda p: (p.started_at, p.suite, p.system))
    return History(root=str(root), points=points, notes=notes)


def render_history(history: History) -> list:
    from rich.table import Table

    parts: list = []
    for (suite, system), points in history.series().items():
        table = Table(title=f"{suite} · {system}")
        for column in ("started", "run", "pass rate", "passed", "95 % CI", "change"):
            table.add_column(column)
        previous = None
        for point in points:
            rate = point.rate
            delta = "" if previous is None else f"{rate.rate - previous:+.1%}"
            table.add_row(f"{point.started_at:%Y-%m-%d %H:%M}", point.root, f"{rate.rate:.1%}",
                          f"{rate.passed}/{rate.graded}", f"{rate.ci_low:.1%} – {rate.ci_high:.1%}", delta)
            previous = rate.rate
        parts.append(table)
    parts += [f"[yellow]note:[/] {note}" for note in history.notes]
    return parts
