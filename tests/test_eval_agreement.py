"""The agreement study (tests/eval/agreement): second labellers' files score against the shipped pages the way the
classifier does, and the figures the README quotes are what `aggregator classify agree` prints."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aggregator.classify.pageset import examples_of, load_page_set
from aggregator.classify.siteeval import score_agreement
from aggregator.cli import app
from aggregator.config.taxonomy import Taxonomy, load_taxonomy
from aggregator.dedupe.evaluate import Judgement, load_judgements, score_judgements
from aggregator.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]
PAGES = ROOT / "tests" / "eval" / "real" / "pages.jsonl"
FOLDER = ROOT / "tests" / "eval" / "agreement"
FILES = sorted(FOLDER.glob("?-?.jsonl"))
RECORDED = FOLDER / "agreement.json"
runner = CliRunner()


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return load_taxonomy(ROOT / "taxonomy.yaml")


@pytest.fixture(scope="module")
def shipped(taxonomy: Taxonomy) -> dict[str, object]:
    return {page.record.url: page.record for page in load_page_set(PAGES, taxonomy)}


def test_each_sample_is_labelled_by_two_labellers_from_the_shipped_pages(taxonomy, shipped) -> None:
    assert [f.stem for f in FILES] == ["A-1", "A-2", "B-1", "B-2"]
    urls = {}
    for path in FILES:
        records = [page.record for page in load_page_set(path, taxonomy)]  # the labels are valid ids
        assert len(records) == 150
        for record in records:  # the page as the shipped set holds it; only the labels are the labeller's
            assert (record.title, record.text, record.site) == (
                shipped[record.url].title,
                shipped[record.url].text,
                shipped[record.url].site,
            )
        urls.setdefault(path.stem[0], []).append([r.url for r in records])
    assert urls["A"][0] == urls["A"][1] and urls["B"][0] == urls["B"][1]
    assert not set(urls["A"][0]) & set(urls["B"][0])


def test_a_file_agrees_with_itself_exactly(taxonomy) -> None:
    examples = examples_of(load_page_set(FILES[0], taxonomy))
    figures = score_agreement(examples, examples, taxonomy, "itself").figures()
    assert set(figures.values()) == {1.0}


def test_one_theme_changed_is_counted_as_a_miss_and_a_false_label(taxonomy) -> None:
    examples = examples_of(load_page_set(FILES[0], taxonomy))[:20]
    on_topic = next(n for n, e in enumerate(examples) if e.themes and "kindness" not in e.themes)
    changed = list(examples)
    changed[on_topic] = dataclasses.replace(examples[on_topic], themes=("kindness",))
    report = score_agreement(examples, changed, taxonomy, "one changed")
    gold = sum(len(e.themes) for e in examples)
    kept = gold - len(examples[on_topic].themes)
    assert report.themes.micro_f1 == pytest.approx(2 * kept / (2 * kept + 1 + len(examples[on_topic].themes)))
    assert report.type_accuracy == 1.0 and report.audiences.micro_f1 == 1.0


@pytest.mark.parametrize(
    ("name", "args"),
    [
        *((path.stem, [str(path)]) for path in FILES),
        ("A-2 against A-1", [str(FOLDER / "A-2.jsonl"), "--against", str(FOLDER / "A-1.jsonl")]),
        ("B-2 against B-1", [str(FOLDER / "B-2.jsonl"), "--against", str(FOLDER / "B-1.jsonl")]),
    ],
)
def test_classify_agree_prints_the_recorded_figures(name: str, args: list[str]) -> None:
    result = runner.invoke(app, ["classify", "agree", *args, "--json"])
    assert result.exit_code == 0, result.output
    figures = {k: round(v, 3) for k, v in json.loads(result.output)["figures"].items()}
    recorded = json.loads(RECORDED.read_text(encoding="utf-8"))
    if os.environ.get("AGGREGATOR_REGEN_GOLDEN"):
        recorded["figures"][name] = figures
        RECORDED.write_text(json.dumps(recorded, indent=1) + "\n", encoding="utf-8")
    assert figures == recorded["figures"][name]


# --- the same resource? two judges' pairs ---------------------------------------------------------------------

JUDGED = [FOLDER / "pairs-1.jsonl", FOLDER / "pairs-2.jsonl"]


def test_the_judged_pairs_are_pages_of_the_set_judged_once(shipped) -> None:
    first, second = (load_judgements(path) for path in JUDGED)
    assert len(first) == len(second) == 189
    assert [j.pair for j in first] == [j.pair for j in second]
    assert all(j.pair <= shipped.keys() for j in first)


def test_score_judgements_counts_on_the_judged_pairs_only() -> None:
    pairs = [frozenset((f"u{n}", f"v{n}")) for n in range(4)]
    judged = [
        Judgement(pairs[0], True),
        Judgement(pairs[1], True),
        Judgement(pairs[2], False),
        Judgement(pairs[3], False),
    ]
    truth = {pairs[0], pairs[2]}.__contains__
    scores = score_judgements(judged, truth)
    assert (scores.tp, scores.fp, scores.fn) == (1, 1, 1)


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        ('{"a": "https://x.example/1", "b": "https://y.example/2"}', "not a judged pair"),
        ('{"a": "https://x.example/1", "b": "https://x.example/1", "same": true}', "two different urls"),
        ('{"a": "https://x.example/1", "b": "https://y.example/2", "same": "yes"}', "'same' true or false"),
        ("not json", "not a judged pair"),
    ],
)
def test_a_bad_judged_line_is_refused_with_its_line(tmp_path: Path, line: str, problem: str) -> None:
    path = tmp_path / "pairs.jsonl"
    path.write_text('{"a": "https://x.example/0", "b": "https://y.example/0", "same": false}\n' + line + "\n")
    with pytest.raises(ConfigError) as caught:
        load_judgements(path)
    assert caught.value.line == 2 and problem in str(caught.value)


@pytest.mark.parametrize(
    ("name", "args", "recorded_line"),
    [
        ("pairs-1", [str(JUDGED[0])], "against the dup_groups"),
        ("pairs-2", [str(JUDGED[1])], "against the dup_groups"),
        ("pairs-2 against pairs-1", [str(JUDGED[1]), "--against", str(JUDGED[0])], "pairs-1.jsonl ("),
    ],
)
def test_dedupe_agree_prints_the_recorded_figures(name: str, args: list[str], recorded_line: str) -> None:
    result = runner.invoke(app, ["dedupe", "agree", *args])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    judged = next(line for line in lines if recorded_line in line).split(": ", 1)[1]
    assert "the engine against" in result.output
    recorded = json.loads(RECORDED.read_text(encoding="utf-8"))
    if os.environ.get("AGGREGATOR_REGEN_GOLDEN"):
        recorded["pairs"][name] = judged
        RECORDED.write_text(json.dumps(recorded, indent=1) + "\n", encoding="utf-8")
    assert judged == recorded["pairs"][name]


def test_files_with_nothing_in_common_are_refused_in_words(tmp_path: Path) -> None:
    page = json.loads(FILES[0].read_text(encoding="utf-8").splitlines()[0])
    elsewhere = tmp_path / "elsewhere.jsonl"
    elsewhere.write_text(json.dumps({**page, "url": "https://nowhere.example/page"}) + "\n", encoding="utf-8")
    # the command line prints a ConfigError as "error: ... fix: ..." and exits with 2 (cli/base.py main)
    result = runner.invoke(app, ["classify", "agree", str(elsewhere)])
    assert isinstance(result.exception, ConfigError) and "no page is in both files" in str(result.exception)
    pairs = tmp_path / "pairs.jsonl"
    pairs.write_text('{"a": "https://x.example/1", "b": "https://y.example/2", "same": true}\n', encoding="utf-8")
    result = runner.invoke(app, ["dedupe", "agree", str(pairs)])
    assert isinstance(result.exception, ConfigError) and "no judged pair is of two pages" in str(result.exception)
    one = tmp_path / "one.jsonl"
    one.write_text(JUDGED[0].read_text(encoding="utf-8").splitlines()[0] + "\n", encoding="utf-8")
    other = tmp_path / "other.jsonl"
    other.write_text(JUDGED[0].read_text(encoding="utf-8").splitlines()[1] + "\n", encoding="utf-8")
    result = runner.invoke(app, ["dedupe", "agree", str(one), "--against", str(other)])
    assert isinstance(result.exception, ConfigError) and "judge no pair in common" in str(result.exception)
