"""Inferring what kind of resource an entry is (event, case study, report, research, toolkit, policy, video, news)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from aggregator.config.sources import SourceConfig
from aggregator.model import RawEntry, ResourceType
from aggregator.text.sanitize import html_to_text

T = ResourceType
# Patterns are lower-case and matched against lower-cased text.

_DOI = re.compile(r"\b(?:doi:?\s*|doi\.org/)?10\.\d{4,9}/\S+")
_VIDEO_HOSTS = ("youtube.com", "youtu.be", "vimeo.com")
_TIME = re.compile(r"\b\d{1,2}(?:[:.]\d{2})\s*(?:am|pm)?\b|\b\d{1,2}\s*(?:am|pm)\b")


_INVITE = re.compile(
    r"\b(?:join us|join (?:the|our)|book (?:your |a )?(?:free )?(?:place|ticket)s?|register|registration|sign up"
    r"|booking|places are|will be held|will take place|takes place|free to attend|all welcome)\b"
)
_EVENT_STRONG = re.compile(
    r"\b(?:seminars?|webinars?|conference|masterclass|symposium|workshops?|summit"
    r"|lecture|festival|launch event|meet-?up)\b"
)
_EVENT_WEAK = re.compile(r"\b(?:conversations?|sessions?|events?|gathering|circles?|rounds|meeting)\b")
_PLACE = r"(?:trust|unit|ward|team|practice|network|hospital|hospice|service|department|care home|board)"

# Cues in the order they win: a seminar about a toolkit is an event, a paper proposing a toolkit is research.
# Strong cues are looked for in the title, then the summary; only then the weak ones (report, news).
# News cues count in the title only: "appointed" in a summary is rarely what the resource is.
_NEWS_TITLE = re.compile(
    r"\b(?:vacanc(?:y|ies)|we are recruiting|raises? £?[\d,]+|wins?|won|awards?|appointed|signs? up to"
    r"|announces?|announced|meet our|write-?up|notes from|what we heard)\b"
)
_STRONG: tuple[tuple[ResourceType, re.Pattern[str]], ...] = (
    (
        T.CASE_STUDY,
        re.compile(
            r"\bcase stud(?:y|ies)\b|\bwhat we learned\b|\blessons learned\b"
            r"|\b(?:shares?|describes?|explains?) how (?:\w+ ){0,4}?"
            + _PLACE
            + r"|\b(?:one|a|an|our|her|his|their) (?:[\w'-]+ ){0,3}?"
            + _PLACE
            + r"s? (?:has )?(?:introduced|launched|relaunched"
            r"|set up|redesigned|paired|invited|worked with|moved|rewrote|changed|used|made|piloted)\b"
        ),
    ),
    (T.VIDEO, re.compile(r"\b(?:video|watch|film|animation|recording|podcast|listen to|episode)\b")),
    (
        T.RESEARCH,
        re.compile(
            r"\b(?:journal|peer[- ]reviewed|systematic review|scoping review|meta-analysis|realist review"
            r"|this (?:paper|article|study)|we (?:conducted|interviewed|surveyed|analysed|analyzed|examine|explore|argue|find|found|report)"
            r"|working paper|preprint|participants|methods?:|results:|conclusions?:|cross-sectional|qualitative study)\b"
        ),
    ),
    (
        T.POLICY,
        re.compile(
            r"\b(?:policy paper|white paper|green paper|consultation|government response|statutory guidance"
            r"|legislation|regulations|bill|act 20\d\d|strategy|the government (?:has|will|is)|secretary of state"
            r"|minister|mandate|long[- ]term (?:workforce )?plan|national policy|charter|sets out the (?:government|nhs|national))\b"
        ),
    ),
    (
        T.TOOLKIT,
        re.compile(
            r"\b(?:toolkits?|tools?|guide|guides|handbook|workbook|templates?|checklists?|resource pack|resources for"
            r"|how to|step[- ]by[- ]step|e-?learning|practical|cards|activities|facilitator|guidance|framework"
            r"|introduction to|explained|explainer|reading list|prompts|syllabus|starter pack)\b"
        ),
    ),
)
_WEAK: tuple[tuple[ResourceType, re.Pattern[str]], ...] = (
    (
        T.REPORT,
        re.compile(
            r"\b(?:report|reports|review|inquiry|findings|survey|results|annual|evaluation|insights|analysis"
            r"|data|statistics|briefing|evidence|looking back|told us)\b"
        ),
    ),
)
SUMMARY_WINDOW = 600
# Section names only (a path segment before the last), so a slug that merely contains a word never counts.
_PATH_TYPES = {
    **dict.fromkeys(("events", "event", "webinars", "webinar", "whats-on", "seminars"), T.EVENT),
    **dict.fromkeys(("case-studies", "case-study", "casestudies", "case_studies"), T.CASE_STUDY),
    **dict.fromkeys(("news", "blog", "blogs", "press-releases", "press", "opinion", "comment", "newsroom"), T.NEWS),
    **dict.fromkeys(("videos", "video", "podcasts", "podcast", "watch"), T.VIDEO),
    **dict.fromkeys(("toolkits", "toolkit", "tools"), T.TOOLKIT),
    # journal platforms and repositories (OJS, HighWire, PMC, EPrints); "articles" only as `_is_identifier` reads it
    **dict.fromkeys(("journals", "doi", "abs", "abstract", "eprint", "eprints"), T.RESEARCH),
}
# "/articles/" is a journal platform's section when an identifier follows it (PMC's /articles/PMC8151650, BMC's
# and Frontiers' /articles/10.1186/..., Nature's /articles/s41586-..., OJS's /articles/123) or a repository's
# item type (figshare's /articles/journal_contribution/...); a CMS's "articles" section, followed by a slug of
# words (/articles/ways-to-thank-healthcare-workers), is its news and features, and names no type. On the
# labelled pages, "/articles/" alone stated research for 133 pages of which 48 were not research.
_IDENTIFIER = re.compile(r"pmc\d+|10\.\d{4,}|[a-z]{0,3}\d[\w.-]*")  # with no word of four letters or more
_WORD = re.compile(r"[a-z]{4,}")
# ... but a year is a CMS's dated path (/insights/articles/2023/1/24/ways-to-thank-healthcare-workers.html)
_YEAR = re.compile(r"(?:19|20)\d\d")
_REPOSITORY_ITEM_TYPES = frozenset(("journal_contribution", "conference_contribution", "thesis", "preprint"))
_TAG_TYPES = {
    "event": T.EVENT,
    "events": T.EVENT,
    "webinar": T.EVENT,
    "seminar": T.EVENT,
    "case study": T.CASE_STUDY,
    "case studies": T.CASE_STUDY,
    "toolkit": T.TOOLKIT,
    "tools": T.TOOLKIT,
    "toolkits and collections": T.TOOLKIT,
    "guide": T.TOOLKIT,
    "research": T.RESEARCH,
    "video": T.VIDEO,
    "podcast": T.VIDEO,
    "policy": T.POLICY,
    "report": T.REPORT,
    "news": T.NEWS,
    "blog": T.NEWS,
}


def infer_type(
    title: str,
    summary: str,
    type_hint: str | ResourceType | None = None,
    url: str | None = None,
    tags: Sequence[str] = (),
    default: ResourceType = T.NEWS,
) -> ResourceType:
    """The platform's own type when it states one; else the URL, the partner's tags, then cues in the
    title and the start of the summary; a resource with no cue is `default` (news; a report for a PDF)."""
    if type_hint:
        return ResourceType(type_hint)
    # A crawled page's text runs on into menus and related links: only its opening describes the resource.
    title, summary, url = title.lower(), summary[:SUMMARY_WINDOW].lower(), url or ""
    named = _named_type(summary, url, tags)
    if named is not None:
        return named
    if _VACANCY.search(f"{title}\n{summary}"):
        return T.NEWS
    section = type_from_path(url)
    if section is not None and section is not T.NEWS:
        return section
    if _is_event(title, f"{title}\n{summary}"):
        return T.EVENT
    if _NEWS_TITLE.search(title):
        return T.NEWS
    if section is T.NEWS:
        # a news or blog section also carries case studies and guides its title names; nothing weaker counts
        return next((kind for kind, cue in _STRONG if cue.search(title)), T.NEWS)
    for cues in (_STRONG, _WEAK):
        for text in (title, summary):
            for kind, cue in cues:
                if cue.search(text):
                    return kind
    return default


def structural_type(summary: str, url: str | None, tags: Sequence[str] = ()) -> ResourceType | None:
    """The type the resource's address or partner tags name, before any text cue: a video host, a partner tag
    naming a type, a DOI, or a site section other than news (/events/, /case-studies/); None otherwise."""
    url = url or ""
    named = _named_type(summary[:SUMMARY_WINDOW].lower(), url, tags)
    if named is not None:
        return named
    section = type_from_path(url)
    return section if section is not T.NEWS else None


def _named_type(summary: str, url: str, tags: Sequence[str]) -> ResourceType | None:
    # `summary`: its opening, lower-cased
    host = _host(url)
    if host and any(host == h or host.endswith("." + h) for h in _VIDEO_HOSTS):
        return T.VIDEO
    for tag in tags:
        if tag.strip().casefold() in _TAG_TYPES:
            return _TAG_TYPES[tag.strip().casefold()]
    # A DOI match contains "10." whatever its prefix.
    if host == "doi.org" or ("10." in summary and _DOI.search(summary)) or ("10." in url and _DOI.search(url)):
        return T.RESEARCH
    return None


def type_from_path(url: str) -> ResourceType | None:
    """The type a site's URL path names by the usual section names (/events/, /case-studies/, /blog/), or None."""
    segments = _path(url).split("/")
    for n, segment in enumerate(segments[:-1] if segments[-1] else segments):
        if segment in _PATH_TYPES:
            return _PATH_TYPES[segment]
        if segment == "articles" and n + 1 < len(segments) and _is_identifier(segments[n + 1]):
            return T.RESEARCH
    return None


