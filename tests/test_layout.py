"""The house rules ARCHITECTURE.md states, checked on the source: no module-level import loop, no SQL in the
views and commands, no module far past 300 lines."""

from __future__ import annotations

import ast
import re
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "aggregator"
MAX_LINES = 310  # "about 300": room for a docstring's growth, not for a second module's worth


def modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        name = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        found[name.removesuffix(".__init__")] = path
    return found


def test_no_module_level_import_loop() -> None:
    """Imports inside functions are deliberate (cold start) and not counted; module-level ones must not loop."""
    known = modules()
    graph: dict[str, set[str]] = {}
    for name, path in known.items():
        targets: set[str] = set()
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                targets |= {node.module, *(f"{node.module}.{alias.name}" for alias in node.names)}
            elif isinstance(node, ast.Import):
                targets |= {alias.name for alias in node.names}
        graph[name] = {t for t in targets if t in known and t != name}
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        raise AssertionError(f"import loop: {' -> '.join(exc.args[1])}") from None


def test_views_and_commands_run_no_sql() -> None:
    pattern = re.compile(r"(?:select|insert|update|delete|text)\(")  # the grep of issue 12
    offenders = [
        f"{path.relative_to(PACKAGE.parent)}:{number}"
        for folder in ("web", "cli")
        for path in (PACKAGE / folder).rglob("*.py")
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if pattern.search(line)
    ]
    assert not offenders, f"SQL belongs in db/ or a stage service: {offenders}"


def test_no_module_far_past_300_lines() -> None:
    long = {
        str(path.relative_to(PACKAGE.parent)): count
        for path in modules().values()
        if (count := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"split these by what they do: {long}"
