"""What subscribers read, cleaned of partner noise: "Read more" tails on summaries, tracking parameters on links."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

from courlan.clean import TRACKERS_RE
from w3lib.url import url_query_cleaner

# The one list of tracking parameters: courlan's (AdGuard, ClearURLs and Firefox's query-stripping lists),
# plus HubSpot's and Marketo's markers, which it leaves.
_EXTRA_TRACKERS = re.compile(r"^(?:_hs(?:enc|mi)|__hs\w+|hsctatracking|mkt_tok|_ke)$")

# A summary's tail that only points at the page: "Read more: <title>", "Continue reading →", "[…]", "(more…)".
_MARKER = (
    r"\[\s*(?:\u2026|\.\.\.)\s*\]|\((?:read\s+)?more\s*(?:\u2026|\.\.\.)?\)"
    r"|(?:(?:\u2026|\.\.\.)\s*)?(?:read\s+more|continue\s+reading|read\s+the\s+full\s+(?:post|article|story)"
    r"|keep\s+reading)\b[^.!?\n\[(]{0,200}?"
)
# Markers separated by whitespace, to the end; each space belongs to exactly one place (no backtracking blow-up).
_TAIL = re.compile(rf"(?:\s*(?:{_MARKER}))+\s*$", re.IGNORECASE)
_TRAILING_ELLIPSIS = re.compile(r"\s*(?:\u2026|\.\.\.)$")
# A tail is at most a marker and a title: only the end of a summary is searched, so the work is bounded
# however long (or hostile: thousands of spaces) the text is.
TAIL_WINDOW = 400


def is_tracking_parameter(name: str) -> bool:
    """True for a query parameter that only tells the partner where a click came from (utm_*, fbclid, aff ...)."""
    lowered = name.lower()
    return TRACKERS_RE.search(lowered) is not None or _EXTRA_TRACKERS.match(lowered) is not None


def outgoing_url(url: str) -> str:
    """`url` without tracking parameters; everything else (order, fragment, encoding) as it was."""
    query = urlsplit(url).query
    if not query:
        return url
    trackers = [name for name, _ in parse_qsl(query, keep_blank_values=True) if is_tracking_parameter(name)]
    if not trackers:
        return url
    return url_query_cleaner(url, trackers, remove=True, unique=False, keep_fragments=True)


def clean_summary(text: str) -> str:
    """A summary without the partner's "Read more"/"Continue reading"/"[…]" tail; a sentence cut short keeps
    one ellipsis so the reader knows there is more."""
    text = text.rstrip()
    head, tail = text[:-TAIL_WINDOW], text[-TAIL_WINDOW:]
    cleaned = (head + _TAIL.sub("", tail)).rstrip(" ,;:\u2013\u2014-")
    if cleaned != text and cleaned and cleaned[-1] not in ".!?\u2026":
        cleaned = _TRAILING_ELLIPSIS.sub("", cleaned) + "\u2026"
    return cleaned
