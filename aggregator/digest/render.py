"""Rendering a subscriber's copy of an issue (and the confirmation email) to subject, HTML and plain text: pure."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from markupsafe import Markup

from aggregator.config.taxonomy import Taxonomy
from aggregator.digest.issue import EVENTS, OTHER, IssueContent, IssueItem, personalise
from aggregator.digest.links import Links, PersonalLinks
from aggregator.digest.templating import finish_html, finish_text, mail_templates
from aggregator.ingest.event_text import series_phrase
from aggregator.settings import Settings
from aggregator.text.clean import clean_summary, outgoing_url
from aggregator.text.markdown import markdown_blocks, markdown_to_paragraphs
from aggregator.text.sanitize import clean_text, is_http_url, truncate_text

MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
SUMMARY_CHARS = 200  # about three lines in the mail, read on a phone between shifts: a taste, then "Read more"
PAST_EVENTS = "past-events"  # events whose start has passed by send time: their recordings and slides
_BIDI = re.compile("[\u202a-\u202e\u2066-\u2069]")


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who a copy is for: their choices shape it, their id and token version sign its links."""

    subscriber_id: int
    email: str
    audiences: tuple[str, ...] = ()
    themes: tuple[str, ...] = ()
    token_version: int = 1


@dataclass(frozen=True, slots=True)
class RenderedMail:
    """A mail ready to be put into MIME: a one-line subject, the HTML (CSS inlined) and the plain text."""

    subject: str
    html: str
    text: str


RenderedDigest = RenderedMail


def issue_subject(month: str, settings: Settings, *, prefix: str = "") -> str:
    """The fixed subject: the settings' pattern filled with the issue month only, never fetched text."""
    year, number = month.split("-")
    subject = settings.mail.subject_pattern.format(month_name=MONTH_NAMES[int(number) - 1], month=number, year=year)
    return _plain(prefix + subject)


def render_digest(
    content: IssueContent,
    *,
    recipient: Recipient | None,
    settings: Settings,
    taxonomy: Taxonomy,
    personal: PersonalLinks | None = None,
    archive_url: str | None = None,
) -> RenderedMail:
    """A subscriber's copy of `content`, filtered and ordered by their preferences (None: everything).

    `personal` gives the unsubscribe and preference links; without it the links are signed for
    `recipient` (reading settings.secret()), or are preview placeholders when there is no recipient.
    The sending engine passes placeholders here and puts each subscriber's links into the bytes.
    `archive_url` replaces the archive link (a test copy's signed preview page).
    """
    links = Links(settings.base_url)
    if recipient is not None:
        content = personalise(content, recipient.audiences, recipient.themes)
    if personal is None:
        personal = _default_links(links, recipient, settings)
    zone = ZoneInfo(settings.schedule.timezone)
    sections = [_section(name, items, taxonomy, links, zone) for name, items in _arranged(content)]
    context = {
        "subject": issue_subject(content.month, settings),
        "month_title": _month_title(content.month),
        "intro": [_plain(p) for p in markdown_to_paragraphs(content.intro) if _plain(p)],
        "intro_html": [Markup(_intro_class(block)) for block in markdown_blocks(content.intro)],
        "sections": sections,
        "featured": [i for i in (_item(item, links, zone) for item in content.items if item.featured) if i.url],
        "calendar_url": links.calendar_feed(),
        "count": len(content.items),
        "personal": personal,
        "archive_url": archive_url or links.archive(content.month),
        "home_url": links.home(),
        "list_name": _display_name(settings.mail.from_address),
        "preferences_chosen": bool(recipient and (recipient.audiences or recipient.themes)),
    }
    env = mail_templates()
    html = env.get_template("digest.html.j2").render(context)
    text = env.get_template("digest.txt.j2").render(context)
    return RenderedMail(subject=context["subject"], html=finish_html(html), text=finish_text(text))


def _intro_class(block: str) -> str:
    """A cleaned intro block with the class the mail's stylesheet (inlined) gives intro paragraphs."""
    return block.replace("<p>", '<p class="intro">')


def render_confirmation(*, confirm_url: str, settings: Settings) -> RenderedMail:
    """The double opt-in mail: one link to a page whose button confirms (a GET alone never does)."""
    env = mail_templates()
    list_name = _display_name(settings.mail.from_address)
    subject = _plain(f"Please confirm your subscription to {list_name}")
    context = {
        "confirm_url": confirm_url,
        "list_name": list_name,
        "home_url": Links(settings.base_url).home(),
        "subject": subject,
    }
    return RenderedMail(
        subject=subject,
        html=finish_html(env.get_template("confirm.html.j2").render(context)),
        text=finish_text(env.get_template("confirm.txt.j2").render(context)),
    )


