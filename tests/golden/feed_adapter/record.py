"""Record (or check) what the feed adapter reads from every corpus and fixture feed, as one digest per file.

Run `python tests/golden/feed_adapter/record.py` to rewrite digests.json; the test compares against it.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT))

from aggregator.errors import ParseError  # noqa: E402
from aggregator.ingest.adapters.feed import parse_feed  # noqa: E402

CORPUS = Path(os.environ.get("AGGREGATOR_CORPUS_DIR", ROOT.parent / "shared" / "corpus"))  # as tests/conftest.py
SITES = ROOT / "tests" / "sites"
DIGESTS = Path(__file__).with_name("digests.json")


def feed_files() -> list[tuple[str, Path]]:
    """Every corpus feed input (as test_feed_corpus chooses them) and every fixture feed, keyed by name."""
    sys.path.insert(0, str(ROOT / "tests"))
    from test_feed_corpus import feed_inputs  # noqa: PLC0415

    files = [("corpus/" + p.relative_to(CORPUS).as_posix(), p) for p in feed_inputs(CORPUS)]
    for p in sorted(SITES.rglob("*")):
        if p.is_file() and any(tag in p.read_bytes()[:400] for tag in (b"<rss", b"<feed", b"<rdf:RDF")):
            files.append(("sites/" + p.relative_to(SITES).as_posix(), p))
    return files


def reading(path: Path, base: str) -> object:
    """The entries as plain JSON values, or the ParseError's message."""
    try:
        entries = parse_feed(path.read_bytes(), base)
    except ParseError as error:
        return {"error": str(error)}
    return [json.loads(json.dumps(plain(e), default=str)) for e in entries]


_TAG = re.compile(r'<([a-z0-9]+)((?: [a-z-]+="[^"]*")+)>')


def sorted_attributes(markup: str) -> str:
    """Markup with each tag's attributes in name order: a parser may keep the source's order or sort them."""

    def sort(match: re.Match[str]) -> str:
        attributes = sorted(re.findall(r' [a-z-]+="[^"]*"', match[2]))
        return f"<{match[1]}{''.join(attributes)}>"

    return _TAG.sub(sort, markup)


def plain(value: object) -> object:
    """A RawEntry (or any nested value of one) as JSON-ready values."""
    if dataclasses.is_dataclass(value):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if hasattr(value, "items"):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | frozenset | set):
        return [plain(v) for v in value]
    return sorted_attributes(value) if isinstance(value, str) and "<" in value else value


def digests() -> dict[str, str]:
    out = {}
    for name, path in feed_files():
        value = reading(path, "https://example.org/" + name)
        out[name] = hashlib.sha256(json.dumps(value, sort_keys=True).encode()).hexdigest()[:16]
    return out


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--dump":
        dump = Path(sys.argv[2])
        dump.mkdir(parents=True, exist_ok=True)
        for name, path in feed_files():
            value = reading(path, "https://example.org/" + name)
            (dump / (name.replace("/", "__") + ".json")).write_text(json.dumps(value, indent=1, sort_keys=True))
    else:
        DIGESTS.write_text(json.dumps(digests(), indent=0, sort_keys=True) + "\n")
