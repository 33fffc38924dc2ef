"""Loading and validating taxonomy.yaml: the audiences and themes editors label resources with."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from aggregator.errors import ConfigError

Kind = Literal["audience", "theme"]
KINDS: tuple[Kind, ...] = ("audience", "theme")
_ID = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_SPACE = re.compile(r"\s+")


# --- the values the rest of the aggregator sees ---------------------------------------------------

@dataclass(frozen=True, slots=True)
class LabelRef:
    """One label, named by its kind and id ("theme", "kindness")."""

    kind: Kind
    id: str


@dataclass(frozen=True, slots=True)
class LabelDef:
    """A label as editors defined it."""

    kind: Kind
    id: str
    name: str
    description: str
    phrases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Taxonomy:
    """Every label, and the partners' own tags mapped to labels (keys normalised by `normalize_tag`)."""

    audiences: tuple[LabelDef, ...]
    themes: tuple[LabelDef, ...]
    partner_tags: Mapping[str, tuple[LabelRef, ...]] = field(default_factory=lambda: MappingProxyType({}))

    def labels(self, kind: Kind) -> tuple[LabelDef, ...]:
        return self.audiences if kind == "audience" else self.themes

    def ids(self, kind: Kind) -> tuple[str, ...]:
        return tuple(label.id for label in self.labels(kind))

    def labels_for_tag(self, tag: str) -> tuple[LabelRef, ...]:
        return self.partner_tags.get(normalize_tag(tag), ())


def normalize_tag(tag: str) -> str:
    """'Patient  Safety & Leads ' -> 'patient safety and leads': how partner tags are compared."""
    return _SPACE.sub(" ", tag.replace("&", " and ")).strip().casefold()


# --- the file, validated at the trust boundary ---------------------------------------------------

