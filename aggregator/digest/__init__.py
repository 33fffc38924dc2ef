"""The monthly digest: rendering each subscriber's copy, building the messages, sending them exactly once."""

from __future__ import annotations

from importlib import import_module

# name -> the module that defines it, imported on first use: importing one submodule (or the package)
# does not import every other, so a command loads only what it calls
_EXPORTS = {
    "Links": "aggregator.digest.links",
    "PersonalLinks": "aggregator.digest.links",
    "Recipient": "aggregator.digest.render",
    "RenderedDigest": "aggregator.digest.render",
    "RenderedMail": "aggregator.digest.render",
    "issue_subject": "aggregator.digest.render",
    "render_confirmation": "aggregator.digest.render",
    "render_digest": "aggregator.digest.render",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> object:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
