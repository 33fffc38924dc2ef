"""Loading and validating taxonomy.yaml: the audiences and themes editors label resources with."""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from aggregator.config.cache import FileCache
from aggregator.config.yamlfile import LocatedError, parse_yaml_model, unknown_key_hint
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
                    raise LocatedError(
                        f"duplicate label id {entry.id!r} in {section}",
                        (section, index, "id"),
                        f"give every one of the {section} its own id",
                    )
                seen.add(entry.id)
            known = [entry.id for entry in getattr(self, section)]
            for tag, targets in getattr(self.partner_tags, section).items():
                for target in (targets,) if isinstance(targets, str) else targets:
                    if target not in known:
                        close = difflib.get_close_matches(target, known, n=1)
                        hint = f"did you mean {close[0]!r}?" if close else f"known {section}: {', '.join(known)}"
                        raise LocatedError(
                            f"partner tag {tag!r} maps to unknown label {target!r}",
                            ("partner_tags", section, tag),
                            hint,
                        )
        return self


def load_taxonomy(path: Path) -> Taxonomy:
    """Read and validate `path`; raise ConfigError naming the file, the line and the fix."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            "file not found",
            path=str(path),
            hint="create taxonomy.yaml beside sources.yaml (see the one in the repository)",
        ) from None
    return parse_taxonomy(text, str(path))


def parse_taxonomy(text: str, filename: str = "taxonomy.yaml") -> Taxonomy:
    """Validate taxonomy.yaml text; errors carry the file name, line number and a hint."""
    parsed = parse_yaml_model(
        text,
        filename,
        TaxonomyFile,
        hint_for=_hint_for,
        expected="start the file with `version: 1`, then `audiences:` and `themes:` lists",
    )
    return _to_taxonomy(parsed)


def _hint_for(error: Mapping[str, Any], loc: Sequence[Any]) -> str:
    kind = error.get("type", "")
    field = str(loc[-1]) if loc else ""
    if kind == "extra_forbidden":
        return unknown_key_hint(field, _allowed_keys(loc[:-1]))
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


_READ = FileCache(load_taxonomy)


def read_taxonomy(path: Path) -> Taxonomy:
    """taxonomy.yaml as this process last read it, read again only when the file changes (one read per process
    for the pipeline's stages; the commands that edit the file use `load_taxonomy`)."""
    return _READ.get(path)
