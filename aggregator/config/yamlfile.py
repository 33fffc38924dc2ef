"""Reading a YAML configuration file into a pydantic model; a bad file is refused with its line and a fix."""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from aggregator.errors import ConfigError

Model = TypeVar("Model", bound=BaseModel)
# libyaml's loader when PyYAML was built with it (the wheels are): the same nodes, marks and errors as the
# pure-Python SafeLoader, read faster (taxonomy.yaml is read by every feeds and archive build).
Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# Gives the fix-it hint for one pydantic error (as from ValidationError.errors()) at its location.
Hinter = Callable[[Mapping[str, Any], Sequence[Any]], str]


class LocatedError(ValueError):
    """Raised by a whole-file validator for a problem that belongs to one place in the file."""

    def __init__(self, message: str, loc: tuple[Any, ...], hint: str) -> None:
        super().__init__(message)
        self.loc = loc
        self.hint = hint


def parse_yaml_model(text: str, filename: str, model: type[Model], *, hint_for: Hinter, expected: str) -> Model:
    """Validate YAML `text` as `model`. `expected` says what the top of the file should look like."""
    try:
        _check_depth(text, filename)
        loader = Loader(text)
        try:
            root = loader.get_single_node()  # one parse gives the nodes (for error lines) and the data
            data = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        raise ConfigError(
            f"not valid YAML: {exc.problem}",
            path=filename,
            line=mark.line + 1 if mark else None,
            hint="check the indentation and that every `key: value` has a space after the colon",
        ) from None
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping at the top of the file", path=filename, line=1, hint=expected)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise config_error(exc, root, filename, hint_for) from None


MAX_DEPTH = 64  # far more than any configuration file needs; PyYAML's composer recurses once per level
_OPENS = (
    yaml.BlockMappingStartToken,
    yaml.BlockSequenceStartToken,
    yaml.FlowMappingStartToken,
    yaml.FlowSequenceStartToken,
)
_CLOSES = (yaml.BlockEndToken, yaml.FlowMappingEndToken, yaml.FlowSequenceEndToken)


def _check_depth(text: str, filename: str) -> None:
    """Refuse nesting deeper than MAX_DEPTH at its line, before the (recursive) composer meets it.
    The scanner is iterative, so this costs one pass over the tokens and no stack."""
    depth = 0
    for token in yaml.scan(text, Loader=yaml.SafeLoader):  # libyaml stops at its own depth, without our line
        if isinstance(token, _OPENS):
            depth += 1
            if depth > MAX_DEPTH:
                raise ConfigError(
                    f"nested more than {MAX_DEPTH} levels deep",
                    path=filename,
                    line=token.start_mark.line + 1,
                    hint="this file needs a few levels at most; check for runaway brackets or indentation",
                )
        elif isinstance(token, _CLOSES):
            depth -= 1


def config_error(exc: ValidationError, root: yaml.Node, filename: str, hint_for: Hinter) -> ConfigError:
    """The first error of `exc` as a ConfigError at its line."""
    # A misspelt key also makes its real key "missing": report the misspelling, it is the cause.
    error = sorted(exc.errors(include_url=False), key=lambda e: e.get("type") != "extra_forbidden")[0]
    loc: Sequence[Any] = tuple(error.get("loc", ()))
    message = error.get("msg", "invalid value").removeprefix("Value error, ")
    located = (error.get("ctx") or {}).get("error")
    if isinstance(located, LocatedError):
        loc, hint = located.loc, located.hint
    else:
        hint = hint_for(error, loc)
    where = ".".join(str(part) for part in loc)
    return ConfigError(f"{where}: {message}" if where else message, path=filename, line=line_at(root, loc), hint=hint)


def line_at(root: yaml.Node, loc: Iterable[Any]) -> int:
    """The 1-based line of a pydantic error location: the key or list item that holds it, or the
    nearest enclosing one that exists in the file (a missing key is reported at its parent's key)."""
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


def unknown_key_hint(key: str, allowed: Iterable[str]) -> str:
    """'did you mean ...?' for a misspelt key, else the keys allowed there."""
    allowed = list(allowed)
    close = difflib.get_close_matches(key, allowed, n=1)
    if close:
        return f"unknown key {key!r}: did you mean {close[0]!r}?"
    return f"unknown key {key!r}; allowed here: {', '.join(sorted(allowed))}"
