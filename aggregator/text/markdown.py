"""Editors' Markdown (the issue's intro) as safe HTML, through the project's nh3 allow-list, and as plain text."""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.token import Token

from aggregator.text.sanitize import clean_html, strip_controls

# CommonMark without raw HTML (typed tags show as text) or images (a digest carries no remote pictures).
_MARKDOWN = MarkdownIt("commonmark", {"html": False}).disable("image")


def markdown_to_html(source: str) -> str:
    """HTML of `source`, cleaned by the same allow-list as every fetched fragment (links: http(s)/mailto)."""
    return "\n".join(markdown_blocks(source))


def markdown_blocks(source: str) -> list[str]:
    """The cleaned HTML of each top-level block of `source` (a paragraph, a list, a heading...), in order."""
    tokens = _MARKDOWN.parse(strip_controls(source))
    blocks, start, depth = [], 0, 0
    for index, token in enumerate(tokens):
        depth += token.nesting
        if depth == 0:
            html = clean_html(_MARKDOWN.renderer.render(tokens[start : index + 1], _MARKDOWN.options, {})).strip()
            if html:
                blocks.append(html)
            start = index + 1
    return blocks


def markdown_to_paragraphs(source: str) -> list[str]:
    """The plain-text paragraphs of `source` for a text/plain part: emphasis dropped, a link as "text (URL)",
    a list item as "- item"."""
    paragraphs: list[str] = []
    prefix = ""
    for token in _MARKDOWN.parse(strip_controls(source)):
        if token.type in ("bullet_list_open", "ordered_list_open"):
            prefix = "- "
        elif token.type in ("bullet_list_close", "ordered_list_close"):
            prefix = ""
        elif token.type == "inline":
            text = _inline_text(token.children or [])
            if text:
                paragraphs.append(prefix + text)
        elif token.type in ("code_block", "fence") and token.content.strip():
            paragraphs.append(token.content.strip())
    return paragraphs


def _inline_text(children: list[Token]) -> str:
    parts: list[str] = []
    href = None
    link_start = 0
    for child in children:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif child.type == "link_open":
            href, link_start = str(child.attrs.get("href", "")), len(parts)
        elif child.type == "link_close" and href:
            label = "".join(parts[link_start:]).strip()
            if href not in (label, f"mailto:{label}"):
                parts.append(f" ({href})")
            href = None
    return " ".join("".join(parts).split())
