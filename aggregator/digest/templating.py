"""The mail's templates and finishing: one Jinja2 environment for templates/email, CSS inlined into the HTML
part (its @media rules kept), the plain-text part wrapped at 72 columns with tidy line ends."""

from __future__ import annotations

import textwrap
from functools import lru_cache
from pathlib import Path

import css_inline
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

TEMPLATES_DIR = Path(__file__).resolve().parents[1] / "templates" / "email"
TEXT_WIDTH = 72


def mail_templates() -> Environment:
    """The environment of templates/email (HTML autoescaped, a missing variable an error)."""
    return _environment(str(TEMPLATES_DIR))


def finish_html(html: str) -> str:
    """The HTML part with its CSS inlined, as mail clients that drop <style> need."""
    return _inliner().inline(html)


def _wrap(text: str, indent: str = "") -> str:
    return textwrap.fill(
        text,
        TEXT_WIDTH,
        initial_indent=indent,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    )


def finish_text(text: str) -> str:
    """Plain text with \\n line ends, no trailing spaces and at most one blank line in a row."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip("\n") + "\n"


@lru_cache(maxsize=4)
def _environment(templates_dir: str) -> Environment:
    env = Environment(
        loader=FileSystemLoader(templates_dir),
        autoescape=select_autoescape(["html.j2", "html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["wrap"] = _wrap
    return env


@lru_cache(maxsize=1)
def _inliner() -> css_inline.CSSInliner:
    # @media rules (dark mode, narrow screens) stay in a <style> for the clients that honour them
    return css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)
