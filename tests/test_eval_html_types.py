"""The type real saved pages get (tests/eval/html_types.jsonl, pages of ../shared/corpus/html): the set, the gate."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aggregator.classify.pagetypes import TypedPageRecord, load_type_set, score_page_types
from aggregator.classify.values import Classification, ClassifyInput
from aggregator.cli import app
from aggregator.errors import ConfigError
from aggregator.model import ResourceType

ROOT = Path(__file__).resolve().parents[1]
SET = ROOT / "tests" / "eval" / "html_types.jsonl"
FLOOR = ROOT / "tests" / "eval" / "real_floor.json"
# The floor committed with the set (issue 14): the file may rise, never fall below it.
FIRST_FLOOR = {"type_accuracy": 0.83, "hint_accuracy": 1.0}
runner = CliRunner()


def test_the_set_is_well_formed_and_spread() -> None:
    records = load_type_set(SET)
    assert len(records) >= 60
    assert len({r.url for r in records}) == len(records)
    assert all(r.reason and not r.file.startswith("/") and ".." not in r.file for r in records)
    kinds = Counter(r.type for r in records)
    assert {ResourceType.NEWS, ResourceType.EVENT, ResourceType.TOOLKIT, ResourceType.REPORT} <= set(kinds)


@pytest.mark.corpus
def test_every_page_of_the_set_is_in_the_corpus(corpus_dir: Path) -> None:
    missing = [r.file for r in load_type_set(SET) if not (corpus_dir / "html" / r.file).is_file()]
    assert missing == []


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"file": "a.html", "url": "https://a.example/", "type": "blog", "reason": "x"}', "bad typed page"),
        ('{"file": "a.html", "url": "https://a.example/", "type": "news"}', "bad typed page"),
        ('{"file": "b.html", "url": "https://b.example/", "type": "news", "reason": "x"}', "repeats"),
    ],
)
def test_a_bad_line_is_refused_naming_it(tmp_path: Path, line: str, problem: str) -> None:
    path = tmp_path / "set.jsonl"
    path.write_text('{"file": "b.html", "url": "https://b.example/", "type": "news", "reason": "x"}\n' + line + "\n")
    with pytest.raises(ConfigError, match=problem) as caught:
        load_type_set(path)
    assert caught.value.line == 2


class Always:
    """A classifier that gives the type hint when there is one, else `kind`."""

    def __init__(self, kind: ResourceType) -> None:
        self.kind = kind

    def classify(self, item: ClassifyInput) -> Classification:
        return Classification((), False, ResourceType(item.type_hint) if item.type_hint else self.kind)


def test_scores_count_the_hint_alone_and_list_the_misses(tmp_path: Path) -> None:
    (tmp_path / "video.html").write_text('<html><head><meta property="og:type" content="video.other"></head></html>')
    (tmp_path / "post.html").write_text("<html><head><title>A post</title></head><body><p>Hi.</p></body></html>")
    records = [
        TypedPageRecord(file="video.html", url="https://a.example/v", type=ResourceType.VIDEO, reason="x"),
        TypedPageRecord(file="post.html", url="https://a.example/p", type=ResourceType.REPORT, reason="x"),
    ]
    scores = score_page_types(records, tmp_path, Always(ResourceType.NEWS))
    assert (scores.accuracy, len(scores.hinted), scores.hint_accuracy) == (0.5, 1, 1.0)
    assert scores.confusion() == ((ResourceType.REPORT, ResourceType.NEWS, 1),)
    with pytest.raises(ConfigError, match="no such page"):
        score_page_types(records, tmp_path / "elsewhere", Always(ResourceType.NEWS))


def test_the_floor_only_rises() -> None:
    pinned = json.loads(FLOOR.read_text())["html_types"]
    for name, minimum in FIRST_FLOOR.items():
        assert pinned[name] >= minimum, f"html_types.{name} was lowered"


@pytest.mark.slow
@pytest.mark.corpus
def test_the_types_given_to_real_pages_meet_the_floor(corpus_dir: Path) -> None:
    # the path `aggregator inspect page` takes: metadata adapter -> classifier input -> the classifier's type
    result = runner.invoke(app, ["inspect", "types", "--set", str(SET), "--pages", str(corpus_dir / "html"), "--json"])
    assert result.exit_code == 0, result.output
    scores = json.loads(result.output)
    floor = json.loads(FLOOR.read_text())["html_types"]
    assert scores["pages"] == len(load_type_set(SET))
    print(json.dumps(scores, indent=1))
    assert scores["type_accuracy"] >= floor["type_accuracy"], scores["misses"]
    # where a page states its type (schema.org, og:type, citation_*, a player) it wins over everything else
    assert scores["hint_accuracy"] >= floor["hint_accuracy"], scores["misses"]