class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _Located(ValueError):
    """A whole-file problem that belongs to one place in the file (reported at that line)."""

    def __init__(self, message: str, loc: tuple[Any, ...], hint: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.hint = hint


class LabelEntry(_Strict):
    id: str
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    phrases: tuple[str, ...] = ()

    @field_validator("id")
    @classmethod
    def _slug(cls, value: str) -> str:
        if not _ID.match(value):
            raise ValueError("label ids are lower-case letters, digits and '-', e.g. staff-wellbeing")
        return value

    @field_validator("phrases")
    @classmethod
    def _no_blank(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if any(not phrase.strip() for phrase in value):
            raise ValueError("a phrase is empty")
        return tuple(phrase.strip() for phrase in value)


class PartnerTags(_Strict):
    audiences: dict[str, str | tuple[str, ...]] = Field(default_factory=dict)
    themes: dict[str, str | tuple[str, ...]] = Field(default_factory=dict)


class TaxonomyFile(_Strict):
    """The whole taxonomy.yaml."""

    version: Literal[1] = 1
    audiences: tuple[LabelEntry, ...] = Field(min_length=1)
    themes: tuple[LabelEntry, ...] = Field(min_length=1)
    partner_tags: PartnerTags = PartnerTags()

    @model_validator(mode="after")
    def _consistent(self) -> TaxonomyFile:
        for section in ("audiences", "themes"):
            seen: set[str] = set()
            for index, entry in enumerate(getattr(self, section)):
                if entry.id in seen:
                    raise _Located(f"duplicate label id {entry.id!r} in {section}", (section, index, "id"),
                                   f"give every one of the {section} its own id")
                seen.add(entry.id)
            known = [entry.id for entry in getattr(self, section)]
            for tag, targets in getattr(self.partner_tags, section).items():
                for target in (targets,) if isinstance(targets, str) else targets:
                    if target not in known:
                        close = difflib.get_close_matches(target, known, n=1)
                        hint = f"did you mean {close[0]!r}?" if close else f"known {section}: {', '.join(known)}"
                        raise _Located(f"partner tag {tag!r} maps to unknown label {target!r}",
                                       ("partner_tags", section, tag), hint)
        return self


def load_taxonomy(path: Path) -> Taxonomy:
    """Read and validate `path`; raise ConfigError naming the file, the line and the fix."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", path=str(path),
                          hint="create taxonomy.yaml beside sources.yaml (see the one in the repository)") from None
    return parse_taxonomy(text, str(path))


def parse_taxonomy(text: str, filename: str = "taxonomy.yaml") -> Taxonomy:
    """Validate taxonomy.yaml text; errors carry the file name, line number and a hint."""
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ConfigError(f"not valid YAML: {exc.problem}", path=filename, line=mark.line + 1 if mark else None,
                          hint="check the indentation and that every `key: value` has a space after the colon") from None
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping with `audiences:` and `themes:`", path=filename, line=1,
                          hint="start the file with `version: 1`, then `audiences:` and `themes:` lists")
    try:
        parsed = TaxonomyFile.model_validate(data)
    except ValidationError as exc:
        raise _config_error(exc, root, filename) from None
    return _to_taxonomy(parsed)


def _config_error(exc: ValidationError, root: yaml.Node, filename: str) -> ConfigError:
    # A misspelt key also makes its real key "missing": report the misspelling, it is the cause.
    errors = sorted(exc.errors(include_url=False), key=lambda e: e.get("type") != "extra_forbidden")
    error = errors[0]
    loc: Sequence[Any] = tuple(error.get("loc", ()))
    message = error.get("msg", "invalid value").removeprefix("Value error, ")
    located = (error.get("ctx") or {}).get("error")
    if isinstance(located, _Located):
        loc, hint = located.loc, located.hint
    else:
        hint = _hint_for(error, loc)
    line = _line_at(root, loc)
    where = ".".join(str(part) for part in loc)
    return ConfigError(f"{where}: {message}" if where else message, path=filename, line=line, hint=hint)


def _line_at(root: yaml.Node, loc: Iterable[Any]) -> int:
    """The 1-based line of a pydantic error location, or of the nearest enclosing key that exists.

    The same walk as sources.py's; kept here because that one is private to its module."""
    node, line = root, root.start_mark.line
    for part in loc:
        if isinstance(node, yaml.MappingNode):
            found = next(((k, v) for k, v in node.value if k.value == part), None)
            if found is None:
                break
            key, node = found
            line = key.start_mark.line
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
            node = node.value[part]
            line = node.start_mark.line
        else:
            break
    return line + 1


def _hint_for(error: Mapping[str, Any], loc: Sequence[Any]) -> str:
    kind = error.get("type", "")
    field = str(loc[-1]) if loc else ""
    if kind == "extra_forbidden":
        allowed = _allowed_keys(loc[:-1])
        close = difflib.get_close_matches(field, allowed, n=1)
        if close:
            return f"unknown key {field!r}: did you mean {close[0]!r}?"
        return f"unknown key {field!r}; allowed here: {', '.join(sorted(allowed))}"
    if kind == "missing":
        return f"add `{field}:` to this entry"
    if field == "id":
        return "write ids like staff-wellbeing: lower-case letters, digits and '-'"
    return "see the comments at the top of taxonomy.yaml"


def _allowed_keys(loc: Sequence[Any]) -> list[str]:
    parts = [part for part in loc if not isinstance(part, int)]
    if not parts:
        return list(TaxonomyFile.model_fields)
    if parts[0] in ("audiences", "themes"):
        return list(LabelEntry.model_fields)
    if parts[0] == "partner_tags":
        return list(PartnerTags.model_fields)
    return list(TaxonomyFile.model_fields)


def _to_taxonomy(parsed: TaxonomyFile) -> Taxonomy:
    def labels(kind: Kind, entries: tuple[LabelEntry, ...]) -> tuple[LabelDef, ...]:
        return tuple(LabelDef(kind, e.id, e.name.strip(), e.description.strip(), e.phrases) for e in entries)

    tags: dict[str, tuple[LabelRef, ...]] = {}
    for kind, mapping in (("audience", parsed.partner_tags.audiences), ("theme", parsed.partner_tags.themes)):
        for tag, targets in mapping.items():
            refs = tuple(LabelRef(kind, t) for t in ((targets,) if isinstance(targets, str) else targets))
            key = normalize_tag(tag)
            tags[key] = tags.get(key, ()) + refs
    return Taxonomy(labels("audience", parsed.audiences), labels("theme", parsed.themes), MappingProxyType(tags))
