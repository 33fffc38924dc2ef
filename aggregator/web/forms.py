"""Web forms validated at the trust boundary (pydantic), with messages an editor can act on."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, ValidationError
from werkzeug.datastructures import MultiDict

from aggregator.errors import AggregatorError

M = TypeVar("M", bound=BaseModel)
TITLE_MAX = 300
SUMMARY_MAX = 4000
REASON_MAX = 500
INTRO_MAX = 5000


class FormError(AggregatorError):
    """A submitted form did not validate; `errors` maps each field to a message for the person."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(errors.values()))
        self.errors = errors


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


def _unix_lines(value: Any) -> Any:
    """Browsers submit textarea lines ended by CRLF (HTML's form encoding); everything after this boundary
    sees \n only, so a blank line between paragraphs is always "\n\n"."""
    return value.replace("\r\n", "\n").replace("\r", "\n").strip() if isinstance(value, str) else value


Text = Annotated[str, BeforeValidator(_strip)]
MultilineText = Annotated[str, BeforeValidator(_unix_lines)]


class _Form(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class LoginForm(_Form):
    email: Text = Field(min_length=1, max_length=320, title="Email address")
    password: str = Field(min_length=1, max_length=1024, title="Password")


class RejectForm(_Form):
    reason: Text = Field("", max_length=REASON_MAX, title="Reason")


class BulkForm(_Form):
    ids: list[int] = Field(min_length=1, max_length=500, title="Selection")
    action: Literal["approve", "reject"] = Field(title="Action")
    reason: Text = Field("", max_length=REASON_MAX, title="Reason")


class EditForm(_Form):
    title: Text = Field(min_length=1, max_length=TITLE_MAX, title="Title")
    summary: MultilineText = Field("", max_length=SUMMARY_MAX, title="Summary")
    audience: list[str] = Field(default_factory=list, title="Audiences")
    theme: list[str] = Field(default_factory=list, title="Themes")


class PrepareForm(_Form):
    month: Text = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", title="Month")


class IntroForm(_Form):
    intro: MultilineText = Field("", max_length=INTRO_MAX, title="Introduction")


class MoveForm(_Form):
    position: int | None = Field(None, ge=1, le=100_000, title="Position")
    section: Text | None = Field(None, max_length=64, title="Section")


class SendAtForm(_Form):
    send_at: datetime = Field(title="Send time")


class EmailForm(_Form):
    email: Text = Field(min_length=3, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", title="Email address")


class UserForm(_Form):
    email: Text = Field(min_length=3, max_length=320, title="Email address")
    name: Text = Field("", max_length=200, title="Name")
    role: Literal["editor", "admin"] = Field(title="Role")
    password: str = Field(min_length=1, max_length=1024, title="Password")


class PasswordForm(_Form):
    current: str = Field(min_length=1, max_length=1024, title="Current password")
    new: str = Field(min_length=1, max_length=1024, title="New password")
    confirm: str = Field(min_length=1, max_length=1024, title="New password again")


def parse_form(model: type[M], form: MultiDict, *, lists: tuple[str, ...] = ()) -> M:
    """Validate `form` with `model`; raise FormError with one readable message per bad field.
    Empty optional fields count as not given."""
    data: dict[str, Any] = {key: form.getlist(key) for key in lists}
    for key, value in form.items():
        if key not in lists and value != "":
            data[key] = value
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise FormError(_messages(model, exc)) from None


def _messages(model: type[BaseModel], exc: ValidationError) -> dict[str, str]:
    errors: dict[str, str] = {}
    for error in exc.errors(include_url=False):
        field = str(error["loc"][0]) if error["loc"] else "form"
        info = model.model_fields.get(field)
        label = info.title if info and info.title else field.replace("_", " ").capitalize()
        errors.setdefault(field, _message(label, error))
    return errors


def _message(label: str, error: dict[str, Any]) -> str:
    kind, ctx = error["type"], error.get("ctx") or {}
    given = error.get("input")
    if kind == "missing" or (kind in ("string_too_short", "too_short") and not given):
        return f"{label}: this field is required."
    if kind == "string_too_long":
        return f"{label} is too long: {len(given)} characters; the limit is {ctx.get('max_length')}."
    if kind == "string_too_short":
        return f"{label} is too short: at least {ctx.get('min_length')} characters."
    if kind == "too_long":
        return f"{label}: choose at most {ctx.get('max_length')}."
    if kind in ("int_parsing", "int_type", "int_from_float"):
        return f"{label} must be a whole number."
    if kind in ("greater_than_equal", "less_than_equal"):
        return f"{label} must be between 1 and {ctx.get('le', 'the number of entries')}."
    if kind == "string_pattern_mismatch":
        return {
            "Month": "Month: write it as YYYY-MM, for example 2026-12.",
            "Email address": "Email address: write it as name@example.org.",
        }.get(label, f"{label} is not in the expected form.")
    if kind.startswith("datetime"):
        return f"{label}: give a date and time, for example 2026-12-01 09:00."
    if kind == "literal_error":
        return f"{label}: choose one of the options offered."
    return f"{label}: {error['msg']}."
