"""taxonomy.yaml: the repository's file loads, and a bad file is refused with its line and a fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from aggregator.config.taxonomy import LabelRef, load_taxonomy, normalize_tag, parse_taxonomy
from aggregator.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]

GOOD = """\
version: 1
audiences:
  - id: leaders
    name: Leaders
    description: Leaders and managers.
    phrases: [leaders, managers]
themes:
  - id: kindness
    name: Kindness
    description: Kindness in care.
partner_tags:
  audiences:
    Board members: leaders
  themes:
    Civility: [kindness]
"""


def test_repository_taxonomy_has_the_starting_vocabulary() -> None:
    taxonomy = load_taxonomy(ROOT / "taxonomy.yaml")
    assert set(taxonomy.ids("audience")) == {
        "frontline-staff",
        "leaders",
        "patient-safety",
        "educators",
        "researchers",
        "patients-public",
        "policy",
    }
    assert set(taxonomy.ids("theme")) == {
        "kindness",
        "compassionate-leadership",
        "inclusion",
        "staff-wellbeing",
        "culture-change",
        "patient-safety",
        "patient-involvement",
        "reflective-practice",
        "teamwork",
        "compassionate-care",
    }
    assert all(label.name and label.description and label.phrases for label in (*taxonomy.audiences, *taxonomy.themes))


@pytest.mark.parametrize(
    ("tag", "expected"),
    [
        ("Health and care staff", LabelRef("audience", "frontline-staff")),
        ("Patient safety leads", LabelRef("audience", "patient-safety")),
        ("Board members", LabelRef("audience", "leaders")),
        ("  leadership ", LabelRef("audience", "leaders")),
        ("Compassion circles", LabelRef("theme", "reflective-practice")),
    ],
)
def test_partner_tags_map_to_labels(tag: str, expected: LabelRef) -> None:
    assert expected in load_taxonomy(ROOT / "taxonomy.yaml").labels_for_tag(tag)


def test_a_tag_can_map_to_several_labels_and_values_are_frozen() -> None:
    taxonomy = parse_taxonomy(GOOD)
    assert taxonomy.labels_for_tag("civility") == (LabelRef("theme", "kindness"),)
    assert taxonomy.labels_for_tag("unknown tag") == ()
    with pytest.raises(TypeError):
        taxonomy.partner_tags["x"] = ()  # type: ignore[index]


def test_normalize_tag() -> None:
    assert normalize_tag(" Patient  Safety & Governance ") == "patient safety and governance"


@pytest.mark.parametrize(
    ("text", "line", "message", "hint"),
    [
        (
            GOOD.replace("    phrases: [leaders, managers]", "    phrase: [leaders, managers]"),
            6,
            "phrase",
            "did you mean 'phrases'",
        ),
        (GOOD.replace("  - id: kindness", "  - id: Kindness Theme"), 8, "lower-case", "staff-wellbeing"),
        (
            GOOD.replace("    Board members: leaders", "    Board members: leaderz"),
            13,
            "unknown label 'leaderz'",
            "did you mean 'leaders'",
        ),
        (
            GOOD.replace("    Civility: [kindness]", "    Civility: [kindnes, leaders]"),
            15,
            "unknown label",
            "did you mean 'kindness'",
        ),
        (
            GOOD.replace("themes:\n", "themes:\n  - id: kindness\n    name: Again\n    description: Twice.\n", 1),
            11,
            "duplicate label id 'kindness'",
            "its own id",
        ),
        (GOOD.replace("    name: Kindness\n", ""), 8, "name", "add `name:`"),
        (GOOD.replace("version: 1\n", "version: 1\ncolour: blue\n"), 2, "colour", "allowed here"),
        (GOOD.replace("    name: Leaders", "    name: [Leaders"), 5, "not valid YAML", "indentation"),
    ],
)
def test_a_bad_file_is_refused_with_its_line_and_a_fix(text: str, line: int, message: str, hint: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_taxonomy(text, "taxonomy.yaml")
    error = caught.value
    assert error.line == line, str(error)
    assert message in error.message
    assert hint in error.hint
    assert str(error).startswith(f"taxonomy.yaml:{line}: ")


def test_a_missing_file_says_how_to_fix_it(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_taxonomy(tmp_path / "taxonomy.yaml")