def _is_identifier(segment: str) -> bool:
    """A path segment that is an identifier (no word of four letters or more, not a year) or a repository's item
    type."""
    if segment in _REPOSITORY_ITEM_TYPES:
        return True
    if _YEAR.fullmatch(segment):
        return False
    return _IDENTIFIER.fullmatch(segment) is not None and _WORD.search(segment) is None


def _path(url: str) -> str:
    try:
        return urlsplit(url).path.lower()
    except ValueError:  # a malformed IPv6 host
        return ""


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:  # a malformed IPv6 host
        return ""


_VACANCY = re.compile(
    r"^\s*(?:job|vacancy|vacancies|post|role)\s*:|\b(?:vacanc(?:y|ies)|we are recruiting"
    r"|(?:is|are) recruiting|closing date|job (?:pack|description)|apply by)\b"
)


def is_vacancy(title: str, summary: str = "") -> bool:
    """A job advert ("Job: ...", "Vacancy: ...", "is recruiting a ..."): news, never an event."""
    return _VACANCY.search(f"{title}\n{summary}".lower()) is not None


def is_event(title: str, summary: str) -> bool:
    """An invitation to something that happens at a time: a seminar, webinar or monthly conversation."""
    if is_vacancy(title, summary):
        return False
    return _is_event(title.lower(), f"{title}\n{summary}".lower())


