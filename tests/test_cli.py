"""The command line: every command has help text; errors are reported in words with exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.main import get_command
from typer.testing import CliRunner

from aggregator.cli import app, main

runner = CliRunner()


def all_commands(group, prefix: tuple[str, ...] = ()):
    for name, command in group.commands.items():
        yield (*prefix, name), command
        if hasattr(command, "commands"):
            yield from all_commands(command, (*prefix, name))


COMMANDS = list(all_commands(get_command(app)))


def test_the_expected_commands_exist():
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {
        "run",
        "fetch",
        "demo",
        "sources check",
        "sources status",
        "sources export-opml",
        "sources import-opml",
        "db upgrade",
        "resources list",
    } <= names


@pytest.mark.parametrize("path", [p for p, _ in COMMANDS], ids=lambda p: " ".join(p))
def test_every_command_has_help(path):
    command = dict(COMMANDS)[path]
    assert (command.help or "").strip(), f"{' '.join(path)} has no help text"
    result = runner.invoke(app, [*path, "--help"])
    assert result.exit_code == 0 and "Usage" in result.output


def test_sources_check_reports_line_and_fix(tmp_path: Path, monkeypatch, capsys):
    bad = tmp_path / "sources.yaml"
    bad.write_text("sources:\n  - id: a\n    name: A\n    url: file:///etc/passwd\n    adapter: feed\n")
    monkeypatch.setattr("sys.argv", ["aggregator", "sources", "check", "--file", str(bad)])
    with pytest.raises(SystemExit) as exited:
        main()
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert f"{bad}:4" in err and "https://" in err


def test_sources_check_accepts_the_repository_file():
    root = Path(__file__).resolve().parents[1]
    result = runner.invoke(app, ["sources", "check", "--file", str(root / "sources.yaml")])
    assert result.exit_code == 0, result.output
    assert "sources" in result.output


def test_opml_round_trip(tmp_path: Path, monkeypatch):
    from aggregator.config.opml import export_opml, import_opml
    from aggregator.config.sources import load_sources

    root = Path(__file__).resolve().parents[1]
    configs = load_sources(root / "sources.yaml").sources
    data = export_opml(configs)
    feeds = [c for c in configs if c.adapter == "feed"]
    imported = import_opml(data, existing_ids=[]).sources
    assert [i["url"] for i in imported] == [c.url for c in feeds]
    # ids never clash with existing ones
    again = import_opml(data, existing_ids=[i["id"] for i in imported]).sources
    assert not {i["id"] for i in again} & {i["id"] for i in imported}


def test_import_opml_append_refuses_nothing_valid(tmp_path: Path, monkeypatch):
    sources = tmp_path / "sources.yaml"
    sources.write_text("version: 1\nsources:\n  - {id: a, name: A, url: 'https://a.example/feed', adapter: feed}\n")
    opml = tmp_path / "list.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>'
        '<outline text="Kind Feed" type="rss" xmlUrl="https://kind.example/feed"/>'
        '<outline text="Bad" type="rss" xmlUrl="file:///etc/passwd"/></body></opml>'
    )
    monkeypatch.setenv("AGGREGATOR_SOURCES_FILE", str(sources))
    result = runner.invoke(app, ["sources", "import-opml", str(opml), "--append"])
    assert result.exit_code == 0, result.output
    from aggregator.config.sources import load_sources

    loaded = load_sources(sources)
    assert [s.url for s in loaded.sources] == ["https://a.example/feed", "https://kind.example/feed"]
    assert loaded.sources[1].id == "kind-feed"


@pytest.mark.parametrize(
    "url, says",
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is the non-public address 169.254.169.254"),
        ("http://2852039166/feed", "2852039166 resolves to the non-public address 169.254.169.254"),
        ("http://[::ffff:169.254.169.254]/feed", "non-public address ::ffff:169.254.169.254"),
        ("http://127.0.0.1:8000/feed", "non-public address 127.0.0.1"),
        ("http://10.0.0.5/feed", "non-public address 10.0.0.5"),
        ("http://localhost/feed", "localhost resolves to the non-public address 127.0.0.1"),
        ("file:///etc/passwd", "not an http(s) address"),
    ],
)
def test_import_opml_refuses_non_public_addresses_with_the_reason(tmp_path: Path, monkeypatch, url, says):
    sources = tmp_path / "sources.yaml"
    sources.write_text("version: 1\nsources:\n  - {id: a, name: A, url: 'https://a.example/feed', adapter: feed}\n")
    opml = tmp_path / "list.opml"
    opml.write_text(
        '<?xml version="1.0"?><opml version="2.0"><head><title>x</title></head><body>'
        '<outline text="Kind Feed" type="rss" xmlUrl="https://kind.example/feed"/>'
        f'<outline text="Metadata" type="rss" xmlUrl="{url}"/></body></opml>'
    )
    monkeypatch.setenv("AGGREGATOR_SOURCES_FILE", str(sources))
    result = runner.invoke(app, ["sources", "import-opml", str(opml), "--append"])
    assert result.exit_code == 0, result.output
    assert "refused" in result.output and says in " ".join(result.output.split())
    from aggregator.config.sources import load_sources

    assert [s.url for s in load_sources(sources).sources] == ["https://a.example/feed", "https://kind.example/feed"]
