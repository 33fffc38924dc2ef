"""`aggregator inspect page`: what the metadata adapter and the classifier read from a saved page."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from aggregator.cli import app, main

runner = CliRunner()
EPRINT = Path(__file__).parent / "data" / "metadata" / "eprints-item.html"
EPRINT_URL = "https://eprints.lse.ac.uk/121847/"


def test_inspect_page_prints_the_metadata_as_json() -> None:
    result = runner.invoke(app, ["inspect", "page", str(EPRINT), "--url", EPRINT_URL, "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["published"] == "2024-01-22T00:00:00+00:00"
    assert report["authors"] == ["Bailey, Suzie", "O'Connor, Niamh", "Müller, Jürgen"]
    assert report["doi"] == "10.1136/leader-2023-000842"
    assert report["type_hint"] == "research" and report["type"] == "research"
    assert report["title"] and report["description"].startswith("Background:")
    assert {label["id"] for label in report["labels"]} >= {"compassionate-leadership"}
    assert all(label["reasons"] for label in report["labels"])


def test_inspect_page_as_text_shows_page_markup_literally(tmp_path: Path) -> None:
    page = tmp_path / "page.html"
    page.write_text("<html><head><title>[red]Kindness[/red] &amp; care</title></head><body><p>x</p></body></html>")
    result = runner.invoke(app, ["inspect", "page", str(page), "--url", "https://example.org/a"])
    assert result.exit_code == 0, result.output
    assert "title: [red]Kindness[/red] & care" in result.output


def test_inspect_page_refuses_what_is_not_html(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    pdf = tmp_path / "paper.pdf"
    pdf.write_bytes(b"%PDF-1.4\n")
    monkeypatch.setattr("sys.argv", ["aggregator", "inspect", "page", str(pdf), "--url", "https://example.org/p"])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    assert "not an HTML page" in capsys.readouterr().err