def _is_event(title: str, text: str) -> bool:
    # `title` and `text` (title, newline, summary) lower-cased.
    if _EVENT_STRONG.search(title) and not _is_write_up(text):
        return True
    return bool(_INVITE.search(text) and (_TIME.search(text) or _EVENT_STRONG.search(text) or _EVENT_WEAK.search(text)))


_WRITE_UP = re.compile(r"\b(?:recording|slides|write-?up|took place|was held|last (?:week|month)|highlights)\b")


def _is_write_up(text: str) -> bool:
    return bool(_WRITE_UP.search(text))


def stated_entry_type(entry: RawEntry, source: SourceConfig) -> ResourceType | None:
    """What the platform, the page or the source says an entry is, or None when only its text can tell.

    Precedence: the page's or platform's statement (schema.org, og:type, citation_*, an embed, a GOV.UK
    document type: `type_hint`), an event date, the source's type hint, an audio or video enclosure, a DOI.
    (A PDF with no statement is typed by `guessed_entry_type`, a report unless its text says otherwise.)"""
    if entry.type_hint is not None:
        return entry.type_hint
    if entry.event is not None and entry.event.start is not None and not is_vacancy(entry.title):
        return T.EVENT
    if source.hints.type is not None:
        return source.hints.type
    if entry.extra.get("enclosure_type", "").startswith(("audio/", "video/")):
        return T.VIDEO
    if entry.doi:
        return T.RESEARCH
    return None


def infer_entry_type(entry: RawEntry, source: SourceConfig, *, summary: str | None = None) -> ResourceType:
    """`infer_type` for a RawEntry (`summary`: its plain text, when the caller already has it): what
    `stated_entry_type` finds, else the URL and text cues; a PDF with no cue is a report, anything else news."""
    stated = stated_entry_type(entry, source)
    return stated if stated is not None else guessed_entry_type(entry, summary=summary)


def guessed_entry_type(entry: RawEntry, *, summary: str | None = None) -> ResourceType:
    """The type the entry's URL and text cues give, for an entry `stated_entry_type` finds nothing for; a PDF
    with no cue is a report, anything else news."""
    if summary is None:
        summary = html_to_text(entry.summary_html or entry.content_html or "")
    default = T.REPORT if is_pdf_entry(entry) else T.NEWS
    return infer_type(entry.title, summary, None, entry.url, entry.tags, default=default)


def is_pdf_entry(entry: RawEntry) -> bool:
    """The entry is a PDF document (its link, or a feed enclosure)."""
    return "pdf_url" in entry.extra or _path(entry.url).endswith(".pdf")
