"""`aggregator inspect page FILE.html --url URL`: what the metadata adapter and the classifier make of a saved page;
`aggregator inspect types --set FILE`: the types they give a labelled set of saved pages, scored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape

from aggregator.cli.base import app, app_ctx, console

inspect_app = typer.Typer(
    help="Show what the pipeline reads from saved material, without a database.", no_args_is_help=True
)
app.add_typer(inspect_app, name="inspect")
DEFAULT_HTML_DIR = Path("..") / "shared" / "corpus" / "html"


@inspect_app.command("page")
def inspect_page(
    file: Path = typer.Argument(..., exists=True, dir_okay=False, readable=True, help="A saved HTML page."),
    url: str = typer.Option(
        ...,
        "--url",
        help="The address the page was fetched from (for relative links, dates in the URL and the site's name).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a list."),
) -> None:
    """Title, date, authors, description, type and DOI the metadata adapter reads from a page, and its labels."""
    from aggregator.classify.pagetypes import input_of_metadata
    from aggregator.ingest.adapters.metadata import extract_metadata
    from aggregator.jobs.monthly import build_classifier

    meta = extract_metadata(file.read_bytes(), url)
    labelled = build_classifier(app_ctx().settings, taxonomy=app_ctx().taxonomy()).classify(
        input_of_metadata(meta, url)
    )
    report: dict[str, Any] = {
        "url": meta.url or url,
        "title": meta.title,
        "published": _iso(meta.published),
        "updated": _iso(meta.updated),
        "authors": list(meta.authors),
        "description": meta.description,
        "type_hint": _value(meta.type_hint),
        "doi": meta.doi,
        "site_name": meta.site_name,
        "tags": list(meta.tags),
        "pdf_url": meta.pdf_url,
        "type": labelled.type.value,
        "off_topic": labelled.off_topic,
        "labels": [
            {
                "kind": label.kind,
                "id": label.id,
                "confidence": label.confidence,
                "reasons": [reason.detail for reason in label.reasons],
            }
            for label in labelled.labels
        ],
    }
    if as_json:
        typer.echo(json.dumps(report, ensure_ascii=False, indent=2))
        return
    for key, value in report.items():
        if key == "labels":
            value = ", ".join(f"{label['kind']}:{label['id']} ({label['confidence']:.2f})" for label in value)
        elif isinstance(value, list):
            value = "; ".join(value)
        # the page is untrusted text: rich markup in it is shown, never interpreted
        console.print(f"[bold]{key}[/bold]: {escape(str(value if value not in (None, '') else '-'))}")


@inspect_app.command("types")
def inspect_types(
    labelled_file: Path = typer.Option(
        ..., "--set", exists=True, dir_okay=False, help="A JSON Lines set of saved pages and their types."
    ),
    html_dir: Path = typer.Option(
        DEFAULT_HTML_DIR, "--pages", file_okay=False, help="The folder the set's `file` paths are under."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the figures as JSON."),
) -> None:
    """Score the type `inspect page` gives each page of a labelled set: accuracy, the type hint's alone, misses."""
    from aggregator.classify.pagetypes import format_scores, load_type_set, score_page_types, scores_as_dict
    from aggregator.jobs.monthly import build_classifier

    classifier = build_classifier(app_ctx().settings, taxonomy=app_ctx().taxonomy())
    scores = score_page_types(load_type_set(labelled_file), html_dir, classifier)
    if as_json:
        typer.echo(json.dumps(scores_as_dict(scores), ensure_ascii=False, indent=2))
        return
    console.print(format_scores(scores), highlight=False, markup=False, soft_wrap=True)


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _value(kind: Any) -> str | None:
    return kind.value if kind is not None else None
