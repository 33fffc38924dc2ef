"""Inferring what kind of resource an entry is (event, case study, report, research, toolkit, policy, video, news)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from aggregator.model import RawEntry, ResourceType
from aggregator.sanitize import html_to_text
from aggregator.sources import SourceConfig

T = ResourceType
# Patterns are lower-case and matched against lower-cased text: much faster than case-insensitive matching.
_I = 0

_DOI = re.compile(r"\b(?:doi:?\s*|doi\.org/)?10\.\d{4,9}/\S+", _I)
_VIDEO_HOSTS = ("youtube.com", "youtu.be", "vimeo.com")
_RULED_HOSTS = (*_VIDEO_HOSTS, "doi.org")
_TIME = re.compile(r"\b\d{1,2}(?:[:.]\d{2})\s*(?:am|pm)?\b|\b\d{1,2}\s*(?:am|pm)\b", _I)


class Cue:
    """A text cue: a pattern, and words one of which every match contains as a whole word.

    Searching a pattern of many alternatives costs microseconds per text; most texts contain none of
    its words, which a set lookup rules out first. Each alternative of `pattern` must contribute a
    word to `words`: one it always contains with a non-word character (or the text's edge) on both sides.
    """

    __slots__ = ("pattern", "words")

    def __init__(self, pattern: str, words: str) -> None:
        self.pattern = re.compile(pattern, _I)
        self.words = frozenset(words.split())

    def search(self, text: str, words: frozenset[str]) -> bool:
        """True when the cue is in `text`, whose words (`text_words(text)`) are `words`."""
        return not self.words.isdisjoint(words) and self.pattern.search(text) is not None


def text_words(text: str) -> frozenset[str]:
    """The words of `text` that some cue looks for: every cue word that is a whole run of word characters
    (as the cues' word boundaries delimit them), and maybe a few more (below): all a cue's pre-check needs.

    The text's UTF-8 bytes are split at every byte that is not an ASCII word character (letters, digits,
    "_"), in half the time of scanning it with the cue words' pattern. In ASCII text that is exactly where
    runs of word characters end. Non-ASCII characters count as separators, so a cue word joined to a
    non-ASCII letter ("éreport") is found too: cue words are ASCII, so none that is a whole run is missed,
    and an extra word only costs its cue's pattern search, which decides.
    """
    return _CUE_WORD_SET.intersection(text.encode().translate(_ASCII_WORD_BYTES).decode().split())


# Each byte of an ASCII word character kept, every other byte (UTF-8 bytes of non-ASCII ones too) a space.
_ASCII_WORD_BYTES = bytes(c if c < 128 and (chr(c).isalnum() or chr(c) == "_") else ord(" ") for c in range(256))


_INVITE = Cue(r"\b(?:join us|join (?:the|our)|book (?:your |a )?(?:free )?(?:place|ticket)s?|register|registration|sign up"
              r"|booking|places are|will be held|will take place|takes place|free to attend|all welcome)\b",
              "join book register registration sign booking places held place takes attend welcome")
_EVENT_STRONG = Cue(r"\b(?:seminars?|webinars?|conference|masterclass|symposium|workshops?|summit"
                    r"|lecture|festival|launch event|meet-?up)\b",
                    "seminar seminars webinar webinars conference masterclass symposium workshop workshops summit"
                    " lecture festival launch meet meetup")
_EVENT_WEAK = Cue(r"\b(?:conversations?|sessions?|events?|gathering|circles?|rounds|meeting)\b",
                  "conversation conversations session sessions event events gathering circle circles rounds meeting")
_PLACE = r"(?:trust|unit|ward|team|practice|network|hospital|hospice|service|department|care home|board)"

# Cues in the order they win: a seminar about a toolkit is an event, a paper proposing a toolkit is research.
# Strong cues are looked for in the title, then the summary; only then the weak ones (report, news).
# News cues count in the title only: "appointed" in a summary is rarely what the resource is.
_NEWS_TITLE = Cue(r"\b(?:vacanc(?:y|ies)|we are recruiting|raises? £?[\d,]+|wins?|won|awards?|appointed|signs? up to"
                  r"|announces?|announced|meet our|write-?up|notes from|what we heard)\b",
                  "vacancy vacancies recruiting raise raises win wins won award awards appointed sign signs announce"
                  " announces announced meet write writeup notes heard")
_STRONG: tuple[tuple[ResourceType, Cue], ...] = (
    (T.CASE_STUDY, Cue(r"\bcase stud(?:y|ies)\b|\bwhat we learned\b|\blessons learned\b"
                       r"|\b(?:shares?|describes?|explains?) how (?:\w+ ){0,4}?" + _PLACE +
                       r"|\b(?:one|a|an|our|her|his|their) (?:[\w'-]+ ){0,3}?" + _PLACE + r"s? (?:has )?(?:introduced|launched|relaunched"
                       r"|set up|redesigned|paired|invited|worked with|moved|rewrote|changed|used|made|piloted)\b",
                       "case learned share shares describe describes explain explains introduced launched relaunched"
                       " set redesigned paired invited worked moved rewrote changed used made piloted")),
    (T.VIDEO, Cue(r"\b(?:video|watch|film|animation|recording|podcast|listen to|episode)\b",
                  "video watch film animation recording podcast listen episode")),
    (T.RESEARCH, Cue(r"\b(?:journal|peer[- ]reviewed|systematic review|scoping review|meta-analysis|realist review"
                     r"|this (?:paper|article|study)|we (?:conducted|interviewed|surveyed|analysed|analyzed|examine|explore|argue|find|found|report)"
                     r"|working paper|preprint|participants|methods?:|results:|conclusions?:|cross-sectional|qualitative study)\b",
                     "journal reviewed review analysis paper article study conducted interviewed surveyed analysed"
                     " analyzed examine explore argue find found report preprint participants method methods results"
                     " conclusion conclusions sectional")),
    (T.POLICY, Cue(r"\b(?:policy paper|white paper|green paper|consultation|government response|statutory guidance"
                   r"|legislation|regulations|bill|act 20\d\d|strategy|the government (?:has|will|is)|secretary of state"
                   r"|minister|mandate|long[- ]term (?:workforce )?plan|national policy|charter|sets out the (?:government|nhs|national))\b",
                   "paper consultation response guidance legislation regulations bill act strategy government secretary"
                   " minister mandate plan policy charter sets")),
    (T.TOOLKIT, Cue(r"\b(?:toolkits?|tools?|guide|guides|handbook|workbook|templates?|checklists?|resource pack|resources for"
                    r"|how to|step[- ]by[- ]step|e-?learning|practical|cards|activities|facilitator|guidance|framework"
                    r"|introduction to|explained|explainer|reading list|prompts|syllabus|starter pack)\b",
                    "toolkit toolkits tool tools guide guides handbook workbook template templates checklist checklists"
                    " pack resources how step learning elearning practical cards activities facilitator guidance"
                    " framework introduction explained explainer list prompts syllabus")),
)
_WEAK: tuple[tuple[ResourceType, Cue], ...] = (
    (T.REPORT, Cue(r"\b(?:report|reports|review|inquiry|findings|survey|results|annual|evaluation|insights|analysis"
                   r"|data|statistics|briefing|evidence|looking back|told us)\b",
                   "report reports review inquiry findings survey results annual evaluation insights analysis data"
                   " statistics briefing evidence back told")),
)
# Every word a cue's pre-check may look for: text_words keeps only these.
_CUE_WORD_SET = frozenset().union(*(cue.words for cue in (
    _INVITE, _EVENT_STRONG, _EVENT_WEAK, _NEWS_TITLE, *(cue for _, cue in _STRONG + _WEAK))))
_TAG_TYPES = {"event": T.EVENT, "events": T.EVENT, "webinar": T.EVENT, "seminar": T.EVENT, "case study": T.CASE_STUDY,
              "case studies": T.CASE_STUDY, "toolkit": T.TOOLKIT, "tools": T.TOOLKIT, "guide": T.TOOLKIT,
              "research": T.RESEARCH, "video": T.VIDEO, "podcast": T.VIDEO, "policy": T.POLICY, "report": T.REPORT,
              "news": T.NEWS, "blog": T.NEWS}


def infer_type(title: str, summary: str, type_hint: str | ResourceType | None = None, url: str | None = None,
               tags: Sequence[str] = ()) -> ResourceType:
    """The platform's own type when it states one; else the URL, the partner's tags, then cues in the
    title and the summary; a resource with no cue is news."""
    if type_hint:
        return ResourceType(type_hint)
    title, summary, url = title.lower(), summary.lower(), url or ""
    host = _ruled_host(url)
    if host and any(host == h or host.endswith("." + h) for h in _VIDEO_HOSTS):
        return T.VIDEO
    for tag in tags:
        if tag.strip().casefold() in _TAG_TYPES:
            return _TAG_TYPES[tag.strip().casefold()]
    # A DOI match contains "10." whatever its prefix.
    if host == "doi.org" or ("10." in summary and _DOI.search(summary)) or ("10." in url and _DOI.search(url)):
        return T.RESEARCH
    if _VACANCY.search(f"{title}\n{summary}"):
        return T.NEWS
    title_words, summary_words = text_words(title), text_words(summary)
    if _is_event(title, title_words, f"{title}\n{summary}", title_words | summary_words):
        return T.EVENT
    if _NEWS_TITLE.search(title, title_words):
        return T.NEWS
    for cues in (_STRONG, _WEAK):
        for text, words in ((title, title_words), (summary, summary_words)):
            if not words:
                continue  # no cue word, no cue
            for kind, cue in cues:
                if cue.search(text, words):
                    return kind
    return T.NEWS


def _ruled_host(url: str) -> str:
    """The host of `url` when it may be one the rules name (a video host, doi.org), else "" (most URLs).

    urlsplit's hostname is a lower-cased piece of the URL, so an ASCII URL whose lower-cased text names no
    ruled host cannot have one; without brackets (IPv6 hosts, which urlsplit checks) and the tabs and
    newlines urlsplit removes, splitting it could neither raise nor find one, so it is not split.
    """
    if url.isascii() and not any(c in url for c in "[]\t\r\n"):
        lowered = url.lower()
        if not any(name in lowered for name in _RULED_HOSTS):
            return ""
    return urlsplit(url).hostname or ""


_VACANCY = re.compile(r"^\s*(?:job|vacancy|vacancies|post|role)\s*:|\b(?:vacanc(?:y|ies)|we are recruiting"
                      r"|(?:is|are) recruiting|closing date|job (?:pack|description)|apply by)\b")


def is_vacancy(title: str, summary: str = "") -> bool:
    """A job advert ("Job: ...", "Vacancy: ...", "is recruiting a ..."): news, never an event."""
    return _VACANCY.search(f"{title}\n{summary}".lower()) is not None


def is_event(title: str, summary: str) -> bool:
    """An invitation to something that happens at a time: a seminar, webinar or monthly conversation."""
    if is_vacancy(title, summary):
        return False
    text = f"{title}\n{summary}".lower()
    title = title.lower()
    return _is_event(title, text_words(title), text, text_words(text))


def _is_event(title: str, title_words: frozenset[str], text: str, words: frozenset[str]) -> bool:
    # `title` and `text` (title, newline, summary) lower-cased, with their words.
    if _EVENT_STRONG.search(title, title_words) and not _is_write_up(text):
        return True
    return (_INVITE.search(text, words)
            and (_TIME.search(text) is not None or _EVENT_STRONG.search(text, words) or _EVENT_WEAK.search(text, words)))


_WRITE_UP = re.compile(r"\b(?:recording|slides|write-?up|took place|was held|last (?:week|month)|highlights)\b")


def _is_write_up(text: str) -> bool:
    return bool(_WRITE_UP.search(text))


def infer_entry_type(entry: RawEntry, source: SourceConfig, *, summary: str | None = None) -> ResourceType:
    """`infer_type` for a RawEntry (`summary`: its plain text, when the caller already has it).

    Precedence: the platform's type, an event date, the source's type hint, a DOI, then text cues."""
    if entry.type_hint is not None:
        return entry.type_hint
    if entry.event is not None and entry.event.start is not None and not is_vacancy(entry.title):
        return T.EVENT
    if source.hints.type is not None:
        return source.hints.type
    if entry.doi:
        return T.RESEARCH
    if summary is None:
        summary = html_to_text(entry.summary_html or entry.content_html or "")
    return infer_type(entry.title, summary, None, entry.url, entry.tags)
