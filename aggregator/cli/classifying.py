"""`aggregator classify ...` and `aggregator dedupe ...`: label resources, evaluate, retrain, de-duplicate."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:
    from aggregator.settings import Settings

from aggregator.cli.base import app, app_ctx, console

classify_app = typer.Typer(help="Label resources by audience and theme; evaluate and retrain the classifier.")
dedupe_app = typer.Typer(help="Merge the same resource listed by several sources; evaluate the matching.")
app.add_typer(classify_app, name="classify")
app.add_typer(dedupe_app, name="dedupe")
DEFAULT_DEDUPE_SET = Path("..") / "shared" / "corpus" / "dedupe" / "bib-respiratory"


@classify_app.callback(invoke_without_command=True)
def classify(
    ctx: typer.Context,
    everything: bool = typer.Option(False, "--all", help="Label every resource again, not only new or changed ones."),
) -> None:
    """Label pending resources that are new or changed since they were last labelled."""
    if ctx.invoked_subcommand is not None:
        return
    from aggregator.classify.label import classify_resources
    from aggregator.ingest.run import utcnow
    from aggregator.jobs.monthly import build_classifier, source_hints

    settings = app_ctx().settings
    hints = source_hints(app_ctx().sources_file().sources)
    engine = app_ctx().engine
    report = classify_resources(
        engine,
        build_classifier(settings, engine, hints, taxonomy=app_ctx().taxonomy()),
        hints,
        utcnow(),
        everything=everything,
    )
    console.print(f"labelled {report.classified} resources ({report.off_topic} off-topic)")


@classify_app.command("eval")
def classify_eval(
    folds: int = typer.Option(5, min=2, max=20, help="Folds of the cross-validation."),
    labelled_file: Path | None = typer.Option(
        None,
        "--set",
        help="Score this JSON Lines file of labelled pages (the tests/eval/README.md format) with a "
        "model trained on the shipped sets and editors' corrections, instead of cross-validating.",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """Score the classifier: by site on the real pages, or on any labelled file; P/R/F1 with 95% intervals."""
    import json

    from aggregator.classify.evaluate import evaluate_both, format_report
    from aggregator.classify.labelled import load_labelled
    from aggregator.classify.pageset import examples_of, load_page_set
    from aggregator.classify.siteeval import evaluate_by_site, report_as_dict, score_file

    settings = app_ctx().settings
    taxonomy = app_ctx().taxonomy()
    old = load_labelled(settings.labelled_set_path)
    pages = examples_of(load_page_set(settings.page_set_path, taxonomy))
    if labelled_file is not None:
        scored = examples_of(load_page_set(labelled_file, taxonomy))
        shipped = [*(e.as_training() for e in (*old, *pages)), *_corrections(settings)]
        *reports, left_out = score_file(scored, shipped, taxonomy, str(labelled_file), cache_dir=settings.model_dir)
        note = (
            f"trained on {len(shipped) - left_out} shipped and corrected resources "
            f"({left_out} left out: their url is in {labelled_file})"
        )
    else:
        reports = [
            *evaluate_by_site(pages, taxonomy, folds=folds, also_train=old),
            *evaluate_both(old, taxonomy, folds=folds, also_train=pages),
        ]
        note = (
            f"{settings.page_set_path} cross-validated by site (the {len(old)} resources of "
            f"{settings.labelled_set_path} join each fold's training), then {settings.labelled_set_path} cross-validated (the pages join each fold's "
            "training, as the shipped model is trained on both)"
        )
    if as_json:
        console.print_json(json.dumps({"note": note, "reports": [report_as_dict(r) for r in reports]}))
        return
    console.print(note, highlight=False)
    for report in reports:
        console.print(format_report(report), highlight=False, soft_wrap=True)


@classify_app.command("agree")
def classify_agree(
    labelled_file: Path = typer.Argument(..., help="A second labeller's JSON Lines file of pages (the eval format)."),
    reference: Path | None = typer.Option(
        None, "--against", help="The file to agree with; default the shipped real pages."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """Score one labeller's labels against another's on the pages both label, as `classify eval` scores the
    classifier: how far the labelling guide reproduces."""
    import json

    from aggregator.classify.evaluate import format_report
    from aggregator.classify.pageset import examples_of, load_page_set
    from aggregator.classify.siteeval import report_as_dict, score_agreement

    taxonomy = app_ctx().taxonomy()
    reference = reference or app_ctx().settings.page_set_path
    report = score_agreement(
        examples_of(load_page_set(reference, taxonomy)),
        examples_of(load_page_set(labelled_file, taxonomy)),
        taxonomy,
        f"{labelled_file} against {reference}",
    )
    if as_json:
        console.print_json(json.dumps(report_as_dict(report)))
    else:
        console.print(format_report(report), highlight=False, soft_wrap=True)


def _corrections(settings: Settings) -> list:
    from aggregator.classify.label import corrected_examples
    from aggregator.jobs.monthly import source_hints

    return corrected_examples(app_ctx().engine, source_hints(app_ctx().sources_file().sources))


@classify_app.command("retrain")
def classify_retrain() -> None:
    """Train the model now on the shipped labelled sets plus every editor correction (labelling does this
    by itself on first use and whenever the sets, the taxonomy or the corrections change)."""
    from aggregator.classify.trained import load_or_train, model_path, shipped_examples

    settings = app_ctx().settings
    taxonomy = app_ctx().taxonomy()
    seed = shipped_examples(settings.labelled_set_path, settings.page_set_path, taxonomy)
    corrections = _corrections(settings)
    training = [*seed, *corrections]
    load_or_train(training, taxonomy, settings.model_dir, force=True)
    path = model_path(settings.model_dir, training, taxonomy)
    console.print(f"trained on {len(seed)} labelled resources and {len(corrections)} corrected ones; saved {path}")


@dedupe_app.callback(invoke_without_command=True)
def dedupe(
    ctx: typer.Context,
    full: bool = typer.Option(
        False, "--full", help="Compare every stored resource again, not only those new or changed since the last pass."
    ),
) -> None:
    """Merge resources that several sources list (DOI, canonical URL, near-identical title or text)."""
    if ctx.invoked_subcommand is not None:
        return
    from aggregator.dedupe.merge import dedupe_resources
    from aggregator.ingest.run import utcnow

    report = dedupe_resources(app_ctx().engine, utcnow(), full=full)
    console.print(
        f"merged {report.merged} duplicates; compared {report.compared} new or changed resources ({report.pairs} pairs)"
    )


@dedupe_app.command("eval")
def dedupe_eval(
    folder: Path | None = typer.Argument(None, help="A bib-dedupe style folder; default the shared corpus."),
    labelled_file: Path | None = typer.Option(
        None,
        "--set",
        help="Score the dup_group pairs of this JSON Lines page set instead (name_group pairs must not merge).",
    ),
) -> None:
    """Precision and recall of duplicate pairs on a labelled set of real records or pages."""
    from aggregator.dedupe.evaluate import evaluate_pages, evaluate_set, load_bib_set

    if labelled_file is not None:
        from aggregator.classify.pageset import load_page_set

        pages = [p.record for p in load_page_set(labelled_file, app_ctx().taxonomy())]
        result = evaluate_pages(pages)
        console.print(f"{len(pages)} pages: {result.describe()}", highlight=False, soft_wrap=True)
        return
    labelled = load_bib_set(folder or DEFAULT_DEDUPE_SET)
    scores = evaluate_set(labelled)
    console.print(f"{len(labelled.records)} records, {len(labelled.gold_groups)} gold groups: {scores.describe()}")


@dedupe_app.command("agree")
def dedupe_agree(
    judged_file: Path = typer.Argument(
        ..., help='A judge\'s JSON Lines file of pairs: {"a": url, "b": url, "same": true}.'
    ),
    other: Path | None = typer.Option(None, "--against", help="Another judge's file of the same pairs."),
) -> None:
    """Score one judge's pairs against the real pages' dup_groups (or another judge), and the engine against
    the judge: how far "the same resource" reproduces, and how far the engine is from a judge."""
    from aggregator.classify.pageset import load_page_set
    from aggregator.dedupe.evaluate import Judgement, load_judgements, page_pairs, score_judgements
    from aggregator.errors import ConfigError

    judged = load_judgements(judged_file)
    page_set = app_ctx().settings.page_set_path
    pages = [p.record for p in load_page_set(page_set, app_ctx().taxonomy())]
    known = {p.url for p in pages}
    judgements = [j for j in judged if j.pair <= known]
    if not judgements:
        raise ConfigError(
            f"{judged_file}: no judged pair is of two pages of {page_set}",
            hint="judge pairs of the real pages' urls, as tests/eval/agreement/pairs-1.jsonl does",
        )
    predicted, gold = page_pairs(pages)
    judge = {j.pair: j.same for j in judgements}
    engine = [Judgement(j.pair, j.pair in predicted) for j in judgements]
    lines = [f"{len(judgements)} pairs of the real pages judged in {judged_file}"]
    if len(judgements) < len(judged):
        lines[0] += f" ({len(judged) - len(judgements)} left out: a page not in {page_set})"
    if other is not None:
        second = {j.pair: j.same for j in load_judgements(other)}
        both = [j for j in judgements if j.pair in second]
        if not both:
            raise ConfigError(
                f"{judged_file} and {other} judge no pair in common", hint="give two judges' files of the same pairs"
            )
        lines.append(
            f"  {judged_file} against {other} ({len(both)} pairs): {score_judgements(both, second.__getitem__).describe()}"
        )
    else:
        lines.append(
            f"  {judged_file} against the dup_groups: {score_judgements(judgements, gold.__contains__).describe()}"
        )
    lines.append(f"  the engine against {judged_file}: {score_judgements(engine, judge.__getitem__).describe()}")
    lines.append(
        f"  the engine against the dup_groups on these pairs: {score_judgements(engine, gold.__contains__).describe()}"
    )
    console.print("\n".join(lines), highlight=False, soft_wrap=True)
