"""What the subscription pages share: their forms and checks, and reading a subscriber's signed link."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from aggregator.digest.errors import MailError
from aggregator.digest.links import Links
from aggregator.digest.single import send_confirmation
from aggregator.people.subscribers import (
    Subscriber,
    subscriber_for_token,
)
from aggregator.people.tokens import TokenData, Tokens
from aggregator.web.app import deps

logger = logging.getLogger(__name__)
_Ids = list[str]


class SubscribeForm(BaseModel):
    """The subscribe form at the trust boundary; the address itself is checked by `normalize_email`."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    email: str = Field("", title="Email address")
    audience: _Ids = Field(default_factory=list, max_length=100, title="Audiences")
    theme: _Ids = Field(default_factory=list, max_length=100, title="Themes")


class PreferencesForm(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)
    action: Literal["save", "pause", "resume", "unsubscribe"] = Field("save", title="Action")
    audience: _Ids = Field(default_factory=list, max_length=100, title="Audiences")
    theme: _Ids = Field(default_factory=list, max_length=100, title="Themes")


def signing_tokens() -> Tokens:
    return Tokens(deps().settings.secret())


def read_token(purpose: str, token: str) -> TokenData:
    return signing_tokens().read(purpose, token)


def lookup_subscriber(purpose: str, token: str) -> Subscriber:
    data = read_token(purpose, token)
    with deps().engine.connect() as conn:
        return subscriber_for_token(conn, data)


def preferences_url(subscriber: Subscriber) -> str:
    return Links(deps().settings.base_url).preferences(
        signing_tokens().make("preferences", subscriber.id, subscriber.token_version)
    )


def choice_errors(audiences: list[str], themes: list[str]) -> dict[str, str]:
    taxonomy, errors = deps().taxonomy, {}
    if not set(audiences) <= set(taxonomy.ids("audience")):
        errors["audience"] = "Choose from the groups listed."
    if not set(themes) <= set(taxonomy.ids("theme")):
        errors["theme"] = "Choose from the topics listed."
    return errors


def echo_input(value: str | None) -> str:
    """What they typed, to correct it: one line, not overlong (it is escaped by the template)."""
    text = "".join(c for c in (value or "") if c.isprintable())
    return text[:320]


def confirmation_job(address: str, confirm_url: str, now: datetime) -> Callable[[], None]:
    """Mail the confirmation link after the reply has gone (so every answer to the form looks and takes the same)."""
    settings = deps().settings
    mailer = deps().mailer or deps().app.mailer("confirmations")  # SMTP when configured, else the outbox

    def job() -> None:
        try:
            send_confirmation(address, confirm_url, mailer, settings, now=now)
        except MailError:
            # the person saw "check your email" either way; they can ask again after the mail interval
            logger.warning("confirmation mail not sent", exc_info=True)

    return job
