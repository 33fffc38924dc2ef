"""Each subscriber's message bytes: every distinct copy is rendered and built once, then only filled in."""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import replace
from datetime import datetime
from email.utils import make_msgid

from aggregator.config.taxonomy import Taxonomy
from aggregator.digest.addresses import bounce_address, unsubscribe_address
from aggregator.digest.issue import IssueContent
from aggregator.digest.links import Links, personal_links
from aggregator.digest.message import (
    DKIMSigner,
    MessageTemplate,
    PersonalParts,
    build_template,
    new_nonce,
    sender_domain,
    slot_links,
)
from aggregator.digest.render import Recipient, render_digest
from aggregator.digest.statements import Target
from aggregator.people.tokens import Tokens
from aggregator.settings import Settings

CopyKey = tuple[tuple[str, ...], tuple[str, ...]]


class Copies:
    """Message templates by (audiences, themes), least recently used dropped past `limit`; thread-safe."""

    def __init__(
        self,
        content: IssueContent,
        settings: Settings,
        taxonomy: Taxonomy,
        *,
        signer: DKIMSigner | None = None,
        limit: int = 256,
    ) -> None:
        self._content, self._settings, self._taxonomy = content, settings, taxonomy
        self._signer, self._limit = signer, limit
        self._nonce = new_nonce()
        self._links = Links(settings.base_url)
        self._secret = settings.secret()
        self._tokens = Tokens(self._secret)
        self._domain = sender_domain(settings)
        self._templates: OrderedDict[CopyKey, MessageTemplate] = OrderedDict()
        self._lock = threading.Lock()
        self.rendered = 0  # how many copies were rendered (for reports and tests)

    def template(self, audiences: tuple[str, ...], themes: tuple[str, ...]) -> MessageTemplate:
        key: CopyKey = (tuple(sorted(set(audiences))), tuple(sorted(set(themes))))
        with self._lock:
            found = self._templates.get(key)
            if found is not None:
                self._templates.move_to_end(key)
                return found
        recipient = Recipient(subscriber_id=0, email="", audiences=key[0], themes=key[1])
        rendered = render_digest(
            self._content,
            recipient=recipient,
            settings=self._settings,
            taxonomy=self._taxonomy,
            personal=slot_links(self._nonce),
        )
        template = build_template(rendered, self._settings, nonce=self._nonce)
        with self._lock:
            self.rendered += 1
            self._templates[key] = template
            while len(self._templates) > self._limit:
                self._templates.popitem(last=False)
        return template

    def message_id(self, target: Target) -> str:
        """The Message-ID of `target`'s message: the one kept from its first try, else a new one."""
        return target.message_id or make_msgid(
            idstring=f"{self._content.id}.{target.subscriber_id}", domain=self._domain
        )

    def message(self, target: Target, now: datetime, message_id: str | None = None) -> tuple[bytes, str]:
        """(bytes, Message-ID) of `target`'s message: their copy with their address, links and Message-ID."""
        message_id = message_id or self.message_id(target)
        links = personal_links(self._links, self._tokens, target.subscriber_id, target.token_version)
        links = replace(
            links,
            mailto=unsubscribe_address(
                self._settings.mail.unsubscribe_mailto, self._secret, target.subscriber_id, target.token_version
            ),
        )
        data = self.template(target.audiences, target.themes).fill(
            PersonalParts(to=target.email, message_id=message_id, date=now, links=links)
        )
        if self._signer is not None:
            data = self._signer.sign(data)
        return data, message_id

    def return_path(self, subscriber_id: int) -> str | None:
        """The VERP envelope sender of this issue's delivery to `subscriber_id` (None: the From address)."""
        base = self._settings.mail.bounce_address
        return bounce_address(base, self._secret, self._content.id, subscriber_id) if base else None
