"""The real labelled pages (tests/eval/real): the set's shape, evaluation by site, and the gate on its floors."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aggregator.classify.evaluate import EvalReport, format_report
from aggregator.classify.labelled import load_labelled
from aggregator.classify.pageset import LabelledPage, examples_of, load_page_set
from aggregator.classify.siteeval import evaluate_by_site, site_folds, site_of
from aggregator.cli import app
from aggregator.config.taxonomy import Taxonomy, load_taxonomy
from aggregator.dedupe.evaluate import PageSetScores, evaluate_pages
from aggregator.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "tests" / "eval" / "real" / "pages.jsonl"
OLD_SET = ROOT / "tests" / "eval" / "classifier" / "resources.jsonl"
FLOOR = ROOT / "tests" / "eval" / "real_floor.json"
# The floors committed with the set (issue 14, before any classifier work): the file may rise, never fall below.
# Re-based once, on purpose (2026-12-06), when the set grew from 755 to 2,736 pages (parts d to t, 1,818 new
# sites, see tests/eval/README.md): figures on a larger, harder set are not comparable with the old ones, so the
# first floors are what the whole pipeline measured on the new set that day. Re-based again the same day when it
# grew to 4,690 pages (parts u to ag), for the same reason.
FIRST_FLOOR = {
    "classify_by_site": {
        "rules_only": {
            "theme_micro_f1": 0.609,
            "theme_macro_f1": 0.597,
            "audience_micro_f1": 0.404,
            "audience_macro_f1": 0.38,
            "type_accuracy": 0.568,
            "off_topic_precision": 0.563,
            "off_topic_recall": 0.681,
            "off_topic_accuracy": 0.724,
        },
        "rules_and_model": {
            "theme_micro_f1": 0.791,
            "theme_macro_f1": 0.786,
            "audience_micro_f1": 0.73,
            "audience_macro_f1": 0.718,
            "type_accuracy": 0.771,
            "off_topic_precision": 0.84,
            "off_topic_recall": 0.87,
            "off_topic_accuracy": 0.904,
        },
    },
    "dedupe_pages": {"precision": 0.928, "recall": 0.638, "max_name_pairs_merged": 21},
}
runner = CliRunner()


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return load_taxonomy(ROOT / "taxonomy.yaml")


@pytest.fixture(scope="module")
def pages(taxonomy: Taxonomy) -> tuple[LabelledPage, ...]:
    return load_page_set(PAGES, taxonomy)


def test_the_set_has_the_size_and_spread_the_issue_asks(pages: tuple[LabelledPage, ...]) -> None:
    records = [p.record for p in pages]
    assert len(records) >= 600
    assert len({r.site for r in records}) >= 150
    assert sum(not r.themes for r in records) >= 100
    groups = [r.dup_group for r in records if r.dup_group]
    assert sum(groups.count(g) >= 2 for g in set(groups)) >= 40
    names = [r.name_group for r in records if r.name_group]
    assert sum(names.count(g) >= 2 for g in set(names)) >= 20
    assert all(r.reason and r.query and len(r.text) <= 1500 for r in records)
    for group in set(groups):  # the same resource on different sites
        assert len({r.site for r in records if r.dup_group == group}) >= 2, group


@pytest.mark.parametrize(
    "change, problem",
    [
        ({"themes": ["kindnes"]}, "unknown theme ids ['kindnes']"),
        ({"audiences": ["nurses"]}, "unknown audience ids ['nurses']"),
        ({"off_topic": True}, "off_topic must be true exactly when there are no themes"),
        ({"themes": [], "audiences": ["leaders"]}, "an off-topic page (no themes) has no audiences"),
        ({"type": "blog"}, "type"),
        ({"audience": ["leaders"]}, "audience"),  # a misspelt key is refused, never read as "no labels"
    ],
)
def test_a_bad_record_is_refused_naming_the_line(
    tmp_path: Path, taxonomy: Taxonomy, change: dict, problem: str
) -> None:
    good = {
        "url": "https://a.example/1",
        "site": "a.example",
        "title": "T",
        "text": "x",
        "type": "news",
        "audiences": ["leaders"],
        "themes": ["kindness"],
    }
    path = tmp_path / "set.jsonl"
    path.write_text(json.dumps(good) + "\n" + json.dumps({**good, "url": "https://a.example/2", **change}) + "\n")
    with pytest.raises(ConfigError, match=re.escape(problem)) as raised:
        load_page_set(path, taxonomy)
    assert raised.value.line == 2


def test_a_repeated_url_is_refused(tmp_path: Path, taxonomy: Taxonomy) -> None:
    line = json.dumps({"url": "https://a.example/1", "site": "a.example", "title": "T", "text": "x", "type": "news"})
    (tmp_path / "set.jsonl").write_text(f"{line}\n{line}\n")
    with pytest.raises(ConfigError, match="repeats"):
        load_page_set(tmp_path / "set.jsonl", taxonomy)


def test_no_site_is_on_both_sides_of_a_fold(pages: tuple[LabelledPage, ...]) -> None:
    examples = examples_of(pages)
    tested = []
    for train, test in site_folds(examples, 5):
        assert not {site_of(examples[i]) for i in train} & {site_of(examples[i]) for i in test}
        tested.extend(test)
    assert sorted(tested) == list(range(len(examples)))


# --- the gate ---------------------------------------------------------------------------------------------


def floors() -> dict:
    return json.loads(FLOOR.read_text())


def test_the_floor_only_rises() -> None:
    pinned = floors()
    for which, first in FIRST_FLOOR["classify_by_site"].items():
        for name, minimum in first.items():
            assert pinned["classify_by_site"][which][name] >= minimum, f"{which}.{name} was lowered"
    for name in ("precision", "recall"):
        assert pinned["dedupe_pages"][name] >= FIRST_FLOOR["dedupe_pages"][name], f"dedupe {name} was lowered"
    assert pinned["dedupe_pages"]["max_name_pairs_merged"] <= FIRST_FLOOR["dedupe_pages"]["max_name_pairs_merged"]


@pytest.fixture(scope="module")
def reports(taxonomy: Taxonomy, pages: tuple[LabelledPage, ...]) -> dict[str, EvalReport]:
    rules_only, with_model = evaluate_by_site(examples_of(pages), taxonomy, also_train=load_labelled(OLD_SET))
    print(format_report(rules_only), format_report(with_model), sep="\n")
    return {"rules_only": rules_only, "rules_and_model": with_model}


@pytest.mark.slow
@pytest.mark.parametrize("which", ["rules_only", "rules_and_model"])
def test_classify_by_site_meets_the_floor(reports: dict[str, EvalReport], which: str) -> None:
    report = reports[which]
    figures = report.figures()
    below = {
        name: (round(figures[name], 3), floor)
        for name, floor in floors()["classify_by_site"][which].items()
        if figures[name] < floor
    }
    assert not below, f"{which} fell below the floor (got, floor): {below}\n{format_report(report)}"
    for name, (low, high) in report.intervals.items():
        if name in figures:
            assert low <= figures[name] + 1e-9 and figures[name] <= high + 1e-9, name


def test_dedupe_pages_meet_the_floor(pages: tuple[LabelledPage, ...]) -> None:
    result: PageSetScores = evaluate_pages([p.record for p in pages])
    floor = floors()["dedupe_pages"]
    assert result.scores.precision >= floor["precision"], result.describe()
    assert result.scores.recall >= floor["recall"], result.describe()
    assert result.name_pairs_merged <= floor["max_name_pairs_merged"], result.describe()
    assert result.name_pairs >= 20


# --- anyone's own labelled file ---------------------------------------------------------------------------


@pytest.mark.slow
def test_classify_eval_scores_a_labelled_file_as_json(tmp_path: Path) -> None:
    subset = tmp_path / "mine.jsonl"
    subset.write_text("".join(PAGES.read_text(encoding="utf-8").splitlines(keepends=True)[:40]), encoding="utf-8")
    result = runner.invoke(
        app, ["classify", "eval", "--set", str(subset), "--json"], env={"AGGREGATOR_DATA_DIR": str(tmp_path / "var")}
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert "40 left out" in data["note"]  # its own pages never train the model that scores them
    rules, model = data["reports"]
    assert rules["count"] == model["count"] == 40
    assert {"theme_micro_f1", "off_topic_precision", "type_accuracy"} <= set(model["figures"])
    assert "theme_micro_f1" in model["intervals"]
    # every type mistake is in the confusion, once: its counts add up to the pages the type accuracy misses
    mistakes = sum(c["count"] for c in model["type_confusion"])
    assert mistakes == round((1 - model["figures"]["type_accuracy"]) * 40)
    assert all(c["labelled"] != c["given"] for c in model["type_confusion"])


def test_dedupe_eval_scores_a_labelled_file() -> None:
    result = runner.invoke(app, ["dedupe", "eval", "--set", str(PAGES)])
    assert result.exit_code == 0, result.output
    assert "same-name pairs merged" in result.output and " P " in f" {result.output}"
