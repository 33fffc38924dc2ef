"""What the subscription pages share: their forms and checks, and reading a subscriber's signed link."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from aggregator.digest.links import Links
from aggregator.people.subscribers import (
    Subscriber,
    subscriber_for_token,
)
from aggregator.people.tokens import TokenData, Tokens
from aggregator.web.app import deps

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
