"""Writing published files atomically, and the Jinja2 environment of the public pages (feeds index, archive)."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from aggregator.publish.feeds.render import event_when, plain, safe_url
from aggregator.text.clean import clean_summary, outgoing_url

TEMPLATES = Path(__file__).resolve().parents[2] / "templates"


def write_atomically(path: Path, data: bytes) -> bool:
    """Write `data` to `path` through a temporary file renamed over it, so that a web server or a reader
    never sees half a file. Leaves an identical file alone (its mtime is its Last-Modified); returns
    whether the file was written."""
    if path.is_file() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, 0o644)  # mkstemp makes 0600; a static web server must read it
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return True


def page_environment() -> Environment:
    """Jinja2 for the public pages: autoescaped, strict about missing values, with `http_url` (only
    absolute http(s) links survive: autoescaping does not stop a `javascript:` href), `plain` and `event_when`."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html", "xml"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["http_url"] = lambda url: outgoing_url(url) if safe_url(url) else None  # and no tracking
    env.filters["summary"] = clean_summary  # without the partner's "Read more" tail
    env.filters["plain"] = plain  # fetched text: one line, no control characters (escaping is autoescape's)
    env.globals["event_when"] = event_when
    return env
