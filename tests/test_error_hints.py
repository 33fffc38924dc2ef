"""Every fix-it hint that names an AGGREGATOR_ setting names one aggregator/settings.py really reads."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from pydantic import BaseModel

from aggregator.settings import Settings

PACKAGE = Path(__file__).resolve().parents[1] / "aggregator"
SETTING = re.compile(r"AGGREGATOR_[A-Z0-9_]*[A-Z0-9]")


def hint_texts() -> list[tuple[str, str]]:
    """(where, text) of every hint in the package: `hint = "..."` and `hint="..."` (f-strings by their fixed parts)."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        tree = ast.parse(path.read_text(), filename=str(path))
        for node in ast.walk(tree):
            values: list[ast.expr] = []
            if isinstance(node, ast.keyword) and node.arg == "hint":
                values = [node.value]
            elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                if any(isinstance(t, ast.Name) and t.id == "hint" for t in targets):
                    values = [node.value]
            for value in values:
                text = "".join(
                    n.value for n in ast.walk(value) if isinstance(n, ast.Constant) and isinstance(n.value, str)
                )
                found.append((f"{path.relative_to(PACKAGE.parent)}:{value.lineno}", text))
    return found


def is_real_setting(name: str) -> bool:
    """AGGREGATOR_FETCH__MAX_BODY_BYTES -> Settings.fetch.max_body_bytes (nested models by "__")."""
    model: type[BaseModel] = Settings
    parts = name.removeprefix("AGGREGATOR_").lower().split("__")
    for index, part in enumerate(parts):
        field = model.model_fields.get(part)
        if field is None:
            return False
        annotation = field.annotation
        if index < len(parts) - 1:
            if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
                return False
            model = annotation
    return True


def test_the_checker_knows_real_settings_from_others():
    assert is_real_setting("AGGREGATOR_FETCH__MAX_BODY_BYTES") and is_real_setting("AGGREGATOR_ALLOW_PRIVATE_ADDRESSES")
    assert not is_real_setting("AGGREGATOR_MAX_BODY_BYTES") and not is_real_setting("AGGREGATOR_FETCH__NOPE")


def test_every_hint_names_real_settings():
    hints = hint_texts()
    assert any("AGGREGATOR_FETCH__MAX_BODY_BYTES" in text for _, text in hints)  # the body-size hint is among them
    wrong = [(where, name) for where, text in hints for name in SETTING.findall(text) if not is_real_setting(name)]
    assert wrong == []
