"""Packages that export their names lazily (PEP 562): importing the package, or one submodule of it, does not
import every other submodule, so a command loads only what it calls."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from importlib import import_module
from typing import Any


def lazy_getattr(namespace: dict[str, Any], exports: Mapping[str, str]) -> Callable[[str], object]:
    """A module `__getattr__` that imports `exports[name]` (name -> defining module) on first use and keeps
    the value in the package's `namespace`, so the next lookup is a plain attribute."""

    def __getattr__(name: str) -> object:
        try:
            module = exports[name]
        except KeyError:
            raise AttributeError(f"module {namespace['__name__']!r} has no attribute {name!r}") from None
        value = getattr(import_module(module), name)
        namespace[name] = value
        return value

    return __getattr__