@dataclass(frozen=True, slots=True)
class _ItemView:
    title: str
    url: str | None
    summary: str
    meta: str
    also_listed_on: str
    image_url: str | None
    event_when: str | None
    event_where: str | None
    ics_url: str | None
    registration_url: str | None
    cut: bool  # the summary was shortened: "Read more" follows it
    past_event: bool


@dataclass(frozen=True, slots=True)
class _SectionView:
    id: str
    name: str
    items: tuple[_ItemView, ...]


def _arranged(content: IssueContent) -> list[tuple[str, tuple[IssueItem, ...]]]:
    """The issue's sections; events no longer upcoming at send time leave "Upcoming events" for a last section
    of past events (their recordings and slides)."""
    arranged, past = [], []
    for name, items in content.sections():
        if name == EVENTS:
            past += [i for i in items if i.event is None or not i.event.upcoming]
            items = tuple(i for i in items if i.event is not None and i.event.upcoming)
        if items:
            arranged.append((name, items))
    return arranged + ([(PAST_EVENTS, tuple(past))] if past else [])


def _section(name: str, items: Sequence[IssueItem], taxonomy: Taxonomy, links: Links, zone: ZoneInfo) -> _SectionView:
    names = {label.id: label.name for label in taxonomy.themes}
    title = {EVENTS: "Upcoming events", OTHER: "More resources", PAST_EVENTS: "Past events: recordings and slides"}.get(
        name
    ) or names.get(name, name.replace("-", " ").capitalize())
    return _SectionView(id=name, name=title, items=tuple(_item(i, links, zone) for i in items))


def _item(item: IssueItem, links: Links, zone: ZoneInfo) -> _ItemView:
    event = item.event
    upcoming = event is not None and event.upcoming
    meta = [item.type.replace("-", " ").capitalize()] if item.type and not event else []
    if item.published and not event:
        meta.append(_date(item.published, zone))
    if event is not None and not upcoming:
        meta.append(f"Past event, {_date(event.start, zone)}: recording and slides on the event page")
    where = None
    if upcoming:
        where = ", ".join(p for p in (_plain(event.location), "online" if event.online else "") if p) or None
    summary = clean_summary(_plain(item.summary))
    short = truncate_text(summary, SUMMARY_CHARS)
    return _ItemView(
        title=_plain(item.title) or "(untitled)",
        url=outgoing_url(item.url) if is_http_url(item.url) else None,
        summary=short,
        meta=" · ".join(meta),
        also_listed_on=", ".join(_plain(n) for n in item.also_listed_on),
        image_url=item.image_url if is_http_url(item.image_url) else None,
        event_when=_when(event.start, event.end, zone, event.recurrence) if upcoming else None,
        event_where=where,
        ics_url=links.event_ics(item.resource_id) if upcoming else None,
        registration_url=(
            outgoing_url(event.registration_url) if upcoming and is_http_url(event.registration_url) else None
        ),
        cut=short != summary,
        past_event=event is not None and not upcoming,
    )


def _plain(value: str | None) -> str:
    """Fetched text as one line: controls and bidirectional overrides removed (they could disguise a link)."""
    return _BIDI.sub("", clean_text(value))


def _date(value: datetime, zone: ZoneInfo) -> str:
    local = value.astimezone(zone)
    return f"{local.day} {MONTH_NAMES[local.month - 1]} {local.year}"


def _when(start: datetime, end: datetime | None, zone: ZoneInfo, recurrence: str | None = None) -> str:
    local = start.astimezone(zone)
    text = f"{local:%a} {_date(start, zone)}, {local:%H:%M}"
    if end is not None:
        local_end = end.astimezone(zone)
        text += (
            f"–{local_end:%H:%M}"
            if local_end.date() == local.date()
            else f" to {local_end:%a} {_date(end, zone)}, {local_end:%H:%M}"
        )
    text = f"{text} ({local.tzname()})"
    return f"{text}, then {series_phrase(recurrence)}" if recurrence else text


def _month_title(month: str) -> str:
    year, number = month.split("-")
    return f"{MONTH_NAMES[int(number) - 1]} {year}"


def _display_name(address: str) -> str:
    from email.utils import parseaddr

    return _plain(parseaddr(address)[0]) or "Kindness in care digest"


def _default_links(links: Links, recipient: Recipient | None, settings: Settings) -> PersonalLinks:
    if recipient is None:
        return PersonalLinks(unsubscribe=links.unsubscribe("preview"), preferences=links.preferences("preview"))
    from aggregator.digest.links import personal_links
    from aggregator.people.tokens import Tokens

    return personal_links(links, Tokens(settings.secret()), recipient.subscriber_id, recipient.token_version)
